"""A share ends when its recipient's account is deactivated: reactivation gives back the account, not the
note, and the pair is told (on the notebook page and by e-mail, without the note's text)."""
from __future__ import annotations

from portal.extensions import db
from portal.models import NoteShare
from tests.factories import make_note, make_share, make_user, outbox, sign_in
from tests.notes.test_sharing import page_of, reader  # noqa: F401  (the fixture)


def test_a_reactivated_recipient_does_not_regain_the_note(app, pairing, reader):  # noqa: F811
    """Once a site admin deactivates a note's recipient and later reactivates them, is the note closed to them
    (404), the share ended, and both members told on the notebook page and by e-mail without the text?"""
    note = make_note(pairing.pair, pairing.mentor, "Words only the pair and Rita may read.")
    share = make_share(note, reader)
    reader_client = app.test_client()
    sign_in(reader_client, reader)
    assert reader_client.get(f"/shared/{share.id}").status_code == 200
    site = app.test_client()
    sign_in(site, make_user(site_admin=True))
    assert site.post(f"/admin/users/{reader.id}/deactivate").status_code == 303
    assert db.session.get(NoteShare, share.id).state == "withdrawn"
    assert site.post(f"/admin/users/{reader.id}/reactivate").status_code == 303
    again = app.test_client()
    assert sign_in(again, reader).status_code == 303
    assert again.get(f"/shared/{share.id}").status_code == 404
    assert "Words only the pair" not in page_of(again.get("/"))
    notebook = page_of(pairing.mentee_client.get(pairing.notes_url))
    assert "No longer shared with Rita Reader &lt;rita@example.org&gt;: the share ended" in notebook
    assert "account was deactivated" in notebook
    mails = outbox("note_share_ended")
    assert {mail.to_address for mail in mails} == {pairing.mentor.email, pairing.mentee.email}
    assert all("Words only the pair" not in mail.body + mail.subject for mail in mails)
    assert all("rita@example.org" in mail.body for mail in mails)


def test_a_pending_proposal_stays_the_pairs_business(app, pairing, reader):  # noqa: F811
    """Is a proposal not yet approved left as it is when the named person is deactivated (nothing is open to
    them, approving it is refused while they are deactivated, and staff learn nothing of it)?"""
    note = make_note(pairing.pair, pairing.mentor)
    share = make_share(note, reader, approve=False)
    site = app.test_client()
    sign_in(site, make_user(site_admin=True))
    site.post(f"/admin/users/{reader.id}/deactivate")
    assert db.session.get(NoteShare, share.id).state == "proposed"
    assert outbox("note_share_ended") == []
