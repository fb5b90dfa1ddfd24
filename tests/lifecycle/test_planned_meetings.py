"""Planning a single meeting: a plain form (no JavaScript needed) sends both members an invitation they add to
their calendar (an iCalendar REQUEST attached as text/calendar), a reminder the day before (once), and the place
stays the pair's."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from portal import crypto, mail
from portal.domain.reminders import send_reminders
from portal.extensions import db
from portal.models import OutboxMail, PlannedMeeting, SentReminder
from portal.timeutil import utcnow, utctoday
from tests.lifecycle.conftest import HTMX
from tests.lifecycle.test_calendar import parse

PLACE = "Room 4B, or https://meet.example/abc-defg"


def invitations():
    db.session.expire_all()
    return db.session.scalars(db.select(OutboxMail).where(OutboxMail.kind == "meeting_invitation")
                              .order_by(OutboxMail.id)).all()


def planned():
    db.session.expire_all()
    return db.session.scalars(db.select(PlannedMeeting).order_by(PlannedMeeting.id)).all()


def _plan(world, who="mentor", on=None, at="17:30", minutes="45", place=PLACE, headers=None):
    on = on or (utctoday() + timedelta(days=5)).isoformat()
    return world.client(who).post(f"/agreements/{world.agreement.id}/meetings/plan", headers=headers or {}, data={
        "on": on, "at": at, "minutes": minutes, "place": place})


def test_the_plan_form_is_a_plain_html_form_on_the_members_page(world):
    """Does a member's pair page hold a POST form (no JavaScript needed) with date, time, length and place,
    and do the supervisor and the program admin get no such form?"""
    page = world.client("mentee").get(f"/pairs/{world.pair.id}").get_data(as_text=True)
    form = page.split(f'action="/agreements/{world.agreement.id}/meetings/plan"', 1)[1].split("</form>", 1)[0]
    assert 'method="post"' in page.split(f'action="/agreements/{world.agreement.id}/meetings/plan"', 1)[0][-300:]
    for name in ("csrf_token", "on", "at", "minutes", "place"):
        assert f'name="{name}"' in form, name
    assert 'type="date"' in form and 'type="time"' in form
    for who in ("supervisor", "admin"):
        assert "/meetings/plan" not in world.client(who).get(f"/pairs/{world.pair.id}").get_data(as_text=True)


def test_planning_a_meeting_sends_both_members_a_calendar_invitation(app, world):
    """Without JavaScript: is the planned meeting stored (its place encrypted), each member sent a mail with a
    METHOD:REQUEST iCalendar attachment holding UID, DTSTAMP, DTSTART in UTC for the program's local time,
    ORGANIZER and both ATTENDEEs, delivered as text/calendar?"""
    world.program.time_zone = "Europe/Berlin"
    db.session.commit()
    day = utctoday() + timedelta(days=5)
    response = _plan(world, on=day.isoformat())
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/pairs/{world.pair.id}#meetings")
    [meeting] = planned()
    local = datetime.combine(day, datetime.strptime("17:30", "%H:%M").time()).replace(tzinfo=ZoneInfo("Europe/Berlin"))
    assert meeting.starts_at == local.astimezone(timezone.utc).replace(tzinfo=None) and meeting.minutes == 45
    assert b"meet.example" not in bytes(meeting.place_ct)
    assert crypto.decrypt(meeting.place_ct, f"planned_meeting:{meeting.id}|pair:{world.pair.id}") == PLACE
    mentor, mentee = world.people["mentor"], world.people["mentee"]
    mails = invitations()
    assert sorted(m.to_address for m in mails) == sorted([mentor.email, mentee.email])
    for sent in mails:
        assert sent.attachment_name == "invitation.ics"
        text = bytes(sent.attachment).decode("utf-8")
        calendar, [event] = parse(text)
        assert calendar["METHOD"] == "REQUEST" and calendar["VERSION"] == "2.0" and calendar["PRODID"]
        assert event["UID"] == f"planned-meeting-{meeting.id}@{urlsplit(app.config['PUBLIC_URL']).hostname}"
        assert event["DTSTART"] == local.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        assert event["DTEND"] == (local + timedelta(minutes=45)).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        assert len(event["DTSTAMP"]) == 16 and event["DTSTAMP"].endswith("Z")
        assert event["LOCATION"] == "Room 4B\\, or https://meet.example/abc-defg"
        organizer = [key for key in event if key.startswith("ORGANIZER")]
        assert organizer and event[organizer[0]] == f"mailto:{mentor.email}"
        attendees = [line for line in text.replace("\r\n ", "").split("\r\n") if line.startswith("ATTENDEE")]
        assert sorted(line.rsplit("mailto:", 1)[1] for line in attendees) == sorted([mentor.email, mentee.email])
        assert "17:30" in sent.body and day.strftime("%d %B %Y") in sent.body and PLACE in sent.body
        message = mail._message(sent)
        [part] = list(message.iter_attachments())
        assert part.get_content_type() == "text/calendar" and part.get_param("method") == "REQUEST"
        assert "BEGIN:VEVENT" in part.get_content()
    page = world.client("mentee").get(f"/pairs/{world.pair.id}").get_data(as_text=True)
    assert "invitation" in page and PLACE in page and "17:30" in page


def test_followers_never_read_the_place_and_nobody_else_is_mailed(world):
    """Do the supervisor and the program admin read nothing of the planned meeting's place, and is nobody but
    the two members mailed?"""
    _plan(world)
    for who in ("supervisor", "admin"):
        assert "meet.example" not in world.client(who).get(f"/pairs/{world.pair.id}").get_data(as_text=True)
    db.session.expire_all()
    members = {world.people["mentor"].email, world.people["mentee"].email}
    for sent in db.session.scalars(db.select(OutboxMail)):
        if "meet.example" in sent.body or (sent.attachment and b"meet.example" in bytes(sent.attachment)):
            assert sent.to_address in members


def test_a_wrong_plan_is_refused_field_by_field_and_nothing_is_sent(world):
    """Is a meeting in the past, at no time, of no length or without a place refused with 422 (the whole page
    without htmx, the section with it), each message by its field, what was typed kept, nothing stored or
    mailed?"""
    yesterday = (utctoday() - timedelta(days=1)).isoformat()
    response = _plan(world, on=yesterday, at="25:00", minutes="0", place="")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" in body
    assert "Enter a time" in body and "from 1 to 1440" in body and "where you meet" in body
    assert f'value="{yesterday}"' in body
    response = _plan(world, on=yesterday, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and body.lstrip().startswith('<section class="life-section" id="meetings"')
    assert "already past" in body and PLACE in body
    assert planned() == [] and invitations() == []


def test_the_day_before_reminder_is_sent_once(world, runner):
    """Is each member reminded the day before the meeting (not two days before), once however often
    `flask send-reminders` runs, without the place in the reminder?"""
    day = utctoday() + timedelta(days=3)
    _plan(world, on=day.isoformat(), at="09:00")
    [meeting] = planned()
    assert send_reminders(day - timedelta(days=2))["meeting_tomorrow"] == 0
    assert send_reminders(day - timedelta(days=1))["meeting_tomorrow"] == 1
    result = runner.invoke(args=["send-reminders", "--today", (day - timedelta(days=1)).isoformat()])
    assert result.exit_code == 0 and "meeting_tomorrow: 0 sent" in result.output
    assert send_reminders(day)["meeting_tomorrow"] == 0
    db.session.expire_all()
    mails = db.session.scalars(db.select(OutboxMail).where(OutboxMail.kind == "reminder_meeting_tomorrow")).all()
    assert sorted(m.to_address for m in mails) == sorted([world.people["mentor"].email, world.people["mentee"].email])
    assert all("09:00" in m.body and "meet.example" not in m.body for m in mails)
    assert db.session.scalars(db.select(SentReminder.key).where(SentReminder.kind == "meeting_tomorrow")).all() == [
        f"meeting_tomorrow:{meeting.id}:{meeting.starts_at.isoformat()}"]


def test_a_closed_agreement_takes_no_plans(world):
    """Is planning refused on a closed agreement, with nothing stored?"""
    from tests.factories import set_state
    set_state(world.agreement, "closed")
    response = world.client("mentor").post(f"/agreements/{world.agreement.id}/meetings/plan", data={
        "on": (utctoday() + timedelta(days=2)).isoformat(), "at": "10:00", "minutes": "30", "place": "x"},
        follow_redirects=True)
    assert "closed" in response.get_data(as_text=True) and planned() == []


def test_the_retention_purge_deletes_the_place(world):
    """When a closed agreement's pair-only content is purged, is a planned meeting's place deleted too?"""
    from portal.domain.retention import purge_agreement
    from tests.factories import set_state
    _plan(world)
    set_state(world.agreement, "closed")
    purge_agreement(world.refresh())
    db.session.commit()
    [meeting] = planned()
    assert meeting.place_ct is None


def test_the_pairs_export_holds_its_planned_meetings(world):
    """Does the members' data export list each planned meeting with its time, length and place?"""
    _plan(world, at="08:15")
    data = world.client("mentor").get(f"/pairs/{world.pair.id}/export.json").get_json()
    [entry] = data["agreements"][-1]["planned_meetings"]
    assert entry["place"] == PLACE and entry["minutes"] == 45 and entry["starts_local"].endswith("08:15:00")


