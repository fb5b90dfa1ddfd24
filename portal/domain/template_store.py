"""Template versions in the database: creating, editing drafts, publishing, retiring, importing.

A published version never changes again, so its parsed definition is cached by version id for the life of
the process (agreements are pinned to a version; the editor reads its definition on every request).

Drafts are edited one change at a time (the builder): each change is applied to the canonical JSON form of
the draft, and the whole result must still pass ``parse_definition`` (and still fit in a template file) before
anything is written. A draft is therefore always a valid template, which is what lets any draft be previewed,
exported and published at any moment.
"""
from __future__ import annotations

import dataclasses
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

import portal.models as models
from portal import MAX_ID, audit
from portal.domain.template_format import (
    FIELD_TYPES, MAX_FILE_BYTES, MAX_TITLE_LENGTH, NON_VALUE_FIELD_TYPES, OPTION_NAMES, OTHER, TemplateDefinition,
    TemplateFormatError, definition_to_dict, dump_template_file, field_location, load_template_file,
    parse_definition, parse_stored_definition, section_location, type_words, unknown_placeholders,
    unknown_placeholders_problem,
)
from portal.extensions import db
from portal.models import AgreementTemplate, Program, TemplateVersion, User
from portal.timeutil import utcnow

SHIPPED_TEMPLATES = {"whprms": "whprms.json", "ccmc": "ccmc.json"}


class TemplateStateError(Exception):
    """An action that the version's state does not allow (e.g. changing a published version)."""


class NoSuchPart(LookupError):
    """A section or field key that is not (or no longer) in the draft."""


class DraftEditError(ValueError):
    """A change that would leave the draft invalid; nothing was saved.

    ``by_attribute`` maps the attribute or option the builder shows an input for (``label``, ``max_items``,
    ``options`` ...) to the problems found with it; ``general`` holds the problems that belong to no one input.
    Messages are those of ``parse_definition``, without the location (the builder shows them in place).
    """

    def __init__(self, by_attribute: Mapping[str, list[str]] | None = None, general: Iterable[str] = ()):
        self.by_attribute = dict(by_attribute or {})
        self.general = list(general)
        super().__init__("; ".join([*self.general, *(m for ms in self.by_attribute.values() for m in ms)]))


@lru_cache(maxsize=512)
def _published_definition(version_id: int, definition_json: str) -> TemplateDefinition:
    return parse_stored_definition(json.loads(definition_json))


def definition_of(version: TemplateVersion) -> TemplateDefinition:
    """The parsed definition of a version (cached for published and retired ones, which never change)."""
    return definition_from(version.id, version.state, version.definition_json)


def definition_from(version_id: int, state: str, definition_json: str) -> TemplateDefinition:
    """`definition_of` for a version read as plain columns (id, state, definition_json)."""
    if state == "draft":
        return parse_stored_definition(json.loads(definition_json))
    return _published_definition(version_id, definition_json)


def encode_definition(definition: TemplateDefinition) -> str:
    return json.dumps(definition_to_dict(definition), ensure_ascii=False, sort_keys=False)


def shipped_definition(name: str) -> TemplateDefinition:
    """One of the templates shipped in portal/shipped_templates (WHPRMS, CCMC)."""
    raw = resources.files("portal.shipped_templates").joinpath(SHIPPED_TEMPLATES[name]).read_bytes()
    return load_template_file(raw)


def _names_in_use(program: Program, except_template_id: int | None = None) -> set[str]:
    """The program's template names, folded: two templates called alike could not be told apart in a list."""
    query = select(AgreementTemplate.name).where(AgreementTemplate.program_id == program.id)
    if except_template_id is not None:
        query = query.where(AgreementTemplate.id != except_template_id)
    return {name.casefold() for name in db.session.scalars(query)}


def _name_taken_problem(name: str) -> str:
    return f"This program already has a template called '{name}'; choose another name."


