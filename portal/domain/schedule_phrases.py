"""Read the days and the time of day a pair wrote into its agreement ("every second Tuesday, 17:00").

Conservative on purpose: a phrase is understood only when every part of it that names a day also names one
time, nothing in it hedges ("or", "maybe", "if possible"...), and the words are ones this module knows. Anything
else gives None, and the schedule falls back to the spread over the term (and says so): a wrong meeting in
someone's calendar is worse than none.

Understood, per clause (clauses are separated by ";" or line breaks; a clause with neither a day nor a time,
such as "at the library", is ignored):
- "every Tuesday 17:00", "Tuesdays at 5pm", "Mondays and Thursdays, 09:30", "every weekday at 8am"
- "every second Tuesday at 5pm", "every other Friday 12:30", "fortnightly on Wednesdays 10:00"
- "first Monday of the month at 18:00", "first and third Thursday of each month, 7.30pm",
  "last Friday of every month 16:00"
- a range gives the length: "Tuesdays 17:00-18:30" is 90 minutes (otherwise 60)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from functools import lru_cache

DEFAULT_MINUTES = 60
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Full names (also plural) and the abbreviations nobody writes as another word ("sat", "sun" are left out).
_DAY_WORDS = {
    0: r"mondays?|mon", 1: r"tuesdays?|tues?", 2: r"wednesdays?|wed", 3: r"thursdays?|thurs|thur|thu",
    4: r"fridays?|fri", 5: r"saturdays?", 6: r"sundays?",
}
_DAY = re.compile(r"\b(" + "|".join(f"(?P<d{day}>{words})" for day, words in _DAY_WORDS.items()) + r")\.?(?![a-z])")
_WEEKDAYS = re.compile(r"\b(every\s+)?(week\s*days|weekdays|weekday)\b")
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
             "last": -1}
_ORDINAL = r"(?:first|1st|second|2nd|third|3rd|fourth|4th|last)"
_MONTHLY_DAYS = re.compile(
    rf"\b(?P<ordinals>{_ORDINAL}(?:\s*(?:,|and|&)\s*{_ORDINAL})*)\s+(?P<days>(?:[a-z]+\.?(?:\s*(?:,|and|&)\s*)?)+?)"
    r"\s*(?:of\s+(?:the|each|every)\s+month|(?:of\s+)?(?:each|every|a)\s+month|monthly)\b")
_EVERY_SECOND = re.compile(
    r"\b(every\s+(second|other|2nd|alternate)\b|every\s+(2|two)\s+weeks|fortnightly|bi-?weekly)\b")
_EVERY_THIRD = re.compile(r"\b(every\s+(third|3rd)\b|every\s+(3|three)\s+weeks)\b")
_EVERY_WEEK_WORDS = re.compile(r"\b(every|each|weekly)\b")
_HEDGE = re.compile(r"\b(or|maybe|perhaps|possibly|depend\w*|tbd|tba|flexible|needed|vary|varies|various|"
                    r"except|unless|if|sometimes|occasionally|usually|mostly|around|approx\w*|about|roughly|"
                    r"between|alternating|either|until|till)\b|\?")
_TIME = re.compile(
    r"(?<![\d:.])(?:(?P<h>\d{1,2})(?:[:.h](?P<m>\d{2}))?\s*(?P<ampm>am|pm)\b|(?P<h24>\d{1,2})[:.h](?P<m24>\d{2})(?![\d:.]*\d)"
    r"|(?P<noon>noon|midday))")
_RANGE_JOIN = re.compile(r"^\s*(?:-|to)\s*$")
_MONTH_WORD = re.compile(r"\bmonth(ly|s)?\b")


@dataclass(frozen=True)
class MeetingRule:
    """One regular meeting the pair named: on `weekdays` (0 = Monday) at `at`, local time of the program.
    Either every `every_weeks` weeks, or (when `nth_of_month` is set) on that weekday of each month
    (1 to 4, or -1 for the last)."""
    weekdays: tuple[int, ...]
    at: time
    minutes: int = DEFAULT_MINUTES
    every_weeks: int = 1
    nth_of_month: tuple[int, ...] = ()

    def describe(self) -> str:
        days = _join([WEEKDAY_NAMES[day] for day in self.weekdays])
        clock = self.at.strftime("%H:%M")
        if self.nth_of_month:
            nth = _join(["last" if n == -1 else ("first", "second", "third", "fourth")[n - 1]
                         for n in self.nth_of_month])
            return f"the {nth} {days} of each month at {clock}"
        every = {1: "every", 2: "every second", 3: "every third"}[self.every_weeks]
        return f"{every} {days} at {clock}"


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


class _NotUnderstood(Exception):
    pass


def _times(clause: str) -> list[tuple[time, int]]:
    """The start times named in the clause, each with its length in minutes (from a range, or the default)."""
    found = []
    for match in _TIME.finditer(clause):
        if match.group("noon"):
            hour, minute = 12, 0
        elif match.group("ampm"):
            hour, minute = int(match.group("h")), int(match.group("m") or 0)
            if not 1 <= hour <= 12:
                raise _NotUnderstood
            hour = hour % 12 + (12 if match.group("ampm") == "pm" else 0)
        else:
            hour, minute = int(match.group("h24")), int(match.group("m24"))
        if hour > 23 or minute > 59:
            raise _NotUnderstood
        found.append((match.start(), match.end(), hour * 60 + minute))
    times: list[tuple[time, int]] = []
    index = 0
    while index < len(found):
        start, end, minutes = found[index]
        length = DEFAULT_MINUTES
        if index + 1 < len(found) and _RANGE_JOIN.match(clause[end:found[index + 1][0]]):
            finish = found[index + 1][2]
            if finish <= minutes:
                raise _NotUnderstood
            length = finish - minutes
            index += 1
        times.append((time(minutes // 60, minutes % 60), length))
        index += 1
    return times


def _days_in(text: str) -> list[int]:
    days = []
    for match in _DAY.finditer(text):
        day = next(int(name[1:]) for name, value in match.groupdict().items() if value)
        if day not in days:
            days.append(day)
    return days


def _clause_rules(clause: str, cadence: str | None) -> list[MeetingRule]:
    if _HEDGE.search(clause):
        raise _NotUnderstood
    times = _times(clause)
    weekday_words = _WEEKDAYS.search(clause)
    days = _days_in(clause)
    if weekday_words:
        if days:
            raise _NotUnderstood  # "weekdays and Saturdays": not a phrase worth guessing at
        days = [0, 1, 2, 3, 4]
    if not days and not times:
        return []  # "at the library", "in room 4B"
    if not days or len(times) != 1:
        raise _NotUnderstood  # a time without a day, a day without a time, or two times for one clause
    at, minutes = times[0]
    monthly = _MONTHLY_DAYS.search(clause)
    if monthly:
        ordinals = tuple(dict.fromkeys(_ORDINALS[word] for word in re.findall(_ORDINAL, monthly.group("ordinals"))))
        if _days_in(monthly.group("days")) != days or _EVERY_SECOND.search(clause) or _EVERY_THIRD.search(clause):
            raise _NotUnderstood
        return [MeetingRule(tuple(sorted(days)), at, minutes, 1, tuple(sorted(ordinals, key=lambda n: n % 10)))]
    if _MONTH_WORD.search(clause) or re.search(rf"\b{_ORDINAL}\b", clause.replace("every second", "")
                                                .replace("every third", "").replace("every 2nd", "")
                                                .replace("every 3rd", "")):
        raise _NotUnderstood  # "monthly on Tuesdays", "the second Tuesday": which Tuesday is not clear
    if _EVERY_SECOND.search(clause):
        every = 2
    elif _EVERY_THIRD.search(clause):
        every = 3
    elif cadence == "fortnightly" and not _EVERY_WEEK_WORDS.search(clause):
        every = 2  # "Tuesdays 17:00" under an agreed fortnightly cadence
    elif cadence in ("monthly", "daily") and not re.search(r"\b(every|each|weekly)\b", clause):
        raise _NotUnderstood  # "Tuesdays 17:00" but agreed monthly (or daily): which is meant is not clear
    else:
        every = 1
    return [MeetingRule(tuple(sorted(days)), at, minutes, every)]


def _normalised(text: str) -> str:
    text = text.lower().replace("\u2013", "-").replace("\u2014", "-")
    text = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", text)
    return re.sub(r"\s+", " ", text)


@lru_cache(maxsize=2048)
def parse_schedule(text: str, cadence: str | None = None) -> tuple[MeetingRule, ...] | None:
    """The regular meetings a phrase names, or None when it names none or is not clearly understood.
    `cadence` is the frequency the agreement chose elsewhere (CCMC's daily/weekly/monthly), if any: it turns
    "Tuesdays 17:00" into every second Tuesday under "fortnightly", and makes it unclear under "monthly"."""
    rules: list[MeetingRule] = []
    try:
        for clause in re.split(r"[;\n]", text or ""):
            rules += _clause_rules(_normalised(clause).strip(" .,"), cadence)
    except _NotUnderstood:
        return None
    return tuple(rules) or None
