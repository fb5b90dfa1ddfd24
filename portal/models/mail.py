"""The outbox: requests only insert mail here; `flask send-mail` delivers it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.timeutil import utcnow


class OutboxMail(db.Model):
    __tablename__ = "outbox_mail"
    __table_args__ = (Index("ix_outbox_mail_pending", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40))  # e.g. "invite", "reset"; lets tests and reports tell mails apart
    # Binary attachment (a signed agreement's PDF), optional.
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    attachment: Mapped[bytes | None] = mapped_column(db.LargeBinary)
    # The signed version whose program copy is attached when the mail is sent: rendering it (a few hundred ms)
    # happens in the sender, not in the request of the member who signed second.
    copy_of_signed_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("signed_version.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    # Delivery (portal/mail.py): a failed attempt waits until next_attempt_at; a sender claims a message for a
    # while (claimed_by, claimed_until) before sending it, so that concurrent senders never both send it and a
    # sender that died leaves it to the next run once the claim runs out; failed_at: given up on (`flask mail
    # failed` lists it). message_id: the Message-ID header, kept so that every attempt sends the same one.
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    failed_at: Mapped[datetime | None] = mapped_column(DateTime)
    message_id: Mapped[str | None] = mapped_column(String(250))
