"""Two-key sharing of one note with one named person: propose, approve (the other member, with a password),
decline, withdraw, expire; and what the recipient, the pair, the mails and the audit log show."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from portal.domain import notes
from portal.extensions import db
from portal.models import AuditEvent, NoteShare, RateEvent, User
from portal.timeutil import utcnow, utctoday
from tests.factories import PASSWORD, approval_form, make_note, make_pair, make_share, make_user, outbox, sign_in
from tests.notes.conftest import signed_in_client

HX = {"HX-Request": "true"}


def page_of(response) -> str:
    return response.get_data(as_text=True)


def propose(pairing, note, email, client=None, **fields):
    data = {f"share-{note.id}-email": email, **{f"share-{note.id}-{k}": v for k, v in fields.items()}}
    return (client or pairing.mentor_client).post(pairing.note_url(note.id, "share"), data=data)


def approve(pairing, share, client=None, password=PASSWORD, **kwargs):
    return (client or pairing.mentee_client).post(pairing.share_url(share.id, "approve"),
                                                  data=approval_form(share, password), **kwargs)


def fresh(share: NoteShare) -> NoteShare:
    db.session.expire_all()
    return db.session.get(NoteShare, share.id)


def audit_actions() -> list[str]:
    return [event.action for event in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))
            if event.action.startswith("note_share.")]


@pytest.fixture
def reader(app):
    return make_user(name="Rita Reader", email="rita@example.org")


# --- the two keys -------------------------------------------------------------------------------------------

def test_a_shared_note_opens_only_after_the_other_member_approves(app, pairing, reader):
    """Is nothing visible to the named person until the OTHER member approves with their password, and then
    only that note, read-only, under a line naming who agreed and when?"""
    note = make_note(pairing.pair, pairing.mentor, "Please read **this** part.")
    make_note(pairing.pair, pairing.mentor, "A different, unshared note.")
    response = propose(pairing, note, "Rita@Example.org")
    assert response.status_code == 303
    assert ("until Nina Mentee approves; Nina Mentee has been told by e-mail."
            in page_of(pairing.mentor_client.get(response.headers["Location"])))
    share = db.session.scalar(db.select(NoteShare))
    assert share.state == "proposed" and share.recipient_email == "rita@example.org"
    reader_client = signed_in_client(app, reader)
    assert reader_client.get(f"/shared/{share.id}").status_code == 404
    assert "shared with you" not in page_of(reader_client.get("/"))
    assert outbox(to=reader.email) == []  # the recipient hears nothing before both agreed

    assert approve(pairing, share).status_code == 303
    response = reader_client.get(f"/shared/{share.id}")
    page = page_of(response)
    assert response.status_code == 200
    assert "Please read <strong>this</strong> part." in page
    assert "A different, unshared note." not in page
    assert "Maria Mentor proposed it on" in page and "Nina Mentee agreed on" in page
    assert f"{utcnow().day} {utcnow():%B %Y}" in page
    assert "<form" not in page.split('<main')[1].split("</main>")[0]  # read-only: no form in the content
    assert response.headers["Cache-Control"] == "no-store" and 'data-hx-history="false"' in page


def test_share_proposals_are_capped_per_hour(pairing, monkeypatch):
    """Once a member has proposed the hour's maximum of shares, is the next one refused with a clear message,
    with no share made and no e-mail sent to the other member, and does the cap hold for every worker (it is
    counted in the database)?"""
    monkeypatch.setattr(notes, "SHARE_PROPOSALS_PER_HOUR", 2)
    note = make_note(pairing.pair, pairing.mentor, "Worth a second opinion.")
    for n in (1, 2):
        assert propose(pairing, note, f"reader{n}@example.org").status_code == 303
    mails_before = len(outbox(to=pairing.mentee.email))
    response = propose(pairing, note, "reader3@example.org")
    assert response.status_code == 429
    assert "proposed 2 shares in the last hour" in page_of(response)
    assert db.session.scalar(db.select(db.func.count(NoteShare.id))) == 2
    assert len(outbox(to=pairing.mentee.email)) == mails_before
    assert db.session.scalar(db.select(db.func.count(RateEvent.id)).where(
        RateEvent.scope == "note_share:proposer")) == 2


def test_the_proposer_cannot_approve_their_own_proposal(pairing, reader):
    """Is the proposer refused (403, with the reason) when trying to approve their own proposal, leaving it
    waiting for the other member?"""
    note = make_note(pairing.pair, pairing.mentor, "Mine to propose.")
    share = make_share(note, reader, proposer=pairing.mentor, approve=False)
    response = approve(pairing, share, client=pairing.mentor_client)
    assert response.status_code == 403 and "Nina Mentee has to approve it" in page_of(response)
    assert pairing.mentor_client.get(pairing.share_url(share.id, "approve")).status_code == 403
    assert fresh(share).state == "proposed" and fresh(share).recipient_id is None
    with pytest.raises(notes.NoteError):
        notes.approve_share(pairing.mentor, share, PASSWORD, None)


def test_approving_twice_is_refused_and_changes_nothing(app, pairing, reader):
    """Is a second (replayed) approval refused with 409, with no second mail or audit record?"""
    note = make_note(pairing.pair, pairing.mentor, "Once.")
    share = make_share(note, reader, approve=False)
    assert approve(pairing, share).status_code == 303
    decided_at = fresh(share).decided_at
    mails = len(outbox())
    response = approve(pairing, share)
    assert response.status_code == 409 and "already approved by you" in page_of(response)
    assert fresh(share).decided_at == decided_at and len(outbox()) == mails
    assert audit_actions().count("note_share.approve") == 1


def test_a_wrong_password_approves_nothing_and_counts_as_a_failed_sign_in(pairing, reader):
    """Is an approval with a wrong or missing password refused next to the field (422), the share still
    waiting, the failure counted for throttling and audited?"""
    note = make_note(pairing.pair, pairing.mentor, "Guarded.")
    share = make_share(note, reader, approve=False)
    response = approve(pairing, share, password="not my password")
    page = page_of(response)
    assert response.status_code == 422 and f'id="approve-{share.id}-password-error"' in page
    assert "That is not your password." in page
    response = approve(pairing, share, password="")
    assert response.status_code == 422 and "Enter your password to approve." in page_of(response)
    assert fresh(share).state == "proposed"
    # The wrong password counts towards the sign-in throttle and is audited; the empty one was only a slip.
    assert db.session.scalar(db.select(db.func.count(RateEvent.id)).where(
        RateEvent.key == pairing.mentee.email)) == 1
    assert audit_actions().count("note_share.approve_refused") == 1


def test_repeated_wrong_passwords_are_throttled(pairing, reader):
    """After five wrong passwords, is even the right one refused for a while (no guessing through this form)?"""
    note = make_note(pairing.pair, pairing.mentor, "Throttled.")
    share = make_share(note, reader, approve=False)
    for _ in range(5):
        approve(pairing, share, password="guess")
    response = approve(pairing, share)
    assert response.status_code == 422 and ("Too many failed sign-ins. Wait 15 minutes, then try again, or reset "
                                            "your password.") in page_of(response)
    assert fresh(share).state == "proposed"


def test_the_approval_form_says_who_the_recipient_is(pairing, reader):
    """Before asking for the password, does the approval form name the recipient as their account is named
    (not only as the proposer typed it) and say whether they have an account or will be invited?"""
    note = make_note(pairing.pair, pairing.mentor, "Who reads this?")
    known = notes.propose_share(pairing.mentor, note, "rita@example.org", "Someone Else", None)
    newcomer = notes.propose_share(pairing.mentor, note, "newcomer@example.org", "Nell Newcomer", None)
    db.session.commit()
    page = page_of(pairing.mentee_client.get(pairing.share_url(known.id, "approve")))
    assert "Approving lets <strong>Rita Reader</strong> &lt;rita@example.org&gt;" in page
    assert "They have an account in the portal, under the name Rita Reader." in page
    page = page_of(pairing.mentee_client.get(pairing.share_url(newcomer.id, "approve"), headers=HX))
    assert "Approving lets <strong>Nell Newcomer</strong> &lt;newcomer@example.org&gt;" in page
    assert "They have no account yet: they will be invited to make one at newcomer@example.org." in page


def test_approval_is_refused_when_the_recipient_changed_since_the_form_was_shown(pairing):
    """If the address gets an account after the approving member was told "no account yet", is the approval
    refused (nothing shared, password not counted), the form showing the account now, and approvable again?"""
    note = make_note(pairing.pair, pairing.mentor, "Timing matters.")
    share = notes.propose_share(pairing.mentor, note, "late@example.org", "", None)
    db.session.commit()
    url = pairing.share_url(share.id, "approve")
    shown = re.search(r'name="approve-%d-recipient" type="hidden" value="([^"]*)"' % share.id,
                      page_of(pairing.mentee_client.get(url))).group(1)
    late = make_user(email="late@example.org", name="Lee Latecomer")
    response = pairing.mentee_client.post(url, data={f"approve-{share.id}-password": PASSWORD,
                                                     f"approve-{share.id}-recipient": shown})
    page = page_of(response)
    assert response.status_code == 422 and "has changed since the form was shown" in page
    assert "under the name Lee Latecomer" in page and fresh(share).state == "proposed"
    assert db.session.scalar(db.select(db.func.count(RateEvent.id)).where(RateEvent.scope.like("sign_in:%"))) == 0
    shown = re.search(r'name="approve-%d-recipient" type="hidden" value="([^"]*)"' % share.id, page).group(1)
    assert pairing.mentee_client.post(url, data={f"approve-{share.id}-password": PASSWORD,
                                                 f"approve-{share.id}-recipient": shown}).status_code == 303
    assert fresh(share).recipient_id == late.id


def test_htmx_approval_swaps_the_note_in_place(pairing, reader):
    """Does the approve form open inline (htmx) and answer with the updated note?"""
    note = make_note(pairing.pair, pairing.mentor, "Inline.")
    share = make_share(note, reader, approve=False)
    fragment = page_of(pairing.mentee_client.get(pairing.share_url(share.id, "approve"), headers=HX))
    assert fragment.lstrip().startswith(f'<article class="card note" id="note-{note.id}"')
    assert 'type="password"' in fragment and 'autocomplete="current-password"' in fragment
    response = approve(pairing, share, headers=HX)
    assert response.status_code == 200 and "Approved." in page_of(response)
    assert f'id="share-{share.id}"' in page_of(response) and "Withdraw" in page_of(response)


def test_the_other_member_can_decline(app, pairing, reader):
    """Can the other member decline, so nothing is shared, the proposer is told and the pair sees 'declined'?"""
    note = make_note(pairing.pair, pairing.mentor, "Not this one.")
    share = make_share(note, reader, approve=False)
    assert pairing.mentor_client.post(pairing.share_url(share.id, "decline")).status_code == 403
    assert pairing.mentee_client.post(pairing.share_url(share.id, "decline")).status_code == 303
    assert fresh(share).state == "declined"
    assert signed_in_client(app, reader).get(f"/shared/{share.id}").status_code == 404
    page = page_of(pairing.mentor_client.get(pairing.note_url(note.id)))
    assert "Declined" in page and "declined by Nina Mentee" in page
    [mail] = outbox("note_share_decided", to=pairing.mentor.email)
    assert "declined" in mail.subject and "Not this one." not in mail.body


@pytest.mark.parametrize("ending", ["withdrawn", "declined"])
def test_a_withdrawn_or_declined_proposal_cannot_be_approved_later(app, pairing, reader, ending):
    """Is replaying an approval for a withdrawn or declined proposal refused, changing nothing?"""
    note = make_note(pairing.pair, pairing.mentor, "Replayed.")
    share = make_share(note, reader, approve=False)
    approve_page = page_of(pairing.mentee_client.get(pairing.share_url(share.id, "approve")))
    if ending == "withdrawn":
        pairing.mentor_client.post(pairing.share_url(share.id, "withdraw"))
    else:
        pairing.mentee_client.post(pairing.share_url(share.id, "decline"))
    from tests.notes.html_forms import submit
    response = submit(pairing.mentee_client, approve_page, pairing.share_url(share.id, "approve"),
                      **approval_form(share))
    assert response.status_code == 409 and "can no longer be approved" in page_of(response)
    assert fresh(share).state == ending and fresh(share).recipient_id is None
    assert signed_in_client(app, reader).get(f"/shared/{share.id}").status_code == 404
    assert "note_share.approve" not in audit_actions()


def test_approving_a_share_of_another_pair_is_a_404(app, pairing, reader):
    """Is a member of one pair answered 404 for another pair's share, whichever pair id the URL names?"""
    other_pair = make_pair(pairing.program)
    other_note = make_note(other_pair, other_pair.mentor, "Theirs.")
    share = make_share(other_note, reader, approve=False)
    for url in (f"/pairs/{pairing.pair.id}/shares/{share.id}/approve",
                f"/pairs/{other_pair.id}/shares/{share.id}/approve"):
        assert pairing.mentee_client.get(url).status_code == 404
        assert pairing.mentee_client.post(url, data=approval_form(share)).status_code == 404
    for action in ("decline", "withdraw"):
        assert pairing.mentee_client.post(f"/pairs/{pairing.pair.id}/shares/{share.id}/{action}").status_code == 404
    assert fresh(share).state == "proposed"


