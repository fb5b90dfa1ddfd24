"""The agreed meeting schedule as an iCalendar file (RFC 5545) that the pair imports into their calendars.

One event per planned meeting (portal.domain.commitments.planned_schedule). When the agreement names days and a
time of day ("every second Tuesday, 17:00"), each event is timed: the wall-clock time in the program's time
zone, converted to UTC meeting by meeting with zoneinfo (so a clock change between two meetings is honoured and
no VTIMEZONE is needed). Otherwise the agreement gives a cadence or a number of meetings, never a time, and
all-day events are the honest representation. Separate events avoid recurrence rules that calendar programs
read differently at month ends.

Only the names, the program and the non-pair-only wording of the schedule go into the file: it is meant to be
copied into other systems.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from portal.domain import commitments
from portal.domain.field_values import display_text, is_empty
from portal.domain.template_format import TemplateDefinition
from portal.models import Agreement
from portal.timeutil import utcnow

LINE_OCTETS = 75
SCHEDULE_FIELD_KEYS = commitments.SCHEDULE_FIELD_KEYS
ICS_UTC = "%Y%m%dT%H%M%SZ"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape_text(text: str) -> str:
    """A TEXT value per RFC 5545 3.3.11: backslash, semicolon and comma escaped, line breaks as \\n, other
    control characters dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n"))


def fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 3.1), never inside a UTF-8 character."""
    out, current = [], b""
    for char in line:
        encoded = char.encode("utf-8")
        limit = LINE_OCTETS if not out else LINE_OCTETS - 1  # continuation lines start with a space
        if len(current) + len(encoded) > limit:
            out.append(current.decode("utf-8"))
            current = b""
        current += encoded
    out.append(current.decode("utf-8"))
    return "\r\n ".join(out)


def _description(agreement: Agreement, definition: TemplateDefinition, values: Mapping[str, Any],
                 basis: str) -> str:
    pair = agreement.pair
    lines = [f"{pair.program.name}: {pair.mentor.name} (mentor) and {pair.mentee.name} (mentee).",
             f"Planned: {basis}."]
    commitment = commitments.committed_meetings(definition, values)
    modes = commitments.modes_field(definition)
    if commitment and modes is not None:
        lines.append(f"Agreed meetings: {display_text(modes, values[modes.key])}.")
    for key in SCHEDULE_FIELD_KEYS:
        field = definition.field(key)
        if field is None or field.pair_only or is_empty(values.get(key)):
            continue
        lines.append(display_text(field, values[key]))
    return "\n".join(lines)


def utc_stamp(local: datetime, time_zone: str) -> str:
    """A wall-clock time in the named zone as an iCalendar UTC date-time ("20270302T160000Z")."""
    return local.replace(tzinfo=ZoneInfo(time_zone)).astimezone(timezone.utc).strftime(ICS_UTC)


def schedule_ics(agreement: Agreement, definition: TemplateDefinition, values: Mapping[str, Any],
                 host: str) -> str:
    """The iCalendar text. `values` must hold no pair-only field (read them without pair-only content)."""
    pair = agreement.pair
    schedule = commitments.planned_schedule(agreement, definition, values)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    description = escape_text(_description(agreement, definition, values, schedule.basis))
    title = f"Mentoring: {pair.mentor.name} and {pair.mentee.name}"
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Mentorship Portal//Agreement schedule//EN",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH", f"X-WR-CALNAME:{escape_text(title)}"]
    total = len(schedule.dates)
    for number, day in enumerate(schedule.dates, 1):
        if schedule.timed:
            start, minutes = schedule.times[number - 1]
            when = [f"DTSTART:{utc_stamp(start, schedule.time_zone)}",
                    f"DTEND:{utc_stamp(start + timedelta(minutes=minutes), schedule.time_zone)}"]
        else:
            when = [f"DTSTART;VALUE=DATE:{day.strftime('%Y%m%d')}",
                    f"DTEND;VALUE=DATE:{(day + timedelta(days=1)).strftime('%Y%m%d')}"]
        lines += [
            "BEGIN:VEVENT",
            f"UID:agreement-{agreement.id}-r{agreement.revision}-meeting-{number}@{host}",
            f"DTSTAMP:{stamp}",
            *when,
            f"SUMMARY:{escape_text(f'{title} (meeting {number} of {total})')}",
            f"DESCRIPTION:{description}",
            "TRANSP:OPAQUE" if schedule.timed else "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
