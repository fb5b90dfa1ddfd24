"""What a pair may store in each field type: parsing form input, validation, emptiness and display.

Value shapes follow docs/template-format.md. Drafts may leave fields empty; `missing_required` tells what must
be filled in before the agreement can be signed.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping

from portal.domain.template_format import OTHER, Field, TemplateDefinition

MAX_COUNT = 365              # meetings of one mode in a term
OTHER_TEXT_MAX = 200
# Control characters cannot be seen in a form and NUL cannot be stored in PostgreSQL: refuse them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class FieldValueError(ValueError):
    """A value that cannot be stored; the message is shown next to the field as it is."""


def input_name(field: Field, part: str = "") -> str:
    return f"f-{field.key}" + (f"-{part}" if part else "")


def input_names(field: Field) -> list[str]:
    """Every form name the field's inputs use."""
    if field.type == "choice":
        return [input_name(field), input_name(field, OTHER)]
    if field.type == "meeting_modes":
        names = [input_name(field, mode.key) for mode in field.modes]
        if field.allow_other:
            names += [input_name(field, OTHER), input_name(field, "other_label")]
        return names
    return [input_name(field)]


def _clean_text(text: str, max_length: int, what: str = "This answer") -> str:
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL.search(text):
        raise FieldValueError(f"{what} contains invisible control characters; remove them and try again.")
    text = text.strip()
    if len(text) > max_length:
        raise FieldValueError(f"{what} is {len(text):,} characters long; keep it to {max_length:,}.")
    return text


def _parse_int(raw: str, what: str) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"[+-]?\d{1,9}", raw):
        raise FieldValueError(f"{what} must be a whole number.")
    return int(raw)


def parse_form(field: Field, form: Mapping) -> Any:
    """Read this field's value out of submitted form data (a werkzeug MultiDict). Returns None for empty."""
    name = input_name(field)
    kind = field.type
    if kind in ("short_text", "long_text"):
        return validate(field, form.get(name, ""))
    if kind == "numbered_list":
        getter = getattr(form, "getlist", None)
        items = getter(name) if getter else form.get(name, [])
        return validate(field, list(items))
    if kind == "number":
        return validate(field, _parse_int(form.get(name, ""), "The answer"))
    if kind == "choice":
        option = (form.get(name) or "").strip()
        if not option:
            return None
        return validate(field, {"option": option, "other_text": form.get(input_name(field, "other"), "")})
    if kind == "meeting_modes":
        counts = {}
        for mode in field.modes:
            counts[mode.key] = _parse_int(form.get(input_name(field, mode.key), ""), f"The count for {mode.label}")
        if field.allow_other:
            counts[OTHER] = _parse_int(form.get(input_name(field, OTHER), ""), "The count for other")
        return validate(field, {"counts": counts, "other_label": form.get(input_name(field, "other_label"), "")})
    if kind == "date":
        return validate(field, (form.get(name) or "").strip())
    raise FieldValueError("This part of the agreement is not filled in here.")


