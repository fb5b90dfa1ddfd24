"""Who did what, when. Never holds pair-only text, tokens or passwords: only ids, kinds and short facts.
Append-only from the app: nothing updates or deletes these rows."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.timeutil import utcnow


class AuditEvent(db.Model):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    program_id: Mapped[int | None] = mapped_column(ForeignKey("program.id"), index=True)
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("pair.id"), index=True)
    action: Mapped[str] = mapped_column(String(60))  # e.g. "sign_in", "program.create"
    detail: Mapped[str] = mapped_column(Text, default="")  # JSON of non-confidential facts
    address: Mapped[str | None] = mapped_column(String(64))
    # Each entry is chained to the one before by a hash, so that an altered or deleted row shows.
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))

    actor = relationship("User")
