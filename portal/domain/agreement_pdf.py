"""PDF copies of a signed version, rendered from its immutable record (never from the live values, which an
amendment may have changed since).

Two copies: the pair's copy holds every field; the program's copy leaves the pair-only fields out entirely
(label and value) and is rendered without decrypting them. Both end with a signature certificate: the hash,
every signature's details and the version's event history. Each file is signed with the portal's key and its own
SHA-256 recorded when it is issued; "Check a signed PDF" looks that up.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, render_template

from portal.domain import issued_files, signed_content, signing
from portal.domain.field_values import Segment, display_text, fill_blanks, is_empty
from portal.domain.template_format import Field, Section, TemplateDefinition, substitute_placeholders
from portal.domain.template_store import definition_of
from portal.models import AgreementEvent, AgreementSignature, SignedVersion
from portal.timeutil import utcnow

COPIES = ("pair", "program")
BLANK = "____"
PAIR_ONLY_MARK = "(only the two of you)"


class CopyUnavailable(Exception):
    """The pair's copy cannot be made: the confidential part of the signed version does not decrypt."""


class CopyUndecryptable(CopyUnavailable):
    """The confidential part does not decrypt because its key is not configured (not evidence of a change)."""


class CopyPurged(CopyUnavailable):
    """The pair's copy cannot be made any more: the retention purge deleted the signed version's pair-only
    part on `purged_at`."""

    def __init__(self, purged_at):
        super().__init__()
        self.purged_at = purged_at


@dataclass
class PdfCopy:
    """Everything the PDF template shows, taken from the signed version."""
    copy: str
    version: SignedVersion
    content: dict[str, Any]
    definition: TemplateDefinition
    placeholders: dict[str, str]
    signatures: dict[str, AgreementSignature]
    events: list[AgreementEvent] = field(default_factory=list)
    verify_url: str = ""

    @property
    def hash(self) -> str:
        return self.version.content_hash

    @property
    def hash_groups(self) -> str:
        """The hash in four groups of 16, so that it wraps on paper; the verification page ignores spaces."""
        digest = self.version.content_hash
        return " ".join(digest[i:i + 16] for i in range(0, len(digest), 16))

    @property
    def marked_hash(self) -> str:
        return signed_content.HASH_MARKER + self.version.content_hash

    @property
    def parties(self) -> dict[str, dict]:
        return {party["role"]: party for party in self.content["parties"]}

    @property
    def is_program_copy(self) -> bool:
        return self.copy == "program"

    def visible(self, f: Field) -> bool:
        return self.copy == "pair" or not f.pair_only

    def sections(self) -> list[Section]:
        """The sections this copy shows: in the program's copy, a section holding only pair-only fields would be
        an empty heading, so it is left out with them."""
        return [s for s in self.definition.sections if not s.fields or any(self.visible(f) for f in s.fields)]

    def prose(self, text: str) -> str:
        return substitute_placeholders(text, self.placeholders)

    def readers(self, section: Section) -> str:
        """Who reads the section's answers, in the words the pair's copy prints under its title."""
        answers = [f for f in section.fields if f.stores_value]
        private = [f for f in answers if f.pair_only]
        if private and len(private) == len(answers):
            return "only the two of you."
        if private:
            return f"the two of you, the program and supervisors, except the answers marked {PAIR_ONLY_MARK}."
        return "the two of you, the program and supervisors."

    pair_only_mark = PAIR_ONLY_MARK

    def marked_pair_only(self, section: Section, f: Field) -> bool:
        """A pair-only answer in a section the program otherwise reads is marked as such (pair's copy)."""
        return f.pair_only and not self.is_program_copy and not self.readers(section).startswith("only")

    def value(self, f: Field) -> Any:
        return self.content["fields"].get(f.key)

    def inline(self, f: Field) -> list[Segment] | None:
        """The form's sentence with the value written into its blanks, when the value fits them exactly
        ("1. Meet regularly and for 3 months."); None when the value is shown under the sentence instead."""
        return fill_blanks(f, self.prose(f.label), self.value(f))

    def lines(self, f: Field) -> list[str]:
        """A value shown under its sentence, one entry per line or item."""
        value = self.value(f)
        if is_empty(value):
            return []
        if f.type == "numbered_list":
            label = f.option("item_label")
            return [f"{label} {n}: {item}" if label else f"{n}. {item}" for n, item in enumerate(value, 1)]
        if f.type == "long_text":
            return value.split("\n")
        return [display_text(f, value)]

    def accepted(self, row: AgreementSignature) -> list[dict]:
        """The acknowledgements this signature accepted ({"key", "text"}), as recorded with it."""
        items = _json_list(row.acknowledgements_json)
        return [item for item in items if isinstance(item, dict)]

    def acknowledged_by(self, f: Field) -> list[AgreementSignature]:
        return [row for row in self.signatures.values() if any(item.get("key") == f.key
                                                               for item in self.accepted(row))]


def _json_list(raw: str) -> list[dict]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def pdf_copy(version: SignedVersion, copy: str) -> PdfCopy:
    if copy not in COPIES:
        raise ValueError(copy)
    agreement = version.agreement
    if copy == "pair":
        try:
            content = signing.full_content(version, agreement.pair_id)
        except signing.PairOnlyPurged as error:
            raise CopyPurged(agreement.purged_at or utcnow()) from error
        except signing.UndecryptableContent as error:
            raise CopyUndecryptable() from error
        except signing.UnreadableContent as error:
            raise CopyUnavailable() from error
    else:
        content = signing.public_content(version)  # never decrypted for the program's copy
    signatures = {row.role: row for row in signing.version_signatures(version)}
    return PdfCopy(copy=copy, version=version, content=content, definition=definition_of(version.template_version),
                   placeholders=signed_content.placeholders_of(content), signatures=signatures,
                   events=signing.version_events(version),
                   verify_url=f"{current_app.config['PUBLIC_URL']}/check-a-pdf")


def render_copy(version: SignedVersion, copy: str) -> bytes:
    """The copy as a PDF signed with the portal's key; its hash is recorded as issued (portal.domain.issued_files),
    so call this only for a copy that is handed out."""
    document = pdf_copy(version, copy)
    html = render_template("agreements/pdf.html", doc=document, generated_at=utcnow())
    return issued_files.issue_pdf(html, f"{copy}_copy", version.program_id, signed_version_id=version.id)


def filename(version: SignedVersion, copy: str) -> str:
    code = re.sub(r"[^A-Za-z0-9]+", "-", signing.public_content(version)["program"]["code"]).strip("-") or "agreement"
    return f"{code}-agreement-{version.agreement_id}-revision-{version.revision}-{copy}-copy.pdf"