def test_a_note_cannot_be_reached_through_another_pairs_url(pairing):
    """Is a note answered 404 when the URL names a pair it does not belong to, even a pair I am in?"""
    second_pair = make_pair(pairing.program, pairing.mentor, make_user())
    note = make_note(second_pair, pairing.mentor, "Pair two.")
    assert pairing.mentor_client.get(f"/pairs/{second_pair.id}/notes/{note.id}").status_code == 200
    assert pairing.mentor_client.get(pairing.note_url(note.id)).status_code == 404
    assert pairing.mentor_client.get(pairing.note_url(note.id, "share")).status_code == 404


def test_sharing_actions_need_the_csrf_token(pairing, reader):
    """Are approve, decline, withdraw and propose refused (400) without the CSRF token, changing nothing?"""
    note = make_note(pairing.pair, pairing.mentor, "CSRF.")
    pending = make_share(note, reader, approve=False)
    active = make_share(note, make_user())
    for url, data in ((pairing.share_url(pending.id, "approve"), approval_form(pending)),
                      (pairing.share_url(pending.id, "decline"), {}),
                      (pairing.share_url(active.id, "withdraw"), {}),
                      (pairing.note_url(note.id, "share"), {f"share-{note.id}-email": "x@example.org"})):
        response = pairing.mentee_client.post(url, data=data, csrf=False)
        assert response.status_code == 400, url
        response = pairing.mentee_client.post(url, data={**data, "csrf_token": "forged"}, csrf=False)
        assert response.status_code == 400, url
    assert (fresh(pending).state, fresh(active).state) == ("proposed", "approved")
    assert db.session.scalar(db.select(db.func.count(NoteShare.id))) == 2


