"""People, their per-program roles, one-time tokens and sign-in failures."""
from __future__ import annotations

import unicodedata
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, attributes, mapped_column, relationship

from portal.extensions import db
from portal.timeutil import utcnow

PROGRAM_ROLES = ("admin", "supervisor")
NAME_LENGTH, EMAIL_LENGTH = 120, 254


def search_key(text: str | None, length: int = EMAIL_LENGTH) -> str:
    """Text as the dashboards' search compares it: without case or accents ("ZOË" and "zoe" are both "zoe"),
    folded in Python so that SQLite (whose lower() folds only ASCII) and PostgreSQL (no unaccent extension)
    match alike. Cut to the column's length: folding can lengthen a text ("ß" is "ss")."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()[:length]


def _search_key_of(column: str, length: int):
    """A column default that folds the row's own `column`: it runs for Core bulk inserts too (the benchmark's
    seed, the tests' bulk pairs), not only for the ORM's."""
    return lambda context: search_key(context.get_current_parameters().get(column), length)


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_LENGTH), unique=True)  # stored lower-cased
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    # The name and the address as the dashboards' search matches them (search_key), kept in step by the
    # defaults and by _search_keys below.
    search_name: Mapped[str] = mapped_column(String(NAME_LENGTH), default=_search_key_of("name", NAME_LENGTH),
                                             server_default="")
    search_email: Mapped[str] = mapped_column(String(EMAIL_LENGTH),
                                              default=_search_key_of("email", EMAIL_LENGTH), server_default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))  # None until the invitation is accepted
    is_site_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_deactivated: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped at sign-out, password change and deactivation: every session cookie minted before stops working.
    session_generation: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime)

    roles: Mapped[list[ProgramRole]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return not self.is_deactivated and self.password_hash is not None

    def get_id(self) -> str:
        # The session remembers the generation too, so bumping it invalidates copied cookies.
        return f"{self.id}:{self.session_generation}"

    def __repr__(self) -> str:
        return f"<User {self.id}>"


@event.listens_for(User, "before_update")
def _search_keys(_mapper, _connection, user: User) -> None:
    if attributes.get_history(user, "name").has_changes():
        user.search_name = search_key(user.name, NAME_LENGTH)
    if attributes.get_history(user, "email").has_changes():
        user.search_email = search_key(user.email, EMAIL_LENGTH)


class ProgramRole(db.Model):
    """A person's role in one program. Mentor and mentee come from pair membership, not from here."""

    __tablename__ = "program_role"
    __table_args__ = (UniqueConstraint("user_id", "program_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # one of PROGRAM_ROLES
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles")
    program = relationship("Program", back_populates="roles")


class AccountToken(db.Model):
    """A one-time link (invitation, password reset, or confirming a new sign-in address). Only the token's
    SHA-256 is stored."""

    __tablename__ = "account_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # "invite", "reset" or "email"
    # For "email": the address the account asked to sign in with; it takes effect when the link is followed.
    new_email: Mapped[str | None] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class RateEvent(db.Model):
    """Events that are rate-limited (failed sign-ins, reset requests, invitations, share proposals), counted in
    the database so that the limits hold across workers and machines (process memory would multiply them)."""

    __tablename__ = "rate_event"
    __table_args__ = (Index("ix_rate_event_scope_key_at", "scope", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))  # e.g. "sign_in:account", "reset:address"
    key: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
