"""Fields the program needs (the agreement's term): "confidential to the pair" is refused for them in the
builder and in imported files, with the reason, and a version stored before that rule never makes the portal
tell the pair "only the two of you see this" about an answer that others read."""
from __future__ import annotations

import html
import io
import json

import pytest

from portal.domain import template_store
from portal.domain.template_format import PROGRAM_NEEDED_FIELDS, dump_template_file, parse_definition
from portal.extensions import db
from portal.models import TemplateVersion
from tests.builder.conftest import as_json, counts, error_of, small_template, snapshot
from tests.factories import make_agreement, make_pair, make_program, make_role, make_user, act_as

TERM_FIELD = {"key": "term_months", "type": "number", "label": "Meet regularly and for ____ months.",
              "min": 1, "max": 24, "suggested": 3, "unit": "months", "required": True}
REASON_WORDS = "the program needs this answer"
HTMX_HEADERS = {"HX-Request": "true"}


def with_term(pair_only: bool) -> dict:
    data = small_template()
    data["sections"][0]["fields"].append({**TERM_FIELD, "pair_only": pair_only})
    return data


def typed_field(key: str, field_type: str) -> dict:
    """What the builder's form sends for a new field of this key and type, with pair-only ticked."""
    data = {"field_type": field_type, "field-label": "Meet regularly and for ____ months.", "field-key": key,
            "field-pair_only": "y"}
    if field_type == "number":
        data.update({"field-min": "1", "field-max": "24", "field-unit": "months"})
    return data


@pytest.mark.parametrize("key,field_type", sorted(PROGRAM_NEEDED_FIELDS))
def test_the_builder_refuses_pair_only_on_a_field_the_program_needs(builder, key, field_type):
    """Is ticking "confidential to the pair" on a field whose answer the program reads (the term) refused with
    422, the reason next to the checkbox, and nothing saved, both for a new field and an existing one?"""
    before, stored = counts(), builder.draft_json()
    response = builder.client.post(builder.version_url(suffix="/sections/goals/fields"),
                                   data=typed_field(key, field_type))
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert REASON_WORDS in error_of(page, "field-pair_only")
    assert builder.draft_json() == stored and counts() == before
    typed = typed_field(key, field_type)
    typed.pop("field-pair_only")
    assert builder.client.post(builder.version_url(suffix="/sections/goals/fields"), data=typed).status_code == 303
    saved = builder.draft_json()
    response = builder.client.post(builder.version_url(suffix=f"/fields/{key}"),
                                   data={**typed, "field-pair_only": "y"})
    assert response.status_code == 422
    assert REASON_WORDS in html.unescape(error_of(response.get_data(as_text=True), "field-pair_only"))
    assert builder.draft_json() == saved and not builder.draft().field(key).pair_only


def test_the_builder_explains_why_the_term_cannot_be_confidential(builder):
    """Does the term field's editor show the pair-only checkbox disabled, with the reason next to it, while
    other fields keep it available?"""
    builder.client.post(builder.version_url(suffix="/sections/goals/fields"),
                        data={k: v for k, v in typed_field("term_months", "number").items() if k != "field-pair_only"})
    for headers in ({}, HTMX_HEADERS):
        page = builder.client.get(builder.version_url() + "?edit=field:term_months", headers=headers)
        text = html.unescape(page.get_data(as_text=True))
        checkbox = text[text.index('id="field-pair_only"') - 200:text.index('id="field-pair_only"') + 900]
        assert "disabled" in checkbox and REASON_WORDS in checkbox
    other = builder.client.get(builder.version_url() + "?edit=field:goal").get_data(as_text=True)
    checkbox = other[other.index('id="field-pair_only"') - 200:other.index('id="field-pair_only"') + 300]
    assert "disabled" not in checkbox


