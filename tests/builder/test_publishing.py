"""Publishing safely: unknown placeholders refused where they are typed, a checklist before publishing,
ready-made templates added as drafts, a default template for new pairs, and retired versions brought back."""
from __future__ import annotations

import html

from portal.extensions import db
from portal.models import AuditEvent
from tests.builder.conftest import counts, error_of, form_errors

KNOWN = "{program_name}, {return_address}, {mentor_name}, {mentee_name}, {term_months}"


def audited(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.id)).all()


# --- unknown placeholders ----------------------------------------------------------------------------------------

def test_an_unknown_placeholder_in_a_field_label_is_refused_next_to_it(builder):
    """Is a label with {mentor} refused under the label, naming the placeholders that exist, with nothing saved?"""
    stored, before = builder.draft_json(), counts()
    response = builder.client.post(builder.version_url(suffix="/fields/goal"),
                                   data={"field-label": "Goal agreed with {mentor}", "field-max_length": "100"})
    assert response.status_code == 422
    message = html.unescape(error_of(response.get_data(as_text=True), "field-label"))
    assert "{mentor}" in message and "not a placeholder" in message and KNOWN in message
    assert builder.draft_json() == stored and counts() == before


def test_an_unknown_placeholder_in_a_new_clause_or_a_section_text_is_refused(builder):
    """Are a new clause's text and a section's introduction with unknown placeholders refused in place?"""
    stored = builder.draft_json()
    response = builder.client.post(builder.version_url(suffix="/sections/goals/fields"), data={
        "field_type": "clause", "field-label": "", "field-text": "Signed for {program} by { Mentee }."})
    message = html.unescape(error_of(response.get_data(as_text=True), "field-text"))
    assert response.status_code == 422 and "{program}, { Mentee }" in message and "are not placeholders" in message
    response = builder.client.post(builder.version_url(suffix="/sections/goals"),
                                   data={"section-title": "Goals", "section-intro": "Agreed with {mentor}."},
                                   headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "{mentor}" in html.unescape(error_of(response.get_data(as_text=True), "section-intro"))
    assert builder.draft_json() == stored


def test_known_placeholders_and_other_braces_still_save(builder):
    """Do the real placeholders, and braces that are no placeholder ("{1, 2}"), still save?"""
    label = "Goal of {mentee_name} with {mentor_name} in {program_name} ({term_months} months), sets {1, 2}"
    response = builder.client.post(builder.version_url(suffix="/fields/goal"),
                                   data={"field-label": label, "field-max_length": "100"})
    assert response.status_code == 303
    assert builder.draft().field("goal").label == label