def test_planning_is_limited_so_the_partner_is_not_flooded_with_invitations(world, monkeypatch):
    """Past the hourly limit of planned meetings, is the next one refused with a message and no mail?"""
    from portal.domain import planned_meetings
    monkeypatch.setattr(planned_meetings, "PLANS_PER_HOUR", 2)
    assert _plan(world).status_code == 303 and _plan(world).status_code == 303
    response = _plan(world)
    assert response.status_code == 422 and "in the last hour" in response.get_data(as_text=True)
    assert len(planned()) == 2 and len(invitations()) == 4


def test_an_invitation_given_up_on_keeps_no_place_in_the_outbox(world, app):
    """When the mail server refuses an invitation until the sender gives up, does the outbox still hold the
    pair's place (in the body or the calendar file)? (It must not: only the members' mailboxes may.)"""
    assert _plan(world).status_code == 303
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_USE_TLS=False)  # nothing listens on port 1
    for attempt in range(mail.MAX_ATTEMPTS):
        mail.deliver_pending(now=utcnow() + timedelta(days=attempt))  # each retry's wait is over
    for invitation in invitations():
        assert invitation.sent_at is None and invitation.failed_at is not None
        assert invitation.attempts == mail.MAX_ATTEMPTS
        assert "meet.example" not in invitation.body and invitation.attachment is None


def test_the_reminder_comes_on_the_day_before_in_the_programs_time_zone(world, monkeypatch):
    """West of UTC, the daily run at 06:15 UTC falls on the evening before in the program's zone: is a meeting
    reminded on its local day before (the second run), not two local days before (the first)?"""
    from datetime import datetime

    from portal.domain import planned_meetings
    world.program.time_zone = "America/Los_Angeles"
    db.session.commit()
    day = utctoday() + timedelta(days=6)
    assert _plan(world, on=day.isoformat(), at="17:00").status_code == 303
    for run_day, expected in ((day - timedelta(days=1), 0), (day, 1), (day + timedelta(days=1), 0)):
        monkeypatch.setattr(planned_meetings, "utcnow", lambda run_day=run_day: datetime.combine(
            run_day, datetime.strptime("06:15", "%H:%M").time()))
        assert send_reminders()["meeting_tomorrow"] == expected, run_day
