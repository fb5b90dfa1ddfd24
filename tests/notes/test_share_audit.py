"""Who a pair proposed to share a note with is pair-only until the share is approved: the audit log (as
written and as shown to staff) records that a proposal was made, not to whom."""
from __future__ import annotations

from portal import audit
from portal.audit import verify_chain
from portal.extensions import db
from portal.models import AuditEvent, NoteShare
from tests.factories import make_note, make_role, make_user, outbox, act_as
from tests.notes.test_sharing import approve, page_of, propose

SECRET_ADDRESS = "ombudsperson.harassment-report@example.org"


def _staff_pages(app, pairing) -> str:
    """The program's audit log as its admin reads it, and the whole portal's as a site admin reads it."""
    admin, site_admin = make_user(), make_user(site_admin=True)
    make_role(admin, pairing.program, "admin")
    pages = []
    for person, url in ((admin, f"/programs/{pairing.program.id}/audit"), (site_admin, "/admin/audit")):
        client = app.test_client()
        act_as(client, person)
        response = client.get(url)
        assert response.status_code == 200
        pages.append(page_of(response))
    return "\n".join(pages)


def test_a_declined_proposal_never_names_its_recipient_to_staff(app, pairing):
    """When a member proposes sharing a note and the other declines, do the audit log's rows and the staff's
    audit pages say that a proposal was made and declined, without the address it named?"""
    note = make_note(pairing.pair, pairing.mentor, "Something about the ward.")
    assert propose(pairing, note, SECRET_ADDRESS).status_code == 303
    share = db.session.scalar(db.select(NoteShare))
    assert pairing.mentee_client.post(pairing.share_url(share.id, "decline")).status_code == 303
    details = " ".join(db.session.scalars(db.select(AuditEvent.detail)))
    assert "ombudsperson" not in details and "harassment" not in details
    staff = _staff_pages(app, pairing)
    assert "proposed to share a note" in staff and "declined to share a note" in staff
    assert "ombudsperson" not in staff and "harassment" not in staff
    # Mail about the proposal and its refusal goes to the two members only.
    members = {pairing.mentor.email, pairing.mentee.email}
    assert all(mail.to_address in members for mail in outbox() if "ombudsperson" in mail.body + mail.subject)


def test_a_withdrawn_or_expired_proposal_names_nobody_either(app, pairing):
    """Is the recipient of a proposal withdrawn before approval kept out of the audit log too?"""
    note = make_note(pairing.pair, pairing.mentor)
    propose(pairing, note, SECRET_ADDRESS)
    share = db.session.scalar(db.select(NoteShare))
    assert pairing.mentor_client.post(pairing.share_url(share.id, "withdraw")).status_code == 303
    assert "ombudsperson" not in " ".join(db.session.scalars(db.select(AuditEvent.detail)))


def test_an_approved_share_may_name_its_recipient(app, pairing):
    """Once both members approved, does the approval's audit row name the recipient's account?"""
    reader = make_user(email="reader@example.org")
    note = make_note(pairing.pair, pairing.mentor)
    propose(pairing, note, reader.email)
    share = db.session.scalar(db.select(NoteShare))
    assert approve(pairing, share).status_code == 303
    approval = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "note_share.approve"))
    assert f'"recipient_id": {reader.id}' in approval.detail


def test_old_proposal_rows_are_redacted_when_shown_and_the_chain_holds(app, pairing):
    """Do rows written before this rule (a proposal with its recipient's address) show staff no address,
    while the hash chain, which covers them as written, still holds?"""
    note = make_note(pairing.pair, pairing.mentor)
    audit.record("note_share.propose", actor=pairing.mentor, recipient=SECRET_ADDRESS, share_id=999,
                 program_id=pairing.program.id, pair_id=pairing.pair.id, note_id=note.id)
    db.session.commit()
    staff = _staff_pages(app, pairing)
    assert "proposed to share a note" in staff
    assert "ombudsperson" not in staff and "harassment" not in staff
    assert "recipient: not shown" in staff
    assert verify_chain().intact
