"""Engine tuning per database.

SQLite: WAL so readers never block the writer, foreign keys on, a busy timeout, and write transactions begun
as BEGIN IMMEDIATE. (A deferred transaction that reads and then writes gets SQLITE_BUSY at once in WAL mode,
ignoring the busy timeout; taking the write lock up front makes it wait its turn instead.) Read-only requests
(GET/HEAD) keep deferred transactions so that they never queue behind writers.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
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
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql(_begin_statement())
