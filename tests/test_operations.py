"""What an operator and a load balancer see: the health checks, the request id, HSTS and the log format."""
from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import event, text

from portal import health
from portal.extensions import db
from portal.logs import OneLineFormatter, RequestIdFilter, loggable_path
from tests.factories import act_as, make_user


def _statements_during(app, send):
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        response = send()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return response, statements


def test_healthz_says_ok_without_touching_the_database(app, client):
    """Does /healthz answer 200 "ok" without a single database statement?"""
    response, statements = _statements_during(app, lambda: client.get("/healthz"))
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok\n"
    assert response.mimetype == "text/plain"
    assert statements == []


def test_health_checks_set_no_cookie_even_for_a_signed_in_person(app, client):
    """Does a health check leave a signed-in person's session alone (no cookie set, nothing loaded)?"""
    act_as(client, make_user())
    for path in ("/healthz", "/readyz"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Set-Cookie" not in response.headers, path
        assert response.headers["Cache-Control"] == "no-store"
        assert "Content-Security-Policy" in response.headers


def test_readyz_is_ready_with_the_database_at_head(app, client):
    """Is /readyz 200 "ready" when the database answers, its schema is at the code's head and the keys parse?"""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ready\n"


def test_readyz_is_not_ready_behind_a_migration(app, client, monkeypatch, caplog):
    """With a migration not applied yet, is /readyz 503 "not ready", saying nothing more to the caller?"""
    monkeypatch.setattr(health, "code_heads", lambda: frozenset({"0999_not_applied_yet"}))
    with caplog.at_level(logging.WARNING):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "not ready\n"
    assert "0999_not_applied_yet" in caplog.text  # the operator reads why in the log


def test_readyz_is_not_ready_on_a_database_never_migrated(app, client, caplog):
    """On a database without the migrations' version table (never migrated), is /readyz 503 "not ready"?"""
    db.session.execute(text("ALTER TABLE alembic_version RENAME TO alembic_version_away"))
    db.session.commit()
    try:
        with caplog.at_level(logging.WARNING):
            response = client.get("/readyz")
    finally:
        db.session.rollback()
        db.session.execute(text("ALTER TABLE alembic_version_away RENAME TO alembic_version"))
        db.session.commit()
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "not ready\n"
    assert "readyz: not ready" in caplog.text


def test_readyz_is_not_ready_with_unusable_data_keys(app, client, caplog):
    """With DATA_KEYS that do not parse, is /readyz 503 without showing the keys or the reason?"""
    app.config["DATA_KEYS"] = "k1:not-a-key"
    with caplog.at_level(logging.WARNING):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "not ready\n"
    assert "DATA_KEYS" in caplog.text and "not-a-key" not in caplog.text


def test_readyz_is_not_ready_when_a_key_does_not_match_its_check(app, client, caplog):
    """When a listed data key is not the key its id was checked with (the keys changed under a running portal,
    e.g. a wrong DATA_KEYS_FILE picked up by a reload), is /readyz 503, naming the key id only in the log?"""
    import base64
    from portal import key_check
    from portal.crypto import Keyring
    from portal.extensions import db
    from portal.models import DataKeyCheck
    other = Keyring("test1:" + base64.urlsafe_b64encode(b"\x01" * 32).decode())
    db.session.execute(db.delete(DataKeyCheck))  # whatever an earlier start recorded: test1 now stood for another key
    key_check.write_check(db.session, other, "test1")
    db.session.commit()
    with caplog.at_level(logging.WARNING):
        response = client.get("/readyz")
    assert response.status_code == 503 and response.get_data(as_text=True) == "not ready\n"
    assert "'test1'" in caplog.text


def test_a_request_id_is_made_and_sent_back(app, client):
    """Does every answer carry an X-Request-ID, a new one per request?"""
    first, second = client.get("/healthz"), client.get("/auth/sign-in")
    ids = first.headers["X-Request-ID"], second.headers["X-Request-ID"]
    assert all(re.fullmatch(r"[0-9a-f]{32}", value) for value in ids)
    assert ids[0] != ids[1]


def test_a_forged_request_id_is_ignored_without_a_trusted_proxy(app, client):
    """Without a trusted proxy, is a client's own X-Request-ID replaced by one the portal makes?"""
    app.config["TRUSTED_PROXIES"] = 0
    response = client.get("/healthz", headers={"X-Request-ID": "forged-by-client"})
    assert response.headers["X-Request-ID"] != "forged-by-client"


def test_a_trusted_proxy_request_id_is_kept_when_sane(app, client):
    """Behind a trusted proxy, is its X-Request-ID kept, and a malformed or overlong one replaced?"""
    app.config["TRUSTED_PROXIES"] = 1
    assert client.get("/healthz", headers={"X-Request-ID": "lb-1.a_b-C"}).headers["X-Request-ID"] == "lb-1.a_b-C"
    for bad in ("a b", "x" * 129, "id;rm", "ünïcode", ""):
        answered = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", answered), bad


def test_log_records_of_a_request_carry_its_id(app, client, caplog):
    """Does a line the app logs while answering a request carry that request's id?"""
    caplog.handler.addFilter(RequestIdFilter())
    app.config["DATA_KEYS"] = "broken"
    with caplog.at_level(logging.WARNING):
        response = client.get("/readyz")
    records = [record for record in caplog.records if record.name == app.logger.name]
    assert len(records) == 1
    assert records[0].request_id == response.headers["X-Request-ID"]


def test_a_multi_line_record_is_logged_as_one_line():
    """Is a message or traceback with newlines written as one line, the newlines escaped?"""
    formatter = OneLineFormatter()
    try:
        raise ValueError("first line\nsecond line")
    except ValueError:
        record = logging.LogRecord("portal", logging.ERROR, __file__, 1, "failed:\n%s", ("detail\r\nmore",),
                                   exc_info=__import__("sys").exc_info())
    line = formatter.format(record)
    assert "\n" not in line and "\r" not in line
    assert "failed:\\ndetail\\r\\nmore" in line
    assert "Traceback" in line and "first line\\nsecond line" in line
    assert " - " in line or "[-]" in line or "rid=-" in line  # no request: the id is a dash


def test_hsts_only_in_production(app, client):
    """Is HSTS sent in production (one year, subdomains) and not in development (plain-HTTP localhost)?"""
    assert "Strict-Transport-Security" not in client.get("/auth/sign-in").headers
    app.config["PRODUCTION"] = True
    for path in ("/auth/sign-in", "/healthz", "/static/app.css"):
        assert client.get(path).headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_one_time_link_tokens_stay_out_of_the_access_line():
    """Is the token of a set-password or confirm-email link left out of gunicorn's access line (it is a
    password-equivalent secret until used)?"""
    for path in ("/auth/set-password/tok-SECRET-123", "/auth/confirm-email/tok-SECRET-123"):
        atoms = {"h": "127.0.0.1", "m": "GET", "U": path, "s": 200, "B": 10, "M": 3, "{x-request-id}o": "rid1"}
        record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, '%(h)s "%(m)s %(U)s" %(s)s', (atoms,),
                                   None)
        RequestIdFilter().filter(record)
        line = OneLineFormatter().format(record)
        assert "tok-SECRET-123" not in line and path.rsplit("/", 1)[0] in line and "rid=rid1" in line


