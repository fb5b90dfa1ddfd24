"""Checking a PDF or a hash against the signed versions the portal keeps.

Anyone signed in may ask, so the answer says only whether it matches, in which program, and when it was
signed: never whose agreement it is or what it says. (The page adds a link only for people who may open that
agreement anyway; that decision is policy.may_view_agreement.)

Uploaded PDFs are not parsed: the portal writes the hash into the metadata of its PDFs as
`portal-sha256:<hex>`, which PDF writers leave uncompressed, and a bounded byte search finds it. No PDF parser
runs on untrusted input, and no runtime dependency is added for it. A PDF re-saved by another program may
lose the marker; its signature certificate still shows the hash, which can be pasted instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from portal.domain import signed_content, signing
from portal.extensions import db
from portal.models import SignedVersion

# The portal's own PDFs are a few dozen kilobytes. Kept under the app's 2 MiB request limit (MAX_CONTENT_LENGTH)
# so that a file too large is answered here, on the form, rather than by a bare "request too large" page.
MAX_UPLOAD_BYTES = 1_500_000
MAX_UPLOAD_TEXT = "1.5 MB"
PDF_MAGIC = b"%PDF-"


class VerificationInputError(ValueError):
    """What was given cannot be checked; the message says what to do instead."""


@dataclass(frozen=True)
class VerificationResult:
    content_hash: str
    matched: bool
    program_name: str | None = None
    signed_at: datetime | None = None
    intact: bool = True   # the portal's stored copy of the version still hashes to it
    agreement_id: int | None = None
    revision: int | None = None


def verify_hash(text: str) -> VerificationResult:
    digest = signed_content.normalize_hash(text)
    if digest is None:
        raise VerificationInputError("Paste the 64-character hash from the signature certificate (letters a-f "
                                     "and digits), or upload the PDF instead.")
    return _look_up(digest)


def verify_pdf(data: bytes) -> VerificationResult:
    """`data` is the upload, read with at most MAX_UPLOAD_BYTES + 1 bytes."""
    if not data:
        raise VerificationInputError("Choose a PDF file to upload, or paste a hash.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise VerificationInputError(f"This file is larger than {MAX_UPLOAD_TEXT}; the "
                                     "portal's PDFs are much smaller. Paste the hash from its last page instead.")
    if PDF_MAGIC not in data[:1024]:
        raise VerificationInputError("This file is not a PDF. Upload a PDF copy made by the portal, or paste "
                                     "the hash from its signature certificate.")
    digest = signed_content.find_hash_in_pdf(data)
    if digest is None:
        raise VerificationInputError("This PDF carries no hash from this portal. If it was printed or saved "
                                     "again by another program, paste the hash from its signature certificate "
                                     "(last page) instead.")
    return _look_up(digest)


def _look_up(digest: str) -> VerificationResult:
    version = db.session.scalar(select(SignedVersion).where(SignedVersion.content_hash == digest))
    if version is None:
        return VerificationResult(content_hash=digest, matched=False)
    return VerificationResult(
        content_hash=digest, matched=True, program_name=version.program.name, signed_at=version.signed_at,
        intact=signing.version_is_intact(version, version.agreement.pair_id),
        agreement_id=version.agreement_id, revision=version.revision)