# --- recipients ---------------------------------------------------------------------------------------------

def test_only_the_named_recipient_can_read_it(app, pairing, reader):
    """Does any other signed-in person (even another recipient of the same pair) get 404 for the share?"""
    note = make_note(pairing.pair, pairing.mentor, "For Rita only.")
    share = make_share(note, reader)
    someone_else = make_user()
    make_share(make_note(pairing.pair, pairing.mentor, "For someone else."), someone_else)
    response = signed_in_client(app, someone_else).get(f"/shared/{share.id}")
    assert response.status_code == 404 and "For Rita only." not in page_of(response)
    assert signed_in_client(app, reader).get(f"/shared/{share.id}").status_code == 200


def test_withdrawal_takes_effect_on_the_recipients_very_next_request(app, pairing, reader):
    """If either member withdraws while the recipient is reading, is the recipient's next request a 404 and
    the note gone from their home page?"""
    note = make_note(pairing.pair, pairing.mentor, "Briefly shared.")
    share = make_share(note, reader)
    reader_client = signed_in_client(app, reader)
    assert reader_client.get(f"/shared/{share.id}").status_code == 200
    assert f"/shared/{share.id}" in page_of(reader_client.get("/"))
    response = pairing.mentee_client.post(pairing.share_url(share.id, "withdraw"), follow_redirects=True)
    assert "Withdrawn. Rita Reader &lt;rita@example.org&gt; can no longer read this note." in page_of(response)
    assert reader_client.get(f"/shared/{share.id}").status_code == 404
    assert reader_client.get(f"/shared/{share.id}", headers=HX).status_code == 404
    assert f"/shared/{share.id}" not in page_of(reader_client.get("/"))
    page = page_of(pairing.mentor_client.get(pairing.note_url(note.id)))
    assert "Withdrawn" in page and "withdrawn by Nina Mentee" in page