def free_name(program: Program, name: str) -> str:
    """`name`, or `name (2)`, `name (3)` ... the first one no other template of the program has."""
    taken = _names_in_use(program)
    if name.casefold() not in taken:
        return name
    number = 2
    while True:
        suffix = f" ({number})"
        candidate = name[:MAX_TITLE_LENGTH - len(suffix)].rstrip() + suffix
        if candidate.casefold() not in taken:
            return candidate
        number += 1


def create_template(program: Program, definition: TemplateDefinition, actor: User | None) -> TemplateVersion:
    """A new template in this program with its first (draft) version. A name another template of the program
    already has gets a number, `name (2)` (a file imported twice, a ready-made template added again)."""
    name = free_name(program, definition.name)
    if name != definition.name:
        definition = dataclasses.replace(definition, name=name)
    template = AgreementTemplate(program_id=program.id, name=definition.name)
    version = TemplateVersion(template=template, number=1, state="draft",
                              definition_json=encode_definition(definition),
                              created_by_id=getattr(actor, "id", None))
    db.session.add_all([template, version])
    db.session.flush()
    audit.record("template.create", actor=actor, program_id=program.id, template_id=template.id)
    return version


def newest_version(template: AgreementTemplate) -> TemplateVersion | None:
    return db.session.scalar(select(TemplateVersion).where(TemplateVersion.template_id == template.id)
                             .order_by(TemplateVersion.number.desc()).limit(1))


def new_draft_version(template: AgreementTemplate, actor: User | None,
                      definition: TemplateDefinition | None = None) -> TemplateVersion:
    """A new draft, copied from the newest version unless a definition is given."""
    newest = newest_version(template)
    if newest is not None and newest.state == "draft":
        raise TemplateStateError(f"This template already has a draft (version {newest.number}); edit that one, "
                                 "or publish or discard it first.")
    number = (newest.number if newest else 0) + 1
    definition_json = encode_definition(definition) if definition else newest.definition_json
    version = TemplateVersion(template_id=template.id, number=number, state="draft",
                              definition_json=definition_json, created_by_id=getattr(actor, "id", None))
    db.session.add(version)
    db.session.flush()
    if definition is not None:
        template.name = definition.name  # the template is called what its newest version calls it
    audit.record("template.new_draft", actor=actor, program_id=template.program_id, template_id=template.id,
                 version=number)
    return version


def _lock(version: TemplateVersion) -> None:
    """Re-read the version under a row lock, so that a concurrent change or publish is seen, not overwritten.

    (PostgreSQL: SELECT ... FOR UPDATE. SQLite ignores it; there every write transaction is already serialised
    by BEGIN IMMEDIATE.)
    """
    db.session.refresh(version, with_for_update=True)


def _version_label(version: TemplateVersion) -> str:
    return f"Version {version.number}"


def _refuse_unless_draft(version: TemplateVersion) -> None:
    if version.state == "published":
        raise TemplateStateError(
            f"{_version_label(version)} is published, so it can no longer be changed: agreements are made from it "
            "exactly as it is. Start a new draft from it to make changes.")
    if version.state == "retired":
        raise TemplateStateError(
            f"{_version_label(version)} is retired and can no longer be changed. Start a new draft to make changes.")


def ensure_draft(version: TemplateVersion) -> None:
    """Raise TemplateStateError unless the version can still be changed (checked before reading any input)."""
    _refuse_unless_draft(version)


def publish(version: TemplateVersion, actor: User | None) -> TemplateVersion:
    """Make a draft immutable and available for new agreements."""
    _lock(version)
    if version.state != "draft":
        raise TemplateStateError(f"{_version_label(version)} is already {version.state}; only a draft can be "
                                 "published.")
    raw = json.loads(version.definition_json)
    definition = parse_stored_definition(raw)  # refuse to publish anything invalid
    try:
        parse_definition(raw)
    except TemplateFormatError:
        # Saved before a flag was refused (the term marked pair-only): published as the builder shows it.
        version.definition_json = encode_definition(definition)
    version.state = "published"
    version.published_at = utcnow()
    version.template.name = definition.name
    audit.record("template.publish", actor=actor, program_id=version.template.program_id,
                 template_id=version.template_id, version=version.number)
    return version


