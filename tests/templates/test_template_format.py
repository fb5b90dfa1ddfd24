"""The template file format (docs/template-format.md): validation, canonical form, files, placeholders, diff."""
from __future__ import annotations

import copy
import dataclasses
import json

import pytest

from portal.domain.template_format import (
    FIELD_TYPES,
    PLACEHOLDERS,
    VALUE_FIELD_TYPES,
    ChoiceOption,
    MeetingMode,
    TemplateFormatError,
    definition_to_dict,
    diff_definitions,
    dump_template_file,
    field_by_key,
    load_template_file,
    pair_only_keys,
    parse_definition,
    substitute_placeholders,
    value_fields,
)


# --- builders of template documents (plain dicts, as a file would hold them) ---------------------------------

def field(key, type_="short_text", label=None, **attributes):
    data = {"key": key, "type": type_}
    if label is None and type_ in VALUE_FIELD_TYPES:
        label = f"Label of {key}"
    if label is not None:
        data["label"] = label
    data.update(attributes)
    return data


def section(key, *fields, title=None, **attributes):
    return {"key": key, "title": title or key.replace("_", " ").capitalize(), "fields": list(fields),
            **attributes}


def template(*sections, **attributes):
    return {"format": "mentorship-agreement-template", "format_version": 1, "name": "Test template",
            "title": "Test template", "sections": list(sections) or [section("main", field("goal"))],
            **attributes}


def sample_template():
    """A small template that uses every field type once."""
    return template(
        section("goals", field("goal", "long_text", required=True),
                field("objectives", "numbered_list", min_items=1, max_items=3, item_label="Objective"),
                title="Goals"),
        section("meetings",
                field("months", "number", min=1, max=24, suggested=3, unit="months"),
                field("period", "choice", options=[{"value": "weekly", "label": "weekly"},
                                                   {"value": "monthly", "label": "monthly"}], allow_other=True),
                field("counts", "meeting_modes", modes=[{"key": "phone", "label": "by phone"}], allow_other=True),
                field("start", "date"),
                field("secret", "long_text", pair_only=True),
                title="Meetings"),
        section("closing",
                field("rule", "clause", text="We agree to be respectful."),
                field("release", "acknowledgement", text="We release the program."),
                field("signatures", "signatures", signers=["mentee", "mentor"], printed_name=False),
                title="Closing"),
        intro="Use this at {program_name}'s first meeting.",
    )


def refused(data, *fragments):
    """The problems of a refused definition, after checking that each fragment names one of them."""
    with pytest.raises(TemplateFormatError) as caught:
        parse_definition(data)
    problems = caught.value.problems
    for fragment in fragments:
        assert any(fragment in problem for problem in problems), f"{fragment!r} not in {problems}"
    return problems


def refused_file(raw, *fragments, **kwargs):
    with pytest.raises(TemplateFormatError) as caught:
        load_template_file(raw, **kwargs)
    problems = caught.value.problems
    for fragment in fragments:
        assert any(fragment in problem for problem in problems), f"{fragment!r} not in {problems}"
    return problems


# --- a valid template ---------------------------------------------------------------------------------------

def test_valid_template_parses_with_defaults_filled_in():
    """Does a valid template parse, with every omitted optional attribute given its default?"""
    defn = parse_definition(template(section("main", field("goal"), field("items", "numbered_list"),
                                             field("count", "number"), field("sign", "signatures"))))
    goal, items, count, sign = defn.sections[0].fields
    assert (defn.intro, defn.sections[0].intro) == ("", "")
    assert (goal.help, goal.required, goal.pair_only) == ("", False, False)
    assert dict(goal.options) == {"max_length": 200}
    assert dict(items.options) == {"min_items": 1, "max_items": 10, "item_label": "", "max_length": 500}
    assert dict(count.options) == {"min": 0, "max": 1000, "suggested": None, "unit": ""}
    assert dict(sign.options) == {"signers": ("mentor", "mentee"), "printed_name": True, "date": True}
    assert sign.label == ""


def test_options_are_typed_and_reachable_through_accessors():
    """Can code read a field's options through accessors, as immutable values?"""
    defn = parse_definition(sample_template())
    assert defn.field("period").choices == (ChoiceOption("weekly", "weekly"), ChoiceOption("monthly", "monthly"))
    assert defn.field("period").allow_other is True
    assert defn.field("counts").modes == (MeetingMode("phone", "by phone"),)
    assert defn.field("signatures").signers == ("mentee", "mentor")
    assert defn.field("rule").text == "We agree to be respectful."
    assert defn.field("months").option("suggested") == 3
    assert defn.section_of("months").key == "meetings"
    assert defn.signatures_field.key == "signatures"