def validate(field: Field, value: Any) -> Any:
    """Check a value (from a form, a renewal or an import) against the field; return its canonical form."""
    kind = field.type
    if value is None:
        return None
    if kind in ("short_text", "long_text"):
        if not isinstance(value, str):
            raise FieldValueError("This answer must be text.")
        text = _clean_text(value, field.option("max_length"))
        if kind == "short_text" and "\n" in text:
            raise FieldValueError("Keep this answer on one line.")
        return text or None
    if kind == "numbered_list":
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise FieldValueError("This answer must be a list of items.")
        label = field.option("item_label") or "Item"
        items = [_clean_text(item, field.option("max_length"), f"{label} {n}") for n, item in enumerate(value, 1)]
        items = [item for item in items if item]
        if len(items) > field.option("max_items"):
            raise FieldValueError(f"List at most {field.option('max_items')} items; there are {len(items)}.")
        return items or None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int):
            raise FieldValueError("The answer must be a whole number.")
        low, high = field.option("min"), field.option("max")
        if not low <= value <= high:
            unit = f" {field.option('unit')}" if field.option("unit") else ""
            raise FieldValueError(f"Choose a number from {low} to {high}{unit}.")
        return value
    if kind == "choice":
        if not isinstance(value, dict) or not isinstance(value.get("option"), str):
            raise FieldValueError("Choose one of the answers.")
        option = value["option"]
        allowed = {choice.value for choice in field.choices}
        if option == OTHER and field.allow_other:
            other_text = _clean_text(str(value.get("other_text") or ""), OTHER_TEXT_MAX, "Your other answer")
            if not other_text:
                raise FieldValueError("You chose \u201cother\u201d: say what it is.")
            return {"option": OTHER, "other_text": other_text}
        if option not in allowed:
            raise FieldValueError("Choose one of the answers listed.")
        return {"option": option, "other_text": ""}
    if kind == "meeting_modes":
        if not isinstance(value, dict) or not isinstance(value.get("counts"), dict):
            raise FieldValueError("Give a number of meetings for each way of meeting.")
        keys = [mode.key for mode in field.modes] + ([OTHER] if field.allow_other else [])
        counts = {}
        for key in keys:
            count = value["counts"].get(key)
            if count is None:
                continue
            if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
                raise FieldValueError(f"Each count must be a whole number from 0 to {MAX_COUNT}.")
            counts[key] = count
        unknown = set(value["counts"]) - set(keys)
        if unknown:
            raise FieldValueError("Only the ways of meeting listed can be counted.")
        other_label = _clean_text(str(value.get("other_label") or ""), OTHER_TEXT_MAX, "The other way of meeting")
        if counts.get(OTHER) and not other_label:
            raise FieldValueError("You counted \u201cother\u201d meetings: say what kind.")
        if not counts:
            return None
        return {"counts": counts, "other_label": other_label if OTHER in counts else ""}
    if kind == "date":
        if not isinstance(value, str):
            raise FieldValueError("Enter a date.")
        if not value:
            return None
        try:
            parsed = date.fromisoformat(value)
        except ValueError as error:
            raise FieldValueError("Enter the date as YYYY-MM-DD, for example 2026-03-01.") from error
        if not 1900 <= parsed.year <= 2200:
            raise FieldValueError("Enter a date between the years 1900 and 2200.")
        return parsed.isoformat()
    raise FieldValueError("This part of the agreement is not filled in here.")


def fingerprint(field: Field, value: Any) -> str:
    """A short digest of a value in its canonical form. A page carries the digest of each answer it shows
    (beside the answer's version), so that a submitted form tells which answers the person changed on that
    page: an answer that comes back with the digest it was shown with was not touched, whatever the partner
    did meanwhile."""
    try:
        value = validate(field, value)
    except FieldValueError:
        pass  # not a value the field accepts (say an old answer): digested as it is
    canonical = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def initial_value(field: Field) -> Any:
    """What a new agreement starts with: the suggested number (e.g. three months), otherwise nothing."""
    if field.type == "number":
        return field.option("suggested")
    return None


def missing_required(definition: TemplateDefinition, values: Mapping[str, Any]) -> list[Field]:
    """Required fields still empty (or lists with fewer than their minimum items): signing waits for them."""
    missing = []
    for field in definition.fields:
        if not field.stores_value or not field.required:
            continue
        value = values.get(field.key)
        if is_empty(value) or (field.type == "numbered_list" and len(value) < field.option("min_items")):
            missing.append(field)
    return missing