@dataclass(frozen=True)
class PublishChecklist:
    """What publishing a draft would put in front of pairs. ``problems`` make the template unusable and refuse
    publishing; ``warnings`` are shown and may be accepted."""

    problems: list[str]
    warnings: list[str]

    @property
    def clean(self) -> bool:
        return not self.problems and not self.warnings


def _prose_texts(definition: TemplateDefinition) -> Iterable[tuple[str, str]]:
    """(where, text) of every text whose placeholders are filled in when it is shown."""
    yield "The template's title", definition.title
    yield "The template's introduction", definition.intro
    for section in definition.sections:
        yield f"Section '{section.title}'", f"{section.title} {section.intro}"
        for field in section.fields:
            prose = field.text if field.type in ("clause", "acknowledgement") else ""
            yield (f"Field '{field.label or field.key}' (section '{section.title}')",
                   " ".join((field.label, field.help, prose)))


def publish_checklist(version: TemplateVersion) -> PublishChecklist:
    """Check a draft before it is published (a draft saved before a rule may not keep it)."""
    definition = definition_of(version)
    problems: list[str] = []
    warnings: list[str] = []
    if not any(field.stores_value for field in definition.fields):
        problems.append("It has no field the pair fills in: there would be nothing to agree on. Add at least one "
                        "field (a goal, the term, how you will meet ...).")
    for where, text in _prose_texts(definition):
        unknown = unknown_placeholders(text)
        if unknown:
            problems.append(f"{where} {unknown_placeholders_problem(unknown)}.")
    for section in definition.sections:
        if not section.fields:
            warnings.append(f"Section '{section.title}' is empty: the pair would see only its title.")
    if definition.signatures_field is None:
        warnings.append("It has no signature block: the printed copies would have no lines for the mentor's and "
                        "the mentee's signatures (the pair still signs in the portal).")
    return PublishChecklist(problems, warnings)


class PublishRefused(ValueError):
    """The checklist found problems, or warnings that were not accepted; nothing was published."""

    def __init__(self, checklist: PublishChecklist):
        self.checklist = checklist
        super().__init__("; ".join(checklist.problems or checklist.warnings))


def publish_checked(version: TemplateVersion, actor: User | None, *, warnings_accepted: bool) -> TemplateVersion:
    """Publish a draft that passes its checklist (its warnings accepted); raise PublishRefused otherwise."""
    _lock(version)
    _refuse_unless_draft(version)
    checklist = publish_checklist(version)
    if checklist.problems or (checklist.warnings and not warnings_accepted):
        raise PublishRefused(checklist)
    publish(version, actor)
    if checklist.warnings:
        audit.record("template.publish_warnings_accepted", actor=actor, program_id=version.template.program_id,
                     template_id=version.template_id, version=version.number, warnings=len(checklist.warnings))
    return version


def republish(version: TemplateVersion, actor: User | None) -> TemplateVersion:
    """Bring a retired version back: new pairs may start from it again (if it is the template's newest
    published version)."""
    return _change_state(version, "retired", "published", "template.republish", "brought back", actor)


def add_shipped_template(program: Program, name: str, actor: User | None) -> TemplateVersion:
    """A shipped template as a new draft of the program: its admin checks it (and publishes it) first."""
    version = create_template(program, shipped_definition(name), actor)
    audit.record("template.add_ready_made", actor=actor, program_id=program.id, template_id=version.template_id,
                 shipped=name)
    return version


def install_shipped_template(program: Program, name: str, actor: User | None) -> TemplateVersion:
    """Import a shipped template into a program and publish it (the demo, and tests that need it in use)."""
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


class DefaultTemplateError(ValueError):
    """A template that cannot be the program's default (another program's, or none of its versions published)."""


NOT_A_DEFAULT_CHOICE = "Choose one of the program's published templates."


def default_version(program: Program) -> TemplateVersion | None:
    """The version new pairs start from unless another is chosen: the newest published version of the program's
    default template (None without a default, or while none of its versions is published)."""
    if program.default_template_id is None:
        return None
    return db.session.scalar(select(TemplateVersion).where(
        TemplateVersion.template_id == program.default_template_id, TemplateVersion.state == "published")
        .order_by(TemplateVersion.number.desc()).limit(1))


