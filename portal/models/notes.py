"""A pair's confidential notebook, and the two-key sharing of single notes with one named person.

Note text exists in the database only as AES-GCM ciphertext bound to its row (see portal.crypto). A share
holds no text at all: the recipient reads the note itself, through policy.share_for_recipient, which checks
the share's state on every request.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.crypto import register_encrypted_column
from portal.extensions import db
from portal.timeutil import utcnow

SHARE_STATES = ("proposed", "approved", "declined", "withdrawn")
OPEN_SHARE_STATES = ("proposed", "approved")  # states that can still lead to (or give) the recipient access


class Note(db.Model):
    __tablename__ = "note"
    __table_args__ = (Index("ix_note_pair_id_created_at", "pair_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pair.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    # Ciphertext only (portal.crypto blob). Associated data: Note.aad. Never plaintext, never NULL once
    # committed: the domain flushes a placeholder to get the id, then encrypts in the same transaction.
    body: Mapped[bytes] = mapped_column(LargeBinary)
    # Bumped on every edit, so that an edit or delete made from a stale page is noticed, not applied blindly.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    pair = relationship("Pair")
    author = relationship("User", foreign_keys=[author_id])
    updated_by = relationship("User", foreign_keys=[updated_by_id])
    shares: Mapped[list[NoteShare]] = relationship(
        back_populates="note", cascade="all, delete-orphan", passive_deletes=True,
        order_by="NoteShare.id.desc()")

    # Optimistic locking: every UPDATE and DELETE of a note says "WHERE version = <the version read>", so a
    # concurrent change makes the later writer fail loudly instead of overwriting. The domain bumps `version`
    # itself on edits only, so that re-encryption by `flask rotate-keys` does not look like an edit.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    @property
    def aad(self) -> str:
        """Associated data binding the ciphertext to this row: copied onto another note it fails to decrypt."""
        return note_aad(self)


def note_aad(note: Note) -> str:
    return f"note:{note.id}|pair:{note.pair_id}"


register_encrypted_column(Note, "body", note_aad)


class ShareRules:
    """What a share's columns say about it, for a NoteShare and for the plain rows the notebook lists
    (portal.domain.notes.ListedShare): one definition of "expired", "open" and how the recipient is named."""

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def is_open(self, now: datetime) -> bool:
        """Proposed or approved, and not past its expiry: it can still be approved or withdrawn."""
        return self.state in OPEN_SHARE_STATES and not self.is_expired(now)

    @property
    def recipient_label(self) -> str:
        name = self.recipient.name if self.recipient is not None else self.recipient_name
        return f"{name} <{self.recipient_email}>" if name else self.recipient_email


class NoteShare(ShareRules, db.Model):
    """A proposal to let one named person read one note; it gives access only once the other member approves.

    The recipient is named by e-mail address when proposed; the account is fixed (and created by invitation
    if needed) at approval, the moment both members have agreed. "Expired" is not a stored state: it is read
    from `expires_at` on every request.
    """

    __tablename__ = "note_share"

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("note.id", ondelete="CASCADE"), index=True)
    recipient_email: Mapped[str] = mapped_column(String(254))  # lower-cased, as typed by the proposer
    recipient_name: Mapped[str] = mapped_column(String(120), default="")  # optional, for a new account
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)  # set at approval
    state: Mapped[str] = mapped_column(String(12), default="proposed")  # one of SHARE_STATES
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    proposed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)  # naive UTC; None: until withdrawn
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))  # who approved or declined
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Empty on a withdrawn share: the portal ended it, because the recipient's account was deactivated.
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime)
    # True when the share ended because a member changed the note: consent was given for the old text.
    ended_by_edit: Mapped[bool] = mapped_column(Boolean, default=False)

    note: Mapped[Note] = relationship(back_populates="shares")
    recipient = relationship("User", foreign_keys=[recipient_id])
    proposed_by = relationship("User", foreign_keys=[proposed_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
    withdrawn_by = relationship("User", foreign_keys=[withdrawn_by_id])
