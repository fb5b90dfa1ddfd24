"""Program admin views. Every program is loaded through policy.program_for_admin (a foreign id is a 404)."""
from flask import flash
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal import policy
from portal.admin.forms import AppointForm, ConfirmForm
from portal.domain import accounts, programs, template_store
from portal.extensions import db
from portal.models import Pair, PairSupervisor
from portal.programs import bp
from portal.web import render, see_other


def _overview(program, appoint_form, status=200):
    pairs = db.session.scalars(
        select(Pair).where(Pair.program_id == program.id).order_by(Pair.id)
        .options(selectinload(Pair.mentor), selectinload(Pair.mentee),
                 selectinload(Pair.supervisor_links).selectinload(PairSupervisor.user))).all()
    return render("programs/overview.html", program=program, pairs=pairs,
                  admins=programs.role_holders(program, "admin"),
                  supervisors=programs.role_holders(program, "supervisor"),
                  templates=template_store.template_summaries(program),
                  appoint_form=appoint_form, confirm_form=ConfirmForm(), status=status)


@bp.route("/<int:program_id>")
@policy.access(policy.SIGNED_IN)
def overview(program_id: int):
    program = policy.program_for_admin(current_user, program_id)
    return _overview(program, AppointForm(prefix="supervisor"))


@bp.route("/<int:program_id>/supervisors", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def appoint_supervisor(program_id: int):
    program = policy.program_for_admin(current_user, program_id)
    form = AppointForm(prefix="supervisor")
    if form.validate_on_submit():
        try:
            role = programs.appoint(current_user, program, "supervisor", form.email.data, form.name.data)
        except accounts.AccountError as error:
            form.email.errors.append(str(error))
        else:
            db.session.commit()
            flash(f"{role.user.name} is now a supervisor in {program.name}.", "success")
            return see_other("programs.overview", program_id=program.id)
    db.session.rollback()
    return _overview(program, form, status=422)


@bp.route("/<int:program_id>/roles/<int:role_id>/revoke", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def revoke_role(program_id: int, role_id: int):
    program = policy.program_for_admin(current_user, program_id)
    if ConfirmForm().validate_on_submit():
        try:
            programs.revoke(current_user, program, role_id, allowed_roles=("supervisor",))
        except accounts.AccountError as error:
            flash(str(error), "error")
        else:
            db.session.commit()
            flash("Role removed.", "success")
    return see_other("programs.overview", program_id=program.id)
