"""Sign in, sign out, and setting a password through an invitation or reset link."""
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from portal import policy, sessions
from portal.auth import bp
from portal.auth.forms import (
    CancelEmailChangeForm, ChangeEmailForm, ChangePasswordForm, ConfirmEmailForm, ForgotPasswordForm, NameForm,
    SetPasswordForm, SignInForm, SignOutForm,
)
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
        return render("auth/sign_in.html", form=form, status=429, error=accounts.throttled_message())
    if result.user is None:
        db.session.commit()  # keep the failure count
        return render("auth/sign_in.html", form=form, status=422,
                      error="That e-mail and password do not match an active account.")
    target = safe_next(form.next.data) or url_for("main.home")
    session.clear()  # no state from before sign-in survives into the signed-in session
    login_user(result.user)
    sessions.start()
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
            try:
                accounts.request_password_reset(email, request.remote_addr)
            except accounts.RateLimited as error:
                db.session.rollback()
                return render("auth/forgot_password.html", form=form, status=429, error=str(error))
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


def _refused(field, error: accounts.AccountError, **forms):
    """A refused account change: a wrong password is kept (it counts towards the sign-in throttle)."""
    db.session.commit()
    field.errors = [str(error)]
    return _account_page(**forms, status=429 if isinstance(error, accounts.Throttled) else 422)


def _account_page(name_form=None, password_form=None, email_form=None, status=200):
    return render("auth/account.html", name_form=name_form or NameForm(prefix="name", name=current_user.name),
                  password_form=password_form or ChangePasswordForm(prefix="password"),
                  email_form=email_form or ChangeEmailForm(prefix="email"),
                  pending_email=accounts.pending_email_change(current_user), status=status)


@bp.route("/account")
@policy.access(policy.SIGNED_IN)
def account():
    return _account_page()


@bp.route("/account/name", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def change_name():
    form = NameForm(prefix="name")
    if form.validate_on_submit():
        try:
            accounts.rename(current_user, form.name.data)
        except accounts.AccountError as error:
            form.name.errors = [str(error)]
        else:
            db.session.commit()
            flash("Your name is saved.", "success")
            return see_other("auth.account")
    return _account_page(name_form=form, status=422)


@bp.route("/account/password", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def change_password():
    form = ChangePasswordForm(prefix="password")
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current_password.data, form.password.data,
                                     request.remote_addr)
        except accounts.AccountError as error:
            return _refused(form.current_password, error, password_form=form)
        else:
            user = current_user._get_current_object()
            db.session.commit()
            session.clear()
            login_user(user)  # this session continues under the new generation; all others have ended
            sessions.start()
            flash("Your password is changed. Every other session of your account has been signed out.", "success")
            return see_other("auth.account")
    return _account_page(password_form=form, status=422)


@bp.route("/account/email", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def change_email():
    form = ChangeEmailForm(prefix="email")
    if form.validate_on_submit():
        try:
            new_email = accounts.request_email_change(current_user, form.current_password.data, form.email.data,
                                                      request.remote_addr)
        except (accounts.WrongPassword, accounts.Throttled) as error:
            return _refused(form.current_password, error, email_form=form)
        except accounts.RateLimited as error:
            db.session.rollback()
            form.email.errors = [str(error)]
            return _account_page(email_form=form, status=429)
        except accounts.AccountError as error:
            return _refused(form.email, error, email_form=form)
        db.session.commit()
        # The same words whether or not another account has the address.
        flash(f"A confirmation link is on its way to {new_email}. Your address changes when you follow it "
              f"(it works once, for {current_app.config['TOKEN_HOURS_EMAIL']} hours).", "info")
        return see_other("auth.account")
    return _account_page(email_form=form, status=422)


@bp.route("/account/email/cancel", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def cancel_email_change():
    if CancelEmailChangeForm().validate_on_submit():
        cancelled = accounts.cancel_email_change(current_user)
        db.session.commit()
        flash("The address change is cancelled; its link no longer works." if cancelled
              else "No address change was waiting.", "info")
    return see_other("auth.account")


@bp.route("/confirm-email/<token>", methods=["GET", "POST"])
@policy.access(policy.PUBLIC)
def confirm_email(token: str):
    """The link mailed to a new address. Opening it changes nothing (mail scanners open links); the button
    does, for the account signed in or, signed out, with the account's password."""
    try:
        stored = accounts.email_change_for_link(token)
    except accounts.AccountError as error:
        return render_template("auth/link_problem.html", message=str(error)), 410
    signed_in = current_user._get_current_object() if current_user.is_authenticated else None
    form = ConfirmEmailForm()
    problem = accounts.wrong_account_problem(stored, signed_in)
    if problem:
        return render("auth/confirm_email.html", form=form, status=409, problem=problem)
    if form.validate_on_submit():
        try:
            user = accounts.confirm_email_change(token, signed_in, form.password.data, request.remote_addr)
        except (accounts.AddressTaken, accounts.WrongAccount) as error:
            db.session.rollback()
            return render("auth/confirm_email.html", form=form, status=409, problem=str(error))
        except accounts.AccountError as error:
            db.session.commit()  # keep a wrong password's count
            form.password.errors = [str(error)]
            return render("auth/confirm_email.html", form=form, new_email=stored.new_email,
                          status=429 if isinstance(error, accounts.Throttled) else 422)
        db.session.commit()
        if signed_in is not None:
            flash(f"You now sign in with {user.email}. Your old address has been told.", "success")
            return see_other("auth.account")
        flash(f"You now sign in with {user.email}. Your old address has been told. Sign in with the new one.",
              "success")
        return see_other("auth.sign_in")
    return render("auth/confirm_email.html", form=form, new_email=stored.new_email,
                  status=422 if request.method == "POST" else 200)
