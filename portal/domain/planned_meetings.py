"""A single meeting planned ahead (date, time, length, place or link): both members are sent an invitation they
add to their calendars (an iCalendar METHOD:REQUEST, RFC 5546, attached as text/calendar) and a reminder the day
before (`flask send-reminders`, portal.domain.reminders).

The place is the pair's: encrypted at rest, bound to its row and pair (associated data
``planned_meeting:<id>|pair:<pair id>``), shown to the two members only and mailed to them only. The delivered
invitation's copy in the outbox loses the place (portal.mail). Times are typed as wall-clock times of the
program's time zone and stored as naive UTC.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from portal import crypto, ratelimit
from portal.domain.agreements import AgreementStateError
from portal.domain.calendar import ICS_UTC, escape_text, fold
from portal.domain.lifecycle import mail_member, portal_link
from portal.domain.meetings import LOGGABLE_STATES, MINUTES_MAX, clean_text
from portal.extensions import db
from portal.models import Agreement, PlannedMeeting, User
from portal.timeutil import day_in_reach, utcnow

PLACE_MAX = 500
DEFAULT_MINUTES = "60"
UPCOMING_SHOWN = 20
PLANS_PER_HOUR = 20  # each plan mails the partner: enough for any real use, not enough to flood them
INVITATION_KIND = "meeting_invitation"
INVITATION_FILE = "invitation.ics"


class PlanInputError(ValueError):
    """What is wrong with a planned meeting, by form field name."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(" ".join(errors.values()))
        self.errors = errors


def _place_aad(planned_id: int, pair_id: int) -> str:
    return f"planned_meeting:{planned_id}|pair:{pair_id}"


crypto.register_encrypted_column(PlannedMeeting, "place_ct",
                                 lambda row: _place_aad(row.id, row.agreement.pair_id))


@dataclass
class PlanInput:
    """A planned meeting as typed (kept as typed, so that nothing is lost when it is refused)."""
    on: str = ""
    at: str = ""
    minutes: str = DEFAULT_MINUTES
    place: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> PlanInput:
        return cls(**{name: str(form.get(name, "") or "") for name in ("on", "at", "minutes", "place")})


def zone_of(agreement: Agreement) -> ZoneInfo:
    return ZoneInfo(agreement.pair.program.time_zone or "UTC")


def local_time(agreement: Agreement, starts_at: datetime) -> datetime:
    """A stored (naive UTC) start as the program's wall-clock time."""
    return starts_at.replace(tzinfo=timezone.utc).astimezone(zone_of(agreement))


def plan_meeting(agreement: Agreement, actor: User, typed: PlanInput, now: datetime | None = None) -> PlannedMeeting:
    """Store the meeting and queue both members' invitations; raises PlanInputError (by field) or
    AgreementStateError."""
    if agreement.state not in LOGGABLE_STATES:
        raise AgreementStateError("This agreement is closed: no more meetings can be planned on it.")
    now = now or utcnow()
    errors: dict[str, str] = {}
    day = clock = None
    try:
        day = date.fromisoformat(typed.on.strip())
    except ValueError:
        errors["on"] = "Enter the date of the meeting, for example 2026-03-01."
    else:
        if not day_in_reach(day, now.date()):
            errors["on"] = "Enter a date within the next ten years."
    if re.fullmatch(r"\s*\d{1,2}:\d{2}(:\d{2})?\s*", typed.at or ""):
        try:
            clock = time.fromisoformat(typed.at.strip().zfill(5))
        except ValueError:
            clock = None
    if clock is None:
        errors["at"] = "Enter a time of day, for example 17:30."
    minutes = None
    if not re.fullmatch(r"\s*\d{1,5}\s*", typed.minutes or ""):
        errors["minutes"] = "Enter how long the meeting will last, in whole minutes (for example 60)."
    else:
        minutes = int(typed.minutes)
        if not 1 <= minutes <= MINUTES_MAX:
            errors["minutes"] = f"Enter a length from 1 to {MINUTES_MAX} minutes."
    place = clean_text(typed.place, PLACE_MAX, "The place or link", errors, "place")
    if not place and "place" not in errors:
        errors["place"] = "Say where you meet, or paste the link of the call."
    starts_at = None
    if day is not None and clock is not None:
        local = datetime.combine(day, clock).replace(tzinfo=zone_of(agreement))
        starts_at = local.astimezone(timezone.utc).replace(tzinfo=None)
        if starts_at <= now:
            errors["on"] = "This time is already past: plan a meeting still to come (or log one that took place)."
    if not errors and not ratelimit.take("plan_meeting:member", str(actor.id), PLANS_PER_HOUR, 60):
        errors["on"] = (f"You have planned {PLANS_PER_HOUR} meetings in the last hour, the most the portal "
                        "allows. Wait a while, then try again.")
    if errors:
        raise PlanInputError(errors)
    meeting = PlannedMeeting(agreement_id=agreement.id, starts_at=starts_at, minutes=minutes,
                             planned_by_id=actor.id)
    db.session.add(meeting)
    db.session.flush()  # the id is part of the place's associated data and of the invitation's UID
    meeting.place_ct = crypto.encrypt(place, _place_aad(meeting.id, agreement.pair_id))
    _invite(agreement, meeting, actor, place, now)
    return meeting


def _host() -> str:
    return urlsplit(current_app.config["PUBLIC_URL"]).hostname or "mentorship-portal"


