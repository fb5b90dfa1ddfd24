"""Rate limits counted in the database (table rate_event), so they hold across gunicorn workers and machines."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select

from portal.extensions import db
from portal.models import RateEvent
from portal.timeutil import utcnow

KEEP_HOURS = 24  # older events are pruned whenever the same key is counted again


def recent(scope: str, key: str, minutes: int) -> int:
    since = utcnow() - timedelta(minutes=minutes)
    return db.session.scalar(select(func.count(RateEvent.id)).where(
        RateEvent.scope == scope, RateEvent.key == key, RateEvent.at >= since)) or 0


def hit(scope: str, key: str) -> None:
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
