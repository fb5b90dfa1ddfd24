"""The database goes away: every page answers a 503 page that needs no database, the log gets one line per
failed request (no traceback), the health checks say so, and the portal recovers without a restart."""
from __future__ import annotations

import logging

from portal import create_app
from portal.extensions import db
from tests.conftest import TEST_CONFIG, PortalClient
from tests.factories import act_as, make_user
from tests.pg_cluster import throwaway_cluster

UNAVAILABLE_TEXT = "temporarily unavailable"


def _portal_on(url: str):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    app.test_client_class = PortalClient
    return app


def _failed_request_lines(caplog, send):
    """The answer to `send()` and the log records (WARNING and up) written while answering it."""
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        response = send()
    return response, [record for record in caplog.records if record.levelno >= logging.WARNING]


def _assert_unavailable(response, lines):
    assert response.status_code == 503
    assert UNAVAILABLE_TEXT in response.get_data(as_text=True)
    assert response.headers["Retry-After"]
    assert len(lines) == 1, [record.getMessage() for record in lines]
    assert lines[0].exc_info is None  # no traceback for a database that is away
    assert "database unavailable" in lines[0].getMessage()


def test_an_unreachable_sqlite_database_answers_503_with_one_log_line(app, tmp_path, caplog):
    """With a database file that cannot be opened, does a signed-in page answer the 503 page, with one log line?"""
    signed_in = app.test_client()
    act_as(signed_in, make_user())
    cookie = signed_in.get_cookie(app.config["SESSION_COOKIE_NAME"])
    broken = _portal_on(f"sqlite:///{tmp_path / 'no-such-dir' / 'portal.sqlite3'}")
    client = broken.test_client()
    client.set_cookie(cookie.key, cookie.value)  # the same SECRET_KEY: the broken portal reads the session
    for send in (lambda: client.get("/"), lambda: client.get("/no/such/page"),
                 lambda: client.get("/", headers={"HX-Request": "true"}),
                 lambda: client.post("/auth/account/name", data={"name": "New"})):
        _assert_unavailable(*_failed_request_lines(caplog, send))
    assert client.get("/healthz").status_code == 200
    response, lines = _failed_request_lines(caplog, lambda: client.get("/readyz"))
    assert response.status_code == 503 and response.get_data(as_text=True) == "not ready\n"
    assert len(lines) == 1 and lines[0].exc_info is None


def test_a_one_time_link_token_stays_out_of_the_log_line(tmp_path, caplog):
    """When a set-password link's page fails with the database away, does the log line leave its token out?"""
    client = _portal_on(f"sqlite:///{tmp_path / 'no-such-dir' / 'portal.sqlite3'}").test_client()
    response, lines = _failed_request_lines(caplog, lambda: client.get("/auth/set-password/tok-SECRET-456"))
    _assert_unavailable(response, lines)
    assert "/auth/set-password/" in lines[0].getMessage() and "tok-SECRET-456" not in caplog.text


def test_an_unexpected_error_still_logs_its_traceback(own_app, caplog):
    """Does an error that is not the database keep its traceback in the log (and answer the 500 page)?"""
    @own_app.route("/boom")
    def boom():
        raise RuntimeError("not the database")
    boom.access_rule = "public"
    response, lines = _failed_request_lines(caplog, lambda: own_app.test_client().get("/boom"))
    assert response.status_code == 500
    assert len(lines) == 1 and lines[0].exc_info is not None


def test_a_postgresql_outage_answers_503_and_recovers_without_restart(caplog):
    """With PostgreSQL stopped mid-run, do pages answer 503 with one log line each, and once it is back, does the
    same running portal serve pages again?"""
    from flask_migrate import upgrade

    with throwaway_cluster() as cluster:
        portal = _portal_on(cluster.url)
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        with portal.app_context():
            upgrade()  # migrations/env.py sets up logging from alembic.ini: the test's capture is put back after
            root.handlers[:], root.level = handlers, level
            person = make_user()
            db.session.commit()
            client = portal.test_client()
            act_as(client, person)
            db.session.remove()
        assert client.get("/").status_code == 200
        assert client.get("/readyz").status_code == 200

        cluster.stop()
        for send in (lambda: client.get("/"), lambda: client.get("/"), lambda: client.get("/auth/account")):
            response, lines = _failed_request_lines(caplog, send)
            _assert_unavailable(response, lines)
            assert "\n" not in lines[0].getMessage()  # psycopg's message spans lines; the log line does not
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503

        cluster.start()
        assert client.get("/").status_code == 200
        assert client.get("/readyz").status_code == 200
        with portal.app_context():
            db.engine.dispose()
