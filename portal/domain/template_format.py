"""Agreement template definitions: the file format of docs/template-format.md as immutable Python objects.

Pure domain code (no Flask, no database, no request): parse and validate a definition, write it back in its
canonical form, read and write template files, substitute the named placeholders of prose, and describe the
differences between two versions for a program admin.

On disk a field's options sit next to its common attributes (``{"key": ..., "type": "number", "min": 1}``);
in Python they are gathered in ``Field.options``, a read-only mapping whose defaults are always filled in.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

FORMAT_MARKER = "mentorship-agreement-template"
FORMAT_VERSION = 1

FIELD_TYPES = (
    "short_text", "long_text", "numbered_list", "number", "choice", "meeting_modes", "date",
    "acknowledgement", "clause", "signatures",
)
# Types whose field holds nothing the pair fills in: the clause is fixed prose, the acknowledgement is accepted
# by each signer when signing, and the signature block is filled by signing.
NON_VALUE_FIELD_TYPES = ("acknowledgement", "clause", "signatures")
VALUE_FIELD_TYPES = tuple(t for t in FIELD_TYPES if t not in NON_VALUE_FIELD_TYPES)

PLACEHOLDERS = ("program_name", "return_address", "mentor_name", "mentee_name", "term_months")
SIGNER_ROLES = ("mentor", "mentee")
# The stored value of a choice or meeting_modes field uses "other" for the free answer, so no option or mode
# may be called that.
OTHER = "other"

# How a program admin calls each type and attribute (the builder, "changes since", the audit log): the file
# format's names (short_text, max_items) are for template files, never for a person reading a page.
TYPE_WORDS = {
    "short_text": "short text field", "long_text": "long text field", "numbered_list": "numbered list",
    "number": "number field", "choice": "choice field", "meeting_modes": "meeting modes field",
    "date": "date field", "acknowledgement": "acknowledgement", "clause": "clause", "signatures": "signature block",
}
ATTRIBUTE_WORDS = {
    "name": "name", "title": "title", "intro": "introduction", "key": "key", "type": "type", "label": "label",
    "help": "help text", "required": "required", "pair_only": "confidential to the pair",
    "max_length": "longest answer", "min_items": "fewest items", "max_items": "most items",
    "item_label": "item label", "min": "lowest allowed", "max": "highest allowed", "suggested": "suggested value",
    "unit": "unit", "options": "answers", "allow_other": "'other' offered", "modes": "ways of meeting",
    "text": "text", "signers": "order of the signature lines", "printed_name": "'printed name' column",
    "date": "'date' column",
}


def attribute_words(name: str, field_type: str = "") -> str:
    """An attribute or option as a program admin calls it ("max_items" -> "most items")."""
    if name == "max_length" and field_type == "numbered_list":
        return "longest item"
    return ATTRIBUTE_WORDS.get(name, name.replace("_", " "))


def type_words(field_type: str, article: bool = True) -> str:
    """A field type as a program admin calls it: "a short text field", "a signature block"."""
    words = TYPE_WORDS.get(field_type, field_type.replace("_", " "))
    return _a(words) if article else words


# A number field with this key is the agreement's term in months (see "The term" in docs/template-format.md).
TERM_FIELD_KEY = "term_months"
# Fields whose answer the portal copies into what the program reads, by (key, type), with why. "Confidential to
# the pair" is refused on them: the pair would be told "only the two of you see this" about an answer that
# supervisors and the program read (portal.policy.may_carry_value keeps other answers from loosening).
PROGRAM_NEEDED_FIELDS: dict[tuple[str, str], str] = {
    (TERM_FIELD_KEY, "number"): (
        "the program needs this answer: it is the agreement's term, which sets the term dates, the reminders and "
        "the review date, and which supervisors and the program read (pair page, agreement page, dashboard, the "
        "program's copy), so it cannot be confidential to the pair"),
}
KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,62}")  # always used with fullmatch: "$" would accept "key\n"
# NUL cannot be stored in a PostgreSQL text column, lone surrogates cannot be written as UTF-8, and the other
# control characters are invisible in a form: refuse them all (tab and line breaks are fine).
FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

MAX_FILE_BYTES = 256 * 1024
MAX_SECTIONS = 50
MAX_FIELDS = 300
MAX_TITLE_LENGTH = 200      # template name and title, section titles (agreement_template.name is 200 wide)
MAX_LABEL_LENGTH = 2_000    # field labels: a sentence or two of the form
MAX_TEXT_LENGTH = 20_000    # intros, help texts, clause and acknowledgement texts
MAX_SHORT_NAME_LENGTH = 100  # item_label, unit, and the labels of choice options and meeting modes
MAX_CHOICE_OPTIONS = 50
MAX_MEETING_MODES = 20
NUMBER_LIMIT = 1_000_000    # bound of a number field's min and max

# Options of each field type in their canonical order, with the default of each optional one (_REQUIRED: none).
_REQUIRED = object()
_OPTION_DEFAULTS: dict[str, dict[str, Any]] = {
    "short_text": {"max_length": 200},
    "long_text": {"max_length": 4_000},
    "numbered_list": {"min_items": 1, "max_items": 10, "item_label": "", "max_length": 500},
    "number": {"min": 0, "max": 1_000, "suggested": None, "unit": ""},
    "choice": {"options": _REQUIRED, "allow_other": False},
    "meeting_modes": {"modes": _REQUIRED, "allow_other": False},
    "date": {},
    "acknowledgement": {"text": _REQUIRED},
    "clause": {"text": _REQUIRED},
    "signatures": {"signers": SIGNER_ROLES, "printed_name": True, "date": True},
}
OPTION_NAMES: dict[str, tuple[str, ...]] = {t: tuple(options) for t, options in _OPTION_DEFAULTS.items()}
COMMON_FIELD_ATTRIBUTES = ("key", "type", "label", "help", "required", "pair_only")
SECTION_ATTRIBUTES = ("key", "title", "intro", "fields")
TEMPLATE_ATTRIBUTES = ("format", "format_version", "name", "title", "intro", "sections")


class TemplateFormatError(ValueError):
    """A template definition or file that cannot be used; ``problems`` lists every reason found.

    ``located`` holds the same problems as (location, message) pairs when the parser knows where each one is
    (the builder uses it to show a message next to the input it concerns); it is empty for file-level problems.
    """

    def __init__(self, problems: Iterable[str], located: Iterable[tuple[str, str]] = ()):
        self.problems = list(problems)
        self.located = list(located)
        if len(self.problems) == 1:
            message = f"Invalid template: {self.problems[0]}"
        else:
            message = f"Invalid template ({len(self.problems)} problems):\n" + "\n".join(
                f"- {problem}" for problem in self.problems)
        super().__init__(message)


# --- the definition as immutable objects ---------------------------------------------------------------------

class FrozenOptions(Mapping[str, Any]):
    """A field's options: a read-only, hashable mapping whose values are themselves immutable."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()):
        self._items = dict(items)

    def __getitem__(self, name: str) -> Any:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return f"FrozenOptions({self._items!r})"


