"""Meetings: the pair logs them; the page shows held against committed per mode; summaries stay the pair's."""
from __future__ import annotations

from datetime import timedelta

from portal import crypto
from portal.extensions import db
from portal.models import Meeting
from portal.timeutil import utctoday
from tests.factories import make_meeting, set_state
from tests.lifecycle.conftest import HTMX, build_world


def meetings():
    db.session.expire_all()
    return db.session.scalars(db.select(Meeting).order_by(Meeting.id)).all()


def test_a_member_logs_a_meeting_with_a_private_summary(world):
    """Does a logged meeting appear on the pair page, count against the agreed number, and keep its summary
    encrypted at rest, bound to its row?"""
    a = world.agreement
    response = world.client("mentee").post(f"/agreements/{a.id}/meetings", data={
        "held_on": (utctoday() - timedelta(days=2)).isoformat(), "mode": "phone", "minutes": "45",
        "summary": "We talked about my manager, in confidence."})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/pairs/{world.pair.id}#meetings")
    [meeting] = meetings()
    assert (meeting.mode, meeting.minutes, meeting.logged_by_id) == ("phone", 45, world.people["mentee"].id)
    assert b"manager" not in bytes(meeting.summary_ct)
    assert crypto.decrypt(meeting.summary_ct, f"meeting:{meeting.id}|pair:{world.pair.id}") == \
        "We talked about my manager, in confidence."
    page = world.client("mentor").get(f"/pairs/{world.pair.id}").get_data(as_text=True)
    assert "We talked about my manager, in confidence." in page
    assert "Meeting logged." in world.client("mentee").get(f"/pairs/{world.pair.id}").get_data(as_text=True)
    tally = page.split('class="tally"', 1)[1].split("</table>", 1)[0]
    assert "<td>by phone</td><td>1</td><td>4</td>" in tally.replace("\n", "")
    assert "<td>face to face</td><td>0</td><td>2</td>" in tally.replace("\n", "")
    assert "All meetings</th><td>1 (45 minutes)</td>" in tally.replace("\n", "").replace("      ", "")


def test_followers_see_counts_but_never_the_summary(world):
    """Do the supervisor and the program admin see the meeting (date, mode, length) but not its summary?"""
    make_meeting(world.agreement, world.people["mentor"], held_on=utctoday(), summary="Secret summary text")
    for who in ("supervisor", "admin"):
        page = world.client(who).get(f"/pairs/{world.pair.id}").get_data(as_text=True)
        assert "face to face" in page and "60 min" in page
        assert "Secret summary text" not in page


def test_a_wrong_meeting_is_refused_field_by_field_and_nothing_is_lost(world):
    """Is a meeting in the future, without a mode or length, or "other" without a label refused with 422,
    each message next to its field and the typed summary kept?"""
    a = world.agreement
    tomorrow = (utctoday() + timedelta(days=1)).isoformat()
    response = world.client("mentor").post(f"/agreements/{a.id}/meetings", headers=HTMX, data={
        "held_on": tomorrow, "mode": "other", "other_label": "", "minutes": "abc", "summary": "Keep this text"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert body.lstrip().startswith('<section class="life-section" id="meetings"')  # the fragment alone
    assert "This date is in the future" in body
    assert "say how you met" in body
    assert "whole minutes" in body
    assert "Keep this text" in body and f'value="{tomorrow}"' in body
    assert 'aria-invalid="true"' in body
    assert meetings() == []
    response = world.client("mentor").post(f"/agreements/{a.id}/meetings", data={
        "held_on": "2026-02-30", "mode": "teleport", "minutes": "0"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" in body  # without htmx: the whole page with the errors
    assert "Enter the date of the meeting" in body and "Choose how you met" in body and "from 1 to 1440" in body


def test_an_other_meeting_keeps_its_label_and_htmx_gets_the_section_back(world):
    """Does an "other" meeting keep its label, and does htmx get the refreshed section (no redirect)?"""
    response = world.client("mentor").post(f"/agreements/{world.agreement.id}/meetings", headers=HTMX, data={
        "held_on": utctoday().isoformat(), "mode": "other", "other_label": "video call", "minutes": "30"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Meeting logged." in body and "other (video call)" in body
    assert meetings()[0].other_label == "video call"


def test_a_meeting_logged_by_mistake_can_be_removed_once(world):
    """Can a member remove a meeting, and does a second click say it is already gone (not an error)?"""
    meeting = make_meeting(world.agreement, world.people["mentor"], held_on=utctoday())
    url = f"/agreements/{world.agreement.id}/meetings/{meeting.id}/delete"
    assert world.client("mentee").post(url).status_code == 303
    assert meetings() == []
    second = world.client("mentor").post(url, follow_redirects=True).get_data(as_text=True)
    assert "already been removed" in second


def test_nobody_outside_the_pair_can_log_or_remove_meetings(world):
    """Do supervisors, admins and outsiders get a 404 for logging and removing meetings?"""
    meeting = make_meeting(world.agreement, world.people["mentor"], held_on=utctoday())
    for who in ("supervisor", "admin", "outsider", "site_admin"):
        client = world.client(who)
        assert client.post(f"/agreements/{world.agreement.id}/meetings", data={
            "held_on": utctoday().isoformat(), "mode": "phone", "minutes": "10"}).status_code == 404
        assert client.post(f"/agreements/{world.agreement.id}/meetings/{meeting.id}/delete").status_code == 404
    assert len(meetings()) == 1


def test_a_closed_agreement_takes_no_more_meetings(world):
    """Is logging or removing a meeting on a closed agreement refused, changing nothing?"""
    meeting = make_meeting(world.agreement, world.people["mentor"], held_on=utctoday())
    set_state(world.agreement, "closed")
    response = world.client("mentor").post(f"/agreements/{world.agreement.id}/meetings", data={
        "held_on": utctoday().isoformat(), "mode": "phone", "minutes": "10"}, follow_redirects=True)
    assert "closed" in response.get_data(as_text=True)
    world.client("mentor").post(f"/agreements/{world.agreement.id}/meetings/{meeting.id}/delete")
    assert len(meetings()) == 1


def test_a_template_without_meeting_modes_offers_common_ways_and_plans_by_cadence(app):
    """For CCMC (a period instead of counts): are common modes offered, and is the plan the agreed cadence?"""
    world = build_world(app, "ccmc", answers={"goals": ["Achieve CCM certification"],
                                              "meeting_period": {"option": "weekly", "other_text": ""}},
                        term_start=utctoday() - timedelta(days=10))
    page = world.client("mentor").get(f"/pairs/{world.pair.id}").get_data(as_text=True)
    assert '<option value="video">by video call</option>' in page
    assert '<option value="other">other</option>' in page
    weeks = len(range(0, (world.agreement.term_end - world.agreement.term_start).days + 1, 7))
    assert f"about {weeks} planned (weekly, as agreed)" in page
