"""Reads that skip SQLAlchemy's Connection and go to the pooled database connection directly.

For the editors' poll only: it runs every two seconds for every open editor, and when nothing changed its
whole work is one indexed read. Through a Connection that read costs about five times what it costs on the
database connection itself (a transaction begun and rolled back, the statement's cache key, the result
object). The statement is still built with SQLAlchemy, once, and compiled once per database dialect, so its
SQL is the same as the ORM would send.

Statement counters (the query-count tests, the benchmark) see these reads through `listen`, as they see the
others through SQLAlchemy's before_cursor_execute event.
"""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy.sql import Executable

from portal.extensions import db

_compiled: dict[tuple[str, str, int], tuple[str, tuple[str, ...] | None]] = {}
_listeners: list[Callable[[str], None]] = []


def listen(listener: Callable[[str], None]) -> None:
    """Call `listener(sql)` before each statement sent from here."""
    _listeners.append(listener)


def remove(listener: Callable[[str], None]) -> None:
    _listeners.remove(listener)


def _compile(statement: Executable, dialect) -> tuple[str, tuple[str, ...] | None]:
    key = (dialect.name, dialect.paramstyle, id(statement))
    found = _compiled.get(key)
    if found is None:
        compiled = statement.compile(dialect=dialect)
        order = tuple(compiled.positiontup) if dialect.positional else None
        found = _compiled[key] = (str(compiled), order)
    return found


def scalar(statement: Executable, params: dict[str, Any], engine=None) -> Any:
    """The first column of the first row of `statement` (built once, at import), or None. `engine`: the
    app's (db.engine, which needs an app context, when not given).

    Runs outside any transaction (autocommit), so that nothing has to be begun or rolled back around it: a
    single read sees one consistent snapshot on its own.
    """
    engine = engine if engine is not None else db.engine
    sql, order = _compile(statement, engine.dialect)
    arguments = tuple(params[name] for name in order) if order is not None else params
    for listener in _listeners:
        listener(sql)
    connection = engine.raw_connection()
    try:
        driver = connection.driver_connection
        # psycopg: autocommit, so no BEGIN goes out with the read and no ROLLBACK comes back when the pool
        # takes the connection back. SQLite's connections are in autocommit already (portal/db_setup.py).
        switch = hasattr(driver, "autocommit") and driver.autocommit is False
        if switch:
            driver.autocommit = True
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, arguments)
                row = cursor.fetchone()
            finally:
                cursor.close()
        finally:
            if switch:
                driver.autocommit = False
    finally:
        connection.close()
    return row[0] if row is not None else None
