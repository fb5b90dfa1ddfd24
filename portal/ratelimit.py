"""Rate limits counted in the database (table rate_event), so they hold across gunicorn workers and machines.

Counting and then adding an event must be one step per key, or simultaneous requests all read the same count
and all pass (50 wrong passwords at once let through far more than the limit). SQLite serialises write
transactions (BEGIN IMMEDIATE) already; on PostgreSQL `recent` first takes a transaction-scoped advisory lock
on the (scope, key), held until the request's transaction ends. Callers count in write transactions: the
events are rows, so counting on a read-only request could not add one.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Integer, bindparam, delete, func, select, text

from portal.extensions import db
from portal.models import RateEvent
from portal.timeutil import utcnow

KEEP_HOURS = 24  # older events are pruned whenever the same key is counted again
_LOCK_CLASS = 724_302  # any constant (the audit chain uses 724_301): the first half of each key's advisory lock
_KEY_LOCK = text("SELECT pg_advisory_xact_lock(:lock_class, hashtext(:lock_key))").bindparams(
    bindparam("lock_class", type_=Integer))


def _serialise(scope: str, key: str) -> None:
    """PostgreSQL: wait for any other transaction counting this (scope, key); held until this one ends."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(_KEY_LOCK, {"lock_class": _LOCK_CLASS, "lock_key": f"{scope}|{key}"})


def recent(scope: str, key: str, minutes: int) -> int:
    _serialise(scope, key)
    since = utcnow() - timedelta(minutes=minutes)
    return db.session.scalar(select(func.count(RateEvent.id)).where(
        RateEvent.scope == scope, RateEvent.key == key, RateEvent.at >= since)) or 0


def hit(scope: str, key: str) -> None:
    _serialise(scope, key)
    db.session.execute(delete(RateEvent).where(
        RateEvent.scope == scope, RateEvent.key == key, RateEvent.at < utcnow() - timedelta(hours=KEEP_HOURS)))
    db.session.add(RateEvent(scope=scope, key=key[:254]))


def clear(scope: str, key: str) -> None:
    db.session.execute(delete(RateEvent).where(RateEvent.scope == scope, RateEvent.key == key))


def over_limit(scope: str, key: str | None, limit: int, minutes: int) -> bool:
    """True when `key` already used `limit` events of this scope in the last `minutes`."""
    return bool(key) and recent(scope, key, minutes) >= limit


def take(scope: str, key: str | None, limit: int, minutes: int) -> bool:
    """Count one event unless the limit is reached. Returns False (and counts nothing) when over the limit."""
    if over_limit(scope, key, limit, minutes):
        return False
    if key:
        hit(scope, key)
    return True
