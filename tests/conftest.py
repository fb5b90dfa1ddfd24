"""Fixtures in the Flask tutorial's shape: `app`, `client`, `runner`, plus a CSRF-aware client.

The suite runs with CSRF ON. It uses SQLite by default and PostgreSQL when DATABASE_URL is set (.ci/run does
both). The schema is built once per run through the real migrations; each test starts from empty tables.
"""
from __future__ import annotations

import contextvars
import os
import re
import shutil
import tempfile

_OWNS_TMP = "PORTAL_TEST_TMP" not in os.environ
_TMP = os.environ.setdefault("PORTAL_TEST_TMP", tempfile.mkdtemp(prefix="portal-tests-"))
os.environ.setdefault("PORTAL_INSTANCE_DIR", _TMP)  # keep the developer's instance/ out of the tests

import pytest  # noqa: E402
from flask import has_app_context  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
SESSION_CHANGING_PATHS = ("/auth/sign-in", "/auth/sign-out", "/auth/set-password/")


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{os.path.join(_TMP, 'test.sqlite3')}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key-not-for-production",
    "DATA_KEYS": "test1:" + "A" * 43 + "=",
    "SQLALCHEMY_DATABASE_URI": database_url(),
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast in tests; production uses scrypt
    "MAIL_FILE": os.path.join(_TMP, "outbox.log"),
    "MAIL_SERVER": None,
    "PUBLIC_URL": "http://localhost",
    "WTF_CSRF_ENABLED": True,
    "DEMO_PASSWORD": "mentor-demo-2026",
    "DASHBOARD_REPORTS_SECONDS": 0,  # reports counted afresh on every page (tests/lifecycle test the reuse)
}


class PortalClient(FlaskClient):
    """A test client that sends the CSRF token like the browser does (hidden field and htmx header).

    Pass `csrf=False` to send a request without it.
    """

    csrf_token: str | None = None

    def fetch_csrf_token(self) -> str:
        response = self.open("/auth/sign-in", follow_redirects=True)
        match = CSRF_META.search(response.get_data(as_text=True))
        assert match, "no CSRF token on the page"
        self.csrf_token = match.group(1)
        return self.csrf_token

    def open(self, *args, **kwargs):
        send_csrf = kwargs.pop("csrf", True)
        method = kwargs.get("method", "GET").upper()
        path = args[0] if args and isinstance(args[0], str) else kwargs.get("path", "")
        if send_csrf and method not in ("GET", "HEAD", "OPTIONS"):
            token = self.csrf_token or self.fetch_csrf_token()
            data = kwargs.get("data")
            if data is None:
                data = {}
            if isinstance(data, dict) and "csrf_token" not in data:
                kwargs["data"] = {**data, "csrf_token": token}  # a copy: callers reuse their dicts
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", token)
            kwargs["headers"] = headers
        # Each request runs in its own empty context, so it gets its own app context and database session, as
        # in production; the test's own session is committed around it so that each side sees the other's data.
        if has_app_context():
            db.session.commit()
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            db.session.commit()
        if any(path.startswith(p) for p in SESSION_CHANGING_PATHS):
            self.csrf_token = None  # the session was replaced; its token with it
        if response.mimetype == "text/html" and not response.is_streamed:
            match = CSRF_META.search(response.get_data(as_text=True))
            if match:
                self.csrf_token = match.group(1)
        return response


def _empty_all_tables() -> None:
    tables = db.metadata.sorted_tables
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{table.name}"' for table in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(tables):
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture(scope="session")
def _schema():
    """Build the schema once per run through the migrations (which a test compares with the models)."""
    from flask_migrate import upgrade
    app = create_app(TEST_CONFIG)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        else:
            db.drop_all()
            db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
            db.session.commit()
        upgrade()
        db.session.remove()
    yield
    if _OWNS_TMP:
        shutil.rmtree(_TMP, ignore_errors=True)


@pytest.fixture
def app(_schema):
    app = create_app(TEST_CONFIG)
    app.test_client_class = PortalClient
    with app.app_context():
        yield app
        db.session.rollback()
        _empty_all_tables()
        db.session.remove()


@pytest.fixture
def client(app) -> PortalClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def pytest_terminal_summary(terminalreporter):
    """Say loudly when the browser tests did not run, and how to make them run."""
    skipped = [report for report in terminalreporter.stats.get("skipped", [])
               if "browser tests skipped" in str(report.longrepr)]
    if skipped:
        reason = str(skipped[0].longrepr[2]) if isinstance(skipped[0].longrepr, tuple) else str(skipped[0].longrepr)
        terminalreporter.section("browser tests NOT run", sep="!", yellow=True, bold=True)
        terminalreporter.write_line(f"{len(skipped)} browser test(s) skipped. {reason.removeprefix('Skipped: ')}")
