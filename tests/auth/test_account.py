"""The person's own account (name, password, address), session timeouts, and limits on reset requests."""
from __future__ import annotations

import time

from portal import sessions
from portal.domain import accounts
from portal.extensions import db
from portal.models import User
from tests.factories import PASSWORD, make_user, outbox, sign_in

NEW = "a new and long passphrase"


def test_password_change_ends_other_sessions_but_not_this_one(app, client):
    """After changing the password, does this session go on while every other session of the account ends?"""
    user = make_user()
    other_device = app.test_client()
    sign_in(other_device, user)
    sign_in(client, user)
    response = client.post("/auth/account/password", data={
        "password-current_password": PASSWORD, "password-password": NEW, "password-confirm": NEW})
    assert response.status_code == 303
    assert client.get("/").status_code == 200
    assert other_device.get("/").status_code == 303
    assert len(outbox("password_changed", to=user.email)) == 1
    assert sign_in(app.test_client(), user, NEW).status_code == 303


def test_password_change_needs_the_current_password(client):
    """Is a wrong current password refused next to the field, with nothing changed?"""
    user = make_user()
    sign_in(client, user)
    response = client.post("/auth/account/password", data={
        "password-current_password": "wrong password", "password-password": NEW, "password-confirm": NEW})
    assert response.status_code == 422 and "current password is not right" in response.get_data(as_text=True)
    assert sign_in(client.application.test_client(), user, PASSWORD).status_code == 303


def test_email_change_needs_the_password(client):
    """Is a wrong current password refused next to the field, with the address unchanged and nothing mailed?
    (What follows a right one is in tests/auth/test_email_change.py.)"""
    user = make_user(email="old@example.org")
    sign_in(client, user)
    wrong = client.post("/auth/account/email", data={"email-email": "new@example.org",
                                                      "email-current_password": "nope nope"})
    assert wrong.status_code == 422 and "current password is not right" in wrong.get_data(as_text=True)
    assert db.session.get(User, user.id).email == "old@example.org"
    assert outbox("email_confirm") == [] and outbox("email_changed") == []


def test_name_change(client):
    """Can a person correct their name, and is an empty name refused?"""
    user = make_user(name="Typo Nmae")
    sign_in(client, user)
    assert client.post("/auth/account/name", data={"name-name": ""}).status_code == 422
    assert client.post("/auth/account/name", data={"name-name": "Typo Name"}).status_code == 303
    assert db.session.get(User, user.id).name == "Typo Name"


def age_session(client, **seconds_ago):
    with client.session_transaction() as session:
        now = int(time.time())
        if "signed_in" in seconds_ago:
            session[sessions.SIGNED_IN_AT] = now - seconds_ago["signed_in"]
        if "active" in seconds_ago:
            session[sessions.LAST_ACTIVE_AT] = now - seconds_ago["active"]


def test_idle_session_ends(app, client):
    """After the idle timeout without activity, is the person signed out with a message saying why?"""
    sign_in(client, make_user())
    age_session(client, active=app.config["SESSION_IDLE_MINUTES"] * 60 + 5)
    response = client.get("/")
    assert response.status_code == 303 and response.headers["Location"].startswith("/auth/sign-in")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "without activity" in page


def test_absolute_session_lifetime(app, client):
    """Does a session end after its absolute lifetime even when it is used all the time?"""
    sign_in(client, make_user())
    lifetime = int(app.config["PERMANENT_SESSION_LIFETIME"].total_seconds())
    age_session(client, signed_in=lifetime + 5, active=1)
    assert client.get("/").status_code == 303


def test_automatic_requests_do_not_keep_a_session_alive(app, client):
    """Does the editors' automatic polling leave the idle clock running, unlike a page the person opens?"""
    sign_in(client, make_user())
    age_session(client, active=120)
    client.get("/agreements/999999/changes?since=0", headers={"HX-Request": "true"})
    with client.session_transaction() as session:
        assert int(time.time()) - session[sessions.LAST_ACTIVE_AT] >= 120
    client.get("/")
    with client.session_transaction() as session:
        assert int(time.time()) - session[sessions.LAST_ACTIVE_AT] < 5


def test_reset_requests_are_limited_per_address(client):
    """Are more than ten reset requests an hour from one address answered with 429 and a clear message?"""
    for n in range(10):
        assert client.post("/auth/forgot-password", data={"email": f"x{n}@example.org"}).status_code == 303
    response = client.post("/auth/forgot-password", data={"email": "x@example.org"})
    assert response.status_code == 429 and "Wait an hour" in response.get_data(as_text=True)


def test_reset_mails_per_account_are_limited_silently(app):
    """Is one account sent at most three reset mails an hour, without the answer revealing the account?"""
    user = make_user()
    answers = set()
    for n in range(5):
        client = app.test_client()
        response = client.post("/auth/forgot-password", data={"email": user.email},
                               environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}, follow_redirects=True)
        answers.add(response.status_code)
    assert answers == {200}
    assert len(outbox("reset", to=user.email)) == 3


# --- re-entering the password counts against the sign-in throttle --------------------------------------------

SIGN_IN_THROTTLED = "Too many failed sign-ins. Wait 15 minutes, then try again, or reset your password."


def change_password_with(client, current: str):
    return client.post("/auth/account/password", data={
        "password-current_password": current, "password-password": NEW, "password-confirm": NEW})


def change_email_with(client, current: str):
    return client.post("/auth/account/email", data={"email-email": "elsewhere@example.org",
                                                    "email-current_password": current})


def test_guessing_the_password_on_the_account_page_is_throttled(app, client):
    """After five wrong passwords in the password and address forms, is the right one refused in both (429,
    with the sign-in throttle's words) and is signing in throttled too?"""
    user = make_user()
    sign_in(client, user)
    for attempt in range(5):
        change = change_password_with if attempt % 2 else change_email_with
        assert change(client, f"guess number {attempt}").status_code == 422
    for change in (change_password_with, change_email_with):
        response = change(client, PASSWORD)
        assert response.status_code == 429 and SIGN_IN_THROTTLED in response.get_data(as_text=True)
    assert outbox("email_confirm") == [] and outbox("password_changed") == []
    db.session.expire_all()
    assert accounts.verify_password(db.session.get(User, user.id), PASSWORD)  # unchanged
    throttled = sign_in(app.test_client(), user)
    assert throttled.status_code == 429 and SIGN_IN_THROTTLED in throttled.get_data(as_text=True)


def test_failed_sign_ins_throttle_the_account_page_too(app, client):
    """After five failed sign-ins, is a re-entered password on the account page refused, right or not?"""
    user = make_user()
    sign_in(client, user)
    for _ in range(5):
        sign_in(app.test_client(), user, "wrong password")
    response = change_password_with(client, PASSWORD)
    assert response.status_code == 429 and SIGN_IN_THROTTLED in response.get_data(as_text=True)
    assert sign_in(app.test_client(), user, NEW).status_code != 303