@dataclass(frozen=True, slots=True)
class ChoiceOption:
    """One answer of a choice field."""

    value: str
    label: str


@dataclass(frozen=True, slots=True)
class MeetingMode:
    """One way of meeting in a meeting_modes field (face to face, phone ...)."""

    key: str
    label: str


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    type: str
    label: str
    help: str
    required: bool
    pair_only: bool
    options: FrozenOptions

    @property
    def stores_value(self) -> bool:
        """Does the pair fill this field in (as opposed to clause, acknowledgement and signatures)?"""
        return self.type in VALUE_FIELD_TYPES

    def option(self, name: str) -> Any:
        """The value of one option of this field's type (KeyError for a name the type does not have)."""
        return self.options[name]

    @property
    def text(self) -> str:
        """The prose of a clause or acknowledgement ("" for other types)."""
        return self.options.get("text", "")

    @property
    def choices(self) -> tuple[ChoiceOption, ...]:
        return self.options.get("options", ())

    @property
    def modes(self) -> tuple[MeetingMode, ...]:
        return self.options.get("modes", ())

    @property
    def signers(self) -> tuple[str, ...]:
        return self.options.get("signers", ())

    @property
    def allow_other(self) -> bool:
        return self.options.get("allow_other", False)


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: str
    intro: str
    fields: tuple[Field, ...]

    @property
    def value_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.stores_value)


@dataclass(frozen=True, slots=True)
class TemplateDefinition:
    name: str
    title: str
    intro: str
    sections: tuple[Section, ...]
    # Derived once from `sections` (a definition never changes): every page reads them per field, and a
    # published version's definition lives as long as the process (template_store caches it).
    fields: tuple[Field, ...] = dataclass_field(init=False, repr=False, compare=False, hash=False)
    _by_key: dict[str, Field] = dataclass_field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        every = tuple(f for section in self.sections for f in section.fields)
        object.__setattr__(self, "fields", every)  # every field of every section, in template order
        by_key: dict[str, Field] = {}
        for f in every:
            by_key.setdefault(f.key, f)  # the first one, as a scan in order would find
        object.__setattr__(self, "_by_key", by_key)

    def field(self, key: str) -> Field | None:
        return self._by_key.get(key)

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)

    def section_of(self, field_key: str) -> Section | None:
        """The section that holds the field with this key."""
        return next((s for s in self.sections if any(f.key == field_key for f in s.fields)), None)

    @property
    def signatures_field(self) -> Field | None:
        return next((f for f in self.fields if f.type == "signatures"), None)


def field_by_key(defn: TemplateDefinition, key: str) -> Field | None:
    """The field with this key, or None when the template has none."""
    return defn.field(key)


def value_fields(defn: TemplateDefinition) -> tuple[Field, ...]:
    """The fields the pair fills in, in template order."""
    return tuple(f for f in defn.fields if f.stores_value)


def pair_only_keys(defn: TemplateDefinition) -> frozenset[str]:
    """Keys of the fields whose values are confidential to the pair."""
    return frozenset(f.key for f in defn.fields if f.pair_only)


# --- parsing and validation ----------------------------------------------------------------------------------

def parse_definition(data: Any, *, stored: bool = False) -> TemplateDefinition:
    """Validate a decoded JSON template and return it with every default filled in.

    Raises TemplateFormatError listing every problem found, each naming where it is.
    """
    parser = _Parser(stored)
    definition = parser.template(data)
    if parser.problems or definition is None:
        raise TemplateFormatError(parser.problems or ["Template: not a valid template"], parser.located)
    return definition


def parse_stored_definition(data: Any) -> TemplateDefinition:
    """`parse_definition` for a definition the database already holds. A version saved before a field the
    program needs could no longer be pair-only may still say so; published versions never change (agreements
    and signatures are bound to their exact text), so the flag is read as off rather than refused: the portal
    must not tell the pair "only the two of you see this" about an answer the program reads."""
    return parse_definition(data, stored=True)


