"""The shipped WHPRMS and CCMC templates are faithful to their paper forms.

Each paper form is split into sentences and blanks. Every sentence must appear, in the form's order, in the
template's prose (names, intros, titles, labels, help, clause and acknowledgement texts); every blank must have a
value field (or a signature column) to fill it in. Comparison ignores case, spacing, list dashes and enclosing
parentheses, and reads every blank marker of the form (``____``, ``< list >``, ``<select a period: ...>`` ...)
as ``____``, which is how template labels mark a blank inside a sentence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from portal.domain.template_format import (
    Field,
    TemplateDefinition,
    dump_template_file,
    load_template_file,
    substitute_placeholders,
    value_fields,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_TEMPLATES = REPO_ROOT / "portal" / "shipped_templates"
SHARED_FORMS = REPO_ROOT.parent / "shared" / "forms"   # the originals, present in CI
COPIED_FORMS = REPO_ROOT / "tests" / "data" / "forms"  # verbatim copies, for checkouts without ../shared

FORMS = {"whprms": "whprms-mentor-partnership-agreement.txt", "ccmc": "ccmc-mentoring-agreement.txt"}
# What the placeholders print for the programs the paper forms were written for (the forms name their own
# program where the templates have {program_name}, so that another program never prints their name).
PROGRAM_VALUES = {"whprms": {"return_address": "president_elect@whprms.org", "program_name": "WHPRMS Mentor Program"},
                  "ccmc": {"return_address": "mentoring@ccmcertification.org",
                           "program_name": "Commission for Case Manager Certification"}}

# Prompts that end with a colon and are followed on paper by free space to write in. Text alone cannot tell
# them from colons that introduce something printed ("... we agree to:" introduces the numbered items), so they
# are listed here; a test checks that each is a sentence of the form, so the list cannot drift from it.
OPEN_PROMPTS = {
    "whprms": (
        "Goal:",
        "Our schedule for meetings will be:",
        "We have identified, and will commit to, the following specific opportunities and venues for learning:",
        "Our ground rules are:",
        "We will accomplish this by:",
    ),
    "ccmc": (),
}

BLANK = "____"
BLANK_MARKER = re.compile(r"<[^<>]*>|_{2,}")
SENTENCE_END = re.compile(r"(?<=[^\s\d][.?!])\s+(?=[A-Z(])")  # "1. Meet" is an item number, not an end
EMPTY_ITEM = re.compile(r"\s*-?\s*(?:(?P<word>[A-Za-z]+)\s+)?\d+\.?\s*")  # "- 1." or " - Goal 1"
LIST_DASH = re.compile(r"^\s*-\s+")
RULE_LINE = re.compile(r"[-\s]+")


def normalise(text: str) -> str:
    """Case, spacing, blank markers and enclosing parentheses do not matter when comparing prose."""
    text = " ".join(BLANK_MARKER.sub(BLANK, text).split())
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    return text.casefold()


@dataclass
class PaperForm:
    """What a paper form asks: its sentences in order, its blank lists, its signature lines."""

    sentences: list[str] = field(default_factory=list)           # normalised, blanks as ____
    item_runs: list[tuple[str, list[str | None]]] = field(default_factory=list)  # (heading line, item words)
    signature_rows: list[tuple[str, list[str]]] = field(default_factory=list)    # (role, column names)

    @property
    def blank_count(self) -> int:
        inline = sum(sentence.count(BLANK) for sentence in self.sentences)
        items = sum(len(words) for _, words in self.item_runs)
        columns = sum(len(columns) for _, columns in self.signature_rows)
        return inline + items + columns


def split_sentences(line: str) -> list[str]:
    return [s for s in (normalise(part) for part in SENTENCE_END.split(BLANK_MARKER.sub(BLANK, line))) if s]


def read_paper_form(name: str) -> PaperForm:
    form = PaperForm()
    previous_line = ""
    for raw_line in read_form_text(name).splitlines():
        if not raw_line.strip() or RULE_LINE.fullmatch(raw_line):
            continue
        if "Signature" in raw_line:
            columns = [c.strip() for c in raw_line.split("\t") if c.strip()]
            role = columns[0].split()[0].removesuffix("'s").lower()
            form.signature_rows.append((role, columns))
            continue
        item = EMPTY_ITEM.fullmatch(raw_line)
        if item:
            if not form.item_runs or form.item_runs[-1][0] != previous_line:
                form.item_runs.append((previous_line, []))
            form.item_runs[-1][1].append(item.group("word"))
            continue
        previous_line = raw_line
        form.sentences += split_sentences(LIST_DASH.sub("", raw_line))
    return form


def read_form_text(name: str) -> str:
    copies = [folder / FORMS[name] for folder in (SHARED_FORMS, COPIED_FORMS) if (folder / FORMS[name]).exists()]
    assert copies, f"{FORMS[name]} is in neither {SHARED_FORMS} nor {COPIED_FORMS}"
    return copies[0].read_text(encoding="utf-8")


def load_shipped(name: str) -> TemplateDefinition:
    return load_template_file((SHIPPED_TEMPLATES / f"{name}.json").read_bytes())


def prose_pieces(name: str) -> list[tuple[str, Field | None]]:
    """Every piece of prose of a shipped template, in template order, placeholders filled as a program would."""
    defn = load_shipped(name)
    pieces: list[tuple[str, Field | None]] = [(defn.name, None), (defn.title, None), (defn.intro, None)]
    for section in defn.sections:
        pieces += [(section.title, None), (section.intro, None)]
        for f in section.fields:
            pieces += [(f.label, f), (f.help, f), (f.text, f)]
            pieces += [(option.label, f) for option in f.choices] + [(mode.label, f) for mode in f.modes]
    return [(normalise(substitute_placeholders(text, PROGRAM_VALUES[name])), f) for text, f in pieces if text]


def slots(f: Field) -> int:
    """How many blanks of a paper form one field can fill."""
    if f.type == "numbered_list":
        return f.option("max_items")
    if f.type == "meeting_modes":
        return len(f.modes) + (2 if f.allow_other else 0)  # "other" has a count and its own label
    if f.type == "signatures":
        return len(f.signers) * (1 + f.option("printed_name") + f.option("date"))
    return 1 if f.stores_value else 0


# --- the forms and the template files themselves ---------------------------------------------------------------

@pytest.mark.parametrize("name", FORMS)
def test_form_copy_is_identical_to_the_shared_form(name):
    """Is the copy under tests/data/forms identical to the shared paper form wherever both exist?"""
    texts = {folder: (folder / FORMS[name]).read_bytes()
             for folder in (SHARED_FORMS, COPIED_FORMS) if (folder / FORMS[name]).exists()}
    assert COPIED_FORMS in texts, f"tests/data/forms/{FORMS[name]} is missing"
    assert len(set(texts.values())) == 1, f"tests/data/forms/{FORMS[name]} differs from {SHARED_FORMS}"


@pytest.mark.parametrize("name", FORMS)
def test_shipped_template_is_valid_and_canonical(name):
    """Does each shipped template load, and is its file exactly what the exporter writes?"""
    path = SHIPPED_TEMPLATES / f"{name}.json"
    assert path.read_text(encoding="utf-8") == dump_template_file(load_shipped(name))


@pytest.mark.parametrize("name", FORMS)
def test_open_prompts_are_sentences_of_the_form(name):
    """Is every listed open prompt really a sentence of the paper form?"""
    sentences = read_paper_form(name).sentences
    assert [p for p in OPEN_PROMPTS[name] if normalise(p) not in sentences] == []


# --- faithfulness -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", FORMS)
def test_every_sentence_of_the_form_is_in_the_template(name):
    """Does every sentence of the paper form appear in the template's prose?"""
    texts = [text for text, _ in prose_pieces(name)]
    missing = [s for s in read_paper_form(name).sentences if not any(s in text for text in texts)]
    assert not missing, "sentences of the form missing from the template:\n" + "\n".join(missing)


