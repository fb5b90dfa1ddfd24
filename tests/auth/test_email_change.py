"""Changing one's sign-in address: the new address takes effect only once a link mailed to it is followed, and
an address change never hands anyone the invitations, roles or shares meant for the address."""
from __future__ import annotations

import re
from datetime import timedelta

from portal.extensions import db
from portal.models import AccountToken, NoteShare, ProgramRole, User
from portal.timeutil import utcnow
from tests.factories import (
    PASSWORD, approval_form, make_note, make_pair, make_program, make_role, make_user, outbox, sign_in,
)

LINK = re.compile(r"http://localhost(/auth/confirm-email/[A-Za-z0-9_\-]+)")


def request_change(client, new_email: str, password: str = PASSWORD):
    return client.post("/auth/account/email", data={"email-email": new_email, "email-current_password": password})


def confirm_link(to: str) -> str:
    mails = outbox("email_confirm", to=to)
    assert mails, f"no confirmation link was mailed to {to}"
    match = LINK.search(mails[-1].body)
    assert match, mails[-1].body
    return match.group(1)


def email_of(user: User) -> str:
    db.session.expire_all()
    return db.session.get(User, user.id).email


def signed_in(app, user):
    client = app.test_client()
    assert sign_in(client, user).status_code == 303
    return client


def test_a_new_address_takes_effect_only_once_its_link_is_followed(app, client):
    """Does asking for a new address change nothing until the link mailed to that address is followed, show
    the pending change on the account page, and then switch the sign-in address and tell the old one?"""
    user = make_user(email="old@example.org")
    sign_in(client, user)
    response = request_change(client, "New@Example.org")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "new@example.org" in page and "follow the link" in page
    assert email_of(user) == "old@example.org"
    assert sign_in(app.test_client(), "new@example.org").status_code == 422
    assert outbox("email_changed") == []
    link = confirm_link("new@example.org")
    assert "Cancel the change" in client.get("/auth/account").get_data(as_text=True)

    confirm_page = client.get(link)
    assert confirm_page.status_code == 200 and "new@example.org" in confirm_page.get_data(as_text=True)
    assert email_of(user) == "old@example.org"  # opening the link (a mail scanner, say) changes nothing
    done = client.post(link)
    assert done.status_code == 303
    assert email_of(user) == "new@example.org"
    assert "You now sign in with new@example.org" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert len(outbox("email_changed", to="old@example.org")) == 1
    assert sign_in(app.test_client(), "new@example.org").status_code == 303
    assert client.post(link).status_code == 410  # once only


def test_a_share_meant_for_an_address_does_not_follow_an_unproven_address_change(app):
    """When someone asks to take an address for which a note share waits for approval, does the approval still
    go to a new account invited at that address (not to them), and does the approving member see that the
    recipient has no account yet?"""
    program = make_program()
    mentor, mentee = make_user(name="Maria Mentor"), make_user(name="Nina Mentee")
    pair = make_pair(program, mentor, mentee)
    note = make_note(pair, mentor, "For the new coordinator only.")
    from portal.domain import notes
    share = notes.propose_share(mentor, note, "coordinator@example.org", "Cora Coordinator", None)
    db.session.commit()
    intruder = make_user(name="Ivan Intruder")
    intruder_client = signed_in(app, intruder)
    assert request_change(intruder_client, "coordinator@example.org").status_code == 303

    mentee_client = signed_in(app, mentee)
    approval = mentee_client.get(f"/pairs/{pair.id}/shares/{share.id}/approve").get_data(as_text=True)
    assert "Cora Coordinator" in approval and "no account yet: they will be invited" in approval
    assert "Ivan Intruder" not in approval
    response = mentee_client.post(f"/pairs/{pair.id}/shares/{share.id}/approve",
                                  data=approval_form(share))
    assert response.status_code == 303
    db.session.expire_all()
    approved = db.session.get(NoteShare, share.id)
    assert approved.recipient_id != intruder.id
    assert approved.recipient.email == "coordinator@example.org" and approved.recipient.password_hash is None
    assert len(outbox("invite", to="coordinator@example.org")) == 1
    assert email_of(intruder) != "coordinator@example.org"
    assert intruder_client.get(f"/shared/{share.id}").status_code == 404


def test_pairs_and_supervisor_roles_for_an_address_go_to_the_person_invited_there(app):
    """When someone has asked for an address but not proven it, does a pair or a supervisor role created for
    that address go to a new account invited there, and does their later confirmation then fail?"""
    program = make_program()
    admin = make_user()
    make_role(admin, program, "admin")
    intruder = make_user(name="Ivan Intruder")
    intruder_client = signed_in(app, intruder)
    assert request_change(intruder_client, "boss@example.org").status_code == 303
    link = confirm_link("boss@example.org")

    from portal.domain import programs
    role = programs.appoint(admin, program, "supervisor", "boss@example.org", "Bea Boss")
    pair = make_pair(program, mentee=role.user)
    db.session.commit()
    assert role.user_id != intruder.id and pair.mentee_id != intruder.id
    assert db.session.scalars(db.select(ProgramRole).where(ProgramRole.user_id == intruder.id)).all() == []

    response = intruder_client.post(link)
    assert response.status_code == 409
    assert "already belongs to another account" in response.get_data(as_text=True)
    assert email_of(intruder) != "boss@example.org"