def pair_only_refusal(key: str | None, field_type: str | None) -> str | None:
    """Why a field of this key and type cannot be confidential to the pair (None: it can, if it holds a value)."""
    return PROGRAM_NEEDED_FIELDS.get((key, field_type))


def _shorten(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_kind(value: Any) -> str:
    """How a JSON value reads in a message: 'a list', 'the number 3', 'the boolean true' ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text '{_shorten(value)}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


_TYPED_FIELD = re.compile(r"\b(?:(an?) )?(" + "|".join(FIELD_TYPES) + r") field\b")
_ADMIN_PHRASES = {
    "set allow_other instead": "offer 'other' with a free answer instead",
    "(sections and fields share one key space)": "(sections and fields share one set of keys)",
    "This must be false: ": "This box cannot be ticked: ",
}
_UNDERSCORED_NAME = re.compile(r"\b(" + "|".join(n for n in ATTRIBUTE_WORDS if "_" in n) + r")\b")


def in_admin_words(message: str) -> str:
    """A message of parse_definition as the builder shows it: types and options in words ("a short_text field"
    -> "a short text field", "max_items" -> "'most items'"). Template files keep the format's names."""
    for phrase, words in _ADMIN_PHRASES.items():
        message = message.replace(phrase, words)
    message = _TYPED_FIELD.sub(lambda m: type_words(m.group(2), article=bool(m.group(1))), message)
    return _UNDERSCORED_NAME.sub(lambda m: f"'{attribute_words(m.group(1))}'", message)


def section_location(number: int, data: Any) -> str:
    """How problems name the section at this position (1-based), e.g. "Section 2 'Goals'"."""
    title = data.get("title") if isinstance(data, dict) else None
    if isinstance(title, str) and title.strip():
        return f"Section {number} '{_shorten(title)}'"
    return f"Section {number}"


def field_location(section_where: str, number: int, data: Any) -> str:
    """How problems name the field at this position of the section named ``section_where``."""
    key = data.get("key") if isinstance(data, dict) else None
    if isinstance(key, str) and key:
        return f"{section_where}, field {number} '{_shorten(key)}'"
    return f"{section_where}, field {number}"


class _Parser:
    """Collects every problem of one definition instead of stopping at the first."""

    def __init__(self, stored: bool = False) -> None:
        self.stored = stored  # reading what the database holds: see parse_stored_definition
        self.problems: list[str] = []
        self.located: list[tuple[str, str]] = []
        self.key_owners: dict[str, str] = {}  # key -> location of the section or field that uses it
        self.signatures_location: str | None = None

    def problem(self, location: str, message: str) -> None:
        self.problems.append(f"{location}: {message}")
        self.located.append((location, message))

    # Readers of one attribute. Each returns the value, the default when it is absent, or None when it is
    # invalid (the problem is then recorded, so None never reaches a returned definition).

    def text(self, obj: dict, name: str, location: str, *, max_length: int, required: bool = False,
             non_empty: bool = False, prose: bool = False) -> str | None:
        """``prose``: a text whose placeholders are filled in when it is shown (titles, intros, labels ...)."""
        if name not in obj:
            if required:
                self.problem(location, f"{name} is missing")
                return None
            return ""
        value = obj[name]
        if not isinstance(value, str):
            self.problem(location, f"{name} must be text, not {_json_kind(value)}")
            return None
        if non_empty and not value.strip():
            self.problem(location, f"{name} is empty")
        if len(value) > max_length:
            self.problem(location, f"{name} is {len(value):,} characters long; the limit is {max_length:,}")
        forbidden = FORBIDDEN_CHARACTERS.search(value)
        if forbidden:
            self.problem(location, f"{name} contains the control character U+{ord(forbidden.group()):04X}; "
                                   "only letters, punctuation, spaces, tabs and line breaks are allowed")
        if prose and not self.stored:  # stored before the rule: shown as saved, the publish checklist tells
            unknown = unknown_placeholders(value)
            if unknown:
                self.problem(location, f"{name} {unknown_placeholders_problem(unknown)}")
        return value

    def boolean(self, obj: dict, name: str, location: str, *, default: bool) -> bool | None:
        if name not in obj:
            return default
        value = obj[name]
        if not isinstance(value, bool):
            self.problem(location, f"{name} must be true or false, not {_json_kind(value)}")
            return None
        return value

    def integer(self, obj: dict, name: str, location: str, *, default: int | None, lowest: int,
                highest: int) -> int | None:
        if name not in obj:
            return default
        value = obj[name]
        # bool is a subclass of int in Python: true must not pass for 1.
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(location, f"{name} must be a whole number, not {_json_kind(value)}")
            return None
        if not lowest <= value <= highest:
            self.problem(location, f"{name} must be between {lowest} and {highest} (it is {value})")
            return None
        return value

    def list_of(self, obj: dict, name: str, location: str) -> list | None:
        """A required list attribute."""
        if name not in obj:
            self.problem(location, f"{name} is missing")
            return None
        value = obj[name]
        if not isinstance(value, list):
            self.problem(location, f"{name} must be a list, not {_json_kind(value)}")
            return None
        return value

    def refuse_unknown(self, obj: dict, allowed: Iterable[str], location: str, explanation: str) -> None:
        allowed = tuple(allowed)
        for name in obj:
            if name not in allowed:
                self.problem(location, f"unknown attribute '{_shorten(str(name))}' ({explanation})")

    def key(self, obj: dict, location: str) -> str | None:
        if "key" not in obj:
            self.problem(location, "key is missing")
            return None
        key = obj["key"]
        if not isinstance(key, str):
            self.problem(location, f"key must be text, not {_json_kind(key)}")
            return None
        if not KEY_PATTERN.fullmatch(key):
            self.problem(location, f"key '{_shorten(key)}' is not valid: a key is 1 to 63 lowercase letters "
                                   "(a-z), digits or underscores, starting with a letter")
            return None
        if key in self.key_owners:
            self.problem(location, f"duplicate key '{key}': {self.key_owners[key]} already uses it "
                                   "(sections and fields share one key space)")
            return None
        self.key_owners[key] = location
        return key

    # Readers of the document's parts.

    def template(self, data: Any) -> TemplateDefinition | None:
        where = "Template"
        if not isinstance(data, dict):
            self.problem(where, f"a template must be a JSON object, not {_json_kind(data)}")
            return None
        marker = data.get("format")
        if marker != FORMAT_MARKER:
            found = "it is missing" if "format" not in data else f"not {_json_kind(marker)}"
            self.problem(where, f"format must be '{FORMAT_MARKER}' ({found}): this is not an agreement template")
            return None  # not a template at all: its other contents say nothing useful
        version = data.get("format_version")
        if isinstance(version, bool) or not isinstance(version, int) or version != FORMAT_VERSION:
            found = "it is missing" if "format_version" not in data else f"it is {_json_kind(version)}"
            self.problem(where, f"format_version must be {FORMAT_VERSION} ({found}): "
                                f"this portal reads version {FORMAT_VERSION} of the template format")
            return None  # the shapes of another version are unknown
        self.refuse_unknown(data, TEMPLATE_ATTRIBUTES, where,
                            "a template has: " + ", ".join(TEMPLATE_ATTRIBUTES))
        name = self.text(data, "name", where, max_length=MAX_TITLE_LENGTH, required=True, non_empty=True)
        title = self.text(data, "title", where, max_length=MAX_TITLE_LENGTH, required=True, non_empty=True,
                          prose=True)
        intro = self.text(data, "intro", where, max_length=MAX_TEXT_LENGTH, prose=True)
        raw_sections = self.list_of(data, "sections", where)
        sections: list[Section] = []
        if raw_sections is not None:
            if not raw_sections:
                self.problem(where, "sections is empty: a template needs at least one section")
            if len(raw_sections) > MAX_SECTIONS:
                self.problem(where, f"it has {len(raw_sections)} sections; the limit is {MAX_SECTIONS}")
            for number, raw_section in enumerate(raw_sections, start=1):
                section = self.section(number, raw_section)
                if section is not None:
                    sections.append(section)
        all_fields = [f for section in sections for f in section.fields]
        if len(all_fields) > MAX_FIELDS:
            self.problem(where, f"it has {len(all_fields)} fields; the limit is {MAX_FIELDS}")
        return TemplateDefinition(name=name, title=title, intro=intro, sections=tuple(sections))

    def section(self, number: int, data: Any) -> Section | None:
        where = section_location(number, data)
        if not isinstance(data, dict):
            self.problem(where, f"a section must be an object, not {_json_kind(data)}")
            return None
        self.refuse_unknown(data, SECTION_ATTRIBUTES, where, "a section has: " + ", ".join(SECTION_ATTRIBUTES))
        key = self.key(data, where)
        title = self.text(data, "title", where, max_length=MAX_TITLE_LENGTH, required=True, non_empty=True,
                          prose=True)
        intro = self.text(data, "intro", where, max_length=MAX_TEXT_LENGTH, prose=True)
        raw_fields = self.list_of(data, "fields", where) or []
        fields = []
        for field_number, raw_field in enumerate(raw_fields, start=1):
            field = self.field(field_location(where, field_number, raw_field), raw_field)
            if field is not None:
                fields.append(field)
        return Section(key=key, title=title, intro=intro, fields=tuple(fields))

    def field(self, where: str, data: Any) -> Field | None:
        if not isinstance(data, dict):
            self.problem(where, f"a field must be an object, not {_json_kind(data)}")
            return None
        key = self.key(data, where)
        field_type = data.get("type")
        if "type" not in data:
            self.problem(where, "type is missing (one of: " + ", ".join(FIELD_TYPES) + ")")
        elif not isinstance(field_type, str):
            self.problem(where, f"type must be text, not {_json_kind(field_type)}")
        elif field_type not in FIELD_TYPES:
            self.problem(where, f"unknown field type '{_shorten(field_type)}' (known types: "
                                + ", ".join(FIELD_TYPES) + ")")
        label = self.text(data, "label", where, max_length=MAX_LABEL_LENGTH, prose=True)
        help_text = self.text(data, "help", where, max_length=MAX_TEXT_LENGTH, prose=True)
        required = self.boolean(data, "required", where, default=False)
        pair_only = self.boolean(data, "pair_only", where, default=False)
        if field_type not in FIELD_TYPES:
            return None  # its options cannot be checked without knowing the type

        if field_type == "signatures":
            if self.signatures_location is not None:
                self.problem(where, f"a template has at most one signatures field ({self.signatures_location} "
                                    "is one already)")
            else:
                self.signatures_location = where
        refusal = pair_only_refusal(key, field_type) if pair_only else None
        if refusal is not None:
            if self.stored:
                pair_only = False  # stored before the rule: read as shared, never claimed confidential
            else:
                self.problem(where, f"pair_only must be false: {refusal}")
        if field_type in VALUE_FIELD_TYPES:
            if label is not None and not label.strip():
                self.problem(where, f"label is empty: {_a(field_type)} field needs a label that says what the "
                                    "pair fills in")
        else:
            for flag, value in (("required", required), ("pair_only", pair_only)):
                if value:
                    self.problem(where, f"{flag} must be false: {_a(field_type)} field stores no value")

        option_names = OPTION_NAMES[field_type]
        for name in data:
            if name not in COMMON_FIELD_ATTRIBUTES and name not in option_names:
                known = ("its options are: " + ", ".join(option_names)) if option_names else "it has no options"
                self.problem(where, f"unknown option '{_shorten(str(name))}' for {_a(field_type)} field ({known})")
        options = _OPTION_READERS[field_type](self, data, where)
        return Field(key=key, type=field_type, label=label, help=help_text, required=required,
                     pair_only=pair_only, options=FrozenOptions(options))

    # Options of each type, returned in the canonical order of OPTION_NAMES.

    def text_options(self, data: dict, where: str, field_type: str, highest: int) -> dict:
        default = _OPTION_DEFAULTS[field_type]["max_length"]
        return {"max_length": self.integer(data, "max_length", where, default=default, lowest=1, highest=highest)}

    def short_text_options(self, data: dict, where: str) -> dict:
        return self.text_options(data, where, "short_text", highest=1_000)

    def long_text_options(self, data: dict, where: str) -> dict:
        return self.text_options(data, where, "long_text", highest=MAX_TEXT_LENGTH)

    def numbered_list_options(self, data: dict, where: str) -> dict:
        defaults = _OPTION_DEFAULTS["numbered_list"]
        min_items = self.integer(data, "min_items", where, default=defaults["min_items"], lowest=0, highest=50)
        max_items = self.integer(data, "max_items", where, default=defaults["max_items"], lowest=1, highest=50)
        if min_items is not None and max_items is not None and min_items > max_items:
            self.problem(where, f"min_items ({min_items}) is more than max_items ({max_items})")
        return {
            "min_items": min_items,
            "max_items": max_items,
            "item_label": self.text(data, "item_label", where, max_length=MAX_SHORT_NAME_LENGTH),
            "max_length": self.integer(data, "max_length", where, default=defaults["max_length"], lowest=1,
                                       highest=4_000),
        }

    def number_options(self, data: dict, where: str) -> dict:
        defaults = _OPTION_DEFAULTS["number"]
        lowest = self.integer(data, "min", where, default=defaults["min"], lowest=-NUMBER_LIMIT,
                              highest=NUMBER_LIMIT)
        highest = self.integer(data, "max", where, default=defaults["max"], lowest=-NUMBER_LIMIT,
                               highest=NUMBER_LIMIT)
        suggested = None
        if data.get("suggested") is not None:  # null and absent both mean "nothing pre-filled"
            suggested = self.integer(data, "suggested", where, default=None, lowest=-NUMBER_LIMIT,
                                     highest=NUMBER_LIMIT)
        if lowest is not None and highest is not None:
            if lowest > highest:
                self.problem(where, f"min ({lowest}) is more than max ({highest})")
            elif suggested is not None and not lowest <= suggested <= highest:
                self.problem(where, f"suggested ({suggested}) is outside min..max ({lowest}..{highest})")
        return {"min": lowest, "max": highest, "suggested": suggested,
                "unit": self.text(data, "unit", where, max_length=MAX_SHORT_NAME_LENGTH)}

    def labelled_entries(self, data: dict, where: str, *, list_name: str, id_name: str, noun: str,
                         field_type: str, limit: int) -> list[tuple[str, str]]:
        """The [{id_name, "label"}, ...] list of a choice or meeting_modes field, as (id, label) pairs."""
        raw_entries = self.list_of(data, list_name, where)
        if raw_entries is None:
            return []
        if not raw_entries:
            self.problem(where, f"{list_name} is empty: a {field_type} field needs at least one {noun}")
        if len(raw_entries) > limit:
            self.problem(where, f"it has {len(raw_entries)} {list_name}; the limit is {limit}")
        entries: list[tuple[str, str]] = []
        numbers_by_id: dict[str, int] = {}
        numbers_by_label: dict[str, int] = {}
        for number, raw in enumerate(raw_entries, start=1):
            entry_where = f"{where}, {noun} {number}"
            if not isinstance(raw, dict):
                self.problem(entry_where, f"a {noun} must be an object with {id_name} and label, "
                                          f"not {_json_kind(raw)}")
                continue
            self.refuse_unknown(raw, (id_name, "label"), entry_where, f"a {noun} has: {id_name}, label")
            ident = self.text(raw, id_name, entry_where, max_length=63, required=True)
            label = self.text(raw, "label", entry_where, max_length=MAX_SHORT_NAME_LENGTH, required=True,
                              non_empty=True)
            if ident is not None:
                if not KEY_PATTERN.fullmatch(ident):
                    self.problem(entry_where, f"{id_name} '{_shorten(ident)}' is not valid: 1 to 63 lowercase "
                                              "letters (a-z), digits or underscores, starting with a letter")
                elif ident == OTHER:
                    self.problem(entry_where, f"{id_name} '{OTHER}' is reserved for the free answer: "
                                              "set allow_other instead")
                elif ident in numbers_by_id:
                    self.problem(entry_where, f"duplicate {id_name} '{ident}' (also {noun} "
                                              f"{numbers_by_id[ident]})")
                else:
                    numbers_by_id[ident] = number
            if label and label.strip():
                folded = " ".join(label.split()).casefold()
                if folded in numbers_by_label:
                    self.problem(entry_where, f"duplicate label '{_shorten(label)}' (also {noun} "
                                              f"{numbers_by_label[folded]})")
                else:
                    numbers_by_label[folded] = number
            entries.append((ident, label))
        return entries

    def choice_options(self, data: dict, where: str) -> dict:
        entries = self.labelled_entries(data, where, list_name="options", id_name="value", noun="option",
                                        field_type="choice", limit=MAX_CHOICE_OPTIONS)
        return {"options": tuple(ChoiceOption(value, label) for value, label in entries),
                "allow_other": self.boolean(data, "allow_other", where, default=False)}

    def meeting_modes_options(self, data: dict, where: str) -> dict:
        entries = self.labelled_entries(data, where, list_name="modes", id_name="key", noun="mode",
                                        field_type="meeting_modes", limit=MAX_MEETING_MODES)
        return {"modes": tuple(MeetingMode(key, label) for key, label in entries),
                "allow_other": self.boolean(data, "allow_other", where, default=False)}

    def date_options(self, data: dict, where: str) -> dict:
        return {}

    def prose_options(self, data: dict, where: str) -> dict:
        return {"text": self.text(data, "text", where, max_length=MAX_TEXT_LENGTH, required=True, prose=True,
                                  non_empty=True)}

    def signatures_options(self, data: dict, where: str) -> dict:
        signers = data.get("signers", list(_OPTION_DEFAULTS["signatures"]["signers"]))
        is_permutation = (isinstance(signers, list) and all(isinstance(s, str) for s in signers)
                          and sorted(signers) == sorted(SIGNER_ROLES))
        if not is_permutation:
            shown = json.dumps(signers, ensure_ascii=False, default=str) if isinstance(signers, list) else _json_kind(signers)
            self.problem(where, "signers must list 'mentor' and 'mentee' once each, in the order the form "
                                f"lists them (it is {_shorten(shown, 80)})")
            signers = None
        return {
            "signers": tuple(signers) if signers is not None else None,
            "printed_name": self.boolean(data, "printed_name", where, default=True),
            "date": self.boolean(data, "date", where, default=True),
        }


_OPTION_READERS = {
    "short_text": _Parser.short_text_options,
    "long_text": _Parser.long_text_options,
    "numbered_list": _Parser.numbered_list_options,
    "number": _Parser.number_options,
    "choice": _Parser.choice_options,
    "meeting_modes": _Parser.meeting_modes_options,
    "date": _Parser.date_options,
    "acknowledgement": _Parser.prose_options,
    "clause": _Parser.prose_options,
    "signatures": _Parser.signatures_options,
}


# --- writing the canonical form ------------------------------------------------------------------------------

def _option_to_json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_option_to_json(item) for item in value]
    if isinstance(value, ChoiceOption):
        return {"value": value.value, "label": value.label}
    if isinstance(value, MeetingMode):
        return {"key": value.key, "label": value.label}
    return value