@pytest.mark.parametrize("name", FORMS)
def test_sentences_keep_the_form_order(name):
    """Do the form's sentences appear in the template in the same order as on paper?"""
    texts = [text for text, _ in prose_pieces(name)]
    position, out_of_order = 0, []
    for sentence in read_paper_form(name).sentences:
        if not any(sentence in text for text in texts):
            continue  # missing altogether: the test above names it
        found = next((i for i in range(position, len(texts)) if sentence in texts[i]), None)
        if found is None:
            out_of_order.append(sentence)
        else:
            position = found
    assert not out_of_order, "sentences found out of the form's order:\n" + "\n".join(out_of_order)


@pytest.mark.parametrize("name", FORMS)
def test_every_blank_in_a_sentence_is_a_value_field(name):
    """Is every sentence with a blank the label of a value field with room for each of its blanks?"""
    labels = [(normalise(substitute_placeholders(f.label, PROGRAM_VALUES[name])), f)
              for f in value_fields(load_shipped(name))]
    missing = []
    for sentence in read_paper_form(name).sentences:
        if BLANK not in sentence:
            continue
        holders = [f for label, f in labels if sentence in label]
        if not holders:
            missing.append(f"no value field has the label: {sentence}")
        elif slots(holders[0]) < sentence.count(BLANK):
            missing.append(f"{holders[0].key} has room for {slots(holders[0])} of the {sentence.count(BLANK)} "
                           f"blanks of: {sentence}")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("name", FORMS)
