"""Recording audit events. Callers pass ids and short facts only, never pair-only text, tokens or passwords."""
from __future__ import annotations

import json

from flask import has_request_context, request

from portal.extensions import db
from portal.models import AuditEvent


def client_address() -> str | None:
    return request.remote_addr if has_request_context() else None


def _clean(value):
    # CR/LF and other control characters in input must not be able to forge lines in any log view.
    if isinstance(value, str):
        return "".join(ch if ch.isprintable() else " " for ch in value)[:200]
    return value


def record(action: str, *, actor=None, program_id: int | None = None, pair_id: int | None = None,
           **facts) -> AuditEvent:
    event = AuditEvent(
        action=action,
        actor_id=getattr(actor, "id", actor),
        program_id=program_id,
        pair_id=pair_id,
        detail=json.dumps({k: _clean(v) for k, v in facts.items()}, sort_keys=True, default=str),
        address=client_address(),
    )
    db.session.add(event)
    return event
