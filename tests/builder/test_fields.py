"""The builder's inputs for every field type: valid input saves exactly the options typed; invalid input saves
nothing and is explained next to the input it concerns (422)."""
from __future__ import annotations

import html

import pytest

from portal.domain.template_format import ChoiceOption, MeetingMode
from tests.builder.conftest import counts, error_of, form_errors

# field type -> (what is typed, the options the saved field must have)
VALID = {
    "short_text": ({"field-label": "Where will we meet?", "field-max_length": "80"}, {"max_length": 80}),
    "long_text": ({"field-label": "Ground rules", "field-max_length": ""}, {"max_length": 4000}),
    "numbered_list": ({"field-label": "Objectives", "field-min_items": "1", "field-max_items": "3",
                       "field-item_label": "Objective", "field-max_length": "300"},
                      {"min_items": 1, "max_items": 3, "item_label": "Objective", "max_length": 300}),
    "number": ({"field-label": "Meet for ____ months.", "field-min": "1", "field-max": "24",
                "field-suggested": "3", "field-unit": "months"},
               {"min": 1, "max": 24, "suggested": 3, "unit": "months"}),
    "choice": ({"field-label": "We meet ____.", "field-options_text": "weekly | every week\r\nMonthly\r\n\r\n",
                "field-allow_other": "y"},
               {"options": (ChoiceOption("weekly", "every week"), ChoiceOption("monthly", "Monthly")),
                "allow_other": True}),
    "meeting_modes": ({"field-label": "How we meet", "field-modes_text": "face_to_face | Face to face\nPhone"},
                      {"modes": (MeetingMode("face_to_face", "Face to face"), MeetingMode("phone", "Phone")),
                       "allow_other": False}),
    "date": ({"field-label": "Start date"}, {}),
    "acknowledgement": ({"field-label": "", "field-text": "I release the program from liability."},
                        {"text": "I release the program from liability."}),
    "clause": ({"field-label": "Confidentiality", "field-text": "What we say stays between us.\r\nAlways."},
               {"text": "What we say stays between us.\nAlways."}),
}

# field type -> (what is typed, the input whose error must show, words of the message)
INVALID = [
    ("short_text", {"field-label": "Name", "field-max_length": "5000"}, "field-max_length",
     "This must be between 1 and 1000 (it is 5000)"),
    ("short_text", {"field-label": "Name", "field-max_length": "many"}, "field-max_length",
     "Enter a whole number"),
    ("short_text", {"field-label": "   "}, "field-label", "This is empty: a short text field needs a label"),
    ("long_text", {"field-label": "Notes", "field-max_length": "0"}, "field-max_length",
     "This must be between 1 and 20000 (it is 0)"),
    ("numbered_list", {"field-label": "Objectives", "field-min_items": "5", "field-max_items": "3"},
     "field-min_items", "'Fewest items to fill in' (5) is more than 'Most items' (3)"),
    ("numbered_list", {"field-label": "Objectives", "field-max_items": "51"}, "field-max_items",
     "This must be between 1 and 50 (it is 51)"),
    ("numbered_list", {"field-label": "Objectives", "field-item_label": "x" * 101}, "field-item_label",
     "This is 101 characters long; the limit is 100"),
    ("number", {"field-label": "Months", "field-min": "10", "field-max": "5"}, "field-min",
     "'Lowest allowed' (10) is more than 'Highest allowed' (5)"),
    ("number", {"field-label": "Months", "field-min": "1", "field-max": "24", "field-suggested": "36"},
     "field-suggested", "'Suggested value' (36) is outside the allowed range (1..24)"),
    ("number", {"field-label": "Months", "field-min": "1.5"}, "field-min", "Enter a whole number"),
    ("choice", {"field-label": "How often?", "field-options_text": ""}, "field-options_text",
     "This is empty: a choice field needs at least one option"),
    ("choice", {"field-label": "How often?", "field-options_text": "weekly | Weekly\nWEEKLY"}, "field-options_text",
     "Option 2: duplicate label 'WEEKLY' (also option 1)"),
    ("choice", {"field-label": "How often?", "field-options_text": "Daily\nother | Other"}, "field-options_text",
     "Option 2: value 'other' is reserved for the free answer: offer 'other' with a free answer instead"),
    ("choice", {"field-label": "How often?", "field-options_text": "Every Week | Weekly"}, "field-options_text",
     "Option 1: value 'Every Week' is not valid"),
    ("meeting_modes", {"field-label": "How we meet", "field-modes_text": "Face to face | Face to face"},
     "field-modes_text", "Mode 1: key 'Face to face' is not valid"),
    ("meeting_modes", {"field-label": "How we meet", "field-modes_text": "phone | \n"}, "field-modes_text",
     "Mode 1: label is empty"),
    ("date", {"field-label": ""}, "field-label", "This is empty: a date field needs a label"),
    ("acknowledgement", {"field-label": "Release", "field-text": " \r\n "}, "field-text", "This is empty"),
    ("clause", {"field-label": "Clause", "field-text": ""}, "field-text", "This is empty"),
    ("clause", {"field-label": "Clause", "field-text": "bell \x07 here"}, "field-text",
     "This contains the control character U+0007"),
]