def set_default_template(program: Program, template_id: int | None, actor: User | None) -> None:
    """Choose the program's default template for new pairs (None: the admin chooses for each pair)."""
    if template_id is not None:
        # A number no id column holds is no template (the database would refuse it rather than find nothing).
        template = db.session.get(AgreementTemplate, template_id) if 0 < template_id <= MAX_ID else None
        if template is None or template.program_id != program.id:
            raise DefaultTemplateError(NOT_A_DEFAULT_CHOICE)
        if latest_published(template) is None:
            raise DefaultTemplateError(f"'{template.name}' has no published version yet: publish it first, then "
                                       "make it the default.")
    if program.default_template_id == template_id:
        return
    program.default_template_id = template_id
    audit.record("program.default_template", actor=actor, program_id=program.id, template_id=template_id)


def latest_published(template: AgreementTemplate) -> TemplateVersion | None:
    return db.session.scalar(select(TemplateVersion).where(
        TemplateVersion.template_id == template.id, TemplateVersion.state == "published")
        .order_by(TemplateVersion.number.desc()).limit(1))


def retire(version: TemplateVersion, actor: User | None) -> TemplateVersion:
    """Take a published version out of use: no new pair starts from it; agreements made from it keep it."""
    return _change_state(version, "published", "retired", "template.retire", "retired", actor)


def _change_state(version: TemplateVersion, before: str, after: str, action: str, done: str,
                  actor: User | None) -> TemplateVersion:
    """Move a version from state `before` to `after` under its template's lock, audited as `action`."""
    _lock(version)
    if version.state != before:
        raise TemplateStateError(f"{_version_label(version)} is {version.state}; only a {before} version can be "
                                 f"{done}.")
    version.state = after
    audit.record(action, actor=actor, program_id=version.template.program_id,
                 template_id=version.template_id, version=version.number)
    return version


def discard_draft(version: TemplateVersion, actor: User | None) -> bool:
    """Throw a draft away. A template that was never published goes with it. Returns True if it did."""
    _lock(version)
    _refuse_unless_draft(version)
    template = version.template
    program_id, template_id, number = template.program_id, template.id, version.number
    db.session.delete(version)
    db.session.flush()
    remaining = newest_version(template)
    if remaining is None:
        db.session.delete(template)
    else:
        template.name = definition_of(remaining).name
    db.session.flush()
    audit.record("template.discard_draft", actor=actor, program_id=program_id, template_id=template_id,
                 version=number, template_deleted=remaining is None)
    return remaining is None


# --- what the program admin sees -----------------------------------------------------------------------------

@dataclass(frozen=True)
class TemplateSummary:
    """One template of a program as its admin sees it in a list."""

    template: AgreementTemplate
    newest: TemplateVersion
    in_use: TemplateVersion | None  # the published version new pairs start from
    draft: TemplateVersion | None


def template_summaries(program: Program) -> list[TemplateSummary]:
    templates = db.session.scalars(
        select(AgreementTemplate).where(AgreementTemplate.program_id == program.id)
        .options(selectinload(AgreementTemplate.versions)).order_by(AgreementTemplate.name, AgreementTemplate.id)
    ).all()
    summaries = []
    for template in templates:
        if not template.versions:
            continue
        newest = template.versions[-1]  # ordered by number
        published = [v for v in template.versions if v.state == "published"]
        summaries.append(TemplateSummary(template=template, newest=newest,
                                         in_use=published[-1] if published else None,
                                         draft=newest if newest.state == "draft" else None))
    return summaries


def versions_newest_first(template: AgreementTemplate) -> list[TemplateVersion]:
    return db.session.scalars(select(TemplateVersion).where(TemplateVersion.template_id == template.id)
                              .order_by(TemplateVersion.number.desc())).all()


