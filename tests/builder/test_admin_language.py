"""The builder, the "changes since" page and the audit log speak the program admin's language: field labels and
words such as "a short text field" or "longest answer", never the file format's keys, type names or user ids."""
from __future__ import annotations

import html
import re

from portal.domain import programs
from portal.extensions import db
from portal.models import User

# What a person must never read: the file format's type and option names, "min"/"max" as words, raw ids.
RAW = re.compile(r"short_text|long_text|numbered_list|meeting_modes|max_length|min_items|max_items|item_label"
                 r"|allow_other|pair_only|printed_name|_changed|_added|_removed|_moved|\bsignatures field"
                 r"|\b(?:min|max)\b|user[ _]id|template[ _]id|recipient[ _]id", re.I)


def messages_of(page: str) -> list[str]:
    """Every error, problem and notice the page shows, as text."""
    found = re.findall(r'<p class="error[^"]*"[^>]*>(.*?)</p>', page, re.S)
    found += re.findall(r'<[a-z]+ class="(?:flash|notice)[^"]*"[^>]*>(.*?)</[a-z]+>', page, re.S)
    found += re.findall(r'<li class="problem[^"]*"[^>]*>(.*?)</li>', page, re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", m)).split()) for m in found if m.strip()]


def raw_words(texts: list[str]) -> list[str]:
    return [text for text in texts if RAW.search(text)]


# Bad input for each kind of field: (section, field type or None to edit, field key, form data)
BAD_INPUTS = [
    ("goals", "short_text", None, {"field-label": "", "field-max_length": "5000"}),
    ("goals", "long_text", None, {"field-label": "", "field-max_length": "0"}),
    ("goals", "date", None, {"field-label": "  "}),
    ("goals", "number", None, {"field-label": "Months", "field-min": "10", "field-max": "5", "field-suggested": "20"}),
    ("goals", "number", None, {"field-label": "Months", "field-min": "1", "field-max": "5", "field-suggested": "20"}),
    ("goals", "number", None, {"field-label": "Term", "field-key": "term_months", "field-pair_only": "y"}),
    ("goals", "choice", None, {"field-label": "How often", "field-options_text": "other | Other\nweekly | A\nweekly | A"}),
    ("goals", "choice", None, {"field-label": "How often", "field-options_text": ""}),
    ("goals", "meeting_modes", None, {"field-label": "How", "field-modes_text": ""}),
    ("goals", "clause", None, {"field-label": "Rule", "field-text": ""}),
    ("goals", "acknowledgement", None, {"field-label": "Release", "field-text": " "}),
    ("goals", "signatures", None, {"field-label": "", "field-signers": "mentor,mentee"}),
    ("goals", "short_text", None, {"field-label": "Goal again", "field-key": "goal"}),
    ("goals", "short_text", None, {"field-label": "Bad key", "field-key": "Not A Key"}),
    (None, None, "objectives", {"field-label": "Objectives", "field-min_items": "5", "field-max_items": "2"}),
    (None, None, "objectives", {"field-label": "", "field-min_items": "1", "field-max_items": "99",
                                "field-max_length": "0"}),
    (None, None, "goal", {"field-label": "", "field-max_length": "-1"}),
]


def test_the_builders_messages_use_the_admins_words(builder):
    """Walking the builder with bad input for every kind of field: does every message name inputs by their
    labels and types in words ("a short text field"), never as short_text, max_items or min/max?"""
    shown = []
    for section, field_type, field_key, data in BAD_INPUTS:
        if field_type:
            url = builder.version_url(suffix=f"/sections/{section}/fields")
            data = {"field_type": field_type, **data}
        else:
            url = builder.version_url(suffix=f"/fields/{field_key}")
        response = builder.client.post(url, data=data)
        assert response.status_code == 422, (field_type or field_key, data)
        messages = messages_of(response.get_data(as_text=True))
        assert messages, (field_type or field_key, data)
        shown += messages
    assert raw_words(shown) == [], raw_words(shown)
    assert any("a short text field" in message for message in shown)


def test_a_refused_template_text_and_section_speak_plainly(builder):
    """Do an empty template name and an empty section title say so in words too?"""
    shown = []
    for url, data in ((builder.version_url(suffix="/text"), {"template-name": "", "template-title": ""}),
                      (builder.version_url(suffix="/sections"), {"new_section-title": "", "new_section-key": "goals"}),
                      (builder.version_url(suffix="/sections/goals"), {"section-title": " "})):
        response = builder.client.post(url, data=data)
        assert response.status_code == 422
        shown += messages_of(response.get_data(as_text=True))
    assert shown and raw_words(shown) == [], raw_words(shown)


def changes_page(builder) -> str:
    url = f"/programs/{builder.program.id}/templates/{builder.template_id}/diff"
    return builder.client.get(f"{url}?from={builder.published_id}&to={builder.draft_id}").get_data(as_text=True)


def diff_cells(page: str) -> list[str]:
    table = page.split('<table class="diff">', 1)[1].split("</table>", 1)[0]
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)[1:]]