def _field_to_dict(field: Field) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": field.key, "type": field.type, "label": field.label, "help": field.help,
        "required": field.required, "pair_only": field.pair_only,
    }
    for name in OPTION_NAMES[field.type]:  # every option, defaults included, in canonical order
        data[name] = _option_to_json(field.options[name])
    return data


def definition_to_dict(defn: TemplateDefinition) -> dict[str, Any]:
    """The canonical JSON form: every attribute explicit, keys in the order of the format document."""
    return {
        "format": FORMAT_MARKER,
        "format_version": FORMAT_VERSION,
        "name": defn.name,
        "title": defn.title,
        "intro": defn.intro,
        "sections": [
            {"key": s.key, "title": s.title, "intro": s.intro, "fields": [_field_to_dict(f) for f in s.fields]}
            for s in defn.sections
        ],
    }


# --- template files ------------------------------------------------------------------------------------------

class _DuplicateName(ValueError):
    pass


class _NotANumber(ValueError):
    pass


def _refuse_duplicate_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads silently keeps the last of two equal names; a template where "required" appears twice is
    # ambiguous, so refuse it.
    obj: dict[str, Any] = {}
    for name, value in pairs:
        if name in obj:
            raise _DuplicateName(name)
        obj[name] = value
    return obj


def _refuse_constant(name: str) -> Any:
    raise _NotANumber(name)  # NaN, Infinity, -Infinity: Python accepts them, JSON does not


