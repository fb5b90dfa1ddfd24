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
from portal.models import AuditEvent, Pair, Program, User

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
    "note.shared": "shared a note",
    "account.invitation_resent": "sent an invitation again",
    "account.renamed_on_appointment": "changed a person's name when appointing them",
}


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


def _facts(action: str, detail: str, program_id: int | None, administered: frozenset[int]) -> list[tuple[str, str]]:
    """The entry's facts as shown: pair-only ones are redacted whenever written, and those for the program's
    admins are shown to them alone (policy.audit_fact_shown)."""
    try:
        facts = json.loads(detail or "{}")
    except ValueError:
        return []
    if not isinstance(facts, dict):
        return []
    return [(str(key).replace("_", " "), policy.audit_fact_shown(action, str(key), value, program_id, administered))
            for key, value in sorted(facts.items())]


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
    entries = [AuditEntry(event.at, actor, event.action, code,
                          f"{mentor_name} and {mentee_name}" if mentor_name else None,
                          _facts(event.action, event.detail, event.program_id, administered))
               for event, actor, code, mentor_name, mentee_name in rows]
    return AuditPage(entries, total, page, pages)
