"""The schedule follows what the pair agreed: days and a time give timed events on those days in the program's
time zone; anything else keeps the spread over the term, off weekends, and the page says how it was made."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from portal.extensions import db
from tests.lifecycle.conftest import WHPRMS_ANSWERS, build_world
from tests.lifecycle.test_calendar import parse

BERLIN = ZoneInfo("Europe/Berlin")


def _world(app, schedule: str, time_zone: str = "Europe/Berlin", start: date = date(2027, 3, 1)):
    world = build_world(app, answers={**WHPRMS_ANSWERS, "meeting_schedule": schedule}, term_start=start)
    world.program.time_zone = time_zone
    db.session.commit()
    return world


def _ics(world) -> list[dict]:
    response = world.client("mentor").get(f"/agreements/{world.agreement.id}/schedule.ics")
    assert response.status_code == 200
    return parse(response.get_data(as_text=True))[1]


def _utc(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)


def test_every_second_tuesday_at_five_gives_timed_events_in_the_programs_time_zone(app):
    """Does "every second Tuesday, 17:00" give a timed event every 14 days, each a Tuesday at 17:00 in Berlin
    (15:00 or 16:00 UTC either side of the clock change), lasting an hour, within the term?"""
    world = _world(app, "every second Tuesday, 17:00")
    events = _ics(world)
    starts = [_utc(event["DTSTART"]).astimezone(BERLIN) for event in events]
    assert [start.date() for start in starts] == [date(2027, 3, 2) + timedelta(weeks=2 * n) for n in range(7)]
    assert all(start.weekday() == 1 and (start.hour, start.minute) == (17, 0) for start in starts)
    assert {event["DTSTART"][9:] for event in events} == {"160000Z", "150000Z"}  # CET, then CEST from 28 March
    assert all(_utc(event["DTEND"]) - _utc(event["DTSTART"]) == timedelta(hours=1) for event in events)
    assert not any(key.startswith("DTSTART;VALUE=DATE") for event in events for key in event)
    page = world.client("mentee").get(f"/pairs/{world.pair.id}").get_data(as_text=True)
    assert "every second Tuesday at 17:00 (Europe/Berlin time), as agreed" in page


def test_the_same_wall_clock_time_follows_the_programs_own_time_zone(app):
    """In a program on New York time, is "Mondays and Thursdays, 09:30" 09:30 in New York on those days?"""
    world = _world(app, "Mondays and Thursdays, 09:30", time_zone="America/New_York")
    starts = [_utc(event["DTSTART"]).astimezone(ZoneInfo("America/New_York")) for event in _ics(world)]
    assert {start.weekday() for start in starts} == {0, 3}
    assert {(start.hour, start.minute) for start in starts} == {(9, 30)}
    assert starts[0].date() == date(2027, 3, 1) and len(starts) == 2 * 13 + 1


def test_the_first_monday_of_the_month(app):
    """Does "first Monday of the month at 18:00" give one meeting each month, on its first Monday?"""
    world = _world(app, "First Monday of the month at 18:00")
    starts = [_utc(event["DTSTART"]).astimezone(BERLIN) for event in _ics(world)]
    assert [start.date() for start in starts] == [date(2027, 3, 1), date(2027, 4, 5), date(2027, 5, 3)]


def test_a_schedule_that_cannot_be_read_keeps_the_spread_off_weekends_and_says_so(app):
    """When the agreed wording names no clear day and time, are the committed meetings still spread as
    all-day events, none on a Saturday or Sunday, and does the page say how the plan was made?"""
    world = _world(app, "First Monday of the month; calls on Thursdays, 08:00", start=date(2027, 3, 6))  # a Saturday
    events = _ics(world)
    days = [datetime.strptime(event["DTSTART;VALUE=DATE"], "%Y%m%d").date() for event in events]
    assert len(days) == 12 and all(day.weekday() < 5 for day in days)
    assert days[0] == date(2027, 3, 8)  # the term starts on a Saturday: the first meeting is the Monday
    page = world.client("mentor").get(f"/pairs/{world.pair.id}").get_data(as_text=True)
    assert "12 meetings agreed, spread evenly over the term" in page
    assert "no days and time of day the portal could read" in page


def test_weekends_stay_in_when_the_pair_chose_them(app):
    """Does "Saturdays at 10am" give meetings on Saturdays?"""
    world = _world(app, "Saturdays at 10am")
    starts = [_utc(event["DTSTART"]).astimezone(BERLIN) for event in _ics(world)]
    assert starts and all(start.weekday() == 5 and start.hour == 10 for start in starts)


def test_a_weekly_cadence_without_a_time_never_falls_on_a_weekend(app):
    """For CCMC "weekly" with a term starting on a Sunday, are the weekly meetings moved off the weekend?"""
    world = build_world(app, "ccmc", answers={"meeting_period": {"option": "weekly", "other_text": ""},
                                              "meeting_place_time": "At the library"},
                        term_start=date(2027, 3, 7))
    events = _ics(world)
    days = [datetime.strptime(event["DTSTART;VALUE=DATE"], "%Y%m%d").date() for event in events]
    assert days and all(day.weekday() < 5 for day in days) and len(set(days)) == len(days)


def test_a_ccmc_pair_that_names_a_day_and_time_gets_them(app):
    """CCMC asks for "place and time" beside a weekly frequency: does "Tuesdays 12:15, cafeteria" give
    weekly Tuesday 12:15 events in the program's zone?"""
    world = build_world(app, "ccmc", answers={"meeting_period": {"option": "weekly", "other_text": ""},
                                              "meeting_place_time": "Tuesdays 12:15, cafeteria"},
                        term_start=date(2027, 3, 1))
    world.program.time_zone = "Europe/Berlin"
    db.session.commit()
    starts = [_utc(event["DTSTART"]).astimezone(BERLIN) for event in _ics(world)]
    assert starts[0] == datetime(2027, 3, 2, 12, 15, tzinfo=BERLIN)
    assert all(b - a == timedelta(weeks=1) for a, b in zip(starts, starts[1:]))


def test_the_program_admin_sets_the_time_zone_and_a_wrong_one_is_refused(world):
    """Can the program admin set the program's time zone in the settings, and is an unknown zone refused with
    a message and nothing changed?"""
    url = f"/programs/{world.program.id}/settings"
    admin = world.client("admin")
    assert 'name="time_zone"' in admin.get(url).get_data(as_text=True)
    refused = admin.post(url, data={"stall_days": "30", "retention_months": "", "time_zone": "Mars/Olympus"})
    assert refused.status_code == 422 and "time zone" in refused.get_data(as_text=True)
    assert admin.post(url, data={"stall_days": "30", "retention_months": "",
                                 "time_zone": "Europe/Berlin"}).status_code == 303
    db.session.expire_all()
    assert world.program.time_zone == "Europe/Berlin"
