"""Property-based tests of the agreement editor: for every field type a template can hold, whatever value a
member posts (hostile text, any Unicode, markup, quotes, NUL, right-to-left overrides, very long strings,
malformed numbers and dates) is either stored and read back exactly as sent (after the documented
normalisation: line breaks as "\\n", surrounding whitespace trimmed, an empty answer clears the field) and shown
escaped in the editor and the read-only view, or refused with a clear message next to the field, changing
nothing. Never a 500.

Each example goes through the real HTTP interface with CSRF on, as the editor's autosave posts it. The expected
outcome of each value is worked out here from the documented rules, independently of portal.domain.

Value field types are taken from the template format itself (VALUE_FIELD_TYPES): a new type without a property
here fails `test_every_value_field_type_has_a_property`. The other types (clause, acknowledgement, signatures)
hold nothing a pair types into the editor.
"""
from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from portal.domain.template_format import VALUE_FIELD_TYPES, parse_definition
from portal.domain.template_store import create_template, publish
from portal.extensions import db
from portal.models import Agreement, FieldValue
from tests.factories import make_agreement, make_pair, make_program, make_role, make_user, act_as
from tests.properties.conftest import DETERMINISTIC

HTMX = {"HX-Request": "true"}
SHORT_MAX, LONG_MAX, ITEM_MAX, MAX_ITEMS, OTHER_MAX = 200, 4_000, 100, 5, 200
NUMBER_MIN, NUMBER_MAX = -50, 500

PROPERTY_TEMPLATE = {
    "format": "mentorship-agreement-template", "format_version": 1,
    "name": "Properties", "title": "Properties of {program_name}", "intro": "",
    "sections": [{"key": "everything", "title": "Every value field", "intro": "", "fields": [
        {"key": "motto", "type": "short_text", "label": "Motto", "max_length": SHORT_MAX},
        {"key": "story", "type": "long_text", "label": "Story", "max_length": LONG_MAX},
        {"key": "goals", "type": "numbered_list", "label": "Goals", "item_label": "Goal", "min_items": 1,
         "max_items": MAX_ITEMS, "max_length": ITEM_MAX},
        {"key": "months", "type": "number", "label": "Months", "min": NUMBER_MIN, "max": NUMBER_MAX,
         "unit": "months"},
        {"key": "cadence", "type": "choice", "label": "We meet ____", "allow_other": True,
         "options": [{"value": "weekly", "label": "every week"}, {"value": "monthly", "label": "every month"}]},
        {"key": "modes", "type": "meeting_modes", "label": "Meetings", "allow_other": True,
         "modes": [{"key": "face_to_face", "label": "face to face"}, {"key": "phone", "label": "by phone"}]},
        {"key": "start", "type": "date", "label": "First meeting"},
    ]}],
}
FIELD_OF_TYPE = {f["type"]: f["key"] for f in PROPERTY_TEMPLATE["sections"][0]["fields"]}

# --- hostile text -------------------------------------------------------------------------------------------------

# Every snippet carries the marker "zq": no tag, attribute name or script may ever contain it in a page.
HOSTILE_SNIPPETS = [
    "<script>zq_alert(1)</script>", "<zqtag zqattr=1>", '"><zqtag zqattr="1">', "'><zqtag zqattr='1'>",
    '" zqattr="1', "' zqattr='1", "</textarea><zqtag>", "</title><zqtag>", '<img src=x onerror="zq()">',
    '<a href="javascript:zq()">x</a>', 'hx-get="/zq" hx-trigger="load"', "<svg onload=zq()>", "<!--zq-->",
    "<![CDATA[zq]]>", "{{ config }}", "{% if zq %}", "{program_name}", "&amp;zq&lt;", "&#60;zqtag&#62;",
    "\u202ezq\u202c", "\u200f\u2066zq\u2069", "\ufeff", "\u2028", "\u00a0", "\u0085", "\t", "\n", "\r\n", "\r",
    "  ", "**zq**", "- zq", "zq" * 3, "\U0001f600", "e\u0301", "\uffff", "\U0010fffd",
]
# Control characters other than tab and line breaks: refused wherever they are.
CONTROL_SNIPPETS = ["\x00", "\x07", "\x1b[31m", "\x7f", "\x0b", "\x1f"]
# Any code point but lone surrogates (which no browser can send as UTF-8), with or without control characters.
ANY_CHARACTER = st.characters(blacklist_categories=("Cs",))
VISIBLE_CHARACTER = st.one_of(st.characters(blacklist_categories=("Cs", "Cc")), st.sampled_from("\t\n\r"))


