"""What a pair signs, written down one way only, and its SHA-256 hash.

Pure domain code (no Flask, no database): the signing module gathers the facts, this module arranges them
into the canonical content, serialises it byte for byte the same way every time, and hashes it.

The content holds everything the signature covers: the agreement (id and revision), the program, the template
version (id, number and a hash of its definition, which fixes every clause), the parties (role, name, e-mail),
the term, every field value including the pair-only ones, and the acknowledgements each signer accepts.

It also holds a `seal`: a random secret of the agreement, kept encrypted with the pair-only content. The
program's copy shows the hash but leaves pair-only values out; without the seal, anyone holding that copy
could hash guesses of a short pair-only answer ("my previous employer") until one matched.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from portal.domain.template_format import TemplateDefinition, substitute_placeholders

FORMAT = "mentorship-agreement-signed-content"
FORMAT_VERSION = 1
HASH_PATTERN = re.compile(r"[0-9a-f]{64}")
# How the hash is written into the PDFs the portal makes (text and metadata); a pasted hash may carry it.
HASH_MARKER = "portal-sha256:"


@dataclass(frozen=True)
class Party:
    role: str   # "mentor" or "mentee"
    name: str
    email: str


@dataclass(frozen=True)
class ProgramFacts:
    id: int
    code: str
    name: str
    return_email: str


@dataclass(frozen=True)
class TemplateVersionFacts:
    id: int
    number: int
    name: str
    definition_json: str  # the version's stored definition; its hash fixes every clause and label


def build_content(*, agreement_id: int, revision: int, program: ProgramFacts, template_version: TemplateVersionFacts,
                  definition: TemplateDefinition, parties: Iterable[Party], term_start: date, term_months: int,
                  values: Mapping[str, Any], seal: str) -> dict[str, Any]:
    """The canonical content of one revision of an agreement, as a plain JSON-ready dict."""
    content: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "agreement": {"id": agreement_id, "revision": revision},
        "program": {"id": program.id, "code": program.code, "name": program.name,
                    "return_email": program.return_email},
        "template_version": {
            "id": template_version.id, "number": template_version.number, "name": template_version.name,
            "definition_sha256": hashlib.sha256(template_version.definition_json.encode("utf-8")).hexdigest(),
        },
        "parties": [{"role": p.role, "name": p.name, "email": p.email}
                    for p in sorted(parties, key=lambda p: p.role)],
        "term": {"start": term_start.isoformat(), "months": term_months},
        # Every value field of the template, empty ones as null, so that "left empty" is signed too.
        "fields": {field.key: values.get(field.key) for field in definition.fields if field.stores_value},
        "seal": seal,
    }
    placeholders = placeholders_of(content)
    content["acknowledgements"] = [
        {"key": field.key, "text": substitute_placeholders(field.text, placeholders)}
        for field in definition.fields if field.type == "acknowledgement"]
    return content


def placeholders_of(content: Mapping[str, Any]) -> dict[str, str]:
    """The template placeholders as they were when this content was signed (not as the accounts are now)."""
    names = {party["role"]: party["name"] for party in content["parties"]}
    return {
        "program_name": content["program"]["name"],
        "return_address": content["program"]["return_email"],
        "mentor_name": names.get("mentor", ""),
        "mentee_name": names.get("mentee", ""),
        "term_months": str(content["term"]["months"]),
    }


def canonical_bytes(content: Mapping[str, Any]) -> bytes:
    """One serialisation only: sorted keys, no spaces, UTF-8, no NaN. Values are JSON-native (the template
    format stores no floats), so equal content always gives equal bytes."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def content_hash(content: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(content)).hexdigest()


# --- the program's part and the pair's part -----------------------------------------------------------------

def split_pair_only(content: Mapping[str, Any], pair_only_keys: Iterable[str]) -> tuple[dict, dict]:
    """(what the program may see, what only the pair may see). The first holds no pair-only key at all: not
    blanked, absent. The second holds the pair-only values and the seal, and is stored encrypted."""
    hidden = set(pair_only_keys)
    public = {key: value for key, value in content.items() if key not in ("fields", "seal")}
    public["fields"] = {key: value for key, value in content["fields"].items() if key not in hidden}
    private = {"fields": {key: value for key, value in content["fields"].items() if key in hidden},
               "seal": content["seal"]}
    return public, private


def merge_pair_only(public: Mapping[str, Any], private: Mapping[str, Any]) -> dict[str, Any]:
    """The whole content again, from its two parts (the inverse of split_pair_only)."""
    content = dict(public)
    content["fields"] = {**public["fields"], **private["fields"]}
    content["seal"] = private["seal"]
    return content


# --- reading a hash back ------------------------------------------------------------------------------------

def normalize_hash(text: str) -> str | None:
    """A pasted hash, as people copy it: with or without the marker, spaces or line breaks, any case."""
    cleaned = re.sub(r"\s+", "", text or "").lower()
    if cleaned.startswith(HASH_MARKER):
        cleaned = cleaned[len(HASH_MARKER):]
    elif cleaned.startswith("sha256:"):
        cleaned = cleaned[len("sha256:"):]
    return cleaned if HASH_PATTERN.fullmatch(cleaned) else None

