"""The audit log: recording events, and checking the hash chain that makes tampering visible.

Callers pass ids and short facts only, never pair-only text, tokens or passwords. Each entry's hash covers
the previous entry's hash and its own content, so altering, inserting or deleting a row breaks the chain from
that point on. Writers are serialised (PostgreSQL: a transaction-scoped advisory lock; SQLite: write
transactions already are), so the chain never forks.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from flask import has_request_context, request
from sqlalchemy import select, text

from portal.extensions import db
from portal.models import AuditEvent
from portal.timeutil import utcnow

GENESIS = "0" * 64
_CHAIN_LOCK = 724_301  # any constant: the advisory lock id that serialises audit writers on PostgreSQL


def client_address() -> str | None:
    return request.remote_addr if has_request_context() else None


def _clean(value):
    # CR/LF and other control characters in input must not be able to forge lines in any log view.
    if isinstance(value, str):
        return "".join(ch if ch.isprintable() else " " for ch in value)[:200]
    return value


def entry_hash(prev_hash: str, event: AuditEvent) -> str:
    content = json.dumps([event.at.isoformat(timespec="microseconds"), event.actor_id, event.program_id,
                          event.pair_id, event.action, event.detail, event.address], separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}|{content}".encode()).hexdigest()


def record(action: str, *, actor=None, program_id: int | None = None, pair_id: int | None = None,
           **facts) -> AuditEvent:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _CHAIN_LOCK})
    prev = db.session.scalar(select(AuditEvent.entry_hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS
    event = AuditEvent(
        at=utcnow(),
        action=_clean(action),
        actor_id=getattr(actor, "id", actor),
        program_id=program_id,
        pair_id=pair_id,
        detail=json.dumps({k: _clean(v) for k, v in facts.items()}, sort_keys=True, default=str),
        address=_clean(client_address()) if client_address() else None,
        prev_hash=prev,
    )
    event.entry_hash = entry_hash(prev, event)
    db.session.add(event)
    db.session.flush()  # the next record() in this transaction chains onto this one
    return event


@dataclass(frozen=True)
class ChainCheck:
    entries: int
    first_broken_id: int | None

    @property
    def intact(self) -> bool:
        return self.first_broken_id is None


def verify_chain(batch: int = 2000) -> ChainCheck:
    """Recompute every hash in order; report the first entry whose chain does not hold."""
    prev, count, last_id = GENESIS, 0, 0
    while True:
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.id > last_id)
                                  .order_by(AuditEvent.id).limit(batch)).all()
        if not rows:
            return ChainCheck(count, None)
        for event in rows:
            if event.prev_hash != prev or entry_hash(prev, event) != event.entry_hash:
                return ChainCheck(count, event.id)
            prev, last_id, count = event.entry_hash, event.id, count + 1