def hostile_text(max_size: int) -> st.SearchStrategy[str]:
    """Text a hostile or unlucky member could post: mostly markup, quotes, bidi overrides and any visible Unicode;
    sometimes control characters; sometimes exactly at the length limit or one past it."""
    visible = st.lists(st.one_of(st.sampled_from(HOSTILE_SNIPPETS), st.text(VISIBLE_CHARACTER, max_size=12)),
                       max_size=8).map("".join)
    with_controls = st.lists(st.one_of(st.sampled_from(HOSTILE_SNIPPETS + CONTROL_SNIPPETS),
                                       st.text(ANY_CHARACTER, max_size=12)), max_size=6).map("".join)
    # Right at the limit and one past it (trimming cannot bring it back: it ends in a letter).
    at_the_limit = st.integers(max_size - 2, max_size + 1).map(lambda n: ("<zqtag>\u202e" * max_size)[:n - 1] + "z")
    return st.one_of(visible, visible, visible, with_controls, at_the_limit).map(lambda text: text[:max_size + 50])


# --- the rules as the documentation states them ---------------------------------------------------------------

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Refused(Exception):
    """What the editor must answer: 422 with one of these messages next to the field, nothing stored."""

    def __init__(self, *messages: str):
        super().__init__(messages)
        self.messages = messages


def clean(text: str, max_length: int) -> str:
    """Line breaks as \\n, no control characters but tab and line breaks, trimmed, at most max_length."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if CONTROL.search(text):
        raise Refused("control characters")
    text = text.strip()
    if len(text) > max_length:
        raise Refused(f"keep it to {max_length:,}")
    return text


def whole_number(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not re.fullmatch(r"[+-]?\d{1,9}", raw):
        raise Refused("whole number")
    return int(raw)


# --- the world and the HTTP round trip -------------------------------------------------------------------------

@pytest.fixture
def editor(app):
    program = make_program(code="PRP", name="Property Program")
    mentor, mentee, supervisor = make_user(name="Maya Mentor"), make_user(name="Eli Mentee"), make_user()
    make_role(supervisor, program, "supervisor")
    version = publish(create_template(program, parse_definition(PROPERTY_TEMPLATE), None), None)
    db.session.commit()
    agreement = make_agreement(make_pair(program, mentor, mentee, supervisors=(supervisor,)), version)
    clients = {}
    for name, person in (("mentor", mentor), ("supervisor", supervisor)):
        clients[name] = app.test_client()
        act_as(clients[name], person)
    return agreement.id, clients


def stored(agreement_id: int, key: str):
    from portal.domain.agreements import read_fields
    from portal.domain.template_store import definition_of
    db.session.expire_all()
    agreement = db.session.get(Agreement, agreement_id)
    return read_fields(agreement, definition_of(agreement.template_version), True)[key].value


def field_version(agreement_id: int, key: str) -> int:
    db.session.expire_all()
    return db.session.scalar(db.select(FieldValue.version).where(
        FieldValue.agreement_id == agreement_id, FieldValue.field_key == key)) or 0


class Page(HTMLParser):
    """A page as a browser builds it: its elements with their attributes, and the text inside each element."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.parents: list[int | None] = []
        self.open: list[int] = []       # indexes into self.elements
        self.texts: dict[int, list[str]] = {}
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        self.parents.append(self.open[-1] if self.open else None)
        if tag not in ("input", "img", "br", "meta", "link", "hr"):
            self.open.append(len(self.elements) - 1)

    def handle_endtag(self, tag):
        for position in range(len(self.open) - 1, -1, -1):
            if self.elements[self.open[position]][0] == tag:
                del self.open[position:]
                break

    def handle_data(self, data):
        for index in self.open:
            self.texts.setdefault(index, []).append(data)

    def text_of(self, index: int) -> str:
        return "".join(self.texts.get(index, []))

    def inside(self, index: int, ancestor: int) -> bool:
        while index is not None:
            index = self.parents[index]
            if index == ancestor:
                return True
        return False

    def items(self, index: int) -> list[str]:
        """The texts of the list items inside an element, whitespace collapsed."""
        return [collapse(self.text_of(n)) for n, (tag, _) in enumerate(self.elements)
                if tag == "li" and self.inside(n, index)]

    def find(self, tag: str | None = None, **wanted: str) -> list[int]:
        return [n for n, (name, attrs) in enumerate(self.elements) if (tag is None or name == tag)
                and all(attrs.get(a.replace("_", "-") if a != "class_" else "class") == v
                        for a, v in wanted.items())]


