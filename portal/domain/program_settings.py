"""A program's settings for the mentorship's life: when a pair counts as stalled, how long pair-only
content is kept after closure, and the time zone agreed meeting times are read in. Site admins and the
program's own admins change them."""
from __future__ import annotations

import re
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from portal import audit
from portal.domain.lifecycle import LifecycleInputError
from portal.models import Program, User

STALL_DAYS_RANGE = (7, 365)
RETENTION_MONTHS_RANGE = (1, 120)


def is_time_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone this server knows ("Europe/Berlin", "UTC")."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*", name or "") or len(name) > 64:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def settings_of(program: Program) -> dict[str, str]:
    """The form's values as the inputs show them."""
    return {"stall_days": str(program.stall_days),
            "retention_months": "" if program.retention_months is None else str(program.retention_months),
            "time_zone": program.time_zone}


def save_settings(actor: User, program: Program, form: Mapping[str, Any]) -> None:
    """Store both settings, or raise LifecycleInputError by field and change nothing."""
    errors: dict[str, str] = {}
    raw_stall = str(form.get("stall_days", "")).strip()
    low, high = STALL_DAYS_RANGE
    stall_days = int(raw_stall) if re.fullmatch(r"\d{1,4}", raw_stall) else None
    if stall_days is None or not low <= stall_days <= high:
        errors["stall_days"] = f"Enter a number of days from {low} to {high}."
    raw_retention = str(form.get("retention_months", "")).strip()
    retention = None
    if raw_retention:
        low, high = RETENTION_MONTHS_RANGE
        retention = int(raw_retention) if re.fullmatch(r"\d{1,4}", raw_retention) else None
        if retention is None or not low <= retention <= high:
            errors["retention_months"] = (f"Enter a number of months from {low} to {high}, or leave it empty to "
                                          "keep pair-only content.")
    # A form without the field (an older page) keeps the zone as it is.
    time_zone = str(form.get("time_zone", program.time_zone) or "").strip()
    if not is_time_zone(time_zone):
        errors["time_zone"] = "Enter a time zone by its name, for example Europe/Berlin, America/New_York or UTC."
    if errors:
        raise LifecycleInputError(errors)
    program.stall_days, program.retention_months, program.time_zone = stall_days, retention, time_zone
    audit.record("program.lifecycle_settings", actor=actor, program_id=program.id, stall_days=stall_days,
                 retention_months=retention, time_zone=time_zone)
