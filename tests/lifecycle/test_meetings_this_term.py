"""Meetings held before the term starts: they may be logged and are listed apart, but nowhere do they count as
held this term (the pair page, the supervisor's and the program's view of it, the dashboard and its CSV)."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

from portal.domain import meetings
from portal.extensions import db
from portal.domain.template_store import definition_of
from portal.domain.agreements import read_fields, values_of
from portal.timeutil import utctoday
from tests.factories import make_meeting
from tests.lifecycle.test_dashboard import table_rows


def _one_before_and_one_during(world):
    a = world.agreement
    make_meeting(a, world.people["mentor"], held_on=a.term_start - timedelta(days=5), mode="phone", minutes=30)
    make_meeting(a, world.people["mentor"], held_on=utctoday() - timedelta(days=1), mode="face_to_face")


def _tally_text(page: str) -> str:
    return " ".join(page.split('class="tally"', 1)[1].split("</table>", 1)[0].split())


def test_a_meeting_before_the_term_is_not_counted_as_held_this_term(world):
    """Does the domain count only the meeting on or after the term's first day as held this term?"""
    _one_before_and_one_during(world)
    a = world.agreement
    definition = definition_of(a.template_version)
    tally = meetings.tally(a, definition, values_of(read_fields(a, definition, include_pair_only=False)))
    assert tally.held == 1 and tally.minutes == 60 and tally.before_term == 1
    assert [(row.label, row.held) for row in tally.rows if row.held] == [("face to face", 1)]


def test_every_reader_of_the_pair_page_sees_the_same_count_and_the_early_meeting_apart(world):
    """Do the members, the supervisor and the program admin all read "1" held this term, with the meeting
    before the term listed under its own heading and said not to count?"""
    _one_before_and_one_during(world)
    for who in ("mentor", "supervisor", "admin"):
        page = world.client(who).get(f"/pairs/{world.pair.id}").get_data(as_text=True)
        tally = _tally_text(page)
        assert "All meetings</th><td>1 (60 minutes)</td>" in tally, who
        assert "<td>by phone</td><td>0</td><td>4</td>" in tally, who
        assert "Before the term" in page, who
        assert "1 meeting before the term is not counted" in page, who
        early = page.split("Before the term", 1)[1].split("</table>", 1)[0]
        assert "30 min" in early and "60 min" not in early


def test_the_dashboard_and_its_csv_count_only_this_terms_meetings(world):
    """Do the program's and the supervisor's dashboards and the CSV say 1 meeting held, not 2?"""
    _one_before_and_one_during(world)
    for who in ("admin", "supervisor"):
        client = world.client(who)
        [row] = table_rows(client.get(f"/programs/{world.program.id}/dashboard").get_data(as_text=True))
        assert row[7] == "1 of 12 committed", who
        rows = list(csv.reader(io.StringIO(
            client.get(f"/programs/{world.program.id}/dashboard.csv").get_data(as_text=True).lstrip("\ufeff"))))
        assert rows[1][rows[0].index("Meetings held")] == "1", who  # by heading: admins' files hold more columns


def test_a_meeting_before_the_term_does_not_make_a_new_pair_look_stalled(world):
    """Ten days into the term, with one meeting logged 35 days ago (before the term), is the pair neither
    flagged as stalled on the dashboard nor sent a "no meeting" reminder (the program stalls after 30 days)?"""
    from portal.domain.reminders import send_reminders
    a = world.agreement
    a.term_start = utctoday() - timedelta(days=10)
    db.session.commit()
    make_meeting(a, world.people["mentor"], held_on=utctoday() - timedelta(days=35))
    [row] = table_rows(world.client("admin").get(f"/programs/{world.program.id}/dashboard").get_data(as_text=True))
    assert row[9] == "none"
    assert send_reminders(utctoday())["stalled"] == 0
