"""Times are stored as naive UTC everywhere, so SQLite and PostgreSQL compare them the same way."""
from datetime import date, datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def machine_time(moment: datetime) -> str:
    """A stored (naive UTC) time as HTML's `<time datetime>` takes it: ISO 8601 to the second, with its zone.
    (isoformat() alone gives microseconds, which HTML does not allow, and no zone.)"""
    return moment.replace(microsecond=0, tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")


def utctoday() -> date:
    """Today's date in UTC: what terms, reminders and check-ins are measured against."""
    return utcnow().date()


# Dates people type are bounded like ids: far enough either way for any real use, and never near the ends of
# the calendar, where adding a term or a day overflows (9999-12-31 used to be a 500).
EARLIEST_DAY = date(1900, 1, 1)
YEARS_AHEAD = 10


def latest_day(today: date | None = None) -> date:
    """The latest day a form accepts: YEARS_AHEAD years after today (UTC); 28 February for a 29 February."""
    today = today or utctoday()
    try:
        return today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:
        return today.replace(year=today.year + YEARS_AHEAD, day=28)


def day_in_reach(day: date, today: date | None = None) -> bool:
    """Whether a typed day lies between EARLIEST_DAY and latest_day()."""
    return EARLIEST_DAY <= day <= latest_day(today)


def shown_day(day: date) -> str:
    """1 January 1900: how the bounds are written in messages."""
    return f"{day.day} {day:%B %Y}"
