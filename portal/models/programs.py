"""Programs and the mentor/mentee pairs they run."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.timeutil import utcnow


class Program(db.Model):
    __tablename__ = "program"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    code: Mapped[str] = mapped_column(String(20), unique=True)  # short code, e.g. WHPRMS
    return_email: Mapped[str] = mapped_column(String(254))  # where the program's copy of signed agreements goes
    default_term_months: Mapped[int] = mapped_column(Integer, default=3)
    # A pair that has logged no meeting for this many days is "stalled" (dashboard alert, reminder).
    stall_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    # Pair-only content of agreements closed this many months ago is purged; None keeps it.
    retention_months: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    roles = relationship("ProgramRole", back_populates="program", cascade="all, delete-orphan")
    pairs: Mapped[list[Pair]] = relationship(back_populates="program")


class Pair(db.Model):
    """A mentor and a mentee in one program. Their agreement(s) hang off the pair."""

    __tablename__ = "pair"
    __table_args__ = (CheckConstraint("mentor_id <> mentee_id", name="distinct_members"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    program: Mapped[Program] = relationship(back_populates="pairs")
    mentor = relationship("User", foreign_keys=[mentor_id])
    mentee = relationship("User", foreign_keys=[mentee_id])
    supervisor_links: Mapped[list[PairSupervisor]] = relationship(
        back_populates="pair", cascade="all, delete-orphan")
    agreements = relationship("Agreement", back_populates="pair", order_by="Agreement.id")

    def member_ids(self) -> tuple[int, int]:
        return (self.mentor_id, self.mentee_id)

    def role_of(self, user_id: int) -> str | None:
        if user_id == self.mentor_id:
            return "mentor"
        if user_id == self.mentee_id:
            return "mentee"
        return None


class PairSupervisor(db.Model):
    """A supervisor assigned to follow one pair's progress (never its confidential content)."""

    __tablename__ = "pair_supervisor"
    __table_args__ = (UniqueConstraint("pair_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pair.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)

    pair: Mapped[Pair] = relationship(back_populates="supervisor_links")
    user = relationship("User")