def assert_nothing_injected(html: str) -> Page:
    """No element, attribute or script of the page comes from a value: the marker "zq" that every hostile snippet
    carries is only ever text or the value of a form input."""
    page = Page(html)
    # The CSRF token is random base64 and may hold "zq" by chance: it is not a value, so it is set aside.
    tokens = [attrs["content"] for tag, attrs in page.elements
              if tag == "meta" and attrs.get("name") == "csrf-token" and attrs.get("content")]
    for tag, attrs in page.elements:
        assert "zq" not in tag, f"an element came from a value: <{tag}>"
        for name, value in attrs.items():
            assert "zq" not in name, f"an attribute came from a value: {name}= on <{tag}>"
            for token in tokens:
                value = (value or "").replace(token, "")
            if name != "value":
                assert "zq" not in (value or ""), f"a value reached the attribute {name}= of <{tag}>"
    for n, (tag, _) in enumerate(page.elements):
        if tag in ("script", "style"):
            assert "zq" not in page.text_of(n), f"a value reached a <{tag}>"
    return page


def post(client, agreement_id: int, key: str, data: dict):
    return client.post(f"/agreements/{agreement_id}/fields/{key}", headers=HTMX,
                       data={**data, f"v-{key}": str(field_version(agreement_id, key))})


def collapse(text: str) -> str:
    return " ".join(text.split())


def check_round_trip(editor, key: str, data: dict, expect):
    """Post `data` as the editor does; `expect()` gives the stored value or raises Refused. Then check storage,
    the editor's field (inputs hold the value exactly), and the supervisor's read-only view (the value as text)."""
    agreement_id, clients = editor
    before = stored(agreement_id, key), field_version(agreement_id, key)
    try:
        expected, refusal = expect(), None
    except Refused as refused:
        expected, refusal = before[0], refused
    event("refused" if refusal else "stored" if expected not in (None, [], "") else "cleared")  # in --hypothesis-show-statistics
    response = post(clients["mentor"], agreement_id, key, data)
    body = response.get_data(as_text=True)
    if refusal is not None:
        assert response.status_code == 422, (response.status_code, body[:300])
        assert 'role="alert"' in body and any(message in body for message in refusal.messages), body[:500]
        assert (stored(agreement_id, key), field_version(agreement_id, key)) == before
        assert_nothing_injected(body)
        return None
    assert response.status_code == 200, (response.status_code, body[:500])
    assert stored(agreement_id, key) == expected
    fragment = clients["mentor"].get(f"/agreements/{agreement_id}/fields/{key}", headers=HTMX)
    assert fragment.status_code == 200
    editor_page = assert_nothing_injected(fragment.get_data(as_text=True))
    view = clients["supervisor"].get(f"/agreements/{agreement_id}")
    assert view.status_code == 200
    view_page = assert_nothing_injected(view.get_data(as_text=True))
    [block] = view_page.find("div", id=f"field-{key}")
    below = [n for n in view_page.find("div", class_="value") if view_page.inside(n, block)]
    if not below:  # written into the blank of its sentence ("We meet every week"): the filled parts are the value
        filled = [n for n in view_page.find("strong", class_="filled") if view_page.inside(n, block)]
        assert filled and expected not in (None, [], "")
        return expected, editor_page, ShownValue(collapse(" ".join(view_page.text_of(n) for n in filled)), [])
    [shown] = below
    return expected, editor_page, ShownValue(collapse(view_page.text_of(shown)), view_page.items(shown))


class ShownValue(str):
    """The read-only view's text of a value (whitespace collapsed), with its list items apart."""

    def __new__(cls, text: str, items: list[str]):
        shown = super().__new__(cls, text)
        shown.items = items
        return shown


def input_values(page: Page, name: str) -> list[str]:
    return [attrs.get("value") or "" for tag, attrs in page.elements if tag == "input" and attrs.get("name") == name]


def test_every_value_field_type_has_a_property():
    """Does every field type that stores a value have a property here (a new type must get one)?"""
    assert set(FIELD_OF_TYPE) == set(VALUE_FIELD_TYPES) == set(PROPERTIES)


# --- one property per field type -------------------------------------------------------------------------------

@settings(DETERMINISTIC, max_examples=30)
@given(text=hostile_text(SHORT_MAX))
def test_short_text_is_stored_as_typed_or_refused(editor, text):
    """Is any short text either stored trimmed on one line, held exactly by its input and shown as text, or
    refused with a message (control characters, too long, a line break)?"""
    def expect():
        cleaned = clean(text, SHORT_MAX)
        if "\n" in cleaned:
            raise Refused("Keep this answer on one line")
        return cleaned or None
    outcome = check_round_trip(editor, "motto", {"f-motto": text}, expect)
    if outcome:
        expected, editor_page, shown = outcome
        assert input_values(editor_page, "f-motto") == [expected or ""]
        assert shown == collapse(expected) if expected else shown == "Not filled in"