def test_the_answer_does_not_say_whether_an_address_already_has_an_account(app):
    """Is asking for an address that another account has answered exactly like asking for a free one (same
    status, same words, the same pending change shown), with no link mailed to the taken address?"""
    make_user(email="taken@example.org")
    answers = []
    for address in ("taken@example.org", "free@example.org"):
        client = signed_in(app, make_user())
        response = request_change(client, address)
        page = client.get(response.headers["Location"]).get_data(as_text=True).replace(address, "ADDRESS")
        flash = re.findall(r'<p class="flash[^"]*">(.*?)</p>', page, re.S)
        pending = re.findall(r'<p id="pending-email">(.*?)</p>', page, re.S)
        answers.append((response.status_code, flash, pending))
    assert answers[0] == answers[1]
    assert answers[0][0] == 303 and answers[0][1] and answers[0][2]
    assert outbox("email_confirm", to="taken@example.org") == []
    assert len(outbox("email_confirm", to="free@example.org")) == 1


def test_a_wrong_password_or_an_invalid_address_changes_nothing(client):
    """Are a wrong password and an invalid or unchanged address refused next to the field (422), with no mail
    sent?"""
    user = make_user(email="me@example.org")
    sign_in(client, user)
    assert request_change(client, "new@example.org", "not my password").status_code == 422
    assert request_change(client, "not an address").status_code == 422
    assert request_change(client, "ME@example.org").status_code == 422
    assert outbox("email_confirm") == []


def test_the_pending_change_can_be_cancelled(app, client):
    """Can the person cancel a pending address change from the account page, after which its link is dead?"""
    user = make_user(email="old@example.org")
    sign_in(client, user)
    request_change(client, "new@example.org")
    link = confirm_link("new@example.org")
    response = client.post("/auth/account/email/cancel")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="pending-email"' not in page and "The address change is cancelled" in page
    assert client.get(link).status_code == 410
    assert client.post(link).status_code == 410
    assert email_of(user) == "old@example.org"


def test_a_newer_request_replaces_the_pending_one(client):
    """When the person asks for another address, does the first link stop working?"""
    user = make_user()
    sign_in(client, user)
    request_change(client, "first@example.org")
    first = confirm_link("first@example.org")
    request_change(client, "second@example.org")
    assert client.post(first).status_code == 410
    assert client.post(confirm_link("second@example.org")).status_code == 303
    assert email_of(user) == "second@example.org"


def test_the_link_expires_after_a_day(app, client):
    """Is a confirmation link older than its lifetime refused, with the address unchanged?"""
    user = make_user(email="old@example.org")
    sign_in(client, user)
    request_change(client, "new@example.org")
    link = confirm_link("new@example.org")
    token = db.session.scalars(db.select(AccountToken).where(AccountToken.purpose == "email")).one()
    assert timedelta(hours=23) < token.expires_at - utcnow() <= timedelta(hours=24)
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.post(link)
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)
    assert email_of(user) == "old@example.org"


def test_signed_out_the_link_asks_for_the_accounts_password(app):
    """Following the link signed out, is the change confirmed only with the account's password (a wrong one
    counted like a failed sign-in), and then is the person sent to sign in with the new address?"""
    user = make_user(email="old@example.org")
    request_change(signed_in(app, user), "new@example.org")
    link = confirm_link("new@example.org")
    visitor = app.test_client()
    page = visitor.get(link).get_data(as_text=True)
    assert 'type="password"' in page
    wrong = visitor.post(link, data={"password": "not the password"})
    assert wrong.status_code == 422 and "That is not your password" in wrong.get_data(as_text=True)
    assert email_of(user) == "old@example.org"
    from portal.models import RateEvent
    assert db.session.scalar(db.select(db.func.count(RateEvent.id)).where(
        RateEvent.scope == "sign_in:account", RateEvent.key == "old@example.org")) == 1
    done = visitor.post(link, data={"password": PASSWORD})
    assert done.status_code == 303 and done.headers["Location"].startswith("/auth/sign-in")
    assert email_of(user) == "new@example.org"


def test_signed_in_as_someone_else_the_link_changes_nothing(app):
    """Following the link while signed in as another account, is the person told to sign out first, with
    nothing changed even if they submit?"""
    user = make_user(email="old@example.org")
    request_change(signed_in(app, user), "new@example.org")
    link = confirm_link("new@example.org")
    other = signed_in(app, make_user())
    page = other.get(link)
    assert page.status_code == 409 and "Sign out" in page.get_data(as_text=True)
    assert other.post(link, data={"password": PASSWORD}).status_code == 409
    assert email_of(user) == "old@example.org"


def test_address_change_requests_are_limited(client):
    """Is one account held to five address change requests an hour (each mails an address typed in), the
    sixth answered with 429 and no mail?"""
    sign_in(client, make_user())
    for n in range(5):
        assert request_change(client, f"try{n}@example.org").status_code == 303
    response = request_change(client, "try5@example.org")
    assert response.status_code == 429 and "Wait a while" in response.get_data(as_text=True)
    assert outbox("email_confirm", to="try5@example.org") == []
