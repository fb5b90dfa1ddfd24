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
from datetime import date, datetime, timedelta
from typing import Any, Mapping

from portal.domain import schedule_phrases
from portal.domain.agreements import add_months
from portal.domain.field_values import is_empty
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
# Fields whose (non-pair-only) wording describes when and where the pair meets: WHPRMS's "Our schedule for
# meetings will be", CCMC's "We will meet ____" (place and time) and its period.
SCHEDULE_FIELD_KEYS = ("meeting_schedule", "meeting_place_time", "meeting_period")
_TEXT_TYPES = ("short_text", "long_text")


@dataclass(frozen=True)
class PlannedSchedule:
    dates: list[date]
    basis: str  # in words: why these dates
    # When the agreement names days and a time: each meeting's start (wall-clock time in `time_zone`) and length.
    times: tuple[tuple[datetime, int], ...] = ()
    time_zone: str = "UTC"

    @property
    def timed(self) -> bool:
        return bool(self.times)


def schedule_wording(definition: TemplateDefinition, values: Mapping[str, Any]) -> str:
    """What the pair wrote about when they meet, from the schedule fields that are not pair-only."""
    texts = []
    for key in SCHEDULE_FIELD_KEYS:
        field = definition.field(key)
        if field is None or field.pair_only or field.type not in _TEXT_TYPES or is_empty(values.get(key)):
            continue
        texts.append(str(values[key]))
    return "\n".join(texts)


def agreed_times(definition: TemplateDefinition,
                 values: Mapping[str, Any]) -> tuple[schedule_phrases.MeetingRule, ...] | None:
    """The days and time of day the agreement names, when the wording is clear (see schedule_phrases)."""
    wording = schedule_wording(definition, values)
    if not wording:
        return None
    chosen = cadence(definition, values)
    return schedule_phrases.parse_schedule(wording, chosen.name if chosen.agreed else None)


def planned_schedule(agreement: Agreement, definition: TemplateDefinition,
                     values: Mapping[str, Any]) -> PlannedSchedule:
    return planned_for_term(agreement.term_start, agreement.term_end, definition, values,
                            agreement.pair.program.time_zone or "UTC")


def planned_for_term(start: date, end: date, definition: TemplateDefinition,
                     values: Mapping[str, Any], time_zone: str = "UTC") -> PlannedSchedule:
    """The planned meetings over the term: on the days and at the time the agreement names, when it does so
    clearly; otherwise dates only, at the agreed cadence, or the committed number of meetings spread evenly
    over the term, or monthly, moved off weekends."""
    rules = agreed_times(definition, values)
    if rules:
        times = _timed_meetings(start, end, rules)
        wording = "; ".join(rule.describe() for rule in rules)
        return PlannedSchedule([when.date() for when, _ in times], f"{wording} ({time_zone} time), as agreed",
                               times, time_zone)
    chosen = cadence(definition, values)
    commitment = committed_meetings(definition, values)
    total = commitment.total if commitment else 0
    dates = list(_planned_dates(start, end, chosen, total))
    if not chosen.agreed and total:
        basis = f"{total} meetings agreed, spread evenly over the term"
    else:
        basis = f"{chosen.name}, as agreed" if chosen.agreed else "monthly (no meeting frequency agreed)"
    if schedule_wording(definition, values):
        basis += "; the agreed schedule names no days and time of day the portal could read, so the dates are " \
                 "suggestions on weekdays"
    return PlannedSchedule(dates, basis, (), time_zone)


def planned_count(start: date, end: date, definition: TemplateDefinition, values: Mapping[str, Any]) -> int:
    """How many meetings `planned_for_term` plans (the dashboard shows the number for 25 pairs a page)."""
    rules = agreed_times(definition, values)
    if rules:
        return len(_timed_meetings(start, end, rules))
    commitment = committed_meetings(definition, values)
    return len(_planned_dates(start, end, cadence(definition, values), commitment.total if commitment else 0))


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date | None:
    """The nth (1-4, or -1: last) given weekday of a month."""
    if nth == -1:
        last = add_months(date(year, month, 1), 1) - timedelta(days=1)
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    return day if day.month == month else None


@lru_cache(maxsize=4096)
def _timed_meetings(start: date, end: date,
                    rules: tuple[schedule_phrases.MeetingRule, ...]) -> tuple[tuple[datetime, int], ...]:
    """Every meeting the rules name within the term, in order (the same start named twice counts once)."""
    found: dict[datetime, int] = {}
    for rule in rules:
        days: list[date] = []
        if rule.nth_of_month:
            month = date(start.year, start.month, 1)
            while month <= end:
                for weekday in rule.weekdays:
                    days += [day for nth in rule.nth_of_month
                             if (day := nth_weekday(month.year, month.month, weekday, nth)) is not None]
                month = add_months(month, 1)
        else:
            for weekday in rule.weekdays:
                day = start + timedelta(days=(weekday - start.weekday()) % 7)
                while day <= end and len(days) < MAX_PLANNED:
                    days.append(day)
                    day += timedelta(weeks=rule.every_weeks)
        for day in days:
            if start <= day <= end:
                found.setdefault(datetime.combine(day, rule.at), rule.minutes)
    return tuple(sorted(found.items()))[:MAX_PLANNED]


def off_weekend(day: date, start: date, end: date) -> date:
    """A planned date the pair did not choose moves off the weekend: Saturday to the Friday before, Sunday to
    the Monday after, staying within the term."""
    if day.weekday() < 5:
        return day
    earlier, later = day - timedelta(days=day.weekday() - 4), day + timedelta(days=7 - day.weekday())
    preferred, other = (earlier, later) if day.weekday() == 5 else (later, earlier)
    for candidate in (preferred, other):
        if start <= candidate <= end:
            return candidate
    return day  # a term of one weekend: nothing else to offer


@lru_cache(maxsize=4096)
def _planned_dates(start: date, end: date, chosen: Cadence, committed_total: int) -> tuple[date, ...]:
    """The dates only: they depend on nothing else, and pairs of a program share terms and cadences. Daily
    means every weekday; the other dates are moved off weekends (the same day named twice counts once)."""
    if not chosen.agreed and committed_total:
        days = (end - start).days + 1
        total = min(committed_total, MAX_PLANNED)
        spread = [start + timedelta(days=index * days // total) for index in range(total)]
        return tuple(dict.fromkeys(off_weekend(day, start, end) for day in spread))
    dates, step = [], 0
    day = start
    while day <= end and len(dates) < MAX_PLANNED:
        if chosen.name != "daily":
            dates.append(off_weekend(day, start, end))
        elif day.weekday() < 5:
            dates.append(day)
        step += 1
        day = chosen.next_after(start, step)  # from the start each time, so month ends do not drift
    return tuple(dict.fromkeys(dates))
