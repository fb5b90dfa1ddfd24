"""Site admin views: thin wrappers around portal.domain.programs and portal.domain.accounts."""
from flask import flash, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal import policy
from portal.admin import bp
from portal.admin.forms import AppointForm, ConfirmForm, ProgramForm
from portal.domain import accounts, programs
from portal.extensions import db
from portal.models import Program, ProgramRole, User
from portal.web import render, see_other


def _valid_program_form(form: ProgramForm, program: Program | None) -> bool:
    """Validate a submitted program form (CSRF and the domain's rules); errors land next to their fields."""
    if not form.is_submitted():
        return False
    valid = form.validate()
    problems = programs.program_problems(form.name.data or "", (form.code.data or "").strip().upper(),
                                         form.return_email.data or "", form.default_term_months.data, program)
    for name, message in problems.items():
        field = getattr(form, name)
        if not field.errors:
            field.errors = [*field.errors, message]
    return valid and not problems


@bp.route("/programs", methods=["GET", "POST"])
@policy.access(policy.SITE_ADMIN)
def program_list():
    form = ProgramForm()
    if _valid_program_form(form, None):
        program = programs.save_program(current_user, form.name.data, form.code.data, form.return_email.data,
                                        form.default_term_months.data)
        db.session.commit()
        flash(f"Program {program.name} created. Appoint its program admins next.", "success")
        return see_other("admin.program_detail", program_id=program.id)
    all_programs = db.session.scalars(select(Program).order_by(Program.name)).all()
    return render("admin/programs.html", "admin/_program_form.html", form=form, programs=all_programs,
                  status=422 if form.errors else 200)


@bp.route("/programs/<int:program_id>", methods=["GET", "POST"])
@policy.access(policy.SITE_ADMIN)
def program_detail(program_id: int):
    program = policy.program_for_site_admin(current_user, program_id)
    form = ProgramForm(obj=program)
    if _valid_program_form(form, program):
        programs.save_program(current_user, form.name.data, form.code.data, form.return_email.data,
                              form.default_term_months.data, program)
        db.session.commit()
        flash("Program settings saved.", "success")
        return see_other("admin.program_detail", program_id=program.id)
    return render("admin/program_detail.html", "admin/_program_form.html", form=form, program=program,
                  admins=programs.role_holders(program, "admin"), appoint_form=AppointForm(prefix="appoint"),
                  confirm_form=ConfirmForm(), status=422 if form.errors else 200)


@bp.route("/programs/<int:program_id>/admins", methods=["POST"])
@policy.access(policy.SITE_ADMIN)
def appoint_admin(program_id: int):
    program = policy.program_for_site_admin(current_user, program_id)
    form = AppointForm(prefix="appoint")
    choice = None
    if form.validate_on_submit():
        chosen = form.confirm.data or ""
        try:
            role = programs.appoint(current_user, program, "admin", form.email.data, form.name.data, chosen)
        except programs.AppointmentNeedsChoice as error:
            form.email.errors.append(str(error))
            choice = error
        except accounts.AccountError as error:
            form.email.errors.append(str(error))
        else:
            db.session.commit()
            flash(f"{role.user.name} is {'now ' if chosen != 'update' else ''}a program admin of {program.name}"
                  f"{', under the name you typed' if chosen == 'update' else ''}.", "success")
            return see_other("admin.program_detail", program_id=program.id)
    db.session.rollback()
    return render("admin/program_detail.html", form=ProgramForm(obj=program), program=program,
                  admins=programs.role_holders(program, "admin"), appoint_form=form, appoint_choice=choice,
                  confirm_form=ConfirmForm(), status=422)


@bp.route("/programs/<int:program_id>/roles/<int:role_id>/revoke", methods=["POST"])
@policy.access(policy.SITE_ADMIN)
def revoke_role(program_id: int, role_id: int):
    program = policy.program_for_site_admin(current_user, program_id)
    if ConfirmForm().validate_on_submit():
        try:
            programs.revoke(current_user, program, role_id)
        except accounts.AccountError as error:
            flash(str(error), "error")
        else:
            db.session.commit()
            flash("Role removed.", "success")
    return see_other("admin.program_detail", program_id=program.id)


@bp.route("/users")
@policy.access(policy.SITE_ADMIN)
def user_list():
    # Invisible characters dropped: a NUL would make PostgreSQL refuse the whole query (a 500).
    query = "".join(ch for ch in request.args.get("q", "") if ch.isprintable()).strip()[:100]
    stmt = select(User).options(selectinload(User.roles).selectinload(ProgramRole.program)).order_by(User.name)
    if query:
        stmt = stmt.where(User.email.contains(query.lower()) | User.name.icontains(query))
    users = db.session.scalars(stmt.limit(200)).all()
    return render("admin/users.html", users=users, query=query, confirm_form=ConfirmForm(),
                  role_labels=accounts.role_labels(users))


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@policy.access(policy.SITE_ADMIN)
def deactivate_user(user_id: int):
    return _set_deactivated(user_id, True)


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@policy.access(policy.SITE_ADMIN)
def reactivate_user(user_id: int):
    return _set_deactivated(user_id, False)


def _set_deactivated(user_id: int, deactivated: bool):
    user = db.get_or_404(User, user_id)
    if ConfirmForm().validate_on_submit():
        try:
            accounts.set_deactivated(user, deactivated, current_user)
        except accounts.AccountError as error:
            flash(str(error), "error")
        else:
            db.session.commit()
            done = ("deactivated: their sessions, roles and note shares have ended" if deactivated
                    else "active again (without their former roles)")
            flash(f"{user.name} is {done}.", "success")
    return see_other("admin.user_list")

