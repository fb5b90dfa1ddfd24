"""Meetings the pair logs: when, how, how long, and an optional summary that only the two of them read.

The summary is encrypted at rest and bound to its meeting and pair (associated data
``meeting:<id>|pair:<pair id>``). Everything else about a meeting (date, mode, length) is progress that
supervisors and the program follow.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping

from sqlalchemy import case, delete, func, select

from portal import crypto
from portal.domain import commitments
from portal.domain.agreements import AgreementStateError
from portal.domain.template_format import OTHER, TemplateDefinition
from portal.extensions import db
from portal.models import Agreement, Meeting, User
from portal.timeutil import utctoday

LOGGABLE_STATES = ("draft", "signing", "active", "in_review")  # a pair may meet before it has signed
MINUTES_MAX = 24 * 60
SUMMARY_MAX = 4000
OTHER_LABEL_MAX = 200
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class MeetingInputError(ValueError):
    """What is wrong with a logged meeting, by form field name; shown next to each field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(" ".join(errors.values()))
        self.errors = errors


def _summary_aad(meeting_id: int, pair_id: int) -> str:
    return f"meeting:{meeting_id}|pair:{pair_id}"


crypto.register_encrypted_column(Meeting, "summary_ct", lambda row: _summary_aad(row.id, row.agreement.pair_id))


def clean_text(raw: str | None, max_length: int, what: str, errors: dict[str, str], name: str) -> str:
    """Text from a form: line breaks normalised, no invisible control characters, at most `max_length`."""
    text = (raw or "").replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL.search(text):
        errors[name] = f"{what} contains invisible control characters; remove them and try again."
        return text
    text = text.strip()
    if len(text) > max_length:
        errors[name] = f"{what} is {len(text):,} characters long; keep it to {max_length:,}."
    return text


@dataclass
class MeetingInput:
    """A meeting as typed into the form (kept as typed so that nothing is lost when it is refused)."""
    held_on: str = ""
    mode: str = ""
    other_label: str = ""
    minutes: str = ""
    summary: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> MeetingInput:
        return cls(**{name: str(form.get(name, "") or "") for name in
                      ("held_on", "mode", "other_label", "minutes", "summary")})


def log_meeting(agreement: Agreement, definition: TemplateDefinition, actor: User, typed: MeetingInput,
                today: date | None = None) -> Meeting:
    """Record a meeting the pair held; raises MeetingInputError (by field) or AgreementStateError."""
    if agreement.state not in LOGGABLE_STATES:
        raise AgreementStateError("This agreement is closed: meetings can no longer be logged on it.")
    today = today or utctoday()
    errors: dict[str, str] = {}
    held_on = None
    try:
        held_on = date.fromisoformat(typed.held_on.strip())
    except ValueError:
        errors["held_on"] = "Enter the date of the meeting, for example 2026-03-01."
    else:
        if held_on > today:
            errors["held_on"] = "This date is in the future: log a meeting once it has taken place."
        elif held_on.year < 1900:
            errors["held_on"] = "Enter a date after the year 1900."
    modes = {mode.key for mode in commitments.meeting_modes(definition)}
    if typed.mode not in modes:
        errors["mode"] = "Choose how you met."
    other_label = clean_text(typed.other_label, OTHER_LABEL_MAX, "The other way of meeting", errors, "other_label")
    if typed.mode == OTHER and not other_label and "other_label" not in errors:
        errors["other_label"] = "You chose \u201cother\u201d: say how you met (for example \u201cvideo call\u201d)."
    minutes = None
    if not re.fullmatch(r"\s*\d{1,5}\s*", typed.minutes or ""):
        errors["minutes"] = "Enter how long the meeting lasted, in whole minutes (for example 45)."
    else:
        minutes = int(typed.minutes)
        if not 1 <= minutes <= MINUTES_MAX:
            errors["minutes"] = f"Enter a length from 1 to {MINUTES_MAX} minutes."
    summary = clean_text(typed.summary, SUMMARY_MAX, "The summary", errors, "summary")
    if errors:
        raise MeetingInputError(errors)
    meeting = Meeting(agreement_id=agreement.id, held_on=held_on, mode=typed.mode,
                      other_label=other_label if typed.mode == OTHER else "", minutes=minutes,
                      logged_by_id=actor.id)
    db.session.add(meeting)
    db.session.flush()  # the id is part of the summary's associated data
    if summary:
        meeting.summary_ct = crypto.encrypt(summary, _summary_aad(meeting.id, agreement.pair_id))
    return meeting