def test_withdrawing_twice_is_harmless(pairing, reader):
    """Does a second withdrawal (a double click, or both members) change nothing and say so?"""
    note = make_note(pairing.pair, pairing.mentor, "Twice.")
    share = make_share(note, reader)
    pairing.mentor_client.post(pairing.share_url(share.id, "withdraw"))
    withdrawn_at = fresh(share).withdrawn_at
    response = pairing.mentee_client.post(pairing.share_url(share.id, "withdraw"), follow_redirects=True)
    assert "had already ended; nothing changed" in page_of(response)
    assert fresh(share).withdrawn_at == withdrawn_at and fresh(share).withdrawn_by_id == pairing.mentor.id
    assert audit_actions().count("note_share.withdraw") == 1


def test_the_proposer_can_withdraw_a_waiting_proposal(pairing, reader):
    """Can the proposer take back a proposal before it is approved, so it can no longer be approved?"""
    note = make_note(pairing.pair, pairing.mentor, "Changed my mind.")
    share = make_share(note, reader, approve=False)
    response = pairing.mentor_client.post(pairing.share_url(share.id, "withdraw"), follow_redirects=True)
    assert "Proposal withdrawn. Nothing was shared." in page_of(response)
    assert approve(pairing, share).status_code == 409


def test_an_expired_share_closes_and_the_pair_sees_it_expired(app, pairing, reader):
    """Once expires_at is past, is the recipient answered 404 and does the pair see 'expired'?"""
    note = make_note(pairing.pair, pairing.mentor, "Time-limited.")
    share = make_share(note, reader, expires_on=date.today() + timedelta(days=3))
    reader_client = signed_in_client(app, reader)
    page = page_of(reader_client.get(f"/shared/{share.id}"))
    assert "You can read it until the end of" in page
    share.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert reader_client.get(f"/shared/{share.id}").status_code == 404
    assert f"/shared/{share.id}" not in page_of(reader_client.get("/"))
    page = page_of(pairing.mentor_client.get(pairing.note_url(note.id)))
    assert "Expired" in page and "No longer shared with Rita Reader" in page
    assert "Withdraw" not in page.split(f'id="share-{share.id}"')[1].split("</li>")[0]