def test_every_open_prompt_is_a_value_field(name):
    """Does each prompt followed by free space on paper end the label of a value field?"""
    labels = [normalise(f.label) for f in value_fields(load_shipped(name))]
    missing = [p for p in OPEN_PROMPTS[name] if not any(label.endswith(normalise(p)) for label in labels)]
    assert not missing, "open prompts with no field to answer them:\n" + "\n".join(missing)


@pytest.mark.parametrize("name", FORMS)
def test_every_list_of_empty_items_is_a_numbered_list(name):
    """Is each run of empty numbered lines ("1." "2." "3.", "Goal 1" ...) a numbered list with room for them?"""
    lists = [f for f in value_fields(load_shipped(name)) if f.type == "numbered_list"]
    runs = read_paper_form(name).item_runs
    assert runs, "the form was expected to have empty numbered lines"
    missing = []
    for heading, words in runs:
        heading_sentences = split_sentences(LIST_DASH.sub("", heading))
        holder = next((f for f in lists if heading_sentences[0] in normalise(f.label)), None)
        if holder is None:
            missing.append(f"no numbered list is labelled: {heading_sentences[0]}")
            continue
        field_prose = normalise(holder.label) + " " + normalise(holder.help)
        missing += [f"{holder.key} lacks: {s}" for s in heading_sentences if s not in field_prose]
        if holder.option("max_items") < len(words):
            missing.append(f"{holder.key} allows {holder.option('max_items')} items; the form has {len(words)}")
        item_words = {w for w in words if w}
        if item_words and {holder.option("item_label")} != item_words:
            missing.append(f"{holder.key} names its items {holder.option('item_label')!r}, the form {item_words}")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("name", FORMS)
def test_template_has_room_for_every_blank(name):
    """Does the template have at least as many value slots and signature columns as the form has blanks?"""
    form = read_paper_form(name)
    blanks = form.blank_count + len(OPEN_PROMPTS[name])
    room = sum(slots(f) for f in load_shipped(name).fields)
    assert room >= blanks, f"the form has {blanks} blanks, the template room for {room}"


@pytest.mark.parametrize("name", FORMS)
def test_signature_block_matches_the_signature_lines(name):
    """Are the signers in the form's order, with exactly the form's columns (print name, date)?"""
    rows = read_paper_form(name).signature_rows
    signatures = load_shipped(name).signatures_field
    assert signatures is not None, "the template has no signatures field"
    form_order = [role for role, _ in rows]
    assert list(signatures.signers) == form_order, f"signers {signatures.signers}, the form {form_order}"
    for role, columns in rows:
        template_columns = ["signature"] + [name for name in ("printed_name", "date") if signatures.option(name)]
        form_columns = ["signature"] + [name for name, heading in (("printed_name", "Print name"), ("date", "Date"))
                                        if heading in columns]
        assert len(columns) == len(form_columns), f"unexpected columns on the {role}'s line: {columns}"
        assert template_columns == form_columns, f"{role}: the template has {template_columns}, the form {columns}"


def test_form_reading_finds_the_expected_blanks():
    """Does the form reader count the blanks a person counts on each form (so the checks above check something)?"""
    whprms, ccmc = read_paper_form("whprms"), read_paper_form("ccmc")
    # WHPRMS: months, 4 meeting counts and the "other" label, 3 objectives, 2 x (signature, print name, date)
    assert whprms.blank_count == 6 + 3 + 6
    # CCMC: 7 "<...>" blanks, Goal 1-3, 2 x (signature, date)
    assert ccmc.blank_count == 7 + 3 + 4
    assert [heading for heading, _ in whprms.item_runs] == ["Objectives:"]
    assert len(whprms.sentences) == 30 and len(ccmc.sentences) == 27


