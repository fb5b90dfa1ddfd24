"""Times are stored as naive UTC everywhere, so SQLite and PostgreSQL compare them the same way."""
from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
