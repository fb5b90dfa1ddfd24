"""The editors' poll when nothing changed, answered before Flask (portal/poll_shortcut.py): the same answer as
Flask's view, and every other case still Flask's."""
from __future__ import annotations

import time

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from portal import sessions
from portal.extensions import db
from portal.models import Agreement, User
from portal.poll_shortcut import UnchangedPollShortcut
from tests.factories import make_agreement, make_pair, make_program, make_user, make_version, sign_in, act_as

HTMX = {"HX-Request": "true"}


class FlaskSpy:
    """Stands in for the Flask app behind the shortcut: records which requests reached it."""

    def __init__(self, flask_wsgi_app):
        self.flask_wsgi_app = flask_wsgi_app
        self.paths: list[str] = []

    def __call__(self, environ, start_response):
        self.paths.append(environ["PATH_INFO"])
        return self.flask_wsgi_app(environ, start_response)


@pytest.fixture
def poll(app):
    """A pair with an agreement, the mentor signed in, and a spy on what reaches Flask."""
    program = make_program()
    mentor, mentee = make_user(name="Maya Mentor"), make_user(name="Eli Mentee")
    agreement = make_agreement(make_pair(program, mentor, mentee), make_version(program))
    client = app.test_client()
    act_as(client, mentor)
    shortcut = app.wsgi_app
    while not isinstance(shortcut, UnchangedPollShortcut):  # under the request-id layer (portal/logs.py)
        shortcut = shortcut.wsgi_app
    spy = FlaskSpy(shortcut.flask_wsgi_app)
    shortcut.flask_wsgi_app = spy
    seq = db.session.get(Agreement, agreement.id).change_seq
    return {"agreement": agreement, "client": client, "spy": spy, "seq": seq, "mentor": mentor, "shortcut": shortcut,
            "url": f"/agreements/{agreement.id}/changes?since={seq}&state=draft"}


@pytest.mark.parametrize("production", [False, True], ids=["development", "production"])
def test_nothing_changed_is_answered_before_flask_with_the_headers_flask_sends(app, poll, production):
    """When nothing changed, is the 204 answered without Flask, with exactly the headers Flask's view sends (HSTS
    too, in production)?"""
    app.config["PRODUCTION"] = production
    client, spy = poll["client"], poll["spy"]
    response = client.get(poll["url"], headers=HTMX)
    assert response.status_code == 204 and response.data == b""
    assert spy.paths == []
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    environ = EnvironBuilder(path=poll["url"], headers={**HTMX, "Cookie": f"portal_session={cookie}"}).get_environ()
    _body, status, flask_headers = run_wsgi_app(spy.flask_wsgi_app, environ, buffered=True)
    assert status == "204 NO CONTENT"
    # The request id is added around both (portal/logs.py): each answer has its own.
    assert response.headers["X-Request-ID"]
    assert [item for item in response.headers.items() if item[0] != "X-Request-ID"] == list(flask_headers.items())


@pytest.mark.parametrize("case", ["changed", "repeated_since", "spaced_since", "huge_since", "no_since", "post"])
def test_other_requests_go_to_flask(poll, case):
    """Is anything but "nothing changed" (a change, odd or missing arguments, another method) left to Flask's
    view, which answers it as before?"""
    client, spy, seq, agreement = poll["client"], poll["spy"], poll["seq"], poll["agreement"]
    base = f"/agreements/{agreement.id}/changes"
    if case == "changed":
        response = client.get(f"{base}?since={seq + 1}&state=draft", headers=HTMX)
        assert response.status_code == 200
    elif case == "repeated_since":  # the first counts, as in Flask's request.args: still "nothing changed"
        response = client.get(f"{base}?state=draft&since={seq}&since=99", headers=HTMX)
        assert response.status_code == 204 and spy.paths == []
        return
    elif case == "spaced_since":
        response = client.get(f"{base}?since=%20{seq}&state=draft", headers=HTMX)
        assert response.status_code == 204  # Flask reads " 0" as 0
    elif case == "huge_since":
        response = client.get(f"{base}?since={2**70}&state=draft", headers=HTMX)
        assert response.status_code == 200
    elif case == "no_since":
        assert client.get(f"{base}?state=draft", headers=HTMX).status_code == 200
    else:
        assert client.post(poll["url"], headers=HTMX).status_code == 405
    assert [path for path in spy.paths if path.endswith("/changes")] == [base]  # (the client fetches a CSRF token)


def polls_reaching_flask(spy: FlaskSpy) -> int:
    return len([path for path in spy.paths if path.endswith("/changes")])  # (signing in fetches pages too)


def signed_out(response) -> bool:
    """The poll's answer to an ended session: 401 for htmx, or a redirect to the sign-in page."""
    return response.status_code != 204 or "HX-Redirect" in response.headers


def test_ended_sessions_and_outsiders_are_answered_by_flask(app, poll):
    """Does an idle or too-old session, an account signed out everywhere, a forged cookie or an outsider reach
    Flask, which signs out, refuses with a 404 and audits, exactly as without the shortcut?"""
    client, spy, url = poll["client"], poll["spy"], poll["url"]
    with client.session_transaction() as session:
        session[sessions.LAST_ACTIVE_AT] = int(time.time()) - app.config["SESSION_IDLE_MINUTES"] * 60 - 5
    assert signed_out(client.get(url, headers=HTMX)) and polls_reaching_flask(spy) == 1
    act_as(client, poll["mentor"])
    with client.session_transaction() as session:
        session[sessions.SIGNED_IN_AT] = int(time.time()) - int(app.permanent_session_lifetime.total_seconds()) - 5
    assert signed_out(client.get(url, headers=HTMX)) and polls_reaching_flask(spy) == 2

    act_as(client, poll["mentor"])
    assert client.get(url, headers=HTMX).status_code == 204 and polls_reaching_flask(spy) == 2
    db.session.get(User, poll["mentor"].id).session_generation += 1  # "sign out everywhere"
    db.session.commit()
    assert signed_out(client.get(url, headers=HTMX)) and polls_reaching_flask(spy) == 3

    forged = app.test_client()
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    forged.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie[:-2] + ("xx" if not cookie.endswith("xx") else "yy"))
    assert signed_out(forged.get(url, headers=HTMX)) and polls_reaching_flask(spy) == 4

    outsider = app.test_client()
    sign_in(outsider, make_user(name="Otto Outsider"))
    assert outsider.get(url, headers=HTMX).status_code == 404 and polls_reaching_flask(spy) == 5