def post_new_field(builder, field_type: str, data: dict, section: str = "goals", **kwargs):
    return builder.client.post(builder.version_url(suffix=f"/sections/{section}/fields"),
                               data={"field_type": field_type, **data}, **kwargs)


@pytest.mark.parametrize("field_type", sorted(VALID))
def test_each_field_type_is_added_with_the_options_typed(builder, field_type):
    """Can a program admin add a field of every type, with its type's options, as a plain form post (303)?"""
    data, expected_options = VALID[field_type]
    response = post_new_field(builder, field_type, data)
    assert response.status_code == 303
    assert response.headers["Location"].startswith(builder.version_url() + "#field-")
    added = builder.draft().section("goals").fields[-1]
    assert added.type == field_type
    assert added.label == data["field-label"].strip()
    assert {name: added.options[name] for name in expected_options} == expected_options
    follow = builder.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "field added." in follow


def test_a_signature_block_is_added_with_its_columns_and_order(builder):
    """Can the signature block be set to the mentee first, without a printed-name column?"""
    builder.client.post(builder.version_url(suffix="/sections/signing/remove"))  # the draft has one already
    builder.client.post(builder.version_url(suffix="/sections"), data={"new_section-title": "Signatures"})
    response = post_new_field(builder, "signatures", {"field-signers": "mentee,mentor", "field-date": "y"},
                              section="signatures")
    assert response.status_code == 303
    block = builder.draft().signatures_field
    assert (block.signers, block.option("printed_name"), block.option("date")) == (("mentee", "mentor"), False, True)


@pytest.mark.parametrize("field_type,data,input_id,message", INVALID,
                         ids=[f"{case[0]}-{case[2]}-{n}" for n, case in enumerate(INVALID)])