@pytest.mark.parametrize("path", [
    "/auth//set-password/SECRETTOKEN456",
    "//auth/set-password/SECRETTOKEN456",
    "/auth/set-password//SECRETTOKEN456",
    "/auth///confirm-email/SECRETTOKEN456/",
    "/auth/set%2Dpassword/SECRETTOKEN456",
    "/%61uth/confirm-email/SECRETTOKEN456",
    "/auth%2Fset-password%2FSECRETTOKEN456",
    "/auth/set-password/SECRET%54OKEN456",
    "http://portal.example.org//auth/set-password/SECRETTOKEN456",
])
def test_one_time_link_tokens_stay_out_of_the_access_line_however_the_path_is_spelled(path):
    """Is the token left out of the access line and the request line when the path reaches a one-time link
    with repeated slashes or percent-escapes (werkzeug answers such paths, with a redirect or the page)?"""
    atoms = {"h": "127.0.0.1", "m": "GET", "U": path, "r": f"GET {path}?next=%2F HTTP/1.1", "s": 308, "B": 10,
             "M": 3, "{x-request-id}o": "rid1"}
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, '%(h)s "%(r)s" %(U)s %(s)s', (atoms,),
                               None)
    RequestIdFilter().filter(record)
    line = OneLineFormatter().format(record)
    assert "SECRET" not in line and "[token]" in line and "HTTP/1.1" in line


def test_other_paths_are_logged_as_they_came():
    """Are paths that are not one-time links, including look-alikes, logged unchanged?"""
    for path in ("/auth/sign-in", "/pairs/3/notes", "/auth/set-password", "/auth//sign-in"):
        assert loggable_path(path) == path

