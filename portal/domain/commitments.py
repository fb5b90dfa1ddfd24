"""What an agreement commits the pair to, read from its template and its values: the goals and objectives
to track, the ways of meeting and how many meetings of each, how often to meet, and the planned dates.

Templates differ (WHPRMS counts meetings per mode, CCMC picks a period), so everything here is found by field
type and key, with sensible defaults when a template has no such field. Nothing here reads pair-only fields:
what it returns is shown to supervisors and the program.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, timedelta
from typing import Any, Mapping

from portal.domain.agreements import add_months
from portal.domain.template_format import OTHER, Field, TemplateDefinition
from portal.models import Agreement

# Goal fields are found by key: "goal", "goals", "objectives", "learning_goals", "key_objective"...
GOAL_KEY = re.compile(r"(^|_)(goals?|objectives?)$")
GOAL_FIELD_TYPES = ("numbered_list", "long_text", "short_text")


@dataclass(frozen=True)
class GoalItem:
    """One goal or objective: an item of a numbered list, or a whole text field."""
    field_key: str
    index: int
    label: str   # "Goal", "Objective 2"
    text: str

    @property
    def ref(self) -> str:
        return f"{self.field_key}:{self.index}"


def goal_fields(definition: TemplateDefinition, include_pair_only: bool = False) -> list[Field]:
    return [field for field in definition.fields
            if field.type in GOAL_FIELD_TYPES and GOAL_KEY.search(field.key)
            and (include_pair_only or not field.pair_only)]


def goal_items(definition: TemplateDefinition, values: Mapping[str, Any]) -> list[GoalItem]:
    """The goals and objectives whose progress is tracked. Pair-only goal fields are left out: progress is
    seen by supervisors and the program, and must not echo what the pair keeps to itself."""
    items = []
    for field in goal_fields(definition):
        value = values.get(field.key)
        base = (field.option("item_label") if field.type == "numbered_list" else "") or (
            "Goal" if "goal" in field.key else "Objective")
        if field.type == "numbered_list":
            for index, text in enumerate(value or []):
                items.append(GoalItem(field.key, index, f"{base} {index + 1}", text))
        elif value:
            items.append(GoalItem(field.key, 0, base, value))
    return items


# --- ways of meeting ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MeetingMode:
    key: str
    label: str


# For templates without a meeting-modes field (CCMC picks a period instead).
DEFAULT_MODES = (MeetingMode("face_to_face", "face to face"), MeetingMode("phone", "by phone"),
                 MeetingMode("video", "by video call"), MeetingMode("email", "by email"))
OTHER_MODE = MeetingMode(OTHER, "other")


def modes_field(definition: TemplateDefinition) -> Field | None:
    return next((field for field in definition.fields if field.type == "meeting_modes"), None)


def meeting_modes(definition: TemplateDefinition) -> list[MeetingMode]:
    """The ways a meeting can be logged: the template's modes (or common ones), and always "other" with a
    label, because a pair may meet in a way the agreement did not plan."""
    field = modes_field(definition)
    modes = [MeetingMode(mode.key, mode.label) for mode in field.modes] if field else list(DEFAULT_MODES)
    return [*modes, OTHER_MODE]


def mode_label(definition: TemplateDefinition, key: str, other_label: str = "") -> str:
    if key == OTHER:
        return f"other ({other_label})" if other_label else "other"
    return next((mode.label for mode in meeting_modes(definition) if mode.key == key), key)


@dataclass(frozen=True)
class Commitment:
    counts: dict[str, int]   # mode key -> meetings committed for the term
    other_label: str = ""

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def committed_meetings(definition: TemplateDefinition, values: Mapping[str, Any]) -> Commitment | None:
    """The meetings per mode the pair committed to (the agreement's meeting-modes value), if any."""
    field = modes_field(definition)
    value = values.get(field.key) if field and not field.pair_only else None
    if not value or not value.get("counts"):
        return None
    return Commitment(dict(value["counts"]), value.get("other_label", ""))


# --- how often ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cadence:
    name: str      # daily, weekly, fortnightly, monthly
    agreed: bool   # False: nothing was agreed and the portal assumes monthly

    def next_after(self, day: date, steps: int = 1) -> date:
        if self.name == "daily":
            return day + timedelta(days=steps)
        if self.name == "weekly":
            return day + timedelta(weeks=steps)
        if self.name == "fortnightly":
            return day + timedelta(weeks=2 * steps)
        return add_months(day, steps)


CADENCE_NAMES = {"daily": "daily", "weekly": "weekly", "fortnightly": "fortnightly", "biweekly": "fortnightly",
                 "monthly": "monthly"}
DEFAULT_CADENCE = Cadence("monthly", agreed=False)


def cadence(definition: TemplateDefinition, values: Mapping[str, Any]) -> Cadence:
    """How often the pair agreed to meet (a choice such as CCMC's daily/weekly/monthly); monthly when the
    template asks no such thing, nothing was chosen yet, or the pair chose "other" in their own words."""
    for field in definition.fields:
        if field.type != "choice" or field.pair_only:
            continue
        if not any(choice.value in CADENCE_NAMES for choice in field.choices):
            continue
        value = values.get(field.key)
        if value and value.get("option") in CADENCE_NAMES:
            return Cadence(CADENCE_NAMES[value["option"]], agreed=True)
        return DEFAULT_CADENCE
    return DEFAULT_CADENCE


# --- planned meetings ---------------------------------------------------------------------------------------

MAX_PLANNED = 1200  # daily meetings over a long term stay a usable calendar


@dataclass(frozen=True)
class PlannedSchedule:
    dates: list[date]
    basis: str  # in words: why these dates


def planned_schedule(agreement: Agreement, definition: TemplateDefinition,
                     values: Mapping[str, Any]) -> PlannedSchedule:
    return planned_for_term(agreement.term_start, agreement.term_end, definition, values)


def planned_for_term(start: date, end: date, definition: TemplateDefinition,
                     values: Mapping[str, Any]) -> PlannedSchedule:
    """The planned meeting dates over the term: at the agreed cadence; otherwise the committed number of
    meetings spread evenly over the term; otherwise monthly."""
    chosen = cadence(definition, values)
    commitment = committed_meetings(definition, values)
    total = commitment.total if commitment else 0
    dates = list(_planned_dates(start, end, chosen, total))
    if not chosen.agreed and total:
        return PlannedSchedule(dates, f"{total} meetings agreed, spread evenly over the term")
    basis = f"{chosen.name}, as agreed" if chosen.agreed else "monthly (no meeting frequency agreed)"
    return PlannedSchedule(dates, basis)


def planned_count(start: date, end: date, definition: TemplateDefinition, values: Mapping[str, Any]) -> int:
    """How many meetings `planned_for_term` plans (the dashboard shows the number for 25 pairs a page)."""
    commitment = committed_meetings(definition, values)
    return len(_planned_dates(start, end, cadence(definition, values), commitment.total if commitment else 0))


@lru_cache(maxsize=4096)
def _planned_dates(start: date, end: date, chosen: Cadence, committed_total: int) -> tuple[date, ...]:
    """The dates only: they depend on nothing else, and pairs of a program share terms and cadences."""
    if not chosen.agreed and committed_total:
        days = (end - start).days + 1
        total = min(committed_total, MAX_PLANNED)
        return tuple(start + timedelta(days=index * days // total) for index in range(total))
    dates, step = [], 0
    day = start
    while day <= end and len(dates) < MAX_PLANNED:
        dates.append(day)
        step += 1
        day = chosen.next_after(start, step)  # from the start each time, so month ends do not drift
    return tuple(dates)