def test_an_expired_proposal_cannot_be_approved(pairing, reader):
    """Is a proposal whose expiry passed before approval refused, and shown as expired?"""
    note = make_note(pairing.pair, pairing.mentor, "Too late.")
    share = make_share(note, reader, approve=False, expires_on=date.today())
    share.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = approve(pairing, share)
    assert response.status_code == 409 and "expired before it was approved" in page_of(response)
    assert "the proposal expired" in page_of(pairing.mentee_client.get(pairing.note_url(note.id)))


def test_the_expiry_date_is_the_last_readable_day():
    """Does an expiry date mean 'readable through that whole day' (UTC)?"""
    moment = notes.expiry_moment(date(2030, 5, 17))
    assert moment.isoformat() == "2030-05-18T00:00:00"
    share = NoteShare(expires_at=moment)
    assert notes.last_readable_day(share) == date(2030, 5, 17)
    assert notes.expiry_moment(None) is None


def test_changing_a_shared_note_ends_its_shares(app, pairing, reader):
    """When a member changes a shared note, does the share end (the consent was for the old text), the
    recipient lose access at once, and the pair see why?"""
    note = make_note(pairing.pair, pairing.mentor, "Agreed text.")
    share = make_share(note, reader)
    pending = make_share(note, make_user(), approve=False)
    edit_page = page_of(pairing.mentor_client.get(pairing.note_url(note.id, "edit")))
    assert "Saving a change ends that" in edit_page
    response = pairing.mentor_client.post(
        pairing.note_url(note.id, "edit"),
        data={f"note-{note.id}-text": "Agreed text, plus something new.", f"note-{note.id}-version": "1"},
        follow_redirects=True)
    assert re.search(r"sharing it with person\d+@example.org and Rita Reader &lt;rita@example.org&gt; has ended",
                     page_of(response))
    assert (fresh(share).state, fresh(share).ended_by_edit) == ("withdrawn", True)
    assert fresh(pending).state == "withdrawn"
    assert signed_in_client(app, reader).get(f"/shared/{share.id}").status_code == 404
    assert "when Maria Mentor changed the note" in page_of(pairing.mentee_client.get(pairing.note_url(note.id)))


