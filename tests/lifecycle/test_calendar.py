"""The agreed schedule as an iCalendar file: valid structure, the planned meetings, escaped text, and no
pair-only content."""
from __future__ import annotations

from datetime import date, timedelta

from portal.domain.calendar import escape_text, fold
from portal.domain.commitments import off_weekend
from portal.timeutil import utctoday
from tests.factories import make_meeting
from tests.lifecycle.conftest import build_world


def unfold(text: str) -> list[str]:
    """RFC 5545 3.1: lines end with CRLF; a line starting with a space continues the previous one."""
    assert text.endswith("\r\n")
    physical = text[:-2].split("\r\n")
    assert all("\n" not in line and "\r" not in line for line in physical)
    assert all(len(line.encode("utf-8")) <= 75 for line in physical)
    logical: list[str] = []
    for line in physical:
        if line.startswith(" "):
            logical[-1] += line[1:]
        else:
            logical.append(line)
    return logical


def parse(text: str) -> tuple[dict, list[dict]]:
    """A small iCalendar reader: the calendar's properties and each VEVENT's, checking BEGIN/END nesting."""
    stack, calendar, events = [], {}, []
    for line in unfold(text):
        name, _, value = line.partition(":")
        if name == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                events.append({})
            continue
        if name == "END":
            assert stack and stack.pop() == value, f"END:{value} does not close its BEGIN"
            continue
        assert stack, f"property outside a component: {line}"
        (events[-1] if stack[-1] == "VEVENT" else calendar)[name] = value
    assert stack == []
    return calendar, events


def test_the_schedule_is_a_valid_calendar_with_one_event_per_planned_meeting(world):
    """Does the download parse as iCalendar, with the required properties and 12 all-day meetings inside
    the term for WHPRMS's 2 + 4 + 6 committed meetings?"""
    response = world.client("mentor").get(f"/agreements/{world.agreement.id}/schedule.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    calendar, events = parse(response.get_data(as_text=True))
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    assert len(events) == 12
    a = world.agreement
    uids = set()
    for event in events:
        assert {"UID", "DTSTAMP", "DTSTART;VALUE=DATE", "DTEND;VALUE=DATE", "SUMMARY"} <= event.keys()
        start = date.fromisoformat(f"{event['DTSTART;VALUE=DATE'][:4]}-{event['DTSTART;VALUE=DATE'][4:6]}-"
                                   f"{event['DTSTART;VALUE=DATE'][6:]}")
        assert a.term_start <= start <= a.term_end
        uids.add(event["UID"])
    assert len(uids) == 12
    # The first meeting is on the term's first day, or the weekday nearest to it inside the term.
    assert events[0]["DTSTART;VALUE=DATE"] == off_weekend(a.term_start, a.term_start, a.term_end).strftime("%Y%m%d")
    assert events[0]["SUMMARY"] == "Mentoring: Maria Mentor and Nina Mentee (meeting 1 of 12)"
    # The schedule text "First Monday of the month; calls on Thursdays, 08:00" is escaped per RFC 5545.
    assert "First Monday of the month\\; calls on Thursdays\\, 08:00" in events[0]["DESCRIPTION"]


def test_a_weekly_cadence_gives_weekly_meetings_and_no_pair_only_text(app):
    """For CCMC weekly: one meeting a week over the term, and neither the off-limits topics (pair-only) nor
    meeting summaries appear in the file."""
    world = build_world(app, "ccmc", answers={
        "goals": ["Pass the exam"], "meeting_period": {"option": "weekly", "other_text": ""},
        "meeting_place_time": "Caf\u00e9 Central, Tuesdays", "off_limits_topics": ["CANARY-OFFLIMITS"]},
        term_start=date(2026, 3, 2))
    make_meeting(world.agreement, world.people["mentor"], held_on=date(2026, 3, 3), summary="CANARY-SUMMARY")
    text = world.client("mentee").get(f"/agreements/{world.agreement.id}/schedule.ics").get_data(as_text=True)
    _, events = parse(text)
    starts = [event["DTSTART;VALUE=DATE"] for event in events]
    assert starts[:3] == ["20260302", "20260309", "20260316"]
    assert len(starts) == len(range(0, (world.agreement.term_end - date(2026, 3, 2)).days + 1, 7))
    assert "Caf\u00e9 Central\\, Tuesdays" in events[0]["DESCRIPTION"]
    assert "CANARY" not in text


def test_text_escaping_and_folding_follow_rfc_5545(app):
    """Are backslash, semicolon, comma and line breaks escaped, and long lines folded without splitting a
    character?"""
    assert escape_text("a\\b;c,d\r\ne\x07") == "a\\\\b\\;c\\,d\\ne"
    line = "DESCRIPTION:" + "\u00e9" * 100
    folded = fold(line)
    parts = folded.split("\r\n ")
    assert all(len(part.encode("utf-8")) <= 75 - (1 if n else 0) for n, part in enumerate(parts))
    assert "".join(parts) == line


def test_only_the_pair_downloads_the_schedule(world):
    """Is the calendar a 404 for everyone outside the pair?"""
    for who in ("supervisor", "admin", "outsider", "site_admin"):
        assert world.client(who).get(f"/agreements/{world.agreement.id}/schedule.ics").status_code == 404


def test_without_any_agreed_frequency_the_plan_is_monthly(app):
    """When nothing is agreed yet, is the plan monthly over the term, and does the file say so?"""
    world = build_world(app, "ccmc", answers={}, state="draft", term_start=utctoday() - timedelta(days=1))
    _, events = parse(world.client("mentor").get(f"/agreements/{world.agreement.id}/schedule.ics")
                      .get_data(as_text=True))
    assert len(events) == world.agreement.term_months
    assert "monthly (no meeting frequency agreed)" in events[0]["DESCRIPTION"]
