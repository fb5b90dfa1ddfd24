"""The mentorship's life after the agreement: meetings, progress on goals, check-ins, review, requests for
outside help, renewed goals' confirmations and the reminders already sent.

Columns ending in `_ct` hold pair-only text, encrypted with portal.crypto and bound to their row and pair
(the associated data is built in the domain module that writes them, which also registers the column for
`flask rotate-keys`).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.timeutil import utcnow

GOAL_STATUSES = ("not_started", "in_progress", "achieved")
GOAL_OUTCOMES = ("achieved", "partly", "not_achieved")


class Meeting(db.Model):
    """One meeting the pair held. The mode is a key of the template's meeting modes, or "other" with a label;
    the summary is pair-only."""

    __tablename__ = "meeting"
    __table_args__ = (Index("ix_meeting_agreement_held_on", "agreement_id", "held_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"))
    held_on: Mapped[date] = mapped_column(Date)
    mode: Mapped[str] = mapped_column(String(63))
    other_label: Mapped[str] = mapped_column(String(200), default="")
    minutes: Mapped[int] = mapped_column(Integer)
    summary_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    agreement = relationship("Agreement")
    logged_by = relationship("User")


class PlannedMeeting(db.Model):
    """One meeting a member planned ahead: when (UTC, shown in the program's time zone), for how long, and where
    or by which link. The place is the pair's: encrypted, shown and mailed to the two members only."""

    __tablename__ = "planned_meeting"
    __table_args__ = (Index("ix_planned_meeting_starts_at", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC
    minutes: Mapped[int] = mapped_column(Integer)
    place_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    planned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    agreement = relationship("Agreement")
    planned_by = relationship("User")


class GoalProgress(db.Model):
    """Where one goal or objective stands (seen by supervisors and the program) and the pair's own comment on
    it (pair-only). A goal is an item of a goal field: (field_key, item_index)."""

    __tablename__ = "goal_progress"
    __table_args__ = (UniqueConstraint("agreement_id", "field_key", "item_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"))
    field_key: Mapped[str] = mapped_column(String(63))
    item_index: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="not_started")  # one of GOAL_STATUSES
    comment_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    agreement = relationship("Agreement")


class ProgressCheckIn(db.Model):
    """A member went through the progress of every goal (the check-in prompt's answer)."""

    __tablename__ = "progress_check_in"
    __table_args__ = (Index("ix_progress_check_in_agreement_at", "agreement_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ReviewRequest(db.Model):
    """A member's wish to start the review before the term ends; the review starts when both have asked."""

    __tablename__ = "review_request"

    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ReviewEntry(db.Model):
    """One member's review: the outcome of each goal (seen by the program) and a learning conclusion
    (pair-only)."""

    __tablename__ = "review_entry"
    __table_args__ = (UniqueConstraint("agreement_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    outcomes_json: Mapped[str] = mapped_column(Text, default="{}")  # {"<field_key>:<index>": one of GOAL_OUTCOMES}
    conclusion_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user = relationship("User")


class HelpRequest(db.Model):
    """A member asked the program for outside intervention. `message` is what the member wrote explicitly to
    the program, on a form that says it is not confidential; it is never pair-only text."""

    __tablename__ = "help_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pair.id", ondelete="CASCADE"), index=True)
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreement.id", ondelete="SET NULL"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    message: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    requested_by = relationship("User", foreign_keys=[requested_by_id])
    resolved_by = relationship("User", foreign_keys=[resolved_by_id])
    pair = relationship("Pair")


class GoalConfirmation(db.Model):
    """A member confirmed a renewed agreement's goals as they stood: `goals_state` names each goal field's
    version, so any later change to the goals lapses the confirmation (no text is stored)."""

    __tablename__ = "goal_confirmation"

    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    goals_state: Mapped[str] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SentReminder(db.Model):
    """A reminder already sent. The unique key names the reminder and the situation it is about (e.g.
    "term_ending:12:2026-04-04"), so running `flask send-reminders` again sends nothing twice."""

    __tablename__ = "sent_reminder"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"), index=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