def test_definition_is_immutable_and_hashable():
    """Are definitions frozen, options included, so a published version cannot be changed in memory?"""
    defn = parse_definition(sample_template())
    with pytest.raises(dataclasses.FrozenInstanceError):
        defn.name = "Changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        defn.field("goal").options["max_length"] = 5  # type: ignore[index]
    assert hash(defn) == hash(parse_definition(sample_template()))


def test_field_type_constants():
    """Do the constants list the ten types, with value types being all but acknowledgement, clause, signatures?"""
    assert len(FIELD_TYPES) == 10
    assert set(FIELD_TYPES) - set(VALUE_FIELD_TYPES) == {"acknowledgement", "clause", "signatures"}
    assert PLACEHOLDERS == ("program_name", "return_address", "mentor_name", "mentee_name", "term_months")


def test_helpers_find_fields_value_fields_and_pair_only_keys():
    """Do the helpers find a field by key, list value fields, and list pair-only keys?"""
    defn = parse_definition(sample_template())
    assert field_by_key(defn, "months").type == "number"
    assert field_by_key(defn, "nothing") is None
    assert [f.key for f in value_fields(defn)] == [
        "goal", "objectives", "months", "period", "counts", "start", "secret"]
    assert pair_only_keys(defn) == frozenset({"secret"})


# --- refusals: the document and its JSON types ----------------------------------------------------------------

def test_top_level_must_be_an_object():
    """Is a definition that is not a JSON object refused with a message saying so?"""
    refused([template()], "Template: a template must be a JSON object, not a list")


def test_wrong_or_missing_format_marker_is_refused():
    """Is a document without the template format marker refused as not being a template?"""
    refused(template(format="something-else"), "format must be 'mentorship-agreement-template'",
            "this is not an agreement template")
    data = template()
    del data["format"]
    refused(data, "format must be 'mentorship-agreement-template' (it is missing)")


def test_unsupported_format_version_is_refused():
    """Is a format_version other than the integer 1 refused, naming the version found?"""
    refused(template(format_version=2), "format_version must be 1 (it is the number 2)")
    refused(template(format_version="1"), "format_version must be 1 (it is the text '1')")
    refused(template(format_version=True), "format_version must be 1 (it is the boolean true)")


def test_wrong_json_types_are_refused_with_the_expected_type():
    """Is a string where a list is expected, or a list where text is expected, refused naming both?"""
    refused(template(sections="goals"), "Template: sections must be a list, not the text 'goals'")
    refused(template(section("main", field("goal", label=["Goal"]))),
            "Section 1 'Main', field 1 'goal': label must be text, not a list")
    data = template()
    data["sections"][0]["fields"] = {"goal": {}}
    refused(data, "Section 1 'Main': fields must be a list, not an object")
    refused(template("main"), "Section 1: a section must be an object, not the text 'main'")
    refused(template(section("main", "goal")), "Section 1 'Main', field 1: a field must be an object")


def test_booleans_and_integers_are_not_confused():
    """Is 1 refused where true/false is expected, and true where a whole number is expected?"""
    refused(template(section("main", field("goal", required=1))), "required must be true or false, not the number 1")
    refused(template(section("main", field("items", "numbered_list", max_items=True))),
            "max_items must be a whole number, not the boolean true")
    refused(template(section("main", field("n", "number", min=1.5))), "min must be a whole number, not the number 1.5")
    refused(template(section("main", field("n", "number", suggested=False))),
            "suggested must be a whole number, not the boolean false")


def test_missing_required_attributes_are_refused():
    """Are missing keys, types, titles and names each reported?"""
    data = template(section("main", {"label": "Goal"}))
    del data["name"]
    data["sections"][0].pop("title")
    refused(data, "Template: name is missing", "Section 1, field 1: key is missing",
            "Section 1, field 1: type is missing")


def test_unknown_field_type_is_refused_naming_it():
    """Is an unknown field type refused with a message naming it and the known types?"""
    refused(template(section("main", field("goal", "textarea", label="Goal"))),
            "Section 1 'Main', field 1 'goal': unknown field type 'textarea' (known types: short_text")


