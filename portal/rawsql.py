"""Plain SQL for the hot paths: statements built with SQLAlchemy Core once, run on the database connection.

The pages every open editor and dashboard request over and over (the editor, its poll and autosave, the
dashboards) each need a handful of indexed reads. Through the ORM each of them costs 100-500 µs of Python
(building the statement and its cache key, the ORM's execution and loading machinery, the session's
transaction bookkeeping) for well under 10 µs of database work. Here a statement is still written with
SQLAlchemy Core (so its SQL is what the ORM would send, on every dialect), but it is compiled once per
dialect and then sent straight to the DBAPI cursor, with SQLAlchemy's own bind and result processors (dates,
booleans) applied, so the rows are typed as the ORM would type them.

Where a statement runs:
- while the request's ORM session is in a transaction, on that transaction's connection (a write sees what
  the session wrote, and writes of one request never wait for each other on SQLite's single writer lock);
- otherwise on a pooled connection in autocommit (the usual case for a page that only reads): no BEGIN and
  no ROLLBACK go out around it. (PostgreSQL's default isolation gives each statement its own snapshot even
  inside a transaction, so a page's reads are not less consistent than through the ORM.)

Statement counters (the query-count tests, the benchmark) see these statements through `listen`, as they see
the others through SQLAlchemy's before_cursor_execute event.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from flask import has_app_context
from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import UpdateBase

from portal.extensions import db

_listeners: list[Callable[[str], None]] = []
_CONNECTION = "portal.rawsql.connection"  # Session.info key: the connection of its open transaction


@event.listens_for(Session, "after_begin")
def _began(session, _transaction, connection) -> None:
    session.info[_CONNECTION] = connection


@event.listens_for(Session, "after_transaction_end")
def _ended(session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction (not a savepoint) ended
        session.info.pop(_CONNECTION, None)


def listen(listener: Callable[[str], None]) -> None:
    """Call `listener(sql)` before each statement sent from here."""
    _listeners.append(listener)


def remove(listener: Callable[[str], None]) -> None:
    _listeners.remove(listener)


class _Prepared:
    """One statement compiled for one dialect: its SQL, how to build its arguments, how to type its rows."""

    __slots__ = ("sql", "slots", "named", "row_processors", "any_row_processor")

    def __init__(self, statement: Executable, dialect, params: Mapping[str, Any]):
        # The first call's values are bound only so that IN lists compile to one placeholder per item
        # (render_postcompile); no value is written into the SQL.
        # (INSERT/UPDATE/DELETE take no IN lists here and cannot bind values this way: compiled as they are.)
        if isinstance(statement, UpdateBase):
            compiled = statement.compile(dialect=dialect)
        else:
            bound = statement.params(**params) if params else statement
            compiled = bound.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        self.sql = str(compiled)
        self.named = not dialect.positional
        names = compiled.positiontup if dialect.positional else list(compiled.params)
        self.slots = [self._slot(name, compiled, dialect, params) for name in names]
        columns = getattr(statement, "exported_columns", ())
        self.row_processors = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                               for column in columns]
        self.any_row_processor = any(self.row_processors)

    @staticmethod
    def _slot(name: str, compiled, dialect, params: Mapping[str, Any]):
        """(name, where the value comes from, its bind processor): a parameter of the call, one item of a list
        parameter (``ids_3`` is ``ids[2]``), or a constant of the statement itself."""
        bind = compiled.binds.get(name)
        source: tuple
        if name in params and not isinstance(params[name], (list, tuple)):
            source = ("param", name)
        else:
            base, _, position = name.rpartition("_")
            if base in params and position.isdigit() and isinstance(params[base], (list, tuple)):
                source, bind = ("item", base, int(position) - 1), compiled.binds.get(base)
            else:
                source = ("constant", compiled.params[name])
                if bind is None and base in compiled.binds:
                    bind = compiled.binds[base]  # one item of a constant IN list
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect) if bind is not None else None
        return name, source, processor

    def arguments(self, params: Mapping[str, Any]):
        values = []
        for _name, source, processor in self.slots:
            kind = source[0]
            if kind == "param":
                value = params[source[1]]
            elif kind == "item":
                value = params[source[1]][source[2]]
            else:
                value = source[1]
            values.append(processor(value) if processor is not None and value is not None else value)
        if self.named:
            return {slot[0]: value for slot, value in zip(self.slots, values)}
        return tuple(values)

    def typed(self, rows: list[tuple]) -> list[tuple]:
        if not self.any_row_processor:
            return rows
        processors = self.row_processors
        return [tuple(value if processor is None or value is None else processor(value)
                      for processor, value in zip(processors, row)) for row in rows]


class Query:
    """A Core statement (built once, usually at import) ready to be sent as plain SQL.

    Parameters are `bindparam`s named in the statement; a list parameter (``in_(bindparam("ids",
    expanding=True))``) gets one compiled form per length of the list."""

    __slots__ = ("statement", "_prepared")

    def __init__(self, statement: Executable):
        self.statement = statement
        self._prepared: dict[tuple, _Prepared] = {}

    def prepared(self, dialect, params: Mapping[str, Any]) -> _Prepared:
        key = (dialect.name, *sorted((name, len(value)) for name, value in params.items()
                                     if isinstance(value, (list, tuple))))
        found = self._prepared.get(key)
        if found is None:
            found = self._prepared[key] = _Prepared(self.statement, dialect, params)
        return found


def _engine():
    return db.engine


class _Cursor:
    """A DBAPI cursor on the right connection for this moment (see the module's docstring)."""

    __slots__ = ("engine", "pooled", "cursor", "switched")

    def __init__(self, engine=None):
        session = db.session() if has_app_context() and engine is None else None
        if session is not None:
            if session.autoflush and (session.new or session.deleted or session.dirty):
                session.flush()  # what the ORM would do before a query: the read sees pending changes
            connection = session.info.get(_CONNECTION)
            if connection is not None:
                self.engine = connection.engine
                self.pooled = None
                self.cursor = connection.connection.driver_connection.cursor()
                self.switched = False
                return
        self.engine = engine if engine is not None else _engine()
        self.pooled = self.engine.raw_connection()
        driver = self.pooled.driver_connection
        # psycopg: autocommit, so no BEGIN goes out with the read and no ROLLBACK comes back when the pool
        # takes the connection back. SQLite's connections are in autocommit already (portal/db_setup.py).
        self.switched = getattr(driver, "autocommit", None) is False
        if self.switched:
            driver.autocommit = True
        self.cursor = driver.cursor()

    def drop_if_disconnected(self, error: Exception) -> None:
        """A pooled connection the server dropped (a restart, an outage) is thrown away here, as SQLAlchemy does
        for its own statements; given back to the pool it would fail its reset with a logged traceback."""
        if self.pooled is not None and self.engine.dialect.is_disconnect(error, self.pooled.dbapi_connection,
                                                                         self.cursor):
            self.pooled.invalidate(error)
            self.pooled = None

    def close(self) -> None:
        try:
            self.cursor.close()
        finally:
            if self.pooled is not None:
                if self.switched:
                    self.pooled.driver_connection.autocommit = False
                self.pooled.close()


def _run(query: Query, params: Mapping[str, Any] | None, engine, fetch: str):
    params = params or {}
    cursor = _Cursor(engine)
    try:
        prepared = query.prepared(cursor.engine.dialect, params)
        for listener in _listeners:
            listener(prepared.sql)
        cursor.cursor.execute(prepared.sql, prepared.arguments(params))
        if fetch == "all":
            return prepared.typed(cursor.cursor.fetchall())
        if fetch == "one":
            row = cursor.cursor.fetchone()
            return None if row is None else prepared.typed([row])[0]
        return cursor.cursor.rowcount
    except cursor.engine.dialect.loaded_dbapi.Error as error:
        cursor.drop_if_disconnected(error)
        raise
    finally:
        cursor.close()


def rows(query: Query, params: Mapping[str, Any] | None = None, engine=None) -> list[tuple]:
    """Every row of `query`, typed. `engine`: the app's unless given (given: always a pooled connection)."""
    return _run(query, params, engine, "all")


def first(query: Query, params: Mapping[str, Any] | None = None, engine=None) -> tuple | None:
    """The first row of `query`, or None."""
    return _run(query, params, engine, "one")


def scalar(query: Query, params: Mapping[str, Any] | None = None, engine=None) -> Any:
    """The first column of the first row of `query`, or None."""
    row = _run(query, params, engine, "one")
    return None if row is None else row[0]


def begin() -> None:
    """Begin the request's transaction (as a writer: portal/db_setup.py) unless it is open already."""
    session = db.session()
    if session.info.get(_CONNECTION) is None:
        session.connection()


def execute(query: Query, params: Mapping[str, Any] | None = None) -> int:
    """Run a write (UPDATE, INSERT, DELETE) in the request's transaction; the number of rows it touched.
    Begins the session's transaction if none is open, so that the write commits (or rolls back) with the
    rest of the request's work."""
    begin()
    return _run(query, params, None, "count")


def write_returning(query: Query, params: Mapping[str, Any] | None = None) -> tuple | None:
    """Run a write with RETURNING in the request's transaction (begun if none is open); its first row."""
    begin()
    return _run(query, params, None, "one")


def adopt(model: type, values: Mapping[str, Any]):
    """The ORM instance of the row `values` (every column of `model`, as read): the one the request's session
    already holds, or a new one added to the session as if the ORM had loaded it (no statement is sent).

    For rows read here that the rest of the request uses as ORM objects (the signed-in person): they are
    persistent, so a change to them is flushed and committed like any other."""
    session = db.session()
    identity = session.identity_key(model, (values["id"],))
    present = session.identity_map.get(identity)
    if present is not None:
        return present
    # As the ORM's loader does: the values go straight into the instance's state (no constructor, no change
    # events), then the state is marked as loaded with that identity (half the cost of calling the class).
    instance = sa_inspect(model).class_manager.new_instance()
    instance_state(instance).dict.update(values)
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


def adopt_row(row: tuple, models: tuple) -> list:
    """A joined row of `columns_of(model)` for each of `models` in turn, as one adopted instance each."""
    instances, start = [], 0
    for model in models:
        names = _column_names(model)
        instances.append(adopt(model, dict(zip(names, row[start:start + len(names)]))))
        start += len(names)
    return instances


def _column_names(model: type) -> tuple[str, ...]:
    return tuple(column.key for column in model.__table__.columns)


def objects(model: type, query: Query, params: Mapping[str, Any] | None = None) -> list:
    """The rows of `query` (which selects `columns_of(model)`) as the ORM instances `adopt` makes of them."""
    names = _column_names(model)
    return [adopt(model, dict(zip(names, row))) for row in rows(query, params)]


def columns_of(model: type) -> tuple:
    """Every column attribute of `model`, in table order (for a plain read that `adopt` turns into an object)."""
    return tuple(getattr(model, column.key) for column in model.__table__.columns)
