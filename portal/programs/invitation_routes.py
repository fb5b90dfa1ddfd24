"""A pair's invitations: who has joined, and sending an invitation again (portal.domain.invitations)."""
from flask import flash
from flask_login import current_user

from portal import policy
from portal.admin.forms import ConfirmForm
from portal.domain import accounts, invitations
from portal.extensions import db
from portal.programs import bp
from portal.programs.forms import ResendInvitationForm
from portal.web import render, see_other


def _page(program, pair, error: str | None = None, status: int = 200):
    people = [("mentor", pair.mentor), ("mentee", pair.mentee)]
    return render("programs/pair_invitations.html", program=program, pair=pair, people=people,
                  statuses=invitations.statuses([person for _, person in people]), confirm_form=ConfirmForm(),
                  resend_minutes=invitations.RESEND_MINUTES, error=error, status=status)


@bp.route("/<int:program_id>/pairs/<int:pair_id>/invitations")
@policy.access(policy.SIGNED_IN)
def pair_invitations(program_id: int, pair_id: int):
    pair = policy.pair_for_program_admin(current_user, program_id, pair_id)
    program = pair.program
    return _page(program, pair)


@bp.route("/<int:program_id>/pairs/<int:pair_id>/invitations/resend", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def resend_invitation(program_id: int, pair_id: int):
    """The button of one person: `role` (mentor or mentee) says whom."""
    pair = policy.pair_for_program_admin(current_user, program_id, pair_id)
    program = pair.program
    form = ResendInvitationForm()
    if not form.validate_on_submit():
        return see_other("programs.pair_invitations", program_id=program.id, pair_id=pair.id)
    try:
        person = invitations.resend(current_user, program, pair, form.role.data or "")
    except accounts.AccountError as error:
        db.session.rollback()
        return _page(program, pair, error=str(error),
                     status=429 if isinstance(error, accounts.RateLimited) else 422)
    db.session.commit()
    flash(f"A new invitation is on its way to {person.name} at {person.email}. The link sent before no longer "
          "works.", "success")
    return see_other("programs.pair_invitations", program_id=program.id, pair_id=pair.id)
