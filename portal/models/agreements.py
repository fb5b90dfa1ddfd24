"""Agreements, their field values (each with its own version), the history of every change, and presence."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.timeutil import utcnow

AGREEMENT_STATES = ("draft", "signing", "active", "in_review", "closed")
# How a closed agreement ended: reviewed and completed, ended early by either member, or continued by a successor.
CLOSURE_KINDS = ("completed", "early", "renewed", "removed")


class Agreement(db.Model):
    """One agreement of a pair, pinned to the template version it was made from."""

    __tablename__ = "agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pair.id"), index=True)
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_version.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), default="draft")  # one of AGREEMENT_STATES
    # Amendment number: 1 for the first text, +1 each time an active agreement is reopened.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    term_start: Mapped[date] = mapped_column(Date)
    term_months: Mapped[int] = mapped_column(Integer)
    # The term's last day, derived from term_start and term_months whenever either changes (an ORM hook in
    # portal.domain.agreements), stored so that dashboards can filter and sort on it in SQL.
    term_end: Mapped[date] = mapped_column(Date, index=True)
    predecessor_id: Mapped[int | None] = mapped_column(ForeignKey("agreement.id"), index=True)
    # Bumped by every change a member makes; the editors poll it ("anything changed since N?").
    change_seq: Mapped[int] = mapped_column(Integer, default=0)
    # A random secret mixed into the hash of the signed content (encrypted, portal.domain.signing): without
    # it, anyone holding the program's copy and its hash could confirm guesses of the pair-only values.
    seal_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Closure (portal.domain.lifecycle). The reason is a category from a fixed list, never free text.
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closure_kind: Mapped[str | None] = mapped_column(String(12))  # one of CLOSURE_KINDS
    closure_reason: Mapped[str | None] = mapped_column(String(20))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # Set when the program's retention rule removed the pair-only content (portal.domain.retention).
    purged_at: Mapped[datetime | None] = mapped_column(DateTime)

    pair = relationship("Pair", back_populates="agreements")
    template_version = relationship("TemplateVersion")
    values: Mapped[list[FieldValue]] = relationship(back_populates="agreement", cascade="all, delete-orphan")
    closed_by = relationship("User", foreign_keys=[closed_by_id])
    predecessor = relationship("Agreement", remote_side=[id], foreign_keys=[predecessor_id])


class FieldValue(db.Model):
    """The current value of one field. Pair-only values are stored encrypted in `value_ct`, others as JSON.

    `version` counts the changes of this field; a save names the version it was based on, and a save based on
    an older version is not applied (no silent overwrite)."""

    __tablename__ = "field_value"
    __table_args__ = (UniqueConstraint("agreement_id", "field_key"),
                      Index("ix_field_value_agreement_changed", "agreement_id", "changed_seq"))

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"))
    field_key: Mapped[str] = mapped_column(String(63))
    value_json: Mapped[str | None] = mapped_column(Text)
    value_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(Integer, default=0)
    changed_seq: Mapped[int] = mapped_column(Integer, default=0)  # the agreement's change_seq at the last change
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)

    agreement: Mapped[Agreement] = relationship(back_populates="values")
    updated_by = relationship("User")


class FieldChange(db.Model):
    """History: every change of every field, who made it and when, with the old and the new value.
    For pair-only fields both values are encrypted (`old_ct`, `new_ct`)."""

    __tablename__ = "field_change"
    __table_args__ = (Index("ix_field_change_agreement_key", "agreement_id", "field_key", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"))
    field_key: Mapped[str] = mapped_column(String(63))
    version: Mapped[int] = mapped_column(Integer)  # the field's version after this change
    old_json: Mapped[str | None] = mapped_column(Text)
    new_json: Mapped[str | None] = mapped_column(Text)
    old_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    new_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user = relationship("User")


class AgreementEvent(db.Model):
    """Non-confidential events in an agreement's life (created, signatures cleared, signed, amended...)."""

    __tablename__ = "agreement_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    revision: Mapped[int] = mapped_column(Integer, default=1)  # the agreement's revision when it happened
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    detail: Mapped[str] = mapped_column(String(500), default="")  # never pair-only text

    actor = relationship("User")


class EditorPresence(db.Model):
    """Who has the agreement open: refreshed by each open editor every few seconds, in the database so that
    every worker and machine sees it."""

    __tablename__ = "editor_presence"

    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
