"""Checking a PDF (or a content hash) against what the portal issued and signed.

A PDF checks out only if it is, byte for byte, a file the portal issued: the portal records the SHA-256 of every
PDF it hands out (portal.domain.issued_files), and an upload is hashed and looked up. Any changed byte (a digit
in a text stream, one bit of a compressed stream, a signature added with another key, the file saved again by
another program) gives another hash, and no match. No PDF parser runs on an upload: it is only hashed.

Anyone signed in may ask, so the answer says only whether it matches, in which program, and when it was
signed: never whose agreement it is or what it says. (The page adds a link only for people who may open that
agreement anyway; that decision is policy.may_view_agreement.) The public check (no account) says even less:
match or no match, the program and the date.

A pasted content hash (from a signature certificate, e.g. on paper) answers a different question: whether an
agreement with that content was signed here. It says nothing about any file.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from portal.domain import issued_files, signed_content, signing
from portal.extensions import db
from portal.models import IssuedFile, SignedVersion

# The portal's own PDFs are a few dozen kilobytes. Kept under the app's 2 MiB request limit (MAX_CONTENT_LENGTH)
# so that a file too large is answered here, on the form, rather than by a bare "request too large" page.
MAX_UPLOAD_BYTES = 1_500_000
MAX_UPLOAD_TEXT = "1.5 MB"
PDF_MAGIC = b"%PDF-"


class VerificationInputError(ValueError):
    """What was given cannot be checked; the message says what to do instead."""


@dataclass(frozen=True)
class VerificationResult:
    content_hash: str     # what was checked: the file's SHA-256, or the pasted content hash
    matched: bool
    program_name: str | None = None
    signed_at: datetime | None = None
    intact: bool = True   # the portal's stored copy of the version still hashes to it
    undecryptable: bool = False  # not intact because its key is not configured: unknown, not evidence of change
    agreement_id: int | None = None
    revision: int | None = None
    file_checked: bool = False  # an uploaded file (by its bytes), not a pasted content hash
    kind: str | None = None     # of the issued file: pair_copy, program_copy, template_preview
    issued_at: datetime | None = None


def verify_hash(text: str) -> VerificationResult:
    digest = signed_content.normalize_hash(text)
    if digest is None:
        raise VerificationInputError("Paste the 64-character hash from the signature certificate (letters a-f "
                                     "and digits), or upload the PDF instead.")
    return _look_up(digest)


def verify_pdf(data: bytes) -> VerificationResult:
    """`data` is the upload, read with at most MAX_UPLOAD_BYTES + 1 bytes. It is hashed, never parsed."""
    if not data:
        raise VerificationInputError("Choose a PDF file to upload, or paste a hash.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise VerificationInputError(f"This file is larger than {MAX_UPLOAD_TEXT}; the "
                                     "portal's PDFs are much smaller, so it is not one of them.")
    if not data.startswith(PDF_MAGIC):
        raise VerificationInputError("This file is not a PDF. Upload a PDF copy made by the portal.")
    digest = issued_files.sha256_of(data)
    issued = db.session.scalar(select(IssuedFile).where(IssuedFile.sha256 == digest))
    if issued is None:
        return VerificationResult(content_hash=digest, matched=False, file_checked=True)
    version = issued.signed_version
    if version is None:  # a template preview: issued by the portal, but no agreement
        return VerificationResult(content_hash=digest, matched=True, program_name=issued.program.name,
                                  file_checked=True, kind=issued.kind, issued_at=issued.issued_at)
    return VerificationResult(
        content_hash=digest, matched=True, program_name=issued.program.name, signed_at=version.signed_at,
        **_stored_copy_check(version), agreement_id=version.agreement_id,
        revision=version.revision, file_checked=True, kind=issued.kind, issued_at=issued.issued_at)


def _look_up(digest: str) -> VerificationResult:
    version = db.session.scalar(select(SignedVersion).where(SignedVersion.content_hash == digest))
    if version is None:
        return VerificationResult(content_hash=digest, matched=False)
    return VerificationResult(
        content_hash=digest, matched=True, program_name=version.program.name, signed_at=version.signed_at,
        **_stored_copy_check(version), agreement_id=version.agreement_id, revision=version.revision)


def _stored_copy_check(version: SignedVersion) -> dict:
    """Whether the portal's stored copy still hashes to what was signed, and if not, whether that is because
    its key is not configured (then nothing is known about a change)."""
    check = signing.version_check(version, version.agreement.pair_id)
    return {"intact": check == "intact", "undecryptable": check == "undecryptable"}
