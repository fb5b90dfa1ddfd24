"""Engine tuning per database.

SQLite: WAL so readers never block the writer, foreign keys on, a busy timeout, and write transactions begun
as BEGIN IMMEDIATE. (A deferred transaction that reads and then writes gets SQLITE_BUSY at once in WAL mode,
ignoring the busy timeout; taking the write lock up front makes it wait its turn instead.) Read-only requests
(GET/HEAD) keep deferred transactions so that they never queue behind writers.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar

from flask import has_request_context, request
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A pooled server connection unused this long is tested before it is handed out (see below).
IDLE_PING_SECONDS = 10.0
_writing: ContextVar[bool] = ContextVar("portal_writing", default=False)


@contextmanager
def write_transaction():
    """Within a read-only request, begin the next transaction as a writer (used to audit a denied GET)."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def _begin_statement() -> str:
    if has_request_context() and request.method in READ_ONLY_METHODS and not _writing.get():
        return "BEGIN"
    return "BEGIN IMMEDIATE"


def configure_engine(engine: Engine) -> None:
    _ping_connections_left_idle(engine)
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event decide how transactions start (pysqlite would BEGIN lazily itself).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # What is deleted is overwritten with zeros, not left in the file's free pages: a purge or a deleted
        # note share must not stay readable in a copy of the database file.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql(_begin_statement())


def _ping_connections_left_idle(engine: Engine) -> None:
    """Test a pooled connection before use only when it sat idle for a while.

    SQLAlchemy's pool_pre_ping tests every checkout: one more round trip on every request, a third of what
    the editors' poll costs on PostgreSQL. A connection that was in use seconds ago is almost always fine; one
    that sat idle (overnight, across a database restart or a firewall's timeout) is the one worth testing.
    If a connection does break while in use, SQLAlchemy sees the disconnect, invalidates the whole pool and
    that one request fails; the next gets a fresh connection.
    """
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        if record is not None:
            record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < IDLE_PING_SECONDS:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()
        except Exception as error:  # any failure: the pool drops this connection and tries another
            raise exc.DisconnectionError() from error


def forget_deleted_pages() -> None:
    """After deleting what must not be kept (the retention purge): on SQLite, copy the write-ahead log into the
    database and empty it, so that no earlier image of a deleted row stays in the -wal file. PostgreSQL keeps
    deleted rows in its table files until (auto)vacuum reuses the space; the operator's backups are theirs."""
    from portal.extensions import db
    if db.engine.dialect.name == "sqlite":
        db.session.commit()
        with db.engine.connect() as connection:
            # On the driver's connection: a checkpoint cannot run inside the transaction SQLAlchemy would begin.
            cursor = connection.connection.driver_connection.cursor()
            try:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                cursor.close()
