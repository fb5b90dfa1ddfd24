"""The database layer: migrations match the models, SQLite is tuned, and writers never hit SQLITE_BUSY."""
from __future__ import annotations

import threading

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from portal import create_app
from portal.extensions import db
from portal.models import Program
from tests.conftest import TEST_CONFIG


def test_migrations_match_the_models(app):
    """Is every schema change a migration? (The migrated schema equals the models' metadata.)"""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_sqlite_runs_in_wal_with_foreign_keys(app):
    """Is the embedded database in WAL mode, with foreign keys enforced and a busy timeout?"""
    if db.engine.dialect.name != "sqlite":
        assert db.engine.dialect.name == "postgresql"
        return
    assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert db.session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_concurrent_read_then_write_transactions_all_succeed(app):
    """Do several workers that each read then write at the same moment all succeed (no SQLITE_BUSY)?"""
    db.session.add(Program(code="COUNT", name="0", return_email="a@b.example"))
    db.session.commit()
    errors: list[Exception] = []
    # Each worker is its own app (its own engine and pool), built here, one after the other: building apps in
    # parallel threads compiles Werkzeug's URL rules with ast.parse concurrently, which CPython 3.11 can fail
    # with a spurious SystemError (python/cpython#106905); a worker dying before the barrier then left the others
    # waiting for ever and the test run hanging. The barrier's timeout keeps any such failure a failure.
    worker_apps = [create_app(TEST_CONFIG) for _ in range(6)]
    start = threading.Barrier(len(worker_apps), timeout=60)

    def worker(worker_app):
        with worker_app.app_context():
            try:
                start.wait()
                for _ in range(5):
                    program = db.session.scalar(db.select(Program).where(Program.code == "COUNT"))
                    program.name = str(int(program.name) + 1)
                    db.session.commit()
            except Exception as error:  # collected and asserted below
                errors.append(error)
            finally:
                db.session.remove()
                db.engine.dispose()

    threads = [threading.Thread(target=worker, args=(worker_app,), daemon=True) for worker_app in worker_apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    db.session.expire_all()
    final = db.session.scalar(db.select(Program.name).where(Program.code == "COUNT"))
    if db.engine.dialect.name == "sqlite":
        assert final == "30"  # BEGIN IMMEDIATE serialises read-modify-write: no lost update either
    else:
        assert 5 <= int(final) <= 30  # READ COMMITTED: lost updates are the app's to prevent with versions


def test_postgres_urls_are_normalised(monkeypatch):
    """Is a plain postgres:// URL (as hosting platforms give) turned into the psycopg driver URL?"""
    from portal.config import Config
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example/portal")
    assert Config().SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u:p@db.example/portal"


def test_a_connection_that_broke_while_idle_is_replaced_before_a_request_uses_it(app, client):
    """Does a pooled connection that sat idle and broke meanwhile (a database restart, a firewall's
    timeout) get tested and replaced, so that the next request still works?"""
    from sqlalchemy import create_engine

    from portal.db_setup import IDLE_PING_SECONDS

    db.session.remove()
    db.engine.dispose()  # one connection in the pool: the next checkout gets the one broken below
    pooled = db.engine.raw_connection()
    record, driver = pooled._connection_record, pooled.driver_connection
    pooled.close()
    if db.engine.dialect.name == "postgresql":
        with create_engine(db.engine.url).connect() as other:  # the server ends that connection's session
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": driver.info.backend_pid})
    else:
        driver.close()
    record.info["checked_in_at"] -= IDLE_PING_SECONDS + 1
    assert client.get("/auth/sign-in").status_code == 200
    assert db.session.execute(text("SELECT 1")).scalar() == 1
    replacement = db.engine.raw_connection()
    assert replacement.driver_connection is not driver
    replacement.close()


def test_reading_the_database_files_leaves_them_to_sqlite(app):
    """After a test reads the database's files byte for byte, and another process (a `flask` command) then
    opens and closes the database, are the write-ahead log and its index still there under this process's open
    connections? (Closing a descriptor drops every POSIX lock the process holds on that file, SQLite's too;
    the other process would then take the database for unused and delete both files, and this process's next
    connection fails with "disk I/O error".)"""
    import subprocess
    import sys

    from tests.database_files import read_sqlite_files, sqlite_files
    if db.engine.dialect.name != "sqlite":
        return
    from tests.factories import make_program
    make_program(code="KEPT", name="Kept")  # committed: this process now holds the database open in WAL mode
    path = TEST_CONFIG["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    assert any(name.endswith("-wal") for name in read_sqlite_files())
    closing = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('SELECT count(*) FROM sqlite_master').fetchall(); c.close()"
    subprocess.run([sys.executable, "-c", closing, path], check=True, timeout=60)
    assert {name.rsplit(".", 1)[1] for name in sqlite_files()} >= {"sqlite3-wal", "sqlite3-shm"}
    assert db.session.scalar(db.select(Program.name).where(Program.code == "KEPT")) == "Kept"