@settings(DETERMINISTIC, max_examples=30)
@given(text=hostile_text(LONG_MAX))
def test_long_text_is_stored_as_typed_or_refused(editor, text):
    """Is any long text either stored with its line breaks, held exactly by its textarea and shown as text, or
    refused with a message?"""
    outcome = check_round_trip(editor, "story", {"f-story": text}, lambda: clean(text, LONG_MAX) or None)
    if outcome:
        expected, editor_page, shown = outcome
        [area] = editor_page.find("textarea", name="f-story")
        assert editor_page.text_of(area) == (expected or "")
        assert shown == collapse(expected) if expected else shown == "Not filled in"


@settings(DETERMINISTIC, max_examples=25)
@given(items=st.one_of(st.lists(hostile_text(ITEM_MAX), max_size=MAX_ITEMS + 2),
                      st.lists(st.text(VISIBLE_CHARACTER, max_size=ITEM_MAX), max_size=MAX_ITEMS)))
def test_numbered_list_items_are_stored_as_typed_or_refused(editor, items):
    """Is any list of items either stored (empty items dropped, each trimmed) and shown item by item, or refused
    (too many items, an item too long or with control characters)?"""
    def expect():
        kept = [clean(item, ITEM_MAX) for item in items]
        kept = [item for item in kept if item]
        if len(kept) > MAX_ITEMS:
            raise Refused(f"List at most {MAX_ITEMS} items")
        return kept or None
    outcome = check_round_trip(editor, "goals", {"f-goals": items}, expect)
    if outcome:
        expected, editor_page, shown = outcome
        assert [v for v in input_values(editor_page, "f-goals") if v] == (expected or [])
        assert shown.items == [collapse(item) for item in expected or []]
        if not expected:
            assert shown == "Not filled in"


NUMBER_TEXT = st.one_of(
    st.integers(NUMBER_MIN - 20, NUMBER_MAX + 20).map(str),
    st.integers(-10 ** 12, 10 ** 12).map(str),
    st.integers(0, 999).map(lambda n: f" +{n} "),
    st.sampled_from(["", " ", "1e3", "3.0", "0x10", "--1", "1_000", "\u0663", "\uff11\uff12", "NaN", "12\x00",
                     "<zqtag>", "9" * 10, "-0"]),
    hostile_text(20),
)


@settings(DETERMINISTIC, max_examples=25)
@given(raw=NUMBER_TEXT)
def test_numbers_are_stored_as_whole_numbers_in_range_or_refused(editor, raw):
    """Is any text posted as a number either stored as the whole number it spells (within min..max) and shown
    with its unit, or refused as not a whole number or out of range?"""
    def expect():
        value = whole_number(raw)
        if value is not None and not NUMBER_MIN <= value <= NUMBER_MAX:
            raise Refused(f"Choose a number from {NUMBER_MIN} to {NUMBER_MAX} months")
        return value
    outcome = check_round_trip(editor, "months", {"f-months": raw}, expect)
    if outcome:
        expected, editor_page, shown = outcome
        assert input_values(editor_page, "f-months") == ["" if expected is None else str(expected)]
        assert shown == (f"{expected} months" if expected is not None else "Not filled in")


@settings(DETERMINISTIC, max_examples=25)
@given(option=st.one_of(st.sampled_from(["weekly", "monthly", "other", " weekly ", ""]), st.just("other"),
                        st.sampled_from(["yearly", "Weekly", "weekly\x00", "other "]), hostile_text(30)),
       other=hostile_text(OTHER_MAX))
def test_choices_are_one_of_the_options_or_a_free_answer(editor, option, other):
    """Is a choice stored only as one of the listed options, or "other" with its free text kept as typed, and
    anything else refused?"""
    def expect():
        chosen = option.strip()
        if not chosen:
            return None
        if chosen == "other":
            text = clean(other, OTHER_MAX)
            if not text:
                raise Refused("say what it is")
            return {"option": "other", "other_text": text}
        if chosen not in ("weekly", "monthly"):
            raise Refused("Choose one of the answers listed")
        return {"option": chosen, "other_text": ""}
    outcome = check_round_trip(editor, "cadence", {"f-cadence": option, "f-cadence-other": other}, expect)
    if outcome:
        expected, editor_page, shown = outcome
        checked = [a["value"] for t, a in editor_page.elements if t == "input" and a.get("name") == "f-cadence"
                   and "checked" in a]
        assert checked == ([expected["option"]] if expected else [])
        assert input_values(editor_page, "f-cadence-other") == [expected["other_text"] if expected else ""]
        labels = {"weekly": "every week", "monthly": "every month"}
        # "We meet ____": the read-only view writes the answer into the blank, a free answer as it was typed.
        assert shown == ((collapse(expected["other_text"]) if expected["option"] == "other"
                          else labels[expected["option"]]) if expected else "Not filled in")