def agreement_counts_by_version(template: AgreementTemplate) -> dict[int, int]:
    """Version id -> number of agreements made from it (versions with none are left out)."""
    rows = db.session.execute(
        select(models.Agreement.template_version_id, func.count())
        .join(TemplateVersion, TemplateVersion.id == models.Agreement.template_version_id)
        .where(TemplateVersion.template_id == template.id)
        .group_by(models.Agreement.template_version_id)).all()
    return {version_id: count for version_id, count in rows}


SAMPLE_MENTOR = "Alex Example (mentor)"
SAMPLE_MENTEE = "Sam Example (mentee)"


def preview_values(program: Program, definition: TemplateDefinition) -> dict[str, str]:
    """Sample values for the placeholders of a preview: the program's own, and clearly made-up names."""
    term = program.default_term_months
    term_field = definition.field("term_months")
    if term_field is not None and term_field.type == "number" and term_field.option("suggested") is not None:
        term = term_field.option("suggested")
    return {"program_name": program.name, "return_address": program.return_email,
            "mentor_name": SAMPLE_MENTOR, "mentee_name": SAMPLE_MENTEE, "term_months": str(term)}


# --- importing -------------------------------------------------------------------------------------------------

def import_template(program: Program, raw: bytes, actor: User | None,
                    into: AgreementTemplate | None = None) -> TemplateVersion:
    """A template file as a new template (draft), or as the new draft version of ``into``.

    Raises TemplateFormatError (the file is not a valid template) or TemplateStateError (``into`` already has
    a draft); nothing is written in either case.
    """
    definition = load_template_file(raw)
    if into is not None:
        if into.program_id != program.id:
            raise ValueError("a template is imported into a template of the same program")
        version = new_draft_version(into, actor, definition)
    else:
        version = create_template(program, definition, actor)
    audit.record("template.import", actor=actor, program_id=program.id, template_id=version.template_id,
                 version=version.number)
    return version


# --- editing a draft, one change at a time ---------------------------------------------------------------------

_NON_WORD = re.compile(r"[^a-z0-9]+")
KEY_BASE_LENGTH = 40  # a readable key, with room for a "_2" suffix within the 63 allowed


def derive_key(text: str, taken: Iterable[str], fallback: str) -> str:
    """A key made from a label or title ("3. Meet regularly" -> "meet_regularly"), unused in ``taken``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = [w for w in _NON_WORD.split(ascii_text) if w]
    while words and not words[0][0].isalpha():  # item numbers ("1.") and leading digits make no key
        words.pop(0)
    base = ""
    for word in words:
        if len(base) + len(word) + 1 > KEY_BASE_LENGTH:
            break
        base = f"{base}_{word}" if base else word
    base = base or fallback
    if base == OTHER:
        base = f"{OTHER}_{fallback}"
    taken = set(taken)
    key, number = base, 2
    while key in taken:
        key, number = f"{base}_{number}", number + 1
    return key


def _keys_in(data: dict) -> set[str]:
    return {s["key"] for s in data["sections"]} | {f["key"] for s in data["sections"] for f in s["fields"]}


def _section_index(data: dict, section_key: str) -> int:
    for index, section in enumerate(data["sections"]):
        if section["key"] == section_key:
            return index
    raise NoSuchPart(f"The section '{section_key}' is not in this draft (it may have been removed in another "
                     "window). Reload the page to see the draft as it is now.")


def _field_position(data: dict, field_key: str) -> tuple[int, int]:
    for section_index, section in enumerate(data["sections"]):
        for field_index, field in enumerate(section["fields"]):
            if field["key"] == field_key:
                return section_index, field_index
    raise NoSuchPart(f"The field '{field_key}' is not in this draft (it may have been removed in another "
                     "window). Reload the page to see the draft as it is now.")


def _where_section(data: dict, section_index: int) -> str:
    return section_location(section_index + 1, data["sections"][section_index])


def _where_field(data: dict, section_index: int, field_index: int) -> str:
    section = data["sections"][section_index]
    return field_location(section_location(section_index + 1, section), field_index + 1,
                          section["fields"][field_index])


# Messages of parse_definition that start with something other than the attribute they are about.
_LIST_ENTRY = re.compile(r"(option|mode) \d+$")


def _attribute_of(message: str, attributes: Iterable[str]) -> str | None:
    attributes = tuple(attributes)
    first_word = message.split(" ", 1)[0]
    if message.startswith("duplicate key") and "key" in attributes:
        return "key"
    words = message.split(" ")
    if message.startswith("it has ") and len(words) > 3 and words[3].rstrip(";") in attributes:
        return words[3].rstrip(";")  # "it has 60 options; the limit is 50"
    return first_word if first_word in attributes else None


def _field_name_in(field: Any) -> str:
    """How the builder names a field of the draft's data: its label or text, else its type in words."""
    if not isinstance(field, dict):
        return ""
    text = field.get("label") or field.get("text") or ""
    text = " ".join(str(text).replace("____", "\u2026").split()) if isinstance(text, str) else ""
    if text:
        return "'" + (text if len(text) <= 40 else text[:39] + "\u2026") + "'"
    return type_words(str(field.get("type", "")), article=False)


