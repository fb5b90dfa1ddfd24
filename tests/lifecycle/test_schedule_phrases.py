"""The parser of agreed meeting times: common phrasings are read exactly; anything unclear gives None (and the
schedule falls back to the spread over the term)."""
from __future__ import annotations

from datetime import time

import pytest

from portal.domain.schedule_phrases import MeetingRule, parse_schedule


@pytest.mark.parametrize("phrase, rules", [
    ("every Tuesday 17:00", [MeetingRule((1,), time(17, 0))]),
    ("Every second Tuesday at 5pm", [MeetingRule((1,), time(17, 0), every_weeks=2)]),
    ("every second Tuesday, 17:00", [MeetingRule((1,), time(17, 0), every_weeks=2)]),
    ("every other Friday 12:30", [MeetingRule((4,), time(12, 30), every_weeks=2)]),
    ("fortnightly on Wednesdays, 10.00", [MeetingRule((2,), time(10, 0), every_weeks=2)]),
    ("Mondays and Thursdays, 09:30", [MeetingRule((0, 3), time(9, 30))]),
    ("Tuesdays 17:00-18:30 at the library", [MeetingRule((1,), time(17, 0), minutes=90)]),
    ("every weekday at 8 a.m.", [MeetingRule((0, 1, 2, 3, 4), time(8, 0))]),
    ("first Monday of the month at 18:00", [MeetingRule((0,), time(18, 0), nth_of_month=(1,))]),
    ("First and third Thursday of each month, 7.30pm", [MeetingRule((3,), time(19, 30), nth_of_month=(1, 3))]),
    ("last Friday of every month 16:00", [MeetingRule((4,), time(16, 0), nth_of_month=(-1,))]),
    ("Saturdays at 10am", [MeetingRule((5,), time(10, 0))]),
    ("Tues 12pm; Thurs 12am", [MeetingRule((1,), time(12, 0)), MeetingRule((3,), time(0, 0))]),
    ("Room 4B.\nEvery Tuesday at 17:00", [MeetingRule((1,), time(17, 0))]),
])
def test_common_phrasings_are_read_exactly(phrase, rules):
    """Is each common way of writing days and a time read as the days, the time and the rhythm it says?"""
    assert parse_schedule(phrase) == tuple(rules)


@pytest.mark.parametrize("phrase", [
    "", "Weekly", "At the library", "Tuesdays", "at 17:00", "First Monday of the month",
    "Tuesdays or Wednesdays at 5pm", "Tuesdays at 17:00 if possible", "every Tuesday at 17:00 or 18:00",
    "Tuesday 25:00", "Tuesday 13pm", "Tuesdays 18:00-17:00", "the second Tuesday at 17:00",
    "monthly on Tuesdays at 17:00", "First Monday of the month; calls on Thursdays, 08:00",
    "weekdays and Saturdays at 9:00", "thus we meet at 17:00", "meet on 12.03.2026",
    "Tuesday at 5", "Tuesdays around 17:00?",
])
def test_anything_unclear_is_not_guessed(phrase):
    """Does a phrase without both a day and a time, with a hedge, or with an impossible time give None?"""
    assert parse_schedule(phrase) is None


def test_the_agreed_cadence_settles_a_phrase_without_a_rhythm():
    """Under an agreed fortnightly cadence is "Tuesdays 17:00" every second Tuesday, under "monthly" unclear,
    and does an explicit "every" win?"""
    assert parse_schedule("Tuesdays 17:00", "fortnightly") == (MeetingRule((1,), time(17, 0), every_weeks=2),)
    assert parse_schedule("Tuesdays 17:00", "weekly") == (MeetingRule((1,), time(17, 0)),)
    assert parse_schedule("Tuesdays 17:00", "monthly") is None
    assert parse_schedule("every Tuesday 17:00", "fortnightly") == (MeetingRule((1,), time(17, 0)),)
    assert parse_schedule("first Tuesday of the month 17:00", "monthly") == (
        MeetingRule((1,), time(17, 0), nth_of_month=(1,)),)


def test_a_rule_describes_itself_in_words():
    """Does the page's wording of a rule say the days, the rhythm and the time?"""
    assert parse_schedule("every second Tuesday, 17:00")[0].describe() == "every second Tuesday at 17:00"
    assert parse_schedule("Mondays and Thursdays, 09:30")[0].describe() == "every Monday and Thursday at 09:30"
    assert parse_schedule("last Friday of every month 16:00")[0].describe() == \
        "the last Friday of each month at 16:00"
