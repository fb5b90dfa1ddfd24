"""Programs and the mentor/mentee pairs they run."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (CheckConstraint, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, event, select,
                        update)
from sqlalchemy.orm import Mapped, attributes, mapped_column, relationship

from portal.extensions import db
from portal.models.accounts import User
from portal.timeutil import utcnow

SORT_NAME_LENGTH = 120  # as long as a person's name (User.name)


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
    # IANA name of the zone the program's pairs live in: agreed meeting times ("Tuesdays 17:00") are read in it.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # The template new pairs start from unless another is chosen (its newest published version). use_alter:
    # templates belong to programs, so the two tables refer to each other.
    default_template_id: Mapped[int | None] = mapped_column(
        ForeignKey("agreement_template.id", ondelete="SET NULL", use_alter=True))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    roles = relationship("ProgramRole", back_populates="program", cascade="all, delete-orphan")
    pairs: Mapped[list[Pair]] = relationship(back_populates="program")


class Pair(db.Model):
    """A mentor and a mentee in one program. Their agreement(s) hang off the pair."""

    __tablename__ = "pair"
    # The dashboards page through a program's pairs in name order; these indexes hand them a page without
    # sorting every pair of the program (which made the last page of a large program twice as slow).
    __table_args__ = (CheckConstraint("mentor_id <> mentee_id", name="distinct_members"),
                      Index("ix_pair_program_mentor_sort", "program_id", "mentor_sort_name", "id"),
                      Index("ix_pair_program_mentee_sort", "program_id", "mentee_sort_name", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The mentor's and the mentee's names as the dashboards sort them (sort_name), kept in step with the names
    # by the listeners below. They listen to the ORM: a bulk insert or update through Core fills them itself.
    mentor_sort_name: Mapped[str] = mapped_column(String(SORT_NAME_LENGTH), default="", server_default="")
    mentee_sort_name: Mapped[str] = mapped_column(String(SORT_NAME_LENGTH), default="", server_default="")
    # Set when a program admin removed a pair created by mistake (portal.domain.pair_changes): the row stays (its
    # audit trail points at it), hidden from every list, count, reminder and export.
    archived_at: Mapped[datetime | None] = mapped_column(DateTime)
    archived_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    program: Mapped[Program] = relationship(back_populates="pairs")
    mentor = relationship("User", foreign_keys=[mentor_id])
    mentee = relationship("User", foreign_keys=[mentee_id])
    archived_by = relationship("User", foreign_keys=[archived_by_id])
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


def sort_name(name: str) -> str:
    """A person's name as the dashboards sort it: without case, the same on every database (SQL's lower()
    folds only ASCII on SQLite). Cut to the column's length: folding can lengthen a name ("ß" is "ss")."""
    return (name or "").casefold()[:SORT_NAME_LENGTH]


@event.listens_for(Pair, "before_insert")
def _pair_sort_names(_mapper, connection, pair: Pair) -> None:
    members = select(User.id, User.name).where(User.id.in_([pair.mentor_id, pair.mentee_id]))
    names = dict(connection.execute(members).all())
    pair.mentor_sort_name = sort_name(names.get(pair.mentor_id, ""))
    pair.mentee_sort_name = sort_name(names.get(pair.mentee_id, ""))


@event.listens_for(User, "after_update")
def _user_renamed(_mapper, connection, user: User) -> None:
    if not attributes.get_history(user, "name").has_changes():
        return
    key = sort_name(user.name)
    pair = Pair.__table__
    connection.execute(update(pair).where(pair.c.mentor_id == user.id).values(mentor_sort_name=key))
    connection.execute(update(pair).where(pair.c.mentee_id == user.id).values(mentee_sort_name=key))


class PairSupervisor(db.Model):
    """A supervisor assigned to follow one pair's progress (never its confidential content)."""

    __tablename__ = "pair_supervisor"
    __table_args__ = (UniqueConstraint("pair_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pair.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)

    pair: Mapped[Pair] = relationship(back_populates="supervisor_links")
    user = relationship("User")
