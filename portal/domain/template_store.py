"""Template versions in the database: creating, publishing, and reading their definitions.

A published version never changes again, so its parsed definition is cached by version id for the life of
the process (agreements are pinned to a version; the editor reads its definition on every request).
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from sqlalchemy import func, select

from portal import audit
from portal.domain.template_format import (
    TemplateDefinition, definition_to_dict, load_template_file, parse_definition,
)
from portal.extensions import db
from portal.models import AgreementTemplate, Program, TemplateVersion, User
from portal.timeutil import utcnow

SHIPPED_TEMPLATES = {"whprms": "whprms.json", "ccmc": "ccmc.json"}


class TemplateStateError(Exception):
    """An action that the version's state does not allow (e.g. changing a published version)."""


@lru_cache(maxsize=512)
def _published_definition(version_id: int, definition_json: str) -> TemplateDefinition:
    return parse_definition(json.loads(definition_json))


def definition_of(version: TemplateVersion) -> TemplateDefinition:
    """The parsed definition of a version (cached for published and retired ones, which never change)."""
    if version.state == "draft":
        return parse_definition(json.loads(version.definition_json))
    return _published_definition(version.id, version.definition_json)


def encode_definition(definition: TemplateDefinition) -> str:
    return json.dumps(definition_to_dict(definition), ensure_ascii=False, sort_keys=False)


def shipped_definition(name: str) -> TemplateDefinition:
    """One of the templates shipped in portal/shipped_templates (WHPRMS, CCMC)."""
    raw = resources.files("portal.shipped_templates").joinpath(SHIPPED_TEMPLATES[name]).read_bytes()
    return load_template_file(raw)


def create_template(program: Program, definition: TemplateDefinition, actor: User | None) -> TemplateVersion:
    """A new template in this program with its first (draft) version."""
    template = AgreementTemplate(program_id=program.id, name=definition.name)
    version = TemplateVersion(template=template, number=1, state="draft",
                              definition_json=encode_definition(definition),
                              created_by_id=getattr(actor, "id", None))
    db.session.add_all([template, version])
    db.session.flush()
    audit.record("template.create", actor=actor, program_id=program.id, template_id=template.id)
    return version


def new_draft_version(template: AgreementTemplate, actor: User | None,
                      definition: TemplateDefinition | None = None) -> TemplateVersion:
    """A new draft, copied from the newest version unless a definition is given."""
    newest = db.session.scalar(select(TemplateVersion).where(TemplateVersion.template_id == template.id)
                               .order_by(TemplateVersion.number.desc()).limit(1))
    if newest is not None and newest.state == "draft":
        raise TemplateStateError("This template already has a draft version; edit that one.")
    number = (newest.number if newest else 0) + 1
    definition_json = encode_definition(definition) if definition else newest.definition_json
    version = TemplateVersion(template_id=template.id, number=number, state="draft",
                              definition_json=definition_json, created_by_id=getattr(actor, "id", None))
    db.session.add(version)
    db.session.flush()
    return version


def publish(version: TemplateVersion, actor: User | None) -> TemplateVersion:
    """Make a draft immutable and available for new agreements."""
    if version.state != "draft":
        raise TemplateStateError("Only a draft version can be published.")
    parse_definition(json.loads(version.definition_json))  # refuse to publish anything invalid
    version.state = "published"
    version.published_at = utcnow()
    audit.record("template.publish", actor=actor, program_id=version.template.program_id,
                 template_id=version.template_id, version=version.number)
    return version


def install_shipped_template(program: Program, name: str, actor: User | None) -> TemplateVersion:
    """Import a shipped template into a program and publish it."""
    return publish(create_template(program, shipped_definition(name), actor), actor)


def published_versions(program: Program) -> list[TemplateVersion]:
    """The newest published version of each of the program's templates (what new pairs can start from)."""
    newest = (select(TemplateVersion.template_id, func.max(TemplateVersion.number).label("number"))
              .join(AgreementTemplate).where(AgreementTemplate.program_id == program.id,
                                             TemplateVersion.state == "published")
              .group_by(TemplateVersion.template_id).subquery())
    return db.session.scalars(
        select(TemplateVersion).join(newest, (TemplateVersion.template_id == newest.c.template_id)
                                     & (TemplateVersion.number == newest.c.number))
        .join(AgreementTemplate).order_by(AgreementTemplate.name)).all()


def latest_published(template: AgreementTemplate) -> TemplateVersion | None:
    return db.session.scalar(select(TemplateVersion).where(
        TemplateVersion.template_id == template.id, TemplateVersion.state == "published")
        .order_by(TemplateVersion.number.desc()).limit(1))
