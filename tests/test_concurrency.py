"""Writes made while answering many requests at once, against the real portal: gunicorn with four workers on a
free loopback port and a fresh database of its own (a new SQLite file, or a new PostgreSQL database when
DATABASE_URL points at one), hit by 50 threads released together.

Refusals, failed sign-ins and the throttle's counting write to the database on requests that read otherwise;
under load each of them must still answer as it would alone and leave its audit entry in an unbroken chain.
"""
from __future__ import annotations

import http.cookiejar
import re
import signal
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from portal import audit
from portal.extensions import db
from portal.models import AuditEvent, RateEvent
from tests.factories import PASSWORD, make_pair, make_program, make_user
from tests.live_portal import running_portal

SIMULTANEOUS = 50
WORKERS = 4
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"')


@pytest.fixture(scope="module")
def live_portal(tmp_path_factory, _schema):
    """One live portal for this module; each test makes people of its own and counts only their entries."""
    with running_portal(tmp_path_factory.mktemp("concurrency"), "concurrency", workers=WORKERS, up_within=30,
                        stop=signal.SIGINT) as portal:  # SIGINT: a quick shutdown, nothing is left to finish
        yield portal


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
    with live_portal.seed():
        member = make_user()
        make_pair(make_program(), mentor=member)
        foreign = make_pair(make_program())
        email, foreign_id = member.email, foreign.id
    browser = Browser(live_portal.url)
    assert browser.sign_in(email) == 303

    statuses = all_at_once(lambda: browser.open(f"/pairs/{foreign_id}")[0])

    assert statuses.count(404) == SIMULTANEOUS, (dict(Counter(statuses)), live_portal.log_tail())
    with live_portal.seed():
        assert audited("access.denied") == SIMULTANEOUS
        check = audit.verify_chain()
        assert check.intact and check.entries == db.session.scalar(select(func.count(AuditEvent.id)))


def test_simultaneous_wrong_passwords_are_each_refused_audited_and_counted_once(live_portal):
    """Do 50 simultaneous wrong passwords for one account each get a refusal (never an error), with exactly
    as many let through to be checked as the throttle allows, every attempt audited, and the chain intact?"""
    with live_portal.seed():
        email = make_user().email
        per_account = live_portal.app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    browser = Browser(live_portal.url)
    token = browser.csrf_token()

    def wrong_password():
        return browser.open("/auth/sign-in", {"email": email, "password": "not the password", "csrf_token": token})[0]

    statuses = all_at_once(wrong_password)

    assert sorted(statuses) == [422] * per_account + [429] * (SIMULTANEOUS - per_account), (
        dict(Counter(statuses)), live_portal.log_tail())
    with live_portal.seed():
        assert audited("sign_in.failed") == per_account
        assert audited("sign_in.throttled") == SIMULTANEOUS - per_account
        assert db.session.scalar(select(func.count(RateEvent.id)).where(
            RateEvent.scope == "sign_in:account", RateEvent.key == email)) == per_account
        assert audit.verify_chain().intact