def test_deleting_a_shared_note_ends_the_recipients_access(app, pairing, reader):
    """Does deleting a shared note close it to the recipient at once (and warn before deleting)?"""
    note = make_note(pairing.pair, pairing.mentor, "Shared, then deleted.")
    note_id = note.id
    share_id = make_share(note, reader).id
    assert "Its sharing ends too" in page_of(pairing.mentee_client.get(pairing.note_url(note_id, "delete")))
    pairing.mentee_client.post(pairing.note_url(note_id, "delete"), data={f"delete-{note_id}-version": "1"})
    assert signed_in_client(app, reader).get(f"/shared/{share_id}").status_code == 404
    assert db.session.scalar(db.select(db.func.count(NoteShare.id))) == 0
    events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "note_share.withdraw")).all()
    assert [json.loads(event.detail)["reason"] for event in events] == ["note_deleted"]


def test_a_deactivated_recipient_cannot_read(app, pairing, reader):
    """Is a recipient whose account is deactivated shut out (sign-in refused, session ended)?"""
    note = make_note(pairing.pair, pairing.mentor, "Deactivated reader.")
    share = make_share(note, reader)
    reader_client = signed_in_client(app, reader)
    reader.is_deactivated = True
    reader.session_generation += 1
    db.session.commit()
    response = reader_client.get(f"/shared/{share.id}")
    assert response.status_code == 303 and response.headers["Location"].startswith("/auth/sign-in")


# --- proposing ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("email,expires_on,field,message", [
    ("not-an-address", "", "email", "Enter the e-mail address of the person to share with"),
    ("", "", "email", "Enter the e-mail address of the person to share with"),
    ("MEMBER", "", "email", "That is a member of your pair"),
    ("rita@example.org", "2001-01-01", "expires_on", "UTC) or a later date"),
    ("rita@example.org", "31/12/2030", "expires_on", "Enter a date such as 2030-12-31"),
])
def test_bad_proposals_are_explained_next_to_the_field(pairing, email, expires_on, field, message):
    """Is each bad proposal refused with 422 and a message next to the right field, with nothing proposed and
    nobody mailed?"""
    note = make_note(pairing.pair, pairing.mentor, "Proposal checks.")
    email = pairing.mentee.email if email == "MEMBER" else email
    response = propose(pairing, note, email, expires_on=expires_on)
    page = page_of(response)
    assert response.status_code == 422
    assert f'id="share-{note.id}-{field}-error"' in page and message in page
    assert db.session.scalar(db.select(db.func.count(NoteShare.id))) == 0
    assert outbox() == []


def test_the_same_person_cannot_be_proposed_twice_while_a_share_is_open(pairing, reader):
    """Is a second proposal to the same person refused while the first is waiting or active, and allowed
    again once it ended?"""
    note = make_note(pairing.pair, pairing.mentor, "Once per person.")
    share = make_share(note, reader, approve=False)
    response = propose(pairing, note, reader.email, client=pairing.mentee_client)
    assert response.status_code == 422 and "already shared with that person" in page_of(response)
    pairing.mentee_client.post(pairing.share_url(share.id, "decline"))
    assert propose(pairing, note, reader.email, client=pairing.mentee_client).status_code == 303