def test_unknown_option_names_are_refused():
    """Is an option that the field's type does not have refused, naming it and the type's options?"""
    refused(template(section("main", field("goal", max_items=3))),
            "unknown option 'max_items' for a short_text field (its options are: max_length)")
    refused(template(section("main", field("when", "date", max_length=10))),
            "unknown option 'max_length' for a date field (it has no options)")


def test_unknown_template_and_section_attributes_are_refused():
    """Is a misspelt attribute of the template or a section refused rather than ignored?"""
    refused(template(titel="X"), "Template: unknown attribute 'titel'")
    refused(template(section("main", field("goal"), intoduction="x")),
            "Section 1 'Main': unknown attribute 'intoduction'")


def test_duplicate_keys_are_refused_across_sections_and_fields():
    """Is a key used twice refused, whether by two fields, two sections, or a section and a field?"""
    refused(template(section("goals", field("goal")), section("more", field("goal"))),
            "Section 2 'More', field 1 'goal': duplicate key 'goal': Section 1 'Goals', field 1 'goal' already uses it")
    refused(template(section("goals", field("goal")), section("goals", field("other_goal"))),
            "Section 2 'Goals': duplicate key 'goals'")
    refused(template(section("goal", field("goal"))), "duplicate key 'goal': Section 1 'Goal' already uses it")


@pytest.mark.parametrize("bad_key", ["Goal", "1st_goal", "my-goal", "goal\n", "", "a" * 64, "gøal"])
def test_bad_key_syntax_is_refused(bad_key):
    """Is a key that is not lowercase letters, digits and underscores starting with a letter refused?"""
    refused(template(section("main", field(bad_key))), "is not valid: a key is 1 to 63 lowercase letters")


def test_value_field_needs_a_label_but_a_clause_does_not():
    """Is an empty or blank label refused for a value field, while a clause may go without one?"""
    refused(template(section("main", field("goal", label="  "))),
            "field 1 'goal': label is empty: a short_text field needs a label")
    refused(template(section("main", field("goal", "long_text", label=""))), "label is empty")
    parse_definition(template(section("main", field("rule", "clause", text="Be kind."))))


def test_required_or_pair_only_on_a_field_without_value_is_refused():
    """Is required or pair_only refused on a clause, acknowledgement or signatures field, which hold no value?"""
    refused(template(section("main", field("rule", "clause", text="Be kind.", required=True))),
            "required must be false: a clause field stores no value")
    refused(template(section("main", field("release", "acknowledgement", text="I agree.", pair_only=True))),
            "pair_only must be false: an acknowledgement field stores no value")


def test_clause_and_acknowledgement_need_their_text():
    """Is a clause or acknowledgement without its text refused?"""
    refused(template(section("main", field("rule", "clause"))), "field 1 'rule': text is missing")
    refused(template(section("main", field("release", "acknowledgement", text=" "))), "text is empty")


# --- refusals: option bounds ----------------------------------------------------------------------------------

def test_option_outside_its_bounds_names_section_field_and_bounds():
    """Is max_items 80 refused with the example message of the brief, naming section, field and bounds?"""
    data = template(section("intro", field("name")),
                    section("goals", field("goal"), field("why"), field("objectives", "numbered_list", max_items=80),
                            title="Goals"))
    refused(data, "Section 2 'Goals', field 3 'objectives': max_items must be between 1 and 50 (it is 80)")
    refused(template(section("main", field("goal", max_length=0))), "max_length must be between 1 and 1000")


def test_min_above_max_is_refused():
    """Are min_items above max_items, and min above max, refused?"""
    refused(template(section("main", field("items", "numbered_list", min_items=4, max_items=3))),
            "min_items (4) is more than max_items (3)")
    refused(template(section("main", field("n", "number", min=5, max=2))), "min (5) is more than max (2)")


def test_suggested_outside_min_max_is_refused():
    """Is a suggested number outside min..max refused, while null means nothing is suggested?"""
    refused(template(section("main", field("months", "number", min=1, max=24, suggested=36))),
            "suggested (36) is outside min..max (1..24)")
    defn = parse_definition(template(section("main", field("months", "number", suggested=None))))
    assert defn.field("months").option("suggested") is None


def test_choice_without_options_is_refused():
    """Is a choice with no options, or with options missing, refused?"""
    refused(template(section("main", field("period", "choice", options=[]))),
            "options is empty: a choice field needs at least one option")
    refused(template(section("main", field("period", "choice"))), "field 1 'period': options is missing")
    refused(template(section("main", field("period", "choice", options="daily, weekly"))),
            "options must be a list, not the text 'daily, weekly'")