# --- specific promises of the shipped templates -----------------------------------------------------------------

def test_whprms_suggests_three_months():
    """Does WHPRMS pre-fill 3 months, say that three months is suggested, and allow 1 to 24?"""
    months = load_shipped("whprms").field("term_months")
    assert (months.type, months.option("suggested"), months.option("unit")) == ("number", 3, "months")
    assert (months.option("min"), months.option("max")) == (1, 24)
    assert months.help == "Three months is the suggested timeframe"


def test_whprms_return_address_comes_from_the_program():
    """Is the WHPRMS return address the {return_address} placeholder rather than a fixed address?"""
    keep_a_copy = load_shipped("whprms").field("keep_a_copy")
    assert keep_a_copy.text.endswith("This form should be returned to: {return_address}")
    assert "@" not in dump_template_file(load_shipped("whprms"))


def test_whprms_meeting_modes_match_the_form():
    """Does WHPRMS count face to face, phone and email meetings, plus other meetings with their own label?"""
    meetings = load_shipped("whprms").field("meeting_counts")
    assert [m.label for m in meetings.modes] == ["face to face", "by phone", "by email"]
    assert meetings.allow_other is True


def test_whprms_confidentiality_paragraphs_are_clauses():
    """Is each confidentiality paragraph of WHPRMS a clause of its own, after item 3?"""
    defn = load_shipped("whprms")
    keys = [f.key for f in defn.section("working_together").fields]
    clauses = keys[keys.index("confidentiality"):keys.index("ground_rules")]
    assert [defn.field(k).type for k in clauses] == ["clause"] * 4
    assert defn.field(clauses[-1]).text.endswith("are to be shared with supervisory personnel.")


def test_signer_orders_follow_the_forms():
    """Does WHPRMS list the mentor first and CCMC the mentee first, as their paper forms do?"""
    assert load_shipped("whprms").signatures_field.signers == ("mentor", "mentee")
    assert load_shipped("ccmc").signatures_field.signers == ("mentee", "mentor")


def test_ccmc_off_limits_topics_are_pair_only():
    """Is CCMC's list of off-limits topics pair-only, and the only pair-only field of either template?"""
    ccmc = load_shipped("ccmc")
    off_limits = ccmc.field("off_limits_topics")
    assert (off_limits.type, off_limits.pair_only) == ("numbered_list", True)
    assert [f.key for f in ccmc.fields if f.pair_only] == ["off_limits_topics"]
    assert [f.key for f in load_shipped("whprms").fields if f.pair_only] == []


def test_ccmc_release_is_an_acknowledgement_with_the_form_text():
    """Is CCMC's release an acknowledgement whose text is the form's last paragraph, word for word?"""
    release = load_shipped("ccmc").field("release")
    last_paragraph = read_form_text("ccmc").strip().splitlines()[-1]
    assert release.type == "acknowledgement"
    assert substitute_placeholders(release.text, PROGRAM_VALUES["ccmc"]) == last_paragraph


def test_ccmc_period_is_a_choice_with_other():
    """Is CCMC's meeting period a choice of daily, weekly or monthly, with another period allowed?"""
    period = load_shipped("ccmc").field("meeting_period")
    assert [o.value for o in period.choices] == ["daily", "weekly", "monthly"]
    assert period.allow_other is True and period.required is True


def test_ccmc_goals_are_numbered_goals_one_to_three():
    """Does CCMC ask for one to three goals, each called Goal?"""
    goals = load_shipped("ccmc").field("goals")
    assert (goals.option("min_items"), goals.option("max_items"), goals.option("item_label")) == (1, 3, "Goal")


@pytest.mark.parametrize("name", FORMS)
def test_no_shipped_template_prints_its_own_program_for_another(name):
    """Does each template call the program {program_name} wherever its paper form names its own program, so
    that a program adding it never prints WHPRMS's or CCMC's name?"""
    defn = load_shipped(name)
    own_names = ("WHPRMS", "CCMC", "Commission for Case Manager Certification")
    texts = [defn.title, defn.intro] + [t for s in defn.sections for t in (s.title, s.intro)] + [
        t for f in defn.fields for t in (f.label, f.help, f.text)]
    assert [t for t in texts if t and any(own in t for own in own_names)] == []
    assert any("{program_name}" in t for t in texts if t)
