"""Writes made while answering many requests at once, against the real portal: gunicorn with four workers on a
free loopback port and a fresh database of its own (a new SQLite file, or a new PostgreSQL database when
DATABASE_URL points at one), hit by 50 threads released together.

Refusals, failed sign-ins and the throttle's counting write to the database on requests that read otherwise;
under load each of them must still answer as it would alone and leave its audit entry in an unbroken chain.
"""
from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from portal import audit, create_app
from portal.extensions import db
from portal.models import AuditEvent, RateEvent
from tests.browser.conftest import PROJECT_ROOT, fresh_database, free_port, wait_until_up
from tests.conftest import TEST_CONFIG
from tests.factories import PASSWORD, make_pair, make_program, make_user

SIMULTANEOUS = 50
WORKERS = 4
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"')


class LivePortal:
    def __init__(self, url: str, app, log_path):
        self.url, self.app, self.log_path = url, app, log_path

    @contextlib.contextmanager
    def database(self):
        """The portal's database, seen from this process (through a second app bound to it)."""
        with self.app.app_context():
            try:
                yield
                db.session.commit()
            finally:
                db.session.remove()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="module")
def live_portal(tmp_path_factory, _schema):
    """One live portal for this module; each test makes people of its own and counts only their entries."""
    from flask_migrate import upgrade

    tmp_path = tmp_path_factory.mktemp("concurrency")
    with fresh_database(tmp_path) as url:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url, "PUBLIC_URL": base_url,
                          "MAIL_FILE": str(tmp_path / "outbox.log")})
        with app.app_context():
            upgrade()
            db.session.remove()
        env = {key: value for key, value in os.environ.items() if key != "MAIL_SERVER"}
        env.update({"DATABASE_URL": url, "SECRET_KEY": TEST_CONFIG["SECRET_KEY"], "DATA_KEYS": TEST_CONFIG["DATA_KEYS"],
                    "PASSWORD_HASH_METHOD": TEST_CONFIG["PASSWORD_HASH_METHOD"], "PORTAL_INSTANCE_DIR": str(tmp_path),
                    "MAIL_FILE": str(tmp_path / "outbox.log"), "PUBLIC_URL": base_url})
        log_path = tmp_path / "server.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}",
                 "--timeout", "60", "wsgi:app"],
                cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_up(base_url, process, log_path, timeout=30)
            yield LivePortal(base_url, app, log_path)
        finally:
            process.send_signal(signal.SIGINT)  # a quick shutdown: nothing is left to finish
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


class Browser:
    """One person's cookies, shared by every thread that sends requests on their behalf."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies),
                                                  _NoRedirects())

    def open(self, path: str, form: dict | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(self.base_url + path, data=data, timeout=60) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def csrf_token(self) -> str:
        status, body = self.open("/auth/sign-in")
        assert status == 200
        match = CSRF_FIELD.search(body)
        assert match, "no CSRF token on the sign-in page"
        return match.group(1) or match.group(2)

    def sign_in(self, email: str, password: str = PASSWORD) -> int:
        status, _ = self.open("/auth/sign-in", {"email": email, "password": password,
                                                "csrf_token": self.csrf_token()})
        return status


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def all_at_once(send, times: int = SIMULTANEOUS) -> list[int]:
    """Call `send()` from `times` threads released together; the status of each answer."""
    start = threading.Barrier(times)

    def one(_):
        start.wait(timeout=30)
        return send()

    with ThreadPoolExecutor(max_workers=times) as pool:
        return list(pool.map(one, range(times)))


def audited(action: str) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action))


def test_simultaneous_refusals_are_each_a_404_with_their_audit_entry(live_portal):
    """Is every one of 50 simultaneous refusals a 404 with its audit entry, in a chain that still holds?"""
    with live_portal.database():
        member = make_user()
        make_pair(make_program(), mentor=member)
        foreign = make_pair(make_program())
        email, foreign_id = member.email, foreign.id
    browser = Browser(live_portal.url)
    assert browser.sign_in(email) == 303

    statuses = all_at_once(lambda: browser.open(f"/pairs/{foreign_id}")[0])

    assert statuses.count(404) == SIMULTANEOUS, (dict(Counter(statuses)), live_portal.log_tail())
    with live_portal.database():
        assert audited("access.denied") == SIMULTANEOUS
        check = audit.verify_chain()
        assert check.intact and check.entries == db.session.scalar(select(func.count(AuditEvent.id)))


def test_simultaneous_wrong_passwords_are_each_refused_audited_and_counted_once(live_portal):
    """Do 50 simultaneous wrong passwords for one account each get a refusal (never an error), with exactly
    as many let through to be checked as the throttle allows, every attempt audited, and the chain intact?"""
    with live_portal.database():
        email = make_user().email
        per_account = live_portal.app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    browser = Browser(live_portal.url)
    token = browser.csrf_token()

    def wrong_password():
        return browser.open("/auth/sign-in", {"email": email, "password": "not the password", "csrf_token": token})[0]

    statuses = all_at_once(wrong_password)

    assert sorted(statuses) == [422] * per_account + [429] * (SIMULTANEOUS - per_account), (
        dict(Counter(statuses)), live_portal.log_tail())
    with live_portal.database():
        assert audited("sign_in.failed") == per_account
        assert audited("sign_in.throttled") == SIMULTANEOUS - per_account
        assert db.session.scalar(select(func.count(RateEvent.id)).where(
            RateEvent.scope == "sign_in:account", RateEvent.key == email)) == per_account
        assert audit.verify_chain().intact
