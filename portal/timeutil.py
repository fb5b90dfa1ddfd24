"""Times are stored as naive UTC everywhere, so SQLite and PostgreSQL compare them the same way."""
from datetime import date, datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def utctoday() -> date:
    """Today's date in UTC: what terms, reminders and check-ins are measured against."""
    return utcnow().date()