def test_choice_with_duplicate_or_reserved_options_is_refused():
    """Are duplicate option values or labels, the reserved value 'other' and bad values refused?"""
    weekly = {"value": "weekly", "label": "Weekly"}
    refused(template(section("main", field("period", "choice", options=[weekly, weekly]))),
            "field 1 'period', option 2: duplicate value 'weekly' (also option 1)",
            "duplicate label 'Weekly' (also option 1)")
    refused(template(section("main", field("period", "choice", options=[{"value": "other", "label": "Other"}]))),
            "value 'other' is reserved for the free answer: set allow_other instead")
    refused(template(section("main", field("period", "choice", options=[{"value": "Every Week", "label": "x"}]))),
            "option 1: value 'Every Week' is not valid")
    refused(template(section("main", field("period", "choice", options=[{"value": "weekly"}]))),
            "option 1: label is missing")


def test_meeting_modes_without_or_with_duplicate_modes_is_refused():
    """Is a meeting_modes field with no modes, or a mode key used twice, refused?"""
    refused(template(section("main", field("counts", "meeting_modes", modes=[]))),
            "modes is empty: a meeting_modes field needs at least one mode")
    phone = {"key": "phone", "label": "by phone"}
    refused(template(section("main", field("counts", "meeting_modes", modes=[phone, {**phone, "label": "call"}]))),
            "field 1 'counts', mode 2: duplicate key 'phone' (also mode 1)")


@pytest.mark.parametrize("signers", [["mentor"], ["mentor", "mentor"], ["mentor", "mentee", "supervisor"],
                                     "mentor, mentee", [], ["mentor", 1]])
def test_signers_must_be_mentor_and_mentee_once_each(signers):
    """Are signers other than an ordering of mentor and mentee refused?"""
    refused(template(section("main", field("signatures", "signatures", signers=signers))),
            "signers must list 'mentor' and 'mentee' once each")


def test_second_signatures_field_is_refused():
    """Is a second signatures field refused, naming the first one?"""
    refused(template(section("main", field("sign", "signatures")), section("again", field("sign_again", "signatures"))),
            "Section 2 'Again', field 1 'sign_again': a template has at most one signatures field "
            "(Section 1 'Main', field 1 'sign' is one already)")


# --- refusals: sizes ------------------------------------------------------------------------------------------

def test_oversized_texts_are_refused():
    """Are texts over their length limits refused, with length and limit in the message?"""
    refused(template(intro="x" * 20_001), "Template: intro is 20,001 characters long; the limit is 20,000")
    refused(template(section("main", field("goal", label="x" * 2_001))), "label is 2,001 characters long")
    refused(template(name="n" * 201), "name is 201 characters long; the limit is 200")
    refused(template(section("main", field("rule", "clause", text="x" * 20_001))), "text is 20,001 characters long")


def test_too_many_sections_or_fields_are_refused():
    """Are more than 50 sections, or more than 300 fields in all, refused?"""
    refused(template(*[section(f"s{i}", field(f"f{i}")) for i in range(51)]),
            "Template: it has 51 sections; the limit is 50")
    refused(template(*[section(f"s{i}", *[field(f"f{i}_{j}") for j in range(31)]) for i in range(10)]),
            "Template: it has 310 fields; the limit is 300")


def test_control_characters_in_text_are_refused():
    """Is a NUL or other control character refused, while line breaks and tabs are fine?"""
    refused(template(section("main", field("goal", label="Goal\x00"))), "label contains the control character U+0000")
    parse_definition(template(section("main", field("goal", label="Goal\n\tand more"))))


def test_every_problem_is_reported_at_once():
    """Does one refusal list every problem, not just the first, and show them in its message?"""
    data = template(section("main", field("Goal"), field("n", "number", min=3, max=1), field("t", "textarea")))
    problems = refused(data, "key 'Goal' is not valid", "min (3) is more than max (1)", "unknown field type 'textarea'")
    assert len(problems) == 3
    with pytest.raises(TemplateFormatError) as caught:
        parse_definition(data)
    assert "3 problems" in str(caught.value) and "unknown field type 'textarea'" in str(caught.value)


# --- canonical form and files ---------------------------------------------------------------------------------

def test_canonical_dict_round_trips():
    """Does parse(definition_to_dict(d)) give d back, and is the canonical dict stable?"""
    defn = parse_definition(sample_template())
    canonical = definition_to_dict(defn)
    assert parse_definition(canonical) == defn
    assert definition_to_dict(parse_definition(copy.deepcopy(canonical))) == canonical


