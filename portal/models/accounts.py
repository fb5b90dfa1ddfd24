"""People, their per-program roles, one-time tokens and sign-in failures."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.timeutil import utcnow

PROGRAM_ROLES = ("admin", "supervisor")


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    name: Mapped[str] = mapped_column(String(120))
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
