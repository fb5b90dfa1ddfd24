"""Reading the audit log: who did what, when, in one program (its program admins) or everywhere (site
admins). Audit events hold ids and short facts only (portal.audit), so showing them shows no pair-only text.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from portal import policy
from portal.extensions import db
from portal.domain.template_format import field_name, type_words
from portal.domain.template_store import definition_from
from portal.models import AgreementTemplate, AuditEvent, Pair, Program, TemplateVersion, User

PAGE_SIZE = 50
ACTION_LABELS = {
    "pair.create": "created a pair",
    "pair.import": "imported pairs",
    "pair.exported": "downloaded the pair's data",
    "agreement.signed": "signed an agreement",
    "agreement.review_requested": "asked to start the review early",
    "agreement.review_started": "started the review",
    "agreement.closed": "closed an agreement",
    "agreement.renewed": "renewed an agreement",
    "agreement.goals_confirmed": "confirmed the renewed goals",
    "agreement.pair_content_purged": "purged pair-only content (retention rule)",
    "help.requested": "asked the program for help",
    "help.resolved": "marked a request for help as handled",
    "program.create": "created the program",
    "program.update": "changed the program's settings",
    "program.lifecycle_settings": "changed the reminder and retention settings",
    "role.grant": "appointed someone",
    "role.revoke": "removed a role",
    "template.create": "created a template",
    "template.publish": "published a template version",
    "template.publish_warnings_accepted": "published a template version despite its checklist's warnings",
    "template.republish": "brought back a retired template version",
    "template.add_ready_made": "added a ready-made template as a draft",
    "program.default_template": "chose the default template for new pairs",
    "template.edit": "changed a template draft",
    "template.new_draft": "started a new draft version of a template",
    "template.retire": "retired a template version",
    "template.discard_draft": "discarded a template draft",
    "template.import": "imported a template file",
    "note.shared": "shared a note",
    "pair.supervisor_removed": "removed a supervisor from a pair",
    "agreement.declined": "declined to sign an agreement",
    "agreement.signatures_cleared": "cleared the signatures by changing a signed answer",
    "agreement.amendment_started": "reopened an agreement for amendment",
    "account.invited": "invited someone",
    "account.deactivated": "deactivated an account",
    "account.reactivated": "reactivated an account",
    "account.site_admin_removed": "removed a site admin",
    "account.site_admin_created": "created a site admin",
    "account.password_set": "set a password",
    "account.password_changed": "changed their password",
    "account.reset_requested": "asked for a password reset",
    "account.email_change_requested": "asked to change their e-mail address",
    "account.email_change_cancelled": "cancelled an e-mail address change",
    "account.email_changed": "changed their e-mail address",
    "sign_in": "signed in",
    "sign_in.failed": "failed to sign in",
    "sign_in.throttled": "was stopped from signing in (too many attempts)",
    "access.denied": "was refused a page",
    "account.invitation_resent": "sent an invitation again",
    "account.renamed_on_appointment": "changed a person's name when appointing them",
    "pair.supervisor_assign": "assigned a supervisor to a pair",
    "pair.supervisor_unassign": "unassigned a supervisor from a pair",
    "pair.term_change": "changed a pair's term",
    "pair.template_change": "moved a pair to another template",
    "pair.remove": "removed a pair",
    "note.create": "wrote a confidential note",
    "note.update": "changed a confidential note",
    "note.delete": "deleted a confidential note",
    "note_share.propose": "proposed to share a note",
    "note_share.approve": "approved sharing a note",
    "note_share.approve_refused": "was refused approving a note share (wrong password)",
    "note_share.decline": "declined to share a note",
    "note_share.withdraw": "withdrew a note share",
    "password_confirm.failed": "gave a wrong password to confirm an action",
    "password_confirm.throttled": "was stopped from confirming with a password (too many attempts)",
    "keys.rotated": "rotated the data encryption keys",
    "pdf_signing_key.rotated": "rotated the PDF signing certificate",
}
# What a template.edit entry's "change" fact says, in words.
TEMPLATE_CHANGES = {
    "template_text": "name, title or introduction", "section_added": "section added",
    "section_changed": "section changed", "section_moved": "section moved", "section_removed": "section removed",
    "field_added": "field added", "field_changed": "field changed", "field_moved": "field moved",
    "field_removed": "field removed",
}
# Facts that hold the id of a person or a template: shown as the name.
PERSON_FACTS = {"user_id": "person", "recipient_id": "recipient", "supervisor_id": "supervisor"}
TEMPLATE_FACT = "template_id"


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str | None
    action: str
    program: str | None
    pair: str | None
    facts: list[tuple[str, str]]

    @property
    def label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    total: int
    page: int
    pages: int


def _decoded(detail: str) -> dict:
    try:
        facts = json.loads(detail or "{}")
    except ValueError:
        return {}
    return facts if isinstance(facts, dict) else {}


def _in_words(action: str, key: str, shown: str, facts: dict,
              names: dict[tuple, str]) -> tuple[str, str] | None:
    """One fact as a person reads it: names rather than ids, words rather than the code's names (None: the
    fact says nothing more than another one shown)."""
    if key == "supervisor_id" and "supervisor" in facts:
        return None  # the supervisor's name, recorded beside the id, already says who
    if key in PERSON_FACTS and shown.isdigit():
        return PERSON_FACTS[key], names.get(("user", int(shown)), "someone no longer in the portal")
    if key == TEMPLATE_FACT and shown.isdigit():
        return "template", names.get(("template", int(shown)), "a template since deleted")
    if action == "template.edit":
        if key == "change":
            return "what", TEMPLATE_CHANGES.get(shown, shown.replace("_", " "))
        if key == "key":  # the log keeps the key, never template text: the label is looked up to show it
            return "which", names.get(("part", facts.get("template_id"), shown), shown)
        if key == "type":
            return "type", type_words(shown, article=False)
        if key == "offset":
            return "moved", {"-1": "up", "1": "down"}.get(shown, shown)
    if shown in ("True", "False"):
        shown = "yes" if shown == "True" else "no"
    words = key.removesuffix("_id").replace("_", " ")
    return words, (f"no. {shown}" if key.endswith("_id") and shown.isdigit() else shown)


def _facts(action: str, facts: dict, program_id: int | None, administered: frozenset[int],
           names: dict[tuple, str]) -> list[tuple[str, str]]:
    """The entry's facts as shown: pair-only ones are redacted whenever written, and those for the program's
    admins are shown to them alone (policy.audit_fact_shown); then in words (_in_words)."""
    shown = []
    for key, value in sorted(facts.items()):
        fact = _in_words(action, str(key), policy.audit_fact_shown(action, str(key), value, program_id,
                                                                   administered), facts, names)
        if fact is not None:
            shown.append(fact)
    return shown


def _names(fact_sets: list[dict]) -> dict[tuple, str]:
    """The names of the people, templates and template parts that the page's facts name by id or key, in three
    queries at most."""
    def ids(keys) -> set[int]:
        return {value for facts in fact_sets for key, value in facts.items()
                if key in keys and isinstance(value, int) and not isinstance(value, bool)}
    names: dict[tuple, str] = {}
    people = ids(PERSON_FACTS)
    if people:
        names.update((("user", user_id), name) for user_id, name in
                     db.session.execute(select(User.id, User.name).where(User.id.in_(people))))
    templates = ids({TEMPLATE_FACT})
    if templates:
        names.update((("template", template_id), name) for template_id, name in db.session.execute(
            select(AgreementTemplate.id, AgreementTemplate.name).where(AgreementTemplate.id.in_(templates))))
    edited = {facts[TEMPLATE_FACT] for facts in fact_sets
              if isinstance(facts.get(TEMPLATE_FACT), int) and isinstance(facts.get("key"), str)}
    if edited:
        names.update(_part_names(edited))
    return names


def _part_names(template_ids: set[int]) -> dict[tuple[str, int, str], str]:
    """("part", template id, key) -> how the builder names that section or field, from the template's versions
    (newest first, so a part removed since is named as it last was)."""
    names: dict[tuple[str, int, str], str] = {}
    for version_id, template_id, state, definition_json in db.session.execute(
            select(TemplateVersion.id, TemplateVersion.template_id, TemplateVersion.state,
                   TemplateVersion.definition_json)
            .where(TemplateVersion.template_id.in_(template_ids)).order_by(TemplateVersion.number.desc())):
        definition = definition_from(version_id, state, definition_json)
        for section in definition.sections:
            names.setdefault(("part", template_id, section.key), f"section '{section.title}'")
            for field in section.fields:
                names.setdefault(("part", template_id, field.key), field_name(field))
    return names


def audit_page(program_id: int | None, page: int = 1, administered: frozenset[int] = frozenset()) -> AuditPage:
    """Newest first, 50 a page; `program_id` None means every event (site admins only: the route decides).
    `administered`: the programs the reader administers (policy.administered_program_ids)."""
    mentor, mentee = aliased(User), aliased(User)
    conditions = [] if program_id is None else [AuditEvent.program_id == program_id]
    total = db.session.scalar(select(func.count(AuditEvent.id)).where(*conditions)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = db.session.execute(
        select(AuditEvent, User.name, Program.code, mentor.name, mentee.name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .outerjoin(Program, Program.id == AuditEvent.program_id)
        .outerjoin(Pair, Pair.id == AuditEvent.pair_id)
        .outerjoin(mentor, mentor.id == Pair.mentor_id).outerjoin(mentee, mentee.id == Pair.mentee_id)
        .where(*conditions).order_by(AuditEvent.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    fact_sets = [_decoded(event.detail) for event, *_ in rows]
    names = _names(fact_sets)
    entries = [AuditEntry(event.at, actor, event.action, code,
                          f"{mentor_name} and {mentee_name}" if mentor_name else None,
                          _facts(event.action, facts, event.program_id, administered, names))
               for (event, actor, code, mentor_name, mentee_name), facts in zip(rows, fact_sets)]
    return AuditPage(entries, total, page, pages)