def display_text(field: Field, value: Any) -> str:
    """A value as one line of plain text (history, diffs, exports)."""
    if is_empty(value):
        return "(empty)"
    if field.type == "numbered_list":
        return "; ".join(f"{n}. {item}" for n, item in enumerate(value, 1))
    if field.type == "number":
        unit = field.option("unit")
        return f"{value} {unit}".strip()
    if field.type == "choice":
        if value["option"] == OTHER:
            return f"Other: {value['other_text']}"
        return next((c.label for c in field.choices if c.value == value["option"]), value["option"])
    if field.type == "meeting_modes":
        parts = [f"{value['counts'][m.key]} {m.label}" for m in field.modes if m.key in value["counts"]]
        if OTHER in value["counts"]:
            parts.append(f"{value['counts'][OTHER]} other ({value['other_label']})")
        return ", ".join(parts)
    return str(value)


LIST_ROWS_SHOWN_AT_ONCE = 10  # a list of up to this many items shows every row from the start


def list_rows(field: Field, items: list | None = None) -> int:
    """How many rows a numbered list shows for ``items``: every row of a short list; for a long one a row per
    item plus an empty one (more appear as the pair fills them in). The pair's editor and the builder's preview
    both ask here, so the preview starts exactly as short as the editor."""
    items = items or []
    most = field.option("max_items")
    rows = most if most <= LIST_ROWS_SHOWN_AT_ONCE else min(len(items) + 1, most)
    return max(rows, len(items))


@dataclass(frozen=True)
class Segment:
    text: str
    filled: bool = False  # a value written into a blank of the form's sentence


BLANK = re.compile(r"_{4,}")  # how a template's sentence marks a blank: "We will meet for ____ months."


def _says_unit(f: Field, after_blank: str) -> bool:
    """Does the sentence write the number's unit itself, right after the blank ("for ____ months.")?"""
    unit = f.option("unit") if f.type == "number" else ""
    return bool(unit) and after_blank.strip().lower().startswith(unit.lower())


@dataclass(frozen=True)
class BlankSentence:
    """A one-blank sentence that the field's input fills in place, as on paper: before, the input, after."""
    before: str
    after: str
    says_unit: bool  # the sentence writes the unit after the blank: the input is not followed by it again


def blank_in_sentence(f: Field, sentence: str) -> BlankSentence | None:
    """The sentence around the one blank of a short text, number or date field's label, for the editor and the
    builder's preview to put the input there; None when the label is asked above the input (no blank, several
    blanks, or a field of another type), as templates without blanks always were."""
    if f.type not in ("short_text", "number", "date"):
        return None
    parts = BLANK.split(sentence)
    if len(parts) != 2:
        return None
    return BlankSentence(parts[0], parts[1], _says_unit(f, parts[1]))


def fill_blanks(f: Field, sentence: str, value: Any) -> list[Segment] | None:
    """The form's sentence with the value written into its blanks ("1. Meet regularly and for 3 months."), when
    the value fits them exactly; None when the value is shown under the sentence instead. The PDF copies and
    the read-only agreement page both read a sentence this way."""
    parts = BLANK.split(sentence)
    blanks = len(parts) - 1
    if blanks == 0 or is_empty(value):
        return None
    if f.type == "meeting_modes":
        counts = value.get("counts", {})
        fills = [str(counts[m.key]) if m.key in counts else "0" for m in f.modes]
        if f.allow_other:
            fills += [str(counts.get(OTHER, 0)), value.get("other_label") or "\u2014"]
    elif f.type == "number" and blanks == 1:
        # "Meet for ____ months." has its unit after the blank; "We agree to meet for ____." does not.
        unit = f.option("unit")
        fills = [str(value) if _says_unit(f, parts[1]) or not unit else f"{value} {unit}"]
    elif f.type in ("short_text", "date") and blanks == 1:
        fills = [str(value)]
    elif f.type == "choice" and blanks == 1:  # the free answer as written: "meet every other week"
        fills = [value["other_text"] if value.get("option") == OTHER else display_text(f, value)]
    else:
        return None
    if len(fills) != blanks:
        return None
    segments = []
    for text, fill in zip(parts, fills + [None]):
        if text:
            segments.append(Segment(text))
        if fill is not None:
            segments.append(Segment(fill, filled=True))
    return segments