def test_the_changes_page_names_fields_by_label_and_options_in_words(builder):
    """After changing the most items of "Objectives", the longest answer, required and confidentiality of "Goal",
    adding a date and a clause, does "Changes since" read "Objectives ... most items changed from 3 to 5" rather
    than "'objectives' max_items changed"?"""
    builder.client.post(builder.version_url(suffix="/fields/objectives"), data={
        "field-label": "Objectives", "field-min_items": "1", "field-max_items": "5", "field-max_length": "500"})
    builder.client.post(builder.version_url(suffix="/fields/goal"), data={
        "field-label": "Our goal", "field-max_length": "300", "field-required": "", "field-pair_only": "y"})
    builder.client.post(builder.version_url(suffix="/sections/goals/fields"),
                        data={"field_type": "date", "field-label": "Start date", "field-key": "start_on"})
    builder.client.post(builder.version_url(suffix="/sections/goals/fields"),
                        data={"field_type": "number", "field-label": "Months", "field-min": "1", "field-max": "24"})
    builder.client.post(builder.version_url(suffix="/sections/goals/fields"),
                        data={"field_type": "clause", "field-label": "", "field-text": "We keep it private."})
    rows = diff_cells(changes_page(builder))
    assert raw_words(rows) == [], raw_words(rows)
    text = " | ".join(rows)
    assert "Objectives" in text and "most items changed from 3 to 5" in text
    assert "longest answer changed from 4000 to 300" in text
    assert "confidential to the pair changed from no to yes" in text
    assert "field added: a date field 'Start date'" in text
    assert "field added: a number field 'Months'" in text


def test_the_changes_page_words_a_removed_field_and_section(builder):
    """Are a removed field and a removed section described with labels and types in words?"""
    builder.client.post(builder.version_url(suffix="/fields/goal/remove"))
    builder.client.post(builder.version_url(suffix="/sections"), data={"new_section-title": "Extra"})
    builder.client.post(builder.version_url(suffix="/sections/signing/remove"))
    rows = diff_cells(changes_page(builder))
    assert raw_words(rows) == [], raw_words(rows)
    text = " | ".join(rows)
    assert "field removed (was a long text field 'Goal')" in text
    assert "section removed (with its fields: a signature block)" in text


def audit_text(builder) -> str:
    page = builder.client.get(f"/programs/{builder.program.id}/audit").get_data(as_text=True)
    table = page.split('<table class="audit">', 1)[1].split("</table>", 1)[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", table)).split())


def test_the_audit_log_names_people_templates_and_changes_in_words(builder):
    """After appointing a supervisor and editing, publishing and retiring template versions, does the audit log
    show the person's and the template's names and what changed in words, never "user id 15" or field_changed?"""
    admin = db.session.scalar(db.select(User).where(User.name == "Ada Admin"))
    programs.appoint(admin, builder.program, "supervisor", "zoe@example.org", "Zoë Supervisor")
    db.session.commit()
    builder.client.post(builder.version_url(suffix="/fields/objectives"), data={
        "field-label": "Objectives", "field-min_items": "1", "field-max_items": "5", "field-max_length": "500"})
    builder.client.post(builder.version_url(suffix="/sections/goals/fields"),
                        data={"field_type": "short_text", "field-label": "Venue"})
    builder.client.post(builder.version_url(suffix="/fields/goal/remove"))
    builder.client.post(builder.version_url(suffix="/publish"))
    text = audit_text(builder)
    assert RAW.search(text) is None, RAW.findall(text)
    assert "Zoë Supervisor" in text
    assert "Small agreement" in text
    assert "'Objectives'" in text and "'Venue'" in text
    assert "template.edit" not in text and "template.new_draft" not in text


def test_the_audit_log_says_which_field_changed(builder):
    """Does a field's change in the audit log name the field by its label and the change in words?"""
    builder.client.post(builder.version_url(suffix="/fields/objectives"), data={
        "field-label": "Ground rules", "field-min_items": "1", "field-max_items": "5", "field-max_length": "500"})
    text = audit_text(builder)
    assert "changed a template draft" in text
    assert "what: field changed" in text and "which: 'Ground rules'" in text
