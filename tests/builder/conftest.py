"""A program with its admin signed in, and a small template: version 1 published, version 2 a draft."""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass

import pytest

from portal.domain import template_store
from portal.domain.template_format import parse_definition
from portal.extensions import db
from portal.models import AgreementTemplate, AuditEvent, Program, TemplateVersion
from tests.factories import make_program, make_role, make_user, act_as

SMALL_TEMPLATE = {
    "format": "mentorship-agreement-template", "format_version": 1,
    "name": "Small agreement", "title": "Our small agreement", "intro": "Fill this in together.",
    "sections": [
        {"key": "goals", "title": "Goals", "intro": "", "fields": [
            {"key": "goal", "type": "long_text", "label": "Goal", "required": True},
            {"key": "objectives", "type": "numbered_list", "label": "Objectives", "max_items": 3},
        ]},
        {"key": "signing", "title": "Signing", "intro": "", "fields": [
            {"key": "signatures", "type": "signatures"},
        ]},
    ],
}


def small_template(**changes) -> dict:
    data = copy.deepcopy(SMALL_TEMPLATE)
    data.update(changes)
    return data


@dataclass
class Builder:
    """The world of a builder test and shortcuts to its addresses."""

    client: object
    program: Program
    template_id: int
    published_id: int
    draft_id: int

    def version_url(self, version_id: int | None = None, suffix: str = "") -> str:
        return f"/programs/{self.program.id}/templates/versions/{version_id or self.draft_id}{suffix}"

    def draft_json(self) -> str:
        return stored_json(self.draft_id)

    def draft(self):
        return template_store.definition_of(db.session.get(TemplateVersion, self.draft_id))


def stored_json(version_id: int) -> str:
    db.session.expire_all()
    return db.session.get(TemplateVersion, version_id).definition_json


def make_template(program: Program, data: dict | None = None, draft: bool = True):
    """A template of `program`: version 1 published and (unless draft=False) version 2 a draft copy of it."""
    version = template_store.create_template(program, parse_definition(data or small_template()), None)
    template_store.publish(version, None)
    draft_version = template_store.new_draft_version(version.template, None) if draft else None
    db.session.commit()
    return version, draft_version


@pytest.fixture
def builder(app, client) -> Builder:
    program = make_program(name="Nurses Mentoring", code="NURSE", return_email="office@nurses.example")
    admin = make_user(name="Ada Admin")
    make_role(admin, program, "admin")
    published, draft = make_template(program)
    act_as(client, admin)
    return Builder(client=client, program=program, template_id=published.template_id, published_id=published.id,
                   draft_id=draft.id)


def error_of(page: str, input_id: str) -> str:
    """The error text shown next to one input (empty when there is none)."""
    match = re.search(rf'<p class="error" id="{re.escape(input_id)}-error" role="alert">(.*?)</p>', page, re.S)
    return match.group(1) if match else ""


def form_errors(page: str) -> list[str]:
    return re.findall(r'<p class="error form-error" role="alert"[^>]*>(.*?)</p>', page, re.S)


def counts() -> tuple[int, int, int]:
    """Templates, versions and audit events: what a refused action must leave as it found (the refusal itself
    is audited as access.denied, so those entries are not counted)."""
    db.session.expire_all()
    return (db.session.scalar(db.select(db.func.count(AgreementTemplate.id))),
            db.session.scalar(db.select(db.func.count(TemplateVersion.id))),
            db.session.scalar(db.select(db.func.count(AuditEvent.id)).where(AuditEvent.action != "access.denied")))


def snapshot() -> list[tuple]:
    """Every version as stored: to show that nothing at all changed."""
    db.session.expire_all()
    return [(v.id, v.template_id, v.number, v.state, v.definition_json)
            for v in db.session.scalars(db.select(TemplateVersion).order_by(TemplateVersion.id))]


def as_json(data: dict) -> bytes:
    return json.dumps(data).encode()