def _by_labels(message: str, data: dict | None) -> str:
    """A problem that names fields where the file format does (by key) names them by label instead."""
    if not data or "field " not in message:
        return message
    for section_number, section in enumerate(data.get("sections") or [], start=1):
        if not isinstance(section, dict):
            continue
        where = section_location(section_number, section)
        for number, field in enumerate(section.get("fields") or [], start=1):
            by_key = field_location(where, number, field)
            if by_key in message:
                message = message.replace(by_key, f"{where}, field {number} {_field_name_in(field)}")
    return message


def _edit_problems(error: TemplateFormatError, where: str, attributes: Iterable[str],
                   data: dict | None = None) -> DraftEditError:
    """Sort the problems of an edited definition into those of each input of the edited part, and the rest."""
    attributes = tuple(attributes)
    by_attribute: dict[str, list[str]] = defaultdict(list)
    general: list[str] = []
    for location, message in error.located or [("", problem) for problem in error.problems]:
        if location == where:
            attribute = _attribute_of(message, attributes)
            if attribute is not None:
                by_attribute[attribute].append(message)
                continue
            general.append(message)
        elif location.startswith(where + ", ") and _LIST_ENTRY.fullmatch(location[len(where) + 2:]):
            entry = location[len(where) + 2:]  # "option 2": the second line of the answers
            list_name = "options" if entry.startswith("option") else "modes"
            if list_name in attributes:
                by_attribute[list_name].append(f"{entry.capitalize()}: {message}")
            else:
                general.append(f"{entry.capitalize()}: {message}")
        else:
            general.append(_by_labels(f"{location}: {message}" if location else message, data))
    return DraftEditError(by_attribute, general)


def _save(version: TemplateVersion, data: dict, actor: User | None, change: str,
          where: Callable[[dict], str] | None = None, attributes: Iterable[str] = (), **facts) -> TemplateDefinition:
    """Validate the whole changed definition and write it, or raise DraftEditError and write nothing."""
    try:
        definition = parse_definition(data)
    except TemplateFormatError as error:
        raise _edit_problems(error, where(data) if where else "Template", attributes, data) from None
    size = len(dump_template_file(definition).encode("utf-8"))
    if size > MAX_FILE_BYTES:
        raise DraftEditError(general=[
            f"With this change the template would take {size / 1024:,.0f} KiB, more than the "
            f"{MAX_FILE_BYTES // 1024} KiB a template file may hold (it could no longer be exported and "
            "imported). Shorten some texts or split the template."])
    version.definition_json = encode_definition(definition)
    version.template.name = definition.name  # a draft is always its template's newest version
    audit.record("template.edit", actor=actor, program_id=version.template.program_id,
                 template_id=version.template_id, version=version.number, change=change, **facts)
    return definition