COUNT_TEXT = st.one_of(st.integers(0, 365).map(str), st.just(""), st.integers(0, 20).map(str),
                       st.integers(-5, 400).map(str), st.sampled_from(["x", "1.5", "<zqtag>", "3\x00", " 7 ", "+2"]))


@settings(DETERMINISTIC, max_examples=25)
@given(face=COUNT_TEXT, phone=COUNT_TEXT, other=COUNT_TEXT, label=hostile_text(OTHER_MAX))
def test_meeting_counts_are_whole_numbers_with_an_honest_other_label(editor, face, phone, other, label):
    """Are meeting counts stored as whole numbers from 0 to 365 (an "other" count with its label as typed), and
    anything else refused with a message?"""
    def expect():
        counts = {key: whole_number(raw) for key, raw in (("face_to_face", face), ("phone", phone), ("other", other))}
        counts = {key: count for key, count in counts.items() if count is not None}
        if any(not 0 <= count <= 365 for count in counts.values()):
            raise Refused("from 0 to 365")
        text = clean(label, OTHER_MAX)
        if counts.get("other") and not text:
            raise Refused("say what kind")
        if not counts:
            return None
        return {"counts": counts, "other_label": text if "other" in counts else ""}
    data = {"f-modes-face_to_face": face, "f-modes-phone": phone, "f-modes-other": other,
            "f-modes-other_label": label}
    outcome = check_round_trip(editor, "modes", data, expect)
    if outcome:
        expected, editor_page, shown = outcome
        counts = expected["counts"] if expected else {}
        for key in ("face_to_face", "phone", "other"):
            assert input_values(editor_page, f"f-modes-{key}") == [str(counts.get(key, ""))]
        assert input_values(editor_page, "f-modes-other_label") == [expected["other_label"] if expected else ""]
        if expected:
            lines = [f"{counts[k]} {name}" for k, name in (("face_to_face", "face to face"), ("phone", "by phone"))
                     if k in counts]
            if "other" in counts:
                lines.append(f"{counts['other']} other ({expected['other_label']})")
            assert shown.items == [collapse(line) for line in lines]
        else:
            assert shown == "Not filled in"


DATE_TEXT = st.one_of(
    st.dates(date(1850, 1, 1), date(2250, 12, 31)).map(date.isoformat),
    st.dates(date(1900, 1, 1), date(2200, 12, 31)).map(lambda d: f" {d.isoformat()} "),
    st.sampled_from(["", "2026-02-30", "31/12/2026", "2026-1-5", "0000-00-00", "2026-02-03T10:00", "\u0662026-01-01",
                     "2026-02-03\x00", "<zqtag>"]),
    hostile_text(20),
)


@settings(DETERMINISTIC, max_examples=25)
@given(raw=DATE_TEXT)
def test_dates_are_stored_as_iso_dates_between_1900_and_2200_or_refused(editor, raw):
    """Is a date stored as YYYY-MM-DD when it is a real date from 1900 to 2200, and refused otherwise?"""
    def expect():
        text = raw.strip()
        if not text:
            return None
        try:
            parsed = date.fromisoformat(text)
        except ValueError:
            raise Refused("Enter the date as YYYY-MM-DD") from None
        if not 1900 <= parsed.year <= 2200:
            raise Refused("between the years 1900 and 2200")
        return parsed.isoformat()
    outcome = check_round_trip(editor, "start", {"f-start": raw}, expect)
    if outcome:
        expected, editor_page, shown = outcome
        assert input_values(editor_page, "f-start") == [expected or ""]
        assert shown == (expected or "Not filled in")


PROPERTIES = {
    "short_text": test_short_text_is_stored_as_typed_or_refused,
    "long_text": test_long_text_is_stored_as_typed_or_refused,
    "numbered_list": test_numbered_list_items_are_stored_as_typed_or_refused,
    "number": test_numbers_are_stored_as_whole_numbers_in_range_or_refused,
    "choice": test_choices_are_one_of_the_options_or_a_free_answer,
    "meeting_modes": test_meeting_counts_are_whole_numbers_with_an_honest_other_label,
    "date": test_dates_are_stored_as_iso_dates_between_1900_and_2200_or_refused,
}