def test_canonical_dict_is_fully_explicit_in_spec_order():
    """Does the canonical dict write every attribute and option, in the order of the format document?"""
    canonical = definition_to_dict(parse_definition(template(section("main", field("goal")))))
    assert list(canonical) == ["format", "format_version", "name", "title", "intro", "sections"]
    assert list(canonical["sections"][0]) == ["key", "title", "intro", "fields"]
    assert canonical["sections"][0]["fields"][0] == {
        "key": "goal", "type": "short_text", "label": "Label of goal", "help": "", "required": False,
        "pair_only": False, "max_length": 200}


def test_dump_then_load_gives_an_equal_definition():
    """Does an exported file import back as an equal definition, with non-ASCII text kept readable?"""
    defn = parse_definition(sample_template() | {"title": "Entente de mentorat – été"})
    dumped = dump_template_file(defn)
    assert load_template_file(dumped) == defn
    assert load_template_file(dumped.encode("utf-8")) == defn
    assert "Entente de mentorat – été" in dumped and '\n  "format_version": 1,' in dumped
    assert dump_template_file(load_template_file(dumped)) == dumped


def test_file_larger_than_the_limit_is_refused():
    """Is a file over the size limit refused before it is read, naming both sizes?"""
    raw = dump_template_file(parse_definition(sample_template())).encode()
    refused_file(raw, "The file is too large", "the limit is 1.0 KiB", max_bytes=1024)
    refused_file("x" * 300_000, "The file is too large (at least 293.0 KiB); the limit is 256.0 KiB")
    # measured in UTF-8 bytes: 600 two-byte characters are 1,200 bytes
    refused_file(json.dumps({"t": "é" * 600}, ensure_ascii=False), "too large", max_bytes=1024)


def test_invalid_utf8_is_refused():
    """Is a file that is not UTF-8 refused, naming the bad byte and its position?"""
    refused_file(b'{"name": "caf\xe9"}', "The file is not valid UTF-8 text (byte 0xe9 at position 13)")


def test_malformed_json_is_refused_with_line_and_column():
    """Is malformed JSON refused with the parser's reason and where it is?"""
    refused_file('{"format": "mentorship-agreement-template",\n  "name": }',
                 "The file is not valid JSON: Expecting value at line 2, column 11")


def test_non_object_file_is_refused():
    """Is a file whose top level is not an object refused?"""
    refused_file("[1, 2]", "The file must hold one JSON object (the template), not a list")
    refused_file('"template"', "not the text 'template'")


def test_duplicate_json_names_and_nan_are_refused():
    """Are a name repeated in one object and NaN refused instead of silently accepted?"""
    refused_file('{"name": "a", "name": "b"}', "the name 'name' appears twice in one object")
    refused_file('{"min": NaN}', "NaN is not a JSON number")


def test_deeply_nested_file_is_refused_cleanly():
    """Is absurd nesting refused with a message rather than a crash?"""
    refused_file("[" * 100_000 + "]" * 100_000, "nested too deeply")


def test_byte_order_mark_is_tolerated():
    """Does a UTF-8 file with a byte order mark (as some editors save) load?"""
    dumped = dump_template_file(parse_definition(sample_template()))
    assert load_template_file(b"\xef\xbb\xbf" + dumped.encode()) == load_template_file(dumped)


def test_file_contents_are_validated_too():
    """Does loading a well-formed file still apply every rule of the format?"""
    refused_file(json.dumps(template(section("main", field("goal", "textarea")))), "unknown field type 'textarea'")


# --- placeholders ---------------------------------------------------------------------------------------------

def test_known_placeholders_are_replaced():
    """Is {program_name} replaced by plain text substitution?"""
    assert substitute_placeholders("Welcome to {program_name}; send it to {return_address}.",
                                   {"program_name": "WHPRMS", "return_address": "a@b.org"}) \
        == "Welcome to WHPRMS; send it to a@b.org."


def test_template_syntax_stays_literal():
    """Do {{ config }}, {% if %} and unknown braces stay exactly as written?"""
    text = "{{ config }} {% if x %}y{% endif %} {unknown} {program_name"
    assert substitute_placeholders(text, {"program_name": "P", "unknown": "U", "config": "C"}) == text


def test_substituted_values_are_not_substituted_again():
    """Is a value that itself looks like a placeholder left as the value, in one pass?"""
    result = substitute_placeholders("{mentor_name} and {mentee_name}",
                                     {"mentor_name": "{mentee_name}", "mentee_name": "Ana"})
    assert result == "{mentee_name} and Ana"