def _refuse_taken_key(key: str, data: dict, where: Callable[[dict], str], attributes: Iterable[str]) -> None:
    """Refuse a key already used, together with every other problem of what was typed (checked with a free key
    in its place), so that the person sees them all at once rather than one per attempt."""
    by_attribute, general = {}, []
    try:
        parse_definition(data)
    except TemplateFormatError as error:
        problems = _edit_problems(error, where(data), attributes, data)
        by_attribute, general = problems.by_attribute, problems.general
    by_attribute["key"] = [f"The key '{key}' is already used in this template; choose another (sections and "
                           "fields share one key space)", *by_attribute.get("key", [])]
    raise DraftEditError(by_attribute, general)


def _draft_data(version: TemplateVersion) -> dict:
    _lock(version)
    _refuse_unless_draft(version)
    return definition_to_dict(definition_of(version))


def blank_definition(name: str) -> dict:
    """A new template: its name as the title and one empty section to start from."""
    return {"format": "mentorship-agreement-template", "format_version": 1, "name": name, "title": name,
            "intro": "", "sections": [{"key": "agreement", "title": "Our agreement", "intro": "", "fields": []}]}


def create_blank_template(program: Program, name: str, actor: User | None) -> TemplateVersion:
    """A new template in draft, named ``name``, with one empty section. Raises DraftEditError for a bad name."""
    try:
        definition = parse_definition(blank_definition(name))
    except TemplateFormatError as error:
        problems = _edit_problems(error, "Template", ("name",))
        # The title is the name here: its problems repeat the name's, which are shown already.
        problems.general = [m for m in problems.general if not m.startswith("title ")]
        raise problems from None
    if definition.name.casefold() in _names_in_use(program):
        raise DraftEditError({"name": [_name_taken_problem(definition.name)]})
    return create_template(program, definition, actor)


def update_template_text(version: TemplateVersion, actor: User | None, *, name: str, title: str,
                         intro: str) -> TemplateDefinition:
    data = _draft_data(version)
    data.update(name=name, title=title, intro=intro)
    if name.strip().casefold() in _names_in_use(version.template.program, except_template_id=version.template_id):
        raise DraftEditError({"name": [_name_taken_problem(name.strip())]})
    return _save(version, data, actor, "template_text", attributes=("name", "title", "intro"))


def add_section(version: TemplateVersion, actor: User | None, *, title: str, intro: str = "",
                key: str = "") -> str:
    """Append a section; its key is derived from the title unless given. Returns the key."""
    data = _draft_data(version)
    taken = _keys_in(data)
    key, taken_key = key.strip(), None
    if key in taken:
        taken_key, key = key, ""
    key = key or derive_key(title, taken, fallback="section")
    data["sections"].append({"key": key, "title": title, "intro": intro, "fields": []})
    index = len(data["sections"]) - 1
    if taken_key:
        _refuse_taken_key(taken_key, data, lambda d: _where_section(d, index), ("key", "title", "intro"))
    _save(version, data, actor, "section_added", lambda d: _where_section(d, index), ("key", "title", "intro"),
          key=key)
    return key


def update_section(version: TemplateVersion, actor: User | None, section_key: str, *, title: str,
                   intro: str) -> None:
    data = _draft_data(version)
    index = _section_index(data, section_key)
    data["sections"][index].update(title=title, intro=intro)
    _save(version, data, actor, "section_changed", lambda d: _where_section(d, index), ("title", "intro"),
          key=section_key)


def move_section(version: TemplateVersion, actor: User | None, section_key: str, offset: int) -> bool:
    """Move a section one place up (-1) or down (+1). Returns False when it is already at that end."""
    data = _draft_data(version)
    index = _section_index(data, section_key)
    target = index + offset
    if offset not in (-1, 1) or not 0 <= target < len(data["sections"]):
        return False
    sections = data["sections"]
    sections[index], sections[target] = sections[target], sections[index]
    _save(version, data, actor, "section_moved", key=section_key, offset=offset)
    return True


def remove_section(version: TemplateVersion, actor: User | None, section_key: str) -> None:
    """Remove a section and every field in it."""
    data = _draft_data(version)
    index = _section_index(data, section_key)
    if len(data["sections"]) == 1:
        raise DraftEditError(general=["A template needs at least one section: add another section before "
                                      "removing this one."])
    del data["sections"][index]
    _save(version, data, actor, "section_removed", key=section_key)


