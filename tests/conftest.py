"""Fixtures in the Flask tutorial's shape: `app`, `client`, `runner`, plus a CSRF-aware client.

The suite runs with CSRF ON. It uses SQLite by default and PostgreSQL when DATABASE_URL is set (.ci/run does
both). The schema is built once per run through the real migrations; each test starts from empty tables.

One application serves the whole run (building one costs about half a second, mostly Werkzeug compiling each
route's URL builder and Jinja compiling the templates): the `app` fixture gives every test that application
with the configuration it started with, empty tables and no mail file, so a test may change `app.config` freely.

Under pytest-xdist (`-n 2`) each worker has its own temp dir and its own database (a SQLite file, or a
database `<name>_<worker>` on the PostgreSQL server), so workers never see each other's rows.
"""
from __future__ import annotations

import contextvars
import os
import re
import secrets
import shutil
import tempfile

# The run's temp dir, made by the first process (the xdist controller hands it to its workers), then one
# directory per worker inside it.
_OWNS_TMP = "PORTAL_TEST_TMP" not in os.environ
_RUN_TMP = os.environ.setdefault("PORTAL_TEST_TMP", tempfile.mkdtemp(prefix="portal-tests-"))
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_TMP = os.path.join(_RUN_TMP, WORKER) if WORKER else _RUN_TMP
os.makedirs(_TMP, exist_ok=True)
os.environ["PORTAL_TEST_TMP"] = _TMP
os.environ["PORTAL_INSTANCE_DIR"] = _TMP  # keep the developer's instance/ out of the tests

import pytest  # noqa: E402
from flask import has_app_context  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from itsdangerous import URLSafeTimedSerializer  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

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
    if WORKER:
        parsed = make_url(url)
        url = parsed.set(database=f"{parsed.database}_{WORKER}").render_as_string(hide_password=False)
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
        """The token a page would carry for this session, made the way Flask-WTF makes it (a random value kept
        in the session, signed), without rendering a page for it: every page's token is tested elsewhere."""
        app = self.application
        with self.session_transaction() as session:
            raw = session.setdefault(app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), secrets.token_hex(20))
        signer = URLSafeTimedSerializer(app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key,
                                        salt="wtf-csrf-token")
        self.csrf_token = signer.dumps(raw)
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


def _create_worker_database() -> None:
    """Under xdist on PostgreSQL: this worker's own database on the suite's server, made afresh."""
    url = make_url(database_url())
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def _schema():
    """Build the schema once per run through the migrations (which a test compares with the models)."""
    from flask_migrate import upgrade
    if WORKER and database_url().startswith("postgresql"):
        _create_worker_database()
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
        db.engine.dispose()
    yield


def pytest_unconfigure(config):
    if _OWNS_TMP and not WORKER:
        shutil.rmtree(_RUN_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def _shared_app(_schema):
    app = create_app(TEST_CONFIG)
    app.test_client_class = PortalClient
    return app


@pytest.fixture
def app(_shared_app):
    """The run's application, as it was built: its configuration restored and its tables emptied after each
    test."""
    app = _shared_app
    config, extensions = dict(app.config), dict(app.extensions)
    try:
        with app.app_context():
            yield app
            db.session.rollback()
            _empty_all_tables()
            db.session.remove()
    finally:
        app.config.clear()
        app.config.update(config)
        app.extensions.clear()  # what a test put there (a keyring or PDF signer of its own) goes with it
        app.extensions.update(extensions)
        app.jinja_env.fragment_cache_enabled = True
        if os.path.exists(config["MAIL_FILE"]):  # what the development sender wrote belongs to this test only
            os.remove(config["MAIL_FILE"])


@pytest.fixture
def own_app(app):
    """An application of the test's own on the same database, for a test that adds routes to it (the run's
    application cannot take new routes once it has answered a request, and must not keep them)."""
    own = create_app(TEST_CONFIG)
    own.test_client_class = PortalClient
    with own.app_context():
        yield own
        db.session.rollback()
        db.session.remove()


@pytest.fixture
def client(app) -> PortalClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# Tests run without the coverage tracer (pytest-cov's no_cover), because the rest of the suite covers every line
# they reach and the tracer doubles their time: the browser tests (their portal runs in gunicorn, which coverage
# does not trace; this process only drives Chromium) and the three sweeps that send thousands of requests down
# paths other tests already measure. Measured on 2026-12-07 with per-test contexts (`--cov-context=test`): 95.28%
# with every test traced, 95.19% without these. `make test` fails below the floor in the Makefile either way.
UNTRACED = ("tests/browser/", "tests/flows/test_flow_canary.py", "tests/hostile/test_markup.py",
            "tests/notes/test_confidentiality.py")


def pytest_collection_modifyitems(items):
    for item in items:
        if item.nodeid.startswith(UNTRACED):
            item.add_marker(pytest.mark.no_cover)


def pytest_terminal_summary(terminalreporter):
    """Say loudly when the browser tests did not run, and how to make them run."""
    skipped = [report for report in terminalreporter.stats.get("skipped", [])
               if "browser tests skipped" in str(report.longrepr)]
    if skipped:
        reason = str(skipped[0].longrepr[2]) if isinstance(skipped[0].longrepr, tuple) else str(skipped[0].longrepr)
        terminalreporter.section("browser tests NOT run", sep="!", yellow=True, bold=True)
        terminalreporter.write_line(f"{len(skipped)} browser test(s) skipped. {reason.removeprefix('Skipped: ')}")