def test_a_deactivated_account_cannot_be_proposed(pairing):
    """Is a deactivated account refused as a recipient with a reason?"""
    note = make_note(pairing.pair, pairing.mentor, "Nobody home.")
    gone = make_user(deactivated=True)
    response = propose(pairing, note, gone.email)
    assert response.status_code == 422 and "deactivated" in page_of(response)


def test_proposal_mails_the_other_member_without_the_text(pairing, reader):
    """Is the other member told by e-mail that a share awaits their approval, with a link and no note text,
    and do they see it waiting on their home page?"""
    note = make_note(pairing.pair, pairing.mentor, "The confidential words.")
    propose(pairing, note, reader.email, name="Rita", expires_on=(date.today() + timedelta(days=10)).isoformat())
    share = db.session.scalar(db.select(NoteShare))
    [mail] = outbox("note_share_proposed")
    assert mail.to_address == pairing.mentee.email
    assert "Maria Mentor proposes to share one note" in mail.body
    assert f"http://localhost/pairs/{pairing.pair.id}/shares/{share.id}/approve" in mail.body
    assert "readable until the end of" in mail.body
    assert "confidential words" not in mail.body + mail.subject
    assert "1 share waiting for your approval" in page_of(pairing.mentee_client.get("/"))
    assert "waiting for your approval" not in page_of(pairing.mentor_client.get("/"))


def test_a_new_person_is_invited_when_the_share_is_approved(app, pairing, client):
    """Can a note be shared with someone without an account: invited only once both agreed, then able to set
    a password and read it?"""
    note = make_note(pairing.pair, pairing.mentor, "For a newcomer.")
    propose(pairing, note, "newcomer@example.org", name="Nora Newcomer")
    share = db.session.scalar(db.select(NoteShare))
    assert db.session.scalar(db.select(User).where(User.email == "newcomer@example.org")) is None
    approve(pairing, share)
    newcomer = db.session.scalar(db.select(User).where(User.email == "newcomer@example.org"))
    assert newcomer.name == "Nora Newcomer" and fresh(share).recipient_id == newcomer.id
    [invitation] = outbox("invite", to="newcomer@example.org")
    [shared_mail] = outbox("note_shared", to="newcomer@example.org")
    assert "reader of a note that Maria Mentor and Nina Mentee agreed to share" in invitation.body
    assert "invitation link we sent you separately" in shared_mail.body
    assert "For a newcomer." not in invitation.body + shared_mail.body
    link = invitation.body.split("http://localhost")[1].split()[0]
    client.post(link, data={"name": "Nora Newcomer", "password": "a new long password",
                            "confirm": "a new long password"})
    sign_in(client, "newcomer@example.org", "a new long password")
    assert "A note from Maria Mentor and Nina Mentee" in page_of(client.get("/"))
    assert "For a newcomer." in page_of(client.get(f"/shared/{share.id}"))


def test_approval_tells_the_recipient_and_the_proposer(pairing, reader):
    """Does approval mail the recipient (link, no text) and tell the proposer?"""
    note = make_note(pairing.pair, pairing.mentor, "Mail check words.")
    share = make_share(note, reader)
    [to_reader] = outbox("note_shared", to=reader.email)
    assert f"http://localhost/shared/{share.id}" in to_reader.body and "(sign in first)" in to_reader.body
    assert "Maria Mentor and Nina Mentee" in to_reader.subject
    [to_proposer] = outbox("note_share_decided", to=pairing.mentor.email)
    assert "approved" in to_proposer.subject
    assert all("Mail check words" not in mail.body + mail.subject for mail in outbox())
    assert outbox("added", to=reader.email) == []  # an existing account gets one mail, not two


def test_every_step_is_audited_without_the_text(pairing, reader):
    """Are proposal, approval, refusal and withdrawal each recorded, by whom, with ids and no note text?"""
    note = make_note(pairing.pair, pairing.mentor, "Audited words here.")
    first = make_share(note, reader)
    pairing.mentor_client.post(pairing.share_url(first.id, "withdraw"))
    second = make_share(note, make_user(), approve=False)
    pairing.mentee_client.post(pairing.share_url(second.id, "decline"))
    assert audit_actions() == ["note_share.propose", "note_share.approve", "note_share.withdraw",
                               "note_share.propose", "note_share.decline"]
    events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action.like("note_share.%"))).all()
    actors = [event.actor_id for event in events]
    assert actors == [pairing.mentor.id, pairing.mentee.id, pairing.mentor.id, pairing.mentor.id, pairing.mentee.id]
    for event in events:
        facts = json.loads(event.detail)
        assert facts["note_id"] == note.id and event.pair_id == pairing.pair.id
        assert "Audited words" not in event.detail


