"""Signatures (and refusals to sign) of an agreement's revisions, and the immutable copy of each signed version."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.timeutil import utcnow

SIGNATURE_OUTCOMES = ("signed", "declined")


class AgreementSignature(db.Model):
    """One member's signature of one revision of an agreement, or their refusal to sign it with a reason.

    A signature is never deleted: when the content changes after it, it is marked `cleared_at` (the record
    of who signed what stays), and only uncleared rows of the agreement's current revision count."""

    __tablename__ = "agreement_signature"
    __table_args__ = (Index("ix_agreement_signature_revision", "agreement_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(10))        # "mentor" or "mentee": the line signed
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    outcome: Mapped[str] = mapped_column(String(10))     # one of SIGNATURE_OUTCOMES
    printed_name: Mapped[str | None] = mapped_column(String(120))  # as typed by the signer
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)  # UTC
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_version.id"))
    # SHA-256 of the canonical content signed (portal.domain.signed_content); declines record it too.
    content_hash: Mapped[str] = mapped_column(String(64))
    # The acknowledgements accepted with the signature: JSON list of {"key", "text"} as the signer saw them.
    acknowledgements_json: Mapped[str] = mapped_column(Text, default="[]")
    # Why a member declined: pair-only, encrypted (portal.crypto), bound to this row and the pair.
    decline_reason_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime)

    user = relationship("User")
    agreement = relationship("Agreement")


class SignedVersion(db.Model):
    """What both members signed, kept for ever: the canonical content as it was, so that a version can be
    shown, rendered as PDF and verified after amendments change the live values.

    `content_json` is the canonical content without its pair-only parts (what the program may see);
    `pair_only_ct` holds the pair-only field values and the content's secret seal, encrypted."""

    __tablename__ = "signed_version"
    __table_args__ = (UniqueConstraint("agreement_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_version.id"))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    content_json: Mapped[str] = mapped_column(Text)
    pair_only_ct: Mapped[bytes] = mapped_column(LargeBinary)
    signed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)  # the second signature: active since

    agreement = relationship("Agreement")
    program = relationship("Program")
    template_version = relationship("TemplateVersion")


ISSUED_KINDS = ("pair_copy", "program_copy", "template_preview")


class IssuedFile(db.Model):
    """One PDF file the portal handed out (a download, a mail attachment, a preview), by the SHA-256 of its
    exact bytes: "Check a signed PDF" says yes only for a file whose hash is here. Holds no content."""

    __tablename__ = "issued_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # one of ISSUED_KINDS
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    signed_version_id: Mapped[int | None] = mapped_column(ForeignKey("signed_version.id", ondelete="CASCADE"),
                                                          index=True)
    template_version_id: Mapped[int | None] = mapped_column(ForeignKey("template_version.id",
                                                                       ondelete="CASCADE"))
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)  # UTC
    size: Mapped[int] = mapped_column(Integer)

    program = relationship("Program")
    signed_version = relationship("SignedVersion")
