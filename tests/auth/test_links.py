"""Invitation and password-reset links: one-time, expiring, unforgeable, and silent about who has an account."""
from __future__ import annotations

import re
from datetime import timedelta

from portal.extensions import db
from portal.models import AccountToken, User
from portal.timeutil import utcnow
from tests.factories import PASSWORD, make_program, make_role, make_user, outbox, sign_in

LINK = re.compile(r"http://localhost(/auth/set-password/[A-Za-z0-9_\-]+)")
NEW_PASSWORD = "a brand new passphrase"


def link_in(mail) -> str:
    match = LINK.search(mail.body)
    assert match, mail.body
    return match.group(1)


def invite_supervisor(app, email="new.person@example.org"):
    admin = make_user()
    program = make_program()
    make_role(admin, program, "admin")
    client = app.test_client()
    sign_in(client, admin)
    response = client.post(f"/programs/{program.id}/supervisors",
                           data={"supervisor-email": email, "supervisor-name": "New Person"})
    assert response.status_code == 303, response.get_data(as_text=True)
    return outbox("invite", to=email)[-1]


def test_invited_person_sets_a_password_and_signs_in(app, client):
    """Does an invitation e-mail carry a link that lets the new person choose a password and sign in?"""
    mail = invite_supervisor(app)
    assert "supervisor of" in mail.body
    link = link_in(mail)
    page = client.get(link)
    assert page.status_code == 200 and "Welcome" in page.get_data(as_text=True)
    response = client.post(link, data={"name": "New Person", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 303
    assert sign_in(client, "new.person@example.org", NEW_PASSWORD).status_code == 303


def test_link_works_only_once(app, client):
    """Is a used link refused the second time?"""
    link = link_in(invite_supervisor(app))
    client.post(link, data={"name": "", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    again = client.get(link)
    assert again.status_code == 410
    assert "already been used" in again.get_data(as_text=True)
    response = client.post(link, data={"name": "", "password": "another passphrase", "confirm": "another passphrase"})
    assert response.status_code == 410
    assert sign_in(client, "new.person@example.org", "another passphrase").status_code == 422


def test_expired_link_is_refused(app, client):
    """Is a link past its expiry refused with a message saying so?"""
    link = link_in(invite_supervisor(app))
    for token in db.session.scalars(db.select(AccountToken)):
        token.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = client.get(link)
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)


def test_forged_link_is_refused(client):
    """Is a made-up token refused without revealing anything?"""
    response = client.get("/auth/set-password/" + "A" * 43)
    assert response.status_code == 410 and "not valid" in response.get_data(as_text=True)
    response = client.post("/auth/set-password/forged", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 410


def test_only_a_hash_of_the_token_is_stored(app):
    """Would a copy of the database hand out working links? (Only SHA-256 hashes are kept.)"""
    link = link_in(invite_supervisor(app))
    raw = link.rsplit("/", 1)[1]
    stored = db.session.scalars(db.select(AccountToken.token_hash)).all()
    assert raw not in stored and all(len(value) == 64 for value in stored)


def test_password_rules_are_explained(app, client):
    """Are a short password and a mismatched confirmation refused next to the field, keeping the link usable?"""
    link = link_in(invite_supervisor(app))
    response = client.post(link, data={"password": "short", "confirm": "short"})
    assert response.status_code == 422 and "10 to 200 characters" in response.get_data(as_text=True)
    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"})
    assert response.status_code == 422 and "The two passwords differ" in response.get_data(as_text=True)
    assert client.get(link).status_code == 200


def test_reset_does_not_reveal_accounts(client):
    """Does asking for a reset say the same thing for a known and an unknown address, and mail only the known?"""
    user = make_user()
    answers = []
    for email in (user.email, "stranger@example.org"):
        response = client.post("/auth/forgot-password", data={"email": email}, follow_redirects=True)
        answers.append(response.get_data(as_text=True).split('role="status"')[1][:400])
    assert answers[0] == answers[1]
    assert "If that address belongs to an account" in answers[0]
    assert [mail.to_address for mail in outbox("reset")] == [user.email]


def test_reset_link_sets_a_new_password_and_ends_other_sessions(app, client):
    """After a reset, does the new password work, the old one fail, and other sessions end?"""
    user = make_user()
    elsewhere = app.test_client()
    sign_in(elsewhere, user)
    assert elsewhere.get("/").status_code == 200
    client.post("/auth/forgot-password", data={"email": user.email})
    link = link_in(outbox("reset")[-1])
    assert client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 303
    assert elsewhere.get("/").status_code == 303
    assert sign_in(client, user, PASSWORD).status_code == 422
    assert sign_in(client, user, NEW_PASSWORD).status_code == 303


def test_new_reset_link_replaces_the_previous_one(client):
    """Does asking twice leave only the newest link working?"""
    user = make_user()
    client.post("/auth/forgot-password", data={"email": user.email})
    client.post("/auth/forgot-password", data={"email": user.email})
    first, second = (link_in(mail) for mail in outbox("reset"))
    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 200


def test_deactivated_account_gets_no_reset(client):
    """Is no reset mail sent to a deactivated account?"""
    user = make_user(deactivated=True)
    client.post("/auth/forgot-password", data={"email": user.email})
    assert outbox("reset") == []


def test_inviting_an_existing_account_sends_a_notice_not_a_link(app):
    """Does someone who already has an account get a notice of their new role instead of a password link?"""
    existing = make_user(email="known@example.org")
    admin = make_user()
    program = make_program(name="Test Program")
    make_role(admin, program, "admin")
    client = app.test_client()
    sign_in(client, admin)
    client.post(f"/programs/{program.id}/supervisors", data={"supervisor-email": existing.email})
    assert outbox("invite") == []
    notice = outbox("added", to=existing.email)
    assert len(notice) == 1 and "supervisor of Test Program" in notice[0].body
    assert db.session.get(User, existing.id).password_hash is not None


def test_a_sent_mail_keeps_no_working_link_in_the_database(app, client, runner):
    """Once a mail with a one-time link is sent, does the outbox table keep no usable copy of the link, so that a
    copy of the database (a backup) cannot be used to set someone's password? (The mail as delivered has it.)"""
    user = make_user()
    client.post("/auth/forgot-password", data={"email": user.email})
    invite_supervisor(app)
    assert runner.invoke(args=["send-mail"]).exit_code == 0
    db.session.expire_all()
    for mail in outbox("reset") + outbox("invite"):
        assert mail.sent_at is not None
        assert not LINK.search(mail.body), mail.body
        assert "sent" in mail.body and "removed" in mail.body
    with open(app.config["MAIL_FILE"], encoding="utf-8") as delivered:
        links = LINK.findall(delivered.read())
    assert len(links) == 2
    assert client.post(links[0], data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 303
    assert sign_in(client, user, NEW_PASSWORD).status_code == 303