def test_placeholder_without_a_value_stays():
    """Is a known placeholder with no value given left in place?"""
    assert substitute_placeholders("For {term_months} months", {}) == "For {term_months} months"


# --- diff -----------------------------------------------------------------------------------------------------

def test_identical_definitions_have_no_changes():
    """Does comparing a version with itself give no changes?"""
    defn = parse_definition(sample_template())
    assert diff_definitions(defn, defn) == []


def test_diff_reports_readable_changes_in_the_new_order():
    """Does the diff say what was added, removed, moved and changed, with old and new values, in new order, naming
    fields by label and options in words ("highest allowed", not "max")?"""
    old = parse_definition(template(
        section("goals", field("goal", label="Goal"), field("note"),
                field("objectives", "numbered_list", max_items=3), title="Goals"),
        section("meetings", field("months", "number", max=12), title="Meetings"),
        section("extra", field("old_field"), title="Extra"),
    ))
    new = parse_definition(template(
        section("meetings", field("months", "number", max=24), field("note"), title="Meetings"),
        section("goals", field("goal", label="Main goal", required=True),
                field("objectives", "numbered_list", max_items=5), field("venues", "long_text", label="Venues"),
                title="Goals"),
        title="Renamed",
    ))
    changes = [(c.kind, c.location, c.detail) for c in diff_definitions(old, new)]
    assert changes == [
        ("template_changed", "Template", "title changed from 'Test template' to 'Renamed'"),
        ("section_moved", "Section 1 'Meetings'", "section moved from position 2 to position 1"),
        ("field_changed", "Section 1 'Meetings', field 1 'Label of months'", "highest allowed changed from 12 to 24"),
        ("field_moved", "Section 1 'Meetings', field 2 'Label of note'",
         "field moved here from Section 1 'Goals' (it was field 2 there)"),
        ("field_changed", "Section 2 'Goals', field 1 'Main goal'", "label changed from 'Goal' to 'Main goal'"),
        ("field_changed", "Section 2 'Goals', field 1 'Main goal'", "required changed from no to yes"),
        ("field_changed", "Section 2 'Goals', field 2 'Label of objectives'", "most items changed from 3 to 5"),
        ("field_added", "Section 2 'Goals', field 3 'Venues'", "field added: a long text field 'Venues'"),
        ("section_removed", "Section 3 'Extra'",
         "section removed (with its fields: a short text field 'Label of old_field')"),
    ]


def test_diff_keeps_full_old_and_new_values():
    """Does a change carry the full old and new values, even when the detail shortens a long text?"""
    long_text = "We agree to keep confidential everything that we discuss in our meetings, always and everywhere."
    old = parse_definition(template(section("main", field("rule", "clause", text="Short."))))
    new = parse_definition(template(section("main", field("rule", "clause", text=long_text))))
    (change,) = diff_definitions(old, new)
    assert (change.kind, change.old, change.new) == ("field_changed", "Short.", long_text)
    assert change.detail.startswith("text changed from 'Short.' to 'We agree") and change.detail.endswith("…'")


def test_diff_reports_type_change_and_removed_field():
    """Are a changed type (with its options) and a field removed from a kept section both reported?"""
    old = parse_definition(template(section("main", field("goal"), field("gone"))))
    new = parse_definition(template(section("main", field("goal", "long_text"))))
    details = [(c.kind, c.detail) for c in diff_definitions(old, new)]
    assert details == [
        ("field_changed", "type changed from a short text field to a long text field"),
        ("field_changed", "longest answer changed from 200 to 4000"),
        ("field_removed", "field removed (was a short text field 'Label of gone')"),
    ]


def test_inserting_a_field_does_not_mark_the_others_moved():
    """Does inserting one field leave the following fields unmoved, while swapping two marks one as moved?"""
    old = parse_definition(template(section("main", field("a"), field("b"), field("c"))))
    inserted = parse_definition(template(section("main", field("new"), field("a"), field("b"), field("c"))))
    assert [c.kind for c in diff_definitions(old, inserted)] == ["field_added"]
    swapped = parse_definition(template(section("main", field("a"), field("c"), field("b"))))
    moved = [c for c in diff_definitions(old, swapped) if c.kind == "field_moved"]
    assert [(c.location, c.detail) for c in moved] == [
        ("Section 1 'Main', field 2 'Label of c'", "field moved within the section from position 3 to position 2")]
