"""Signing in and out, sessions, and where people land."""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models import RateEvent
from tests.factories import PASSWORD, make_user, sign_in


def test_sign_in_page_is_the_front_door(client):
    """Does an anonymous visitor to the home page land on the sign-in form?"""
    response = client.get("/")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/auth/sign-in")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Sign in" in page and 'name="password"' in page


def test_sign_in_and_home(client):
    """Can a person sign in with e-mail and password and see their home page?"""
    user = make_user(name="Ada Example")
    response = sign_in(client, user.email.upper())  # e-mail is case-insensitive
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert "Welcome, Ada Example" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("email,password", [
    ("known", "wrong password here"),
    ("nobody@example.org", PASSWORD),
])
def test_wrong_credentials_say_the_same_thing(client, email, password):
    """Does a wrong password read exactly like an unknown address (no account enumeration)?"""
    user = make_user()
    response = sign_in(client, user.email if email == "known" else email, password)
    assert response.status_code == 422
    assert "do not match an active account" in response.get_data(as_text=True)
    assert client.get("/").status_code == 303


def test_deactivated_and_invited_people_cannot_sign_in(client):
    """Can neither a deactivated account nor one that never set a password sign in?"""
    deactivated = make_user(deactivated=True)
    invited = make_user(password=None)
    assert sign_in(client, deactivated).status_code == 422
    assert sign_in(client, invited, "").status_code == 422


def test_session_is_cleared_at_sign_in(client, app):
    """Is state from before sign-in (a fixated session) discarded when someone signs in?"""
    user = make_user()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    sign_in(client, user)
    with client.session_transaction() as session:
        assert "planted" not in session


def test_sign_out_ends_the_session(client):
    """After signing out, is the home page closed again?"""
    user = make_user()
    sign_in(client, user)
    response = client.post("/auth/sign-out")
    assert response.status_code == 303
    assert client.get("/").status_code == 303


def test_copied_cookie_stops_working_after_sign_out(app, client):
    """Does a session cookie copied before sign-out stop working after it?"""
    user = make_user()
    sign_in(client, user)
    stolen = client.get_cookie("portal_session").value
    client.post("/auth/sign-out")
    thief = app.test_client()
    thief.set_cookie("portal_session", stolen)
    assert thief.get("/").status_code == 303


def test_deactivation_ends_sessions_at_once(app, client):
    """Is a person signed out on their very next request once a site admin deactivates them?"""
    admin = make_user(site_admin=True)
    user = make_user()
    sign_in(client, user)
    assert client.get("/").status_code == 200
    admin_client = app.test_client()
    sign_in(admin_client, admin)
    assert admin_client.post(f"/admin/users/{user.id}/deactivate").status_code == 303
    assert client.get("/").status_code == 303


def test_sign_out_needs_a_post_with_csrf(client):
    """Can a link or a forged form sign someone out? (GET is not allowed; POST without token is refused.)"""
    user = make_user()
    sign_in(client, user)
    assert client.get("/auth/sign-out").status_code == 405
    assert client.post("/auth/sign-out", csrf=False).status_code == 400
    assert client.get("/").status_code == 200


def test_signed_in_person_visiting_sign_in_goes_home(client):
    """Does the sign-in page send someone already signed in to their home page?"""
    sign_in(client, make_user())
    response = client.get("/auth/sign-in")
    assert response.status_code == 303 and response.headers["Location"] == "/"


# --- next ---------------------------------------------------------------------------------------------------

def test_next_inside_the_portal_is_followed(client):
    """After being sent to sign in from a page, does the person come back to that page?"""
    user = make_user(site_admin=True)
    response = client.get("/admin/users")
    assert "next=/admin/users" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="/admin/users"' in page
    response = client.post("/auth/sign-in", data={"email": user.email, "password": PASSWORD,
                                                  "next": "/admin/users"})
    assert response.headers["Location"] == "/admin/users"


@pytest.mark.parametrize("target", [
    "//evil.example", "/\\evil.example", "https:evil.example", "javascript:alert(1)",
    "https://evil.example/", "\\\\evil.example", "/\t/evil.example", "http:/evil.example", " //evil.example",
])
def test_next_cannot_leave_the_portal(client, target):
    """Is every open-redirect trick in `next` replaced by the home page?"""
    user = make_user()
    response = client.post("/auth/sign-in", data={"email": user.email, "password": PASSWORD, "next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    page = client.get(f"/auth/sign-in?next={target}")  # signed in now: goes home, never to the target
    assert page.headers["Location"] == "/"


def test_next_is_not_echoed_when_unsafe(client):
    """Does the sign-in form drop an unsafe `next` instead of carrying it along?"""
    page = client.get("/auth/sign-in?next=//evil.example").get_data(as_text=True)
    assert "evil.example" not in page


def test_htmx_requests_get_hx_redirect_to_sign_in(client):
    """Is an anonymous htmx request answered with HX-Redirect rather than a page swapped into the fragment?"""
    response = client.get("/admin/users", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/auth/sign-in")
    assert response.get_data() == b""


# --- throttling ---------------------------------------------------------------------------------------------

def test_account_is_throttled_after_repeated_failures(app, client):
    """After five wrong passwords, is the account refused with 429 even with the right one?"""
    user = make_user()
    for _ in range(5):
        assert sign_in(client, user, "wrong password").status_code == 422
    response = sign_in(client, user)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.get_data(as_text=True)


def test_throttling_holds_across_workers(app):
    """Do failures counted by one worker count for another (state in the database, not in memory)?"""
    from portal import create_app
    from tests.conftest import TEST_CONFIG, PortalClient
    user = make_user()
    other_worker = create_app(TEST_CONFIG)
    other_worker.test_client_class = PortalClient
    clients = [app.test_client(), other_worker.test_client()]
    for attempt in range(5):
        sign_in(clients[attempt % 2], user, "wrong password")
    assert sign_in(clients[0], user).status_code == 429
    assert sign_in(clients[1], user).status_code == 429


def test_client_address_is_throttled_across_accounts(app, client):
    """Is one address that tries many accounts stopped too?"""
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 6
    for n in range(6):
        sign_in(client, f"guess{n}@example.org", "wrong password")
    victim = make_user()
    assert sign_in(client, victim).status_code == 429


def test_success_clears_the_account_counter(client):
    """Does a successful sign-in forgive earlier failures of that account?"""
    user = make_user()
    for _ in range(4):
        sign_in(client, user, "wrong password")
    assert sign_in(client, user).status_code == 303
    assert db.session.scalar(db.select(db.func.count(RateEvent.id)).where(
        RateEvent.scope == "sign_in:account")) == 0