def delete_meeting(agreement: Agreement, meeting_id: int) -> bool:
    """Remove a meeting logged by mistake. False when it was already gone (a second click, the partner)."""
    if agreement.state not in LOGGABLE_STATES:
        raise AgreementStateError("This agreement is closed and read-only: its meetings stay as they are.")
    result = db.session.execute(delete(Meeting).where(Meeting.id == meeting_id, Meeting.agreement_id == agreement.id))
    return result.rowcount == 1


@dataclass(frozen=True)
class MeetingView:
    meeting: Meeting
    mode_label: str
    logged_by: str | None
    summary: str | None = None      # only for members, and only when there is one
    unreadable: bool = False
    before_term: bool = False       # held before the term started: listed apart, not counted


def meetings_of(agreement: Agreement, definition: TemplateDefinition, include_summaries: bool,
                limit: int | None = None) -> list[MeetingView]:
    """The agreement's meetings, newest first. Summaries are decrypted only for members
    (`include_summaries`); for anyone else they are not even read."""
    stmt = (select(Meeting, User.name).outerjoin(User, User.id == Meeting.logged_by_id)
            .where(Meeting.agreement_id == agreement.id).order_by(Meeting.held_on.desc(), Meeting.id.desc()))
    if limit:
        stmt = stmt.limit(limit)
    views = []
    for meeting, author in db.session.execute(stmt).all():
        summary, unreadable = None, False
        if include_summaries and meeting.summary_ct is not None:
            try:
                summary = crypto.decrypt(meeting.summary_ct, _summary_aad(meeting.id, agreement.pair_id))
            except crypto.DecryptionError:
                unreadable = True
        views.append(MeetingView(meeting, commitments.mode_label(definition, meeting.mode, meeting.other_label),
                                 author, summary, unreadable, is_before_term(meeting, agreement)))
    return views


def summaries_for_export(agreement: Agreement) -> dict[int, crypto.Decrypted]:
    """Meeting id -> summary, for the pair's own data export."""
    return {meeting.id: crypto.decrypt_or_flag(meeting.summary_ct, _summary_aad(meeting.id, agreement.pair_id))
            for meeting in db.session.scalars(select(Meeting).where(Meeting.agreement_id == agreement.id))}


# --- held against committed ---------------------------------------------------------------------------------

def held_this_term(term_start):
    """The one rule for "held this term": a meeting on or after the term's first day. A pair may log a meeting
    held before the term (a first talk before signing); it is kept and listed apart, never counted against
    the term. `term_start` is a date, or the agreement's column in a query over many agreements."""
    return Meeting.held_on >= term_start


def is_before_term(meeting: Meeting, agreement: Agreement) -> bool:
    """The same rule for one meeting already read (the list shows these apart)."""
    return meeting.held_on < agreement.term_start


@dataclass(frozen=True)
class ModeTally:
    label: str
    held: int
    committed: int | None  # None: the agreement commits to no number for this mode


@dataclass(frozen=True)
class MeetingTally:
    rows: list[ModeTally]
    held: int
    committed: int | None
    minutes: int
    planned: commitments.PlannedSchedule
    before_term: int = 0  # meetings logged with a date before the term: listed apart, not counted


def tally(agreement: Agreement, definition: TemplateDefinition, values: Mapping[str, Any]) -> MeetingTally:
    """Meetings held this term per mode against what the agreement commits to."""
    in_term = held_this_term(agreement.term_start)
    rows = db.session.execute(
        select(Meeting.mode, func.coalesce(func.sum(case((in_term, 1), else_=0)), 0),
               func.coalesce(func.sum(case((in_term, Meeting.minutes), else_=0)), 0),
               func.coalesce(func.sum(case((in_term, 0), else_=1)), 0))
        .where(Meeting.agreement_id == agreement.id).group_by(Meeting.mode)).all()
    held = {mode: int(count) for mode, count, _, _ in rows if count}
    minutes = sum(int(total) for _, _, total, _ in rows)
    before_term = sum(int(early) for _, _, _, early in rows)
    commitment = commitments.committed_meetings(definition, values)
    committed = commitment.counts if commitment else {}
    rows = []
    for mode in commitments.meeting_modes(definition):
        label = mode.label
        if mode.key == OTHER and commitment and commitment.other_label:
            label = f"other ({commitment.other_label})"
        count, promised = held.get(mode.key, 0), committed.get(mode.key)
        if count or promised:
            rows.append(ModeTally(label, count, promised))
    known = {mode.key for mode in commitments.meeting_modes(definition)}
    stray = sum(count for key, count in held.items() if key not in known)  # modes of an older template version
    if stray:
        rows.append(ModeTally("other ways", stray, None))
    planned = commitments.planned_schedule(agreement, definition, values)
    return MeetingTally(rows, sum(held.values()), commitment.total if commitment else None, minutes, planned,
                        before_term or 0)
