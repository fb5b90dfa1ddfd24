"""Sign in, sign out, and setting a password through an invitation or reset link."""
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from portal import policy
from portal.auth import bp
from portal.auth.forms import ForgotPasswordForm, SetPasswordForm, SignInForm, SignOutForm
from portal.domain import accounts
from portal.extensions import db
from portal.web import redirect_to, render, safe_next, see_other


@bp.route("/sign-in", methods=["GET", "POST"])
@policy.access(policy.PUBLIC)
def sign_in():
    if current_user.is_authenticated:
        return see_other("main.home")
    form = SignInForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    if not form.validate_on_submit():
        return render("auth/sign_in.html", form=form, status=422 if request.method == "POST" else 200)
    result = accounts.sign_in(form.email.data, form.password.data, request.remote_addr)
    if result.throttled:
        db.session.commit()
        return render("auth/sign_in.html", form=form, status=429,
                      error="Too many failed sign-ins. Wait 15 minutes, then try again, or reset your password.")
    if result.user is None:
        db.session.commit()  # keep the failure count
        return render("auth/sign_in.html", form=form, status=422,
                      error="That e-mail and password do not match an active account.")
    target = safe_next(form.next.data) or url_for("main.home")
    session.clear()  # no state from before sign-in survives into the signed-in session
    login_user(result.user)
    db.session.commit()
    return redirect_to(target)


@bp.route("/sign-out", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def sign_out():
    form = SignOutForm()
    if form.validate_on_submit():
        accounts.end_all_sessions(current_user)
        db.session.commit()
        logout_user()
        session.clear()
        flash("You are signed out.", "info")
    return see_other("auth.sign_in")


@bp.route("/forgot-password", methods=["GET", "POST"])
@policy.access(policy.PUBLIC)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        email = accounts.normalize_email(form.email.data)
        if not accounts.is_valid_email(email):
            form.email.errors.append("Enter a valid e-mail address, such as name@example.org.")
        else:
            accounts.request_password_reset(email)
            db.session.commit()
            # The same words whether or not the address has an account.
            flash("If that address belongs to an account, a link to set a new password is on its way. "
                  "It works once and expires in "
                  f"{current_app.config['TOKEN_HOURS_RESET']} hours.", "info")
            return see_other("auth.sign_in")
    return render("auth/forgot_password.html", form=form, status=422 if form.errors else 200)


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@policy.access(policy.PUBLIC)
def set_password(token: str):
    try:
        stored = accounts.find_token(token)
    except accounts.AccountError as error:
        return render_template("auth/link_problem.html", message=str(error)), 410
    form = SetPasswordForm()
    if request.method == "GET":
        form.name.data = stored.user.name
    if form.validate_on_submit():
        try:
            user = accounts.redeem_token(token, form.password.data, form.name.data)
        except accounts.AccountError as error:
            form.password.errors.append(str(error))
        else:
            db.session.commit()
            if current_user.is_authenticated:
                logout_user()
            session.clear()
            flash(f"Your password is set, {user.name}. Sign in with it now.", "success")
            return redirect(url_for("auth.sign_in"), code=303)
    return render("auth/set_password.html", form=form, purpose=stored.purpose, email=stored.user.email,
                  status=422 if form.errors else 200)