def test_a_template_file_with_a_pair_only_term_is_refused(builder):
    """Is importing a file whose term field is marked pair-only refused (422) with a clear message naming the
    field and the reason, and nothing written?"""
    before, versions = counts(), snapshot()
    for target in ("new", str(builder.template_id)):
        response = builder.client.post(f"/programs/{builder.program.id}/templates/import", data={
            "import-file": (io.BytesIO(as_json(with_term(True))), "template.json"), "import-target": target})
        page = html.unescape(response.get_data(as_text=True))
        assert response.status_code == 422
        assert "Nothing was imported" in page
        assert "term_months" in page and "pair_only must be false" in page and REASON_WORDS in page
    assert counts() == before and snapshot() == versions


def test_the_shipped_templates_stay_valid():
    """Do the ready-made templates (whose term fields are not pair-only) still load and pass the rule?"""
    for name in template_store.SHIPPED_TEMPLATES:
        definition = template_store.shipped_definition(name)
        assert not definition.field("term_months").pair_only
        assert parse_definition(json.loads(dump_template_file(definition))) == definition


def _store_pair_only_term(version: TemplateVersion) -> None:
    """What a version saved before this rule holds: the term marked pair-only (written as the database had it)."""
    data = json.loads(version.definition_json)
    for section in data["sections"]:
        for field in section["fields"]:
            if field["key"] == "term_months":
                field["pair_only"] = True
    version.definition_json = json.dumps(data)
    db.session.commit()


def test_a_stored_version_with_a_pair_only_term_does_not_claim_confidentiality(app, client):
    """A version published before the rule marks the term pair-only: does the pair's editor leave out "only the
    two of you see this" on the term (the supervisor reads it), and do the builder, export and a new draft treat
    the term as shared with the program?"""
    program = make_program()
    admin, supervisor = make_user(), make_user()
    make_role(admin, program, "admin")
    make_role(supervisor, program, "supervisor")
    version = template_store.publish(template_store.create_template(
        program, parse_definition(with_term(False)), None), None)
    db.session.commit()
    _store_pair_only_term(version)
    pair = make_pair(program, supervisors=(supervisor,))
    agreement = make_agreement(pair, version)
    act_as(client, pair.mentor)
    term_block = client.get(f"/agreements/{agreement.id}/fields/term_months", headers=HTMX_HEADERS)
    assert term_block.status_code == 200 and "Meet regularly" in term_block.get_data(as_text=True)
    assert "only the two of you see this" not in term_block.get_data(as_text=True)
    follower = app.test_client()
    act_as(follower, supervisor)
    assert 'id="field-term_months"' in follower.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    # the program admin's builder, export and next draft: the term is not confidential
    client = app.test_client()
    act_as(client, admin)
    exported = json.loads(client.get(f"/programs/{program.id}/templates/versions/{version.id}/export").data)
    assert [f["pair_only"] for s in exported["sections"] for f in s["fields"] if f["key"] == "term_months"] == [False]
    draft = template_store.new_draft_version(version.template, None)
    db.session.commit()
    assert client.post(f"/programs/{program.id}/templates/versions/{draft.id}/fields/goal", data={
        "field-label": "Our goal", "field-required": "y", "field-max_length": ""}).status_code == 303
    assert client.post(f"/programs/{program.id}/templates/versions/{draft.id}/publish").status_code == 303
    db.session.expire_all()
    published = db.session.get(TemplateVersion, draft.id)
    assert published.state == "published"
    assert not template_store.definition_of(published).field("term_months").pair_only


def test_a_stored_draft_with_a_pair_only_term_can_still_be_edited_and_published(builder):
    """A draft saved before the rule marks the term pair-only: can the admin still edit and publish it, with the
    term published as shared with the program (the builder shows it so)?"""
    typed = {k: v for k, v in typed_field("term_months", "number").items() if k != "field-pair_only"}
    assert builder.client.post(builder.version_url(suffix="/sections/goals/fields"), data=typed).status_code == 303
    _store_pair_only_term(db.session.get(TemplateVersion, builder.draft_id))
    page = builder.client.get(builder.version_url()).get_data(as_text=True)
    assert page.count("confidential to the pair") == 0
    assert builder.client.post(builder.version_url(suffix="/publish")).status_code == 303
    db.session.expire_all()
    version = db.session.get(TemplateVersion, builder.draft_id)
    assert version.state == "published"
    assert '"pair_only": true' not in version.definition_json
