"""The real portal for the tests that need it running: gunicorn on a free loopback port with a fresh database
of its own (a new SQLite file, or a new database on the suite's PostgreSQL server), and a second app in this
process bound to the same database, to seed and inspect it. Used by the browser tests and the concurrency tests.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.extensions import db
from tests.conftest import TEST_CONFIG, database_url

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def fresh_database(workdir: Path, name: str = "live"):
    """A database nobody else uses: a new SQLite file, or a new database beside the suite's on PostgreSQL.
    `name` tells apart the live portals one test run keeps at once (the browser's lives for the whole session)."""
    url = database_url()
    if not url.startswith("postgresql"):
        yield f"sqlite:///{workdir / f'{name}.sqlite3'}"
        return
    server_url = make_url(url)
    database = f"portal_{name}_{os.getpid()}"
    admin = create_engine(server_url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    try:
        yield server_url.set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


def wait_until_up(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the live portal exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url + "/auth/sign-in", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the live portal did not answer within {timeout:.0f}s:\n{log_path.read_text()}")


@dataclass
class LivePortal:
    url: str
    app: object
    log_path: Path
    process: subprocess.Popen
    env: dict | None = None  # gunicorn's environment, for commands run beside it

    @contextlib.contextmanager
    def seed(self):
        """Create or read data through this process's app, committed before the portal looks."""
        with self.app.app_context():
            try:
                yield
                db.session.commit()
            finally:
                db.session.remove()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def running_portal(workdir: Path, name: str, workers: int = 4, access_log: bool = False, up_within: float = 60,
                   stop=signal.SIGTERM, environment: dict | None = None):
    """Migrate a fresh database, start gunicorn on it, yield a LivePortal, and stop and drop everything after.
    `environment` adds settings to gunicorn's environment (a None value removes one)."""
    from flask_migrate import upgrade

    with fresh_database(workdir, name) as url:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        settings = {
            "DATABASE_URL": url, "SECRET_KEY": TEST_CONFIG["SECRET_KEY"], "DATA_KEYS": TEST_CONFIG["DATA_KEYS"],
            "PASSWORD_HASH_METHOD": TEST_CONFIG["PASSWORD_HASH_METHOD"], "PORTAL_INSTANCE_DIR": str(workdir),
            "MAIL_FILE": str(workdir / "outbox.log"), "PUBLIC_URL": base_url,
            "DEMO_PASSWORD": TEST_CONFIG["DEMO_PASSWORD"],
        }
        app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url, "MAIL_FILE": settings["MAIL_FILE"],
                          "PUBLIC_URL": base_url})
        with app.app_context():
            upgrade()
            db.session.remove()
        log_path = workdir / "server.log"
        env = {key: value for key, value in os.environ.items() if key != "MAIL_SERVER"}
        env.update(settings)
        for key, value in (environment or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                   "--timeout", "60", *(["--access-logfile", "-"] if access_log else []), "wsgi:app"]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_up(base_url, process, log_path, timeout=up_within)
            yield LivePortal(base_url, app, log_path, process, env)
        finally:
            process.send_signal(stop)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