def _size(byte_count: int) -> str:
    return f"{byte_count / 1024:,.1f} KiB" if byte_count >= 1024 else f"{byte_count} bytes"


def load_template_file(raw: bytes | str, max_bytes: int = MAX_FILE_BYTES) -> TemplateDefinition:
    """Read an exported template file (UTF-8 JSON); refuse anything that is not a valid template."""
    if isinstance(raw, str):
        # Measure in UTF-8 bytes, as the file was; a string with more characters than the limit is too large
        # whatever its encoding, so skip encoding it.
        size = len(raw) if len(raw) > max_bytes else len(raw.encode("utf-8", "surrogatepass"))
        text = raw
    elif isinstance(raw, (bytes, bytearray, memoryview)):
        raw = bytes(raw)
        size = len(raw)
        text = None
    else:
        raise TypeError(f"a template file is bytes or str, not {type(raw).__name__}")
    if size > max_bytes:
        raise TemplateFormatError([f"The file is too large (at least {_size(size)}); the limit is "
                                   f"{_size(max_bytes)}"])
    if text is None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise TemplateFormatError([f"The file is not valid UTF-8 text (byte 0x{raw[error.start]:02x} at "
                                       f"position {error.start}); save it as UTF-8"]) from None
    text = text.removeprefix("\ufeff")  # a byte order mark that some editors add
    try:
        data = json.loads(text, object_pairs_hook=_refuse_duplicate_names, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise TemplateFormatError([f"The file is not valid JSON: {error.msg} at line {error.lineno}, "
                                   f"column {error.colno}"]) from None
    except _DuplicateName as error:
        raise TemplateFormatError([f"The file is not valid JSON for a template: the name '{_shorten(str(error))}' "
                                   "appears twice in one object"]) from None
    except _NotANumber as error:
        raise TemplateFormatError([f"The file is not valid JSON: {error} is not a JSON number"]) from None
    except RecursionError:
        raise TemplateFormatError(["The file is not valid JSON for a template: it is nested too deeply"]) from None
    except ValueError as error:  # e.g. an integer with more digits than Python converts
        raise TemplateFormatError([f"The file is not valid JSON for a template: {error}"]) from None
    if not isinstance(data, dict):
        raise TemplateFormatError([f"The file must hold one JSON object (the template), not {_json_kind(data)}"])
    return parse_definition(data)


def dump_template_file(defn: TemplateDefinition) -> str:
    """The template as an exported file: canonical JSON, indented, non-ASCII text kept readable."""
    return json.dumps(definition_to_dict(defn), indent=2, ensure_ascii=False) + "\n"


# --- placeholders ---------------------------------------------------------------------------------------------

_PLACEHOLDER_PATTERN = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
# Anything written like a placeholder ("{mentor}", "{ Mentor_Name }"): one that is not exactly a known
# placeholder would be printed literally into the agreement, so it is refused where it is typed. Double braces
# ("{{ config }}") are not the placeholder syntax: they stay literal text, as written.
_PLACEHOLDER_LIKE = re.compile(r"(?<!\{)\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}(?!\})")


def unknown_placeholders(text: str) -> list[str]:
    """The placeholder-like ``{words}`` of ``text`` that are not placeholders, in order, each once."""
    found: list[str] = []
    for match in _PLACEHOLDER_LIKE.finditer(text):
        written = match.group(0)
        if written[1:-1] not in PLACEHOLDERS and written not in found:
            found.append(written)
    return found


def unknown_placeholders_problem(unknown: Iterable[str]) -> str:
    """How a text with unknown placeholders is explained: what was written, and what exists."""
    unknown = list(unknown)
    written = ", ".join(unknown)
    known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    noun = "is not a placeholder" if len(unknown) == 1 else "are not placeholders"
    return (f"uses {written}, which {noun} and would be printed as it is. The placeholders are: {known} "
            "(written exactly so)")


def substitute_placeholders(text: str, values: Mapping[str, str]) -> str:
    """Replace the known ``{name}`` placeholders that ``values`` gives; leave every other brace as it is.

    Plain text replacement, never a template engine, so ``{{ config }}`` or ``{% if %}`` stay literal. One pass:
    a value that itself contains ``{mentee_name}`` (a mentor could be called that) is not substituted again.
    """
    def replacement(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(values[name]) if name in values else match.group(0)

    return _PLACEHOLDER_PATTERN.sub(replacement, text)


# --- differences between two versions -------------------------------------------------------------------------

CHANGE_KINDS = (
    "template_changed", "section_added", "section_removed", "section_moved", "section_changed",
    "field_added", "field_removed", "field_moved", "field_changed",
)


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two versions of a template, worded for a program admin.

    ``detail`` shortens long texts; ``old`` and ``new`` hold the full values (JSON form) of a changed attribute.
    """

    kind: str      # one of CHANGE_KINDS
    location: str  # e.g. "Section 2 'Goals', field 3 'Objectives'"
    detail: str    # e.g. "most items changed from 3 to 5"
    old: Any = None
    new: Any = None


def _show(value: Any) -> str:
    """A value as it reads in a change's detail."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, str):
        return f"'{_shorten(value, 80)}'" if value else "(empty)"
    if isinstance(value, tuple):
        if not value:
            return "(none)"
        return ", ".join(
            f"{item.value} '{item.label}'" if isinstance(item, ChoiceOption)
            else f"{item.key} '{item.label}'" if isinstance(item, MeetingMode)
            else str(item)
            for item in value)
    return str(value)


def _moved_keys(old_order: list[str], new_order: list[str]) -> set[str]:
    """Keys present in both orders that are not on a longest common subsequence: the ones that moved.

    A field inserted or removed shifts the positions of the others without moving them; only a real change of
    relative order counts.
    """
    common = set(old_order) & set(new_order)
    old_keys = [k for k in old_order if k in common]
    new_keys = [k for k in new_order if k in common]
    lengths = [[0] * (len(new_keys) + 1) for _ in range(len(old_keys) + 1)]
    for i in range(len(old_keys) - 1, -1, -1):
        for j in range(len(new_keys) - 1, -1, -1):
            lengths[i][j] = (lengths[i + 1][j + 1] + 1 if old_keys[i] == new_keys[j]
                             else max(lengths[i + 1][j], lengths[i][j + 1]))
    kept: set[str] = set()
    i = j = 0
    while i < len(old_keys) and j < len(new_keys):
        if old_keys[i] == new_keys[j]:
            kept.add(old_keys[i])
            i, j = i + 1, j + 1
        elif lengths[i][j + 1] >= lengths[i + 1][j]:
            j += 1  # on a tie, call the one that came forward in the new order "moved" (what was dragged up)
        else:
            i += 1
    return common - kept


def _section_label(number: int, section: Section) -> str:
    return f"Section {number} '{_shorten(section.title)}'"


def field_name(field: Field) -> str:
    """How a page names a field: its label (or a clause's text), else its type in words; never its key."""
    text = " ".join((field.label or field.text).replace("____", "\u2026").split())
    return f"'{_shorten(text)}'" if text else type_words(field.type, article=False)


def _field_label(section_label: str, number: int, field: Field) -> str:
    return f"{section_label}, field {number} {field_name(field)}"


def _field_summary(field: Field) -> str:
    described = f" {_show(field.label or field.text)}" if (field.label or field.text) else ""
    return f"{type_words(field.type)}{described}"


def _attribute_changes(location: str, kind: str, old: Any, new: Any, names: Iterable[str],
                       field_type: str = "") -> list[Change]:
    changes = []
    for name in names:
        old_value, new_value = getattr(old, name), getattr(new, name)
        if old_value != new_value:
            if name == "type":
                detail = f"type changed from {type_words(old_value)} to {type_words(new_value)}"
            else:
                detail = (f"{attribute_words(name, field_type)} changed from {_show(old_value)} "
                          f"to {_show(new_value)}")
            changes.append(Change(kind, location, detail, old_value, new_value))
    return changes


def _field_changes(location: str, old: Field, new: Field) -> list[Change]:
    changes = _attribute_changes(location, "field_changed", old, new,
                                 ("type", "label", "help", "required", "pair_only"))
    for name in dict.fromkeys([*new.options, *old.options]):  # new type's options first, then dropped ones
        old_value, new_value = old.options.get(name), new.options.get(name)
        if name not in old.options:
            detail = f"{attribute_words(name, new.type)} added: {_show(new_value)}"
        elif name not in new.options:
            detail = f"{attribute_words(name, old.type)} dropped (was {_show(old_value)})"
        elif old_value != new_value:
            detail = f"{attribute_words(name, new.type)} changed from {_show(old_value)} to {_show(new_value)}"
        else:
            continue
        changes.append(Change("field_changed", location, detail, _option_to_json(old_value),
                              _option_to_json(new_value)))
    return changes


def diff_definitions(old: TemplateDefinition, new: TemplateDefinition) -> list[Change]:
    """What changed from ``old`` to ``new``, in the order of the new definition.

    Sections and fields are matched by key. Removed fields are listed at the end of the section that held them;
    removed sections (with the fields that went with them) at the very end.
    """
    changes = _attribute_changes("Template", "template_changed", old, new, ("name", "title", "intro"))

    old_sections = {s.key: (number, s) for number, s in enumerate(old.sections, start=1)}
    new_section_keys = {s.key for s in new.sections}
    # field key -> (section key, position in section, field), for both versions
    old_fields = {f.key: (s.key, number, f) for s in old.sections for number, f in enumerate(s.fields, start=1)}
    new_fields = {f.key: (s.key, number, f) for s in new.sections for number, f in enumerate(s.fields, start=1)}
    moved_sections = _moved_keys([s.key for s in old.sections], [s.key for s in new.sections])

    for section_number, section in enumerate(new.sections, start=1):
        where = _section_label(section_number, section)
        if section.key not in old_sections:
            listing = ", ".join(_field_summary(f) for f in section.fields) or "none"
            changes.append(Change("section_added", where, f"section added (fields: {listing})"))
        else:
            old_number, old_section = old_sections[section.key]
            if section.key in moved_sections:
                changes.append(Change("section_moved", where,
                                      f"section moved from position {old_number} to position {section_number}",
                                      old_number, section_number))
            changes += _attribute_changes(where, "section_changed", old_section, section, ("title", "intro"))

        stayed_in_section = [f.key for f in section.fields
                             if f.key in old_fields and old_fields[f.key][0] == section.key]
        old_order = [f.key for f in old_sections[section.key][1].fields] if section.key in old_sections else []
        moved_within = _moved_keys(old_order, stayed_in_section)

        for field_number, field in enumerate(section.fields, start=1):
            field_where = _field_label(where, field_number, field)
            if field.key not in old_fields:
                changes.append(Change("field_added", field_where, f"field added: {_field_summary(field)}"))
                continue
            old_section_key, old_number, old_field = old_fields[field.key]
            if old_section_key != section.key:
                old_section_number, old_section = old_sections[old_section_key]
                changes.append(Change(
                    "field_moved", field_where,
                    f"field moved here from {_section_label(old_section_number, old_section)} "
                    f"(it was field {old_number} there)", old_section_key, section.key))
            elif field.key in moved_within:
                changes.append(Change("field_moved", field_where,
                                      f"field moved within the section from position {old_number} "
                                      f"to position {field_number}", old_number, field_number))
            changes += _field_changes(field_where, old_field, field)

        if section.key in old_sections:
            old_number, old_section = old_sections[section.key]
            for number, old_field in enumerate(old_section.fields, start=1):
                if old_field.key not in new_fields:
                    changes.append(Change("field_removed",
                                          _field_label(_section_label(old_number, old_section), number, old_field),
                                          f"field removed (was {_field_summary(old_field)})"))

    for old_number, old_section in enumerate(old.sections, start=1):
        if old_section.key not in new_section_keys:
            gone = [_field_summary(f) for f in old_section.fields if f.key not in new_fields]
            if gone:
                listing = f"with its fields: {', '.join(gone)}"
            elif old_section.fields:
                listing = "its fields moved to other sections"
            else:
                listing = "it had no fields"
            changes.append(Change("section_removed", _section_label(old_number, old_section),
                                  f"section removed ({listing})"))
    return changes