def field_attribute_names(field_type: str) -> tuple[str, ...]:
    """What the builder lets an admin set on a field of this type (its key is set when it is added)."""
    common = ("label", "help") if field_type in NON_VALUE_FIELD_TYPES else ("label", "help", "required", "pair_only")
    return (*common, *OPTION_NAMES[field_type])


def _field_data(field_type: str, key: str, attributes: Mapping[str, Any]) -> dict:
    allowed = field_attribute_names(field_type)
    unknown = set(attributes) - set(allowed)
    if unknown:  # a programming error in a caller, not something a person typed
        raise ValueError(f"not attributes of a {field_type} field: {', '.join(sorted(unknown))}")
    return {"key": key, "type": field_type, **{name: attributes[name] for name in allowed if name in attributes}}


def add_field(version: TemplateVersion, actor: User | None, section_key: str, field_type: str,
              attributes: Mapping[str, Any], key: str = "") -> str:
    """Append a field of ``field_type`` to a section. Its key is derived from its label unless given."""
    if field_type not in FIELD_TYPES:
        raise DraftEditError(general=[f"unknown field type '{field_type}'"])
    data = _draft_data(version)
    section_index = _section_index(data, section_key)
    taken = _keys_in(data)
    key, taken_key = key.strip(), None
    if key in taken:
        taken_key, key = key, ""
    key = key or derive_key(str(attributes.get("label") or ""), taken, fallback=field_type)
    fields = data["sections"][section_index]["fields"]
    fields.append(_field_data(field_type, key, attributes))
    field_index = len(fields) - 1
    if taken_key:
        _refuse_taken_key(taken_key, data, lambda d: _where_field(d, section_index, field_index),
                          ("key", *field_attribute_names(field_type)))
    _save(version, data, actor, "field_added", lambda d: _where_field(d, section_index, field_index),
          ("key", *field_attribute_names(field_type)), key=key, type=field_type)
    return key


def update_field(version: TemplateVersion, actor: User | None, field_key: str,
                 attributes: Mapping[str, Any]) -> None:
    """Replace what an admin can set on a field (its key and type stay)."""
    data = _draft_data(version)
    section_index, field_index = _field_position(data, field_key)
    fields = data["sections"][section_index]["fields"]
    field_type = fields[field_index]["type"]
    fields[field_index] = _field_data(field_type, field_key, attributes)
    _save(version, data, actor, "field_changed", lambda d: _where_field(d, section_index, field_index),
          field_attribute_names(field_type), key=field_key)


def field_type_in_draft(version: TemplateVersion, field_key: str) -> str:
    data = definition_to_dict(definition_of(version))
    section_index, field_index = _field_position(data, field_key)
    return data["sections"][section_index]["fields"][field_index]["type"]


def move_field(version: TemplateVersion, actor: User | None, field_key: str, offset: int) -> bool:
    """Move a field one place up (-1) or down (+1); past the start or end of its section it moves into the
    neighbouring section. Returns False when it is already first (or last) in the template."""
    data = _draft_data(version)
    section_index, field_index = _field_position(data, field_key)
    sections = data["sections"]
    fields = sections[section_index]["fields"]
    target = field_index + offset
    if offset not in (-1, 1):
        return False
    if 0 <= target < len(fields):
        fields[field_index], fields[target] = fields[target], fields[field_index]
    else:
        neighbour = section_index + offset
        if not 0 <= neighbour < len(sections):
            return False
        field = fields.pop(field_index)
        if offset < 0:
            sections[neighbour]["fields"].append(field)  # to the end of the section above
        else:
            sections[neighbour]["fields"].insert(0, field)  # to the start of the section below
    _save(version, data, actor, "field_moved", key=field_key, offset=offset)
    return True


def remove_field(version: TemplateVersion, actor: User | None, field_key: str) -> None:
    data = _draft_data(version)
    section_index, field_index = _field_position(data, field_key)
    del data["sections"][section_index]["fields"][field_index]
    _save(version, data, actor, "field_removed", key=field_key)
