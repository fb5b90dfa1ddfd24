"""Versions: drafts change, published versions never do, agreements keep theirs, retired ones start no pair."""
from __future__ import annotations

import pytest

from portal.domain import template_store
from portal.extensions import db
from portal.models import AgreementTemplate, TemplateVersion
from tests.builder.conftest import counts, snapshot, stored_json

# Every builder change, as (path after the version's address, form data that would be valid on a draft).
CHANGES = [
    ("/text", {"template-name": "New name", "template-title": "New title", "template-intro": ""}),
    ("/sections", {"new_section-title": "Another section"}),
    ("/sections/goals", {"section-title": "Renamed", "section-intro": ""}),
    ("/sections/goals/move", {"direction": "down"}),
    ("/sections/goals/remove", {}),
    ("/sections/goals/fields", {"field_type": "date", "field-label": "Start date"}),
    ("/fields/goal", {"field-label": "Changed", "field-max_length": "100"}),
    ("/fields/goal/move", {"direction": "down"}),
    ("/fields/goal/remove", {}),
]


def publish_draft(builder):
    return builder.client.post(builder.version_url(suffix="/publish"))


@pytest.mark.parametrize("path,data", CHANGES, ids=[path for path, _ in CHANGES])
@pytest.mark.parametrize("state", ["published", "retired"])
def test_a_published_or_retired_version_refuses_every_change(builder, path, data, state):
    """Is every change to a published (or retired) version answered 409 with the reason, leaving it byte-identical?"""
    if state == "retired":
        builder.client.post(builder.version_url(builder.published_id, "/retire"))
    before, versions = counts(), snapshot()
    for headers in ({}, {"HX-Request": "true"}):
        response = builder.client.post(builder.version_url(builder.published_id, path), data=data, headers=headers)
        page = response.get_data(as_text=True)
        assert response.status_code == 409
        assert f"Version 1 is {state}" in page and "can no longer be changed" in page
        assert "Start a new draft" in page
    assert snapshot() == versions and counts() == before


def test_a_published_version_offers_no_editing(builder):
    """Does the page of a published version show the form read-only, without editors, even when asked for one?"""
    page = builder.client.get(builder.version_url(builder.published_id) + "?edit=field:goal").get_data(as_text=True)
    assert 'id="field-goal"' in page
    assert 'name="field-label"' not in page and "/fields/goal/move" not in page and "Add a field" not in page
    assert "never changes" in page and "Start a new draft" in page


def test_publishing_leaves_earlier_versions_byte_identical(builder):
    """Does publishing a changed new version leave the version agreements were made from exactly as it was?"""
    original = stored_json(builder.published_id)
    builder.client.post(builder.version_url(suffix="/fields/goal"),
                        data={"field-label": "A different goal", "field-max_length": "100"})
    builder.client.post(builder.version_url(suffix="/fields/objectives/remove"))  # (a template without
    assert publish_draft(builder).status_code == 303  # any field to fill in is refused: see test_publishing)
    assert stored_json(builder.published_id) == original
    old, new = (db.session.get(TemplateVersion, i) for i in (builder.published_id, builder.draft_id))
    assert (old.state, new.state) == ("published", "published")
    assert template_store.definition_of(old).field("goal").label == "Goal"
    # New pairs start from the newest published version; the older one stays readable.
    assert [v.id for v in template_store.published_versions(builder.program)] == [builder.draft_id]
    assert builder.client.get(builder.version_url(builder.published_id)).status_code == 200


def test_each_version_counts_the_agreements_made_from_it(builder):
    """Does the admin see how many agreements use each version (pinned, so a new version takes none away)?"""
    from tests.factories import make_agreement, make_pair
    template = db.session.get(AgreementTemplate, builder.template_id)
    published = db.session.get(TemplateVersion, builder.published_id)
    page = builder.client.get(builder.version_url(builder.published_id)).get_data(as_text=True)
    assert "0 agreements so far" in page
    for _ in range(2):
        make_agreement(make_pair(builder.program), published)
    assert template_store.agreement_counts_by_version(template) == {builder.published_id: 2}
    page = builder.client.get(builder.version_url(builder.published_id)).get_data(as_text=True)
    assert "2 agreements so far" in page
    publish_draft(builder)
    assert template_store.agreement_counts_by_version(template) == {builder.published_id: 2}


def test_publish_makes_the_draft_final(builder):
    """After publishing, is the draft a published version that new pairs start from, and refuses changes?"""
    response = publish_draft(builder)
    assert response.status_code == 303
    page = builder.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Version 2 is published. New pairs start from it" in page
    assert "New pairs start from <strong>version 2</strong>" in page
    assert publish_draft(builder).status_code == 409  # a second click: it is already published