def invitation_ics(agreement: Agreement, meeting: PlannedMeeting, organizer: User, place: str,
                   now: datetime) -> str:
    """The invitation: one VEVENT with the pair's two members as attendees, the planner as organizer, and an
    alarm the day before (the portal also mails a reminder then)."""
    pair = agreement.pair
    title = f"Mentoring: {pair.mentor.name} and {pair.mentee.name}"
    end = meeting.starts_at + timedelta(minutes=meeting.minutes)

    def person(prefix: str, user: User, extra: str = "") -> str:
        name = user.name.replace('"', "'")
        return f'{prefix};CN="{name}"{extra}:mailto:{user.email}'

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Mentorship Portal//Planned meeting//EN",
             "CALSCALE:GREGORIAN", "METHOD:REQUEST", "BEGIN:VEVENT",
             f"UID:planned-meeting-{meeting.id}@{_host()}",
             f"DTSTAMP:{now.strftime(ICS_UTC)}",
             f"DTSTART:{meeting.starts_at.strftime(ICS_UTC)}",
             f"DTEND:{end.strftime(ICS_UTC)}",
             "SEQUENCE:0", "STATUS:CONFIRMED",
             f"SUMMARY:{escape_text(title)}",
             f"LOCATION:{escape_text(place)}",
             f"DESCRIPTION:{escape_text(f'{pair.program.name}: a mentoring meeting planned in the portal.')}",
             person("ORGANIZER", organizer)]
    lines += [person("ATTENDEE", member, ";ROLE=REQ-PARTICIPANT;PARTSTAT="
                     + ("ACCEPTED" if member.id == organizer.id else "NEEDS-ACTION"))
              for member in (pair.mentor, pair.mentee)]
    lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-P1D", f"DESCRIPTION:{escape_text(title)}",
              "END:VALARM", "END:VEVENT", "END:VCALENDAR"]
    return "".join(fold(line) + "\r\n" for line in lines)


def _invite(agreement: Agreement, meeting: PlannedMeeting, organizer: User, place: str, now: datetime) -> None:
    """Mail the invitation to the two members (and only them: the place is the pair's)."""
    pair = agreement.pair
    attachment = (INVITATION_FILE, invitation_ics(agreement, meeting, organizer, place, now).encode("utf-8"))
    starts = local_time(agreement, meeting.starts_at)
    for member in (pair.mentor, pair.mentee):
        mail_member(member, INVITATION_KIND, f"Mentoring meeting on {starts.strftime('%d %B %Y, %H:%M')}",
                    "meeting_invitation.txt", attachment=attachment, pair=pair, organizer=organizer,
                    starts=starts, time_zone=pair.program.time_zone, minutes=meeting.minutes, place=place,
                    link=portal_link(f"/pairs/{pair.id}#meetings"))


@dataclass(frozen=True)
class PlannedView:
    meeting: PlannedMeeting
    starts: datetime       # the program's wall-clock time
    place: str | None
    unreadable: bool = False


def upcoming(agreement: Agreement, now: datetime | None = None) -> list[PlannedView]:
    """Meetings planned from now on, soonest first, with their places: for the pair's members only."""
    now = now or utcnow()
    rows = db.session.scalars(select(PlannedMeeting).where(
        PlannedMeeting.agreement_id == agreement.id, PlannedMeeting.starts_at >= now - timedelta(hours=2))
        .order_by(PlannedMeeting.starts_at, PlannedMeeting.id).limit(UPCOMING_SHOWN)).all()
    views = []
    for meeting in rows:
        place, unreadable = None, False
        if meeting.place_ct is not None:
            try:
                place = crypto.decrypt(meeting.place_ct, _place_aad(meeting.id, agreement.pair_id))
            except crypto.DecryptionError:
                unreadable = True
        views.append(PlannedView(meeting, local_time(agreement, meeting.starts_at), place, unreadable))
    return views


def due_tomorrow(today: date | None) -> list[tuple[PlannedMeeting, datetime]]:
    """Planned meetings of open agreements whose local date (the program's zone) is the day after `today`, or,
    when `today` is None, after the program's own date at this moment."""
    now = utcnow()
    window_start = datetime.combine(today or now.date(), time()) - timedelta(days=2)
    rows = db.session.scalars(select(PlannedMeeting).join(Agreement, Agreement.id == PlannedMeeting.agreement_id)
                              .where(Agreement.state.in_(LOGGABLE_STATES),
                                     PlannedMeeting.starts_at >= window_start,
                                     PlannedMeeting.starts_at < window_start + timedelta(days=5))
                              .order_by(PlannedMeeting.starts_at, PlannedMeeting.id)).all()
    found = []
    for meeting in rows:
        starts = local_time(meeting.agreement, meeting.starts_at)
        local_today = today if today is not None else local_time(meeting.agreement, now).date()
        if starts.date() == local_today + timedelta(days=1):
            found.append((meeting, starts))
    return found


def for_export(agreement: Agreement) -> list[dict]:
    """Every planned meeting of the agreement with its place, for the pair's own data export."""
    rows = db.session.scalars(select(PlannedMeeting).where(PlannedMeeting.agreement_id == agreement.id)
                              .order_by(PlannedMeeting.starts_at, PlannedMeeting.id)).all()
    out = []
    for meeting in rows:
        place = crypto.decrypt_or_flag(meeting.place_ct, _place_aad(meeting.id, agreement.pair_id))
        out.append({"starts_utc": meeting.starts_at.isoformat(),
                    "starts_local": local_time(agreement, meeting.starts_at).replace(tzinfo=None).isoformat(),
                    "time_zone": agreement.pair.program.time_zone, "minutes": meeting.minutes, "place": place.text,
                    **crypto.said_if_undecryptable(place.unreadable)})
    return out