def test_the_recipient_never_sees_the_pairs_sharing_trail(app, pairing, reader):
    """Does the recipient's page leave out who else the note was (or was nearly) shared with?"""
    note = make_note(pairing.pair, pairing.mentor, "Trail.")
    share = make_share(note, reader)
    make_share(note, make_user(email="second.reader@example.org"), approve=False)
    page = page_of(signed_in_client(app, reader).get(f"/shared/{share.id}"))
    assert "second.reader@example.org" not in page and "Withdraw" not in page


def test_a_member_is_shown_each_state_of_every_share(pairing, reader):
    """Does the pair see waiting, shared, declined, withdrawn and expired shares, each named as such?"""
    note = make_note(pairing.pair, pairing.mentor, "States.")
    make_share(note, make_user(), approve=False)
    make_share(note, reader)
    declined = make_share(note, make_user(), approve=False)
    notes.decline_share(pairing.mentee, declined)
    withdrawn = make_share(note, make_user())
    notes.withdraw_share(pairing.mentor, withdrawn)
    expired = make_share(note, make_user())
    expired.expires_at = utcnow() - timedelta(days=1)
    db.session.commit()
    page = page_of(pairing.mentee_client.get(pairing.notes_url))
    for label in ("Waiting for approval", "Shared", "Declined", "Withdrawn", "Expired"):
        assert f'<span class="badge">{label}</span>' in page


def test_an_approval_without_the_recipient_the_form_showed_is_refused(pairing):
    """Is an approval that does not say whom the form showed (a request made without the form) refused, with
    the form showing who the recipient is, so that nobody approves a share without having been shown whom?"""
    note = make_note(pairing.pair, pairing.mentor, "Who is it?")
    share = notes.propose_share(pairing.mentor, note, "someone@example.org", "", None)
    db.session.commit()
    url = pairing.share_url(share.id, "approve")
    response = pairing.mentee_client.post(url, data={f"approve-{share.id}-password": PASSWORD})
    page = page_of(response)
    assert response.status_code == 422 and fresh(share).state == "proposed"
    assert "someone@example.org" in page and "no account yet" in page
    assert pairing.mentee_client.post(url, data=approval_form(share)).status_code == 303
    assert fresh(share).state == "approved"


def test_mail_about_a_proposal_never_names_its_recipient(pairing):
    """Until both approve, whom a pair would share a note with is the pair's alone: do the proposal, the
    waiting reminder and the refusal mails (which leave the portal) leave the address and name out, and does the
    approval mail name them?"""
    from portal.domain.reminders import send_reminders
    note = make_note(pairing.pair, pairing.mentor, "Unnamed.")
    declined = notes.propose_share(pairing.mentor, note, "confidant@example.org", "Carla Confidant", None)
    db.session.commit()
    pairing.mentee_client.post(pairing.share_url(declined.id, "decline"))
    pending = notes.propose_share(pairing.mentee, note, "another.confidant@example.org", "Ann Other", None)
    db.session.commit()
    send_reminders(utctoday() + timedelta(days=5))
    for mail in outbox():
        if mail.kind.startswith("note_share") or mail.kind == "reminder_share_waiting":
            text = f"{mail.subject}\n{mail.body}"
            for secret in ("confidant@example.org", "Carla Confidant", "Ann Other"):
                assert secret not in text, (mail.kind, text)
    assert {"note_share_proposed", "note_share_decided"} <= {mail.kind for mail in outbox()}
    pairing.mentor_client.post(pairing.share_url(pending.id, "approve"), data=approval_form(pending))
    assert "Ann Other" in outbox("note_share_decided")[-1].body
