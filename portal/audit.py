"""The audit log: recording events, and checking the hash chain that makes tampering visible.

Callers pass ids and short facts only, never pair-only text, tokens or passwords. Each entry's hash covers
the previous entry's hash and its own content, so altering, inserting or deleting a row breaks the chain from
that point on. Writers are serialised (PostgreSQL: a transaction-scoped advisory lock; SQLite: write
transactions already are), so the chain never forks.

Most events are recorded in the transaction of the change they describe, so that both are kept or neither.
An event that must be kept whatever happens to the request (a refusal, a download) is recorded by
`record_apart`, in a short transaction of its own that takes the write lock before it reads the chain's head.
"""
from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass

from flask import has_request_context, request
from sqlalchemy import exc, select, text
from sqlalchemy.orm import Session

from portal.db_setup import write_transaction
from portal.extensions import db
from portal.models import AuditEvent
from portal.timeutil import utcnow

GENESIS = "0" * 64
_CHAIN_LOCK = 724_301  # any constant: the advisory lock id that serialises audit writers on PostgreSQL
# record_apart: SQLite waits up to its busy timeout for the write lock; should that run out under a burst, try
# again a few times after a short, jittered pause before giving up.
APART_ATTEMPTS = 5
APART_PAUSE_SECONDS = 0.05


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
           session: Session | None = None, **facts) -> AuditEvent:
    """Add an event to the chain in `session`'s transaction (the request's by default)."""
    session = session or db.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _CHAIN_LOCK})
    prev = session.scalar(select(AuditEvent.entry_hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS
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
    session.add(event)
    session.flush()  # the next record() in this transaction chains onto this one
    return event


def record_apart(action: str, *, actor=None, program_id: int | None = None, pair_id: int | None = None,
                 **facts) -> None:
    """Record an event in a short transaction of its own, committed before this returns.

    For events on requests that otherwise only read (a refusal, a download), and for events that must outlive
    the request's own transaction. Its own connection begins as a writer (SQLite: BEGIN IMMEDIATE, so it
    waits its turn under the busy timeout instead of failing at once when it turns from reading the chain's
    head to writing), whatever the request's session has already read, and it never leaves that session in a
    failed state. `actor` may be a user or a user id."""
    for attempt in range(1, APART_ATTEMPTS + 1):
        try:
            with write_transaction(), Session(db.engine) as session:
                record(action, actor=actor, program_id=program_id, pair_id=pair_id, session=session, **facts)
                session.commit()
            return
        except exc.OperationalError as error:
            if attempt == APART_ATTEMPTS or not is_busy(error):
                raise
        time.sleep(APART_PAUSE_SECONDS * attempt * (1 + random.random()))


def is_busy(error: exc.OperationalError) -> bool:
    """SQLite's answer when another connection held the write lock for longer than the busy timeout."""
    message = str(error.orig).lower()
    return "database is locked" in message or "database is busy" in message


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