def test_bad_options_are_refused_next_to_their_input_and_nothing_is_saved(builder, field_type, data, input_id,
                                                                         message):
    """Is each bad option of each field type refused with 422, its message next to its input, and nothing saved?"""
    before, stored = counts(), builder.draft_json()
    response = post_new_field(builder, field_type, data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html.unescape(error_of(page, input_id))
    assert 'aria-invalid="true"' in page
    assert builder.draft_json() == stored and counts() == before
    # The editor stays open with what was typed, so nothing typed is lost.
    assert f'name="{input_id}"' in page and 'name="field_type" value="' + field_type + '"' in page


def test_a_second_signature_block_is_refused_with_a_reason(builder):
    """Is a second signature block refused, saying that a template has at most one?"""
    stored = builder.draft_json()
    response = post_new_field(builder, "signatures", {"field-signers": "mentor,mentee"})
    assert response.status_code == 422
    assert any("at most one signature block" in error for error in form_errors(response.get_data(as_text=True)))
    assert builder.draft_json() == stored


def test_a_tampered_signer_order_is_refused(builder):
    """Is a signer order that is not one of the two offered refused, and nothing saved?"""
    stored = builder.draft_json()
    response = builder.client.post(builder.version_url(suffix="/fields/signatures"),
                                   data={"field-signers": "mentor,mentor"})
    assert response.status_code == 422 and "Not a valid choice" in error_of(response.get_data(as_text=True),
                                                                             "field-signers")
    assert builder.draft_json() == stored


def test_editing_a_field_keeps_its_key_and_type(builder):
    """Does saving an existing field change what was typed, and never its key or type?"""
    response = builder.client.post(builder.version_url(suffix="/fields/objectives"), data={
        "field-label": "Our objectives", "field-help": "Up to five.", "field-required": "y",
        "field-min_items": "2", "field-max_items": "5", "field-item_label": "Objective", "field-max_length": "",
        "field-key": "renamed", "field_type": "clause"})
    assert response.status_code == 303
    field = builder.draft().field("objectives")
    assert (field.type, field.label, field.help, field.required) == ("numbered_list", "Our objectives", "Up to five.",
                                                                     True)
    assert (field.option("min_items"), field.option("max_items"), field.option("max_length")) == (2, 5, 500)
    assert builder.draft().field("renamed") is None


def test_an_explicit_key_is_checked(builder):
    """Is a key that another section or field already uses, or that is badly formed, refused next to the key?"""
    stored = builder.draft_json()
    page = post_new_field(builder, "date", {"field-label": "Start", "field-key": "goals"}).get_data(as_text=True)
    assert "already used in this template" in error_of(page, "field-key")
    page = post_new_field(builder, "date", {"field-label": "Start", "field-key": "Start Date"}).get_data(as_text=True)
    assert "is not valid" in error_of(page, "field-key")
    assert '<details class="advanced" open>' in page  # the key input is shown, not folded away
    assert builder.draft_json() == stored


def test_a_taken_key_is_reported_with_every_other_problem_at_once(builder):
    """A number field with a key already used and a lowest value above the highest: are both problems shown
    on the first attempt, each next to its input, with nothing saved?"""
    stored = builder.draft_json()
    response = post_new_field(builder, "number", {"field-label": "Sessions", "field-key": "goals",
                                                  "field-min": "10", "field-max": "2"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The key &#39;goals&#39; is already used in this template" in error_of(page, "field-key")
    assert "is more than" in error_of(page, "field-min") + error_of(page, "field-max")
    assert builder.draft_json() == stored


def test_keys_are_made_from_labels(builder):
    """Does a field without a typed key get a readable, unused key made from its label?"""
    post_new_field(builder, "short_text", {"field-label": "1. Goal"})
    post_new_field(builder, "short_text", {"field-label": "Goal"})
    post_new_field(builder, "clause", {"field-label": "", "field-text": "Fixed."})
    keys = [f.key for f in builder.draft().section("goals").fields]
    assert keys[-3:] == ["goal_2", "goal_3", "clause"]


def test_the_editor_opens_prefilled_with_the_fields_options(builder):
    """Does the edit link open the field's editor with its current options (page and htmx fragment)?"""
    page = builder.client.get(builder.version_url() + "?edit=field:objectives").get_data(as_text=True)
    assert 'name="field-max_items"' in page and 'value="3"' in page
    fragment = builder.client.get(builder.version_url() + "?edit=field:objectives", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert text.lstrip().startswith('<div id="builder"') and "<html" not in text
    assert 'name="field-max_items"' in text
    new = builder.client.get(builder.version_url() + "?add=goals&type=meeting_modes").get_data(as_text=True)
    assert "face_to_face | Face to face" in new  # a sensible start: the ways the paper forms list