def test_retiring_stops_new_pairs_but_keeps_the_version(builder):
    """Does retiring a published version take it out of use for new pairs, unchanged and still viewable?"""
    original = stored_json(builder.published_id)
    response = builder.client.post(builder.version_url(builder.published_id, "/retire"))
    assert response.status_code == 303
    version = db.session.get(TemplateVersion, builder.published_id)
    assert version.state == "retired" and version.definition_json == original
    assert template_store.published_versions(builder.program) == []
    page = builder.client.get(builder.version_url(builder.published_id)).get_data(as_text=True)
    assert "no new pair starts from this version" in page
    assert builder.client.post(builder.version_url(builder.draft_id, "/retire")).status_code == 409


def test_a_new_draft_starts_from_the_newest_version(builder):
    """Does "start a new draft" copy the newest version, and lead to the existing draft when there is one?"""
    publish_draft(builder)
    response = builder.client.post(f"/programs/{builder.program.id}/templates/{builder.template_id}/drafts")
    assert response.status_code == 303
    newest = db.session.scalar(db.select(TemplateVersion).order_by(TemplateVersion.number.desc()).limit(1))
    assert (newest.number, newest.state) == (3, "draft")
    assert newest.definition_json == stored_json(builder.draft_id)
    again = builder.client.post(f"/programs/{builder.program.id}/templates/{builder.template_id}/drafts")
    assert again.headers["Location"] == builder.version_url(newest.id)
    assert db.session.scalar(db.select(db.func.count(TemplateVersion.id))) == 3


def test_discarding_a_draft_keeps_the_published_versions(builder):
    """Can a draft be thrown away, leaving the published version as it was?"""
    original = stored_json(builder.published_id)
    response = builder.client.post(builder.version_url(suffix="/discard"))
    assert response.status_code == 303
    assert db.session.get(TemplateVersion, builder.draft_id) is None
    assert stored_json(builder.published_id) == original
    assert builder.client.post(builder.version_url(builder.published_id, "/discard")).status_code == 409


def test_discarding_a_never_published_template_deletes_it(builder):
    """Does discarding the only (draft) version of a new template remove the template, leaving no empty shell?"""
    response = builder.client.post(f"/programs/{builder.program.id}/templates", data={"new-name": "Scratch"})
    version_id = int(response.headers["Location"].rsplit("/", 1)[1])
    response = builder.client.post(builder.version_url(version_id, "/discard"))
    assert response.headers["Location"] == f"/programs/{builder.program.id}/templates"
    assert db.session.scalar(db.select(AgreementTemplate).where(AgreementTemplate.name == "Scratch")) is None


def test_a_new_empty_template_starts_as_a_draft(builder):
    """Does "start an empty template" create a draft with one section, opened in the builder?"""
    response = builder.client.post(f"/programs/{builder.program.id}/templates", data={"new-name": "Peer mentoring"})
    assert response.status_code == 303
    page = builder.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Peer mentoring" in page and "version 1: draft" in page and "Our agreement" in page
    empty = builder.client.post(f"/programs/{builder.program.id}/templates", data={"new-name": ""})
    assert empty.status_code == 422 and "This is empty" in empty.get_data(as_text=True)


def test_the_diff_between_two_versions_is_readable(builder):
    """Does the admin see what changed between two versions, in words?"""
    url = f"/programs/{builder.program.id}/templates/{builder.template_id}/diff"
    untouched = builder.client.get(f"{url}?from={builder.published_id}&to={builder.draft_id}")
    assert "No differences" in untouched.get_data(as_text=True)  # a fresh draft is a copy
    builder.client.post(builder.version_url(suffix="/fields/objectives"), data={
        "field-label": "Objectives", "field-min_items": "1", "field-max_items": "5", "field-max_length": "500"})
    builder.client.post(builder.version_url(suffix="/sections/goals/fields"),
                        data={"field_type": "date", "field-label": "Start date"})
    builder.client.post(builder.version_url(suffix="/fields/goal/remove"))
    page = builder.client.get(f"{url}?from={builder.published_id}&to={builder.draft_id}").get_data(as_text=True)
    assert "Changes from version 1 to version 2" in page
    assert "most items changed from 3 to 5" in page
    assert "field added: a date field &#39;Start date&#39;" in page
    assert "field removed (was a long text field &#39;Goal&#39;)" in page
    same = builder.client.get(f"{url}?from={builder.published_id}&to={builder.published_id}")
    assert "the same version on both sides" in same.get_data(as_text=True)
    default = builder.client.get(url).get_data(as_text=True)  # newest against the one before it
    assert "Changes from version 1 to version 2" in default


def test_a_version_of_another_template_cannot_be_compared(builder):
    """Is a version id from another template ignored by the diff (never shown)?"""
    from tests.builder.conftest import make_template, small_template
    other, _ = make_template(builder.program, small_template(name="Other template"), draft=False)
    url = f"/programs/{builder.program.id}/templates/{builder.template_id}/diff?from={other.id}&to={builder.draft_id}"
    page = builder.client.get(url).get_data(as_text=True)
    assert "Changes from version 1 to version 2" in page and "Other template" not in page
