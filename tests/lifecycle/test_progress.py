"""Progress: a status per goal and objective that followers see, a pair-only comment, and the check-in
prompt at the cadence the pair agreed."""
from __future__ import annotations

from datetime import date, timedelta

from portal.domain import progress
from portal.domain.template_store import definition_of
from portal.extensions import db
from portal.models import GoalProgress, ProgressCheckIn
from portal.timeutil import utctoday
from tests.factories import set_state
from tests.lifecycle.conftest import HTMX, build_world


def statuses():
    db.session.expire_all()
    return {(row.field_key, row.item_index): row for row in db.session.scalars(db.select(GoalProgress))}


def test_members_check_in_and_followers_see_statuses_only(world):
    """Does a check-in store each goal's status and encrypted comment, showing statuses to the supervisor
    and program admin but the comments to the pair alone?"""
    response = world.client("mentee").post(f"/agreements/{world.agreement.id}/progress", data={
        "status-goal:0": "in_progress", "comment-goal:0": "Nervous about chairing",
        "status-objectives:0": "achieved", "status-objectives:1": "not_started", "status-objectives:2": "in_progress"})
    assert response.status_code == 303 and response.headers["Location"].endswith("#progress")
    rows = statuses()
    assert rows[("goal", 0)].status == "in_progress" and rows[("objectives", 0)].status == "achieved"
    assert b"Nervous" not in bytes(rows[("goal", 0)].comment_ct)
    assert ("objectives", 1) not in rows  # unchanged and never touched: no row needed
    assert db.session.scalar(db.select(db.func.count(ProgressCheckIn.id))) == 1
    assert "Nervous about chairing" in world.client("mentor").get(f"/pairs/{world.pair.id}").get_data(as_text=True)
    for who in ("supervisor", "admin"):
        page = world.client(who).get(f"/pairs/{world.pair.id}").get_data(as_text=True)
        section = page.split('id="progress"', 1)[1].split("</section>", 1)[0]
        assert "In progress" in section and "Achieved" in section and "Chair two committee meetings" in section
        assert "Nervous" not in page


def test_a_bad_status_or_long_comment_changes_nothing(world):
    """Is a check-in with an unknown status or an over-long comment refused (422, by field), storing nothing?"""
    response = world.client("mentor").post(f"/agreements/{world.agreement.id}/progress", headers=HTMX, data={
        "status-goal:0": "finished", "status-objectives:0": "achieved", "comment-objectives:0": "x" * 2001})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and body.lstrip().startswith('<section class="life-section" id="progress"')
    assert "Choose one of the statuses" in body and "keep it to 2,000" in body
    assert statuses() == {} and db.session.scalar(db.select(db.func.count(ProgressCheckIn.id))) == 0


def test_progress_waits_for_an_active_agreement(app):
    """Is a check-in on a draft refused with an explanation?"""
    world = build_world(app, state="draft")
    response = world.client("mentor").post(f"/agreements/{world.agreement.id}/progress",
                                           data={"status-goal:0": "achieved"}, follow_redirects=True)
    assert "once the agreement is signed and active" in response.get_data(as_text=True)
    assert statuses() == {}


def test_the_check_in_prompt_follows_the_agreed_cadence(app):
    """Is a check-in due one agreed period after the last one (CCMC weekly), and monthly when nothing was
    agreed (WHPRMS)?"""
    start = utctoday() - timedelta(days=8)
    weekly = build_world(app, "ccmc", answers={"goals": ["Pass the CCM exam"],
                                               "meeting_period": {"option": "weekly", "other_text": ""}},
                         term_start=start)
    page = weekly.client("mentor").get(f"/pairs/{weekly.pair.id}").get_data(as_text=True)
    assert "A check-in is due." in page and "You agreed to meet weekly" in page
    answer = weekly.client("mentee").post(f"/agreements/{weekly.agreement.id}/progress", headers=HTMX,
                                          data={"status-goals:0": "in_progress"}).get_data(as_text=True)
    # htmx gets the progress section, and "Where you stand" out of band without the stale prompt
    assert answer.lstrip().startswith('<section class="life-section" id="progress"')
    assert 'id="next-steps" aria-labelledby="next-steps-title" data-hx-swap-oob="true"' in answer
    assert "A check-in is due." not in answer and "Progress saved." in answer
    page = weekly.client("mentor").get(f"/pairs/{weekly.pair.id}").get_data(as_text=True)
    assert "A check-in is due." not in page
    assert f"Next progress check-in: {(utctoday() + timedelta(days=7)).strftime('%d %B %Y')} (weekly)" in page
    assert "check-in" not in weekly.client("supervisor").get(f"/pairs/{weekly.pair.id}").get_data(as_text=True)


def test_check_in_dates_by_cadence(world):
    """Does the domain compute the due date per cadence, from the term start before any check-in?"""
    agreement = world.agreement
    definition = definition_of(agreement.template_version)
    values = {"goal": "A goal"}
    agreement.term_start = date(2026, 1, 31)
    status = progress.check_in_status(agreement, definition, values, today=date(2026, 2, 27))
    assert status.cadence.name == "monthly" and not status.cadence.agreed
    assert status.due_on == date(2026, 2, 28) and not status.due  # a month later, clamped to February's end
    assert progress.check_in_status(agreement, definition, values, today=date(2026, 2, 28)).due
    set_state(agreement, "in_review")
    assert progress.check_in_status(agreement, definition, values) is None
