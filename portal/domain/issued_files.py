"""Every PDF the portal hands out is signed with the portal's key and recorded by the SHA-256 of its bytes.

"Check a signed PDF" hashes an upload and looks the hash up here: only a file byte for byte as the portal
issued it matches. Nothing of the file's content is kept, only its hash, size, kind, program and date.
"""
from __future__ import annotations

import hashlib

from flask import current_app, has_request_context, request
from sqlalchemy.orm import Session

from portal.db_setup import READ_ONLY_METHODS, write_transaction
from portal.extensions import db
from portal.models import IssuedFile
from portal.pdf import render_pdf
from portal.pdf_signing import PdfSigner
from portal.timeutil import utcnow


def signer() -> PdfSigner:
    return current_app.extensions["pdf_signer"]


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def issue_pdf(html: str, kind: str, program_id: int, signed_version_id: int | None = None,
              template_version_id: int | None = None) -> bytes:
    """Render `html`, sign the PDF with the portal's key, record its hash; the signed PDF."""
    pdf = render_pdf(html, signer=signer())
    record(pdf, kind, program_id, signed_version_id=signed_version_id, template_version_id=template_version_id)
    return pdf


def record(pdf: bytes, kind: str, program_id: int, signed_version_id: int | None = None,
           template_version_id: int | None = None) -> IssuedFile:
    row = IssuedFile(sha256=sha256_of(pdf), kind=kind, program_id=program_id, signed_version_id=signed_version_id,
                     template_version_id=template_version_id, issued_at=utcnow(), size=len(pdf))
    if has_request_context() and request.method in READ_ONLY_METHODS:
        # A download is a GET, whose transaction reads only: the record is written in a short transaction of
        # its own (as a writer, so that SQLite queues it instead of failing) and committed before the file
        # leaves, so that it verifies from the moment it is received.
        with write_transaction(), Session(db.engine) as session:
            session.add(row)
            session.commit()
            session.expunge(row)
    else:
        db.session.add(row)
        db.session.flush()
    return row
