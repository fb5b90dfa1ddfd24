"""Building a draft's structure: its texts, sections and the order of fields; htmx and plain posts alike."""
from __future__ import annotations

from tests.builder.conftest import error_of, form_errors


def order(builder) -> list[tuple[str, list[str]]]:
    return [(s.key, [f.key for f in s.fields]) for s in builder.draft().sections]


def test_template_texts_are_edited(builder):
    """Can the admin change the template's name, title and introduction, line breaks kept?"""
    response = builder.client.post(builder.version_url(suffix="/text"), data={
        "template-name": "Nurses agreement", "template-title": "Mentoring agreement of {program_name}",
        "template-intro": "First line.\r\nSecond line."})
    assert response.status_code == 303 and response.headers["Location"].endswith("#template-text")
    definition = builder.draft()
    assert (definition.name, definition.title, definition.intro) == (
        "Nurses agreement", "Mentoring agreement of {program_name}", "First line.\nSecond line.")
    page = builder.client.get(f"/programs/{builder.program.id}/templates").get_data(as_text=True)
    assert "Nurses agreement" in page  # the template is listed under its newest name


def test_an_empty_title_is_refused_next_to_it(builder):
    """Is an empty template title refused next to the title input, with nothing saved?"""
    stored = builder.draft_json()
    response = builder.client.post(builder.version_url(suffix="/text"),
                                   data={"template-name": "Name", "template-title": " ", "template-intro": ""})
    assert response.status_code == 422
    assert "This is empty" in error_of(response.get_data(as_text=True), "template-title")
    assert builder.draft_json() == stored


def test_two_templates_of_a_program_cannot_share_a_name(builder):
    """Are a new empty template, and a renamed draft, refused a name another template of the program has
    (whatever its case), next to the name, with nothing saved?"""
    taken = builder.draft().name
    response = builder.client.post(f"/programs/{builder.program.id}/templates", data={"new-name": taken.upper()})
    assert response.status_code == 422
    assert "already has a template called" in error_of(response.get_data(as_text=True), "new-name")
    other = builder.client.post(f"/programs/{builder.program.id}/templates", data={"new-name": "Peer mentoring"})
    assert other.status_code == 303
    other_text = other.headers["Location"] + "/text"
    stored = builder.draft_json()
    response = builder.client.post(other_text, data={"template-name": taken, "template-title": "T",
                                                     "template-intro": ""})
    assert response.status_code == 422
    assert "already has a template called" in error_of(response.get_data(as_text=True), "template-name")
    assert builder.draft_json() == stored
    kept = builder.client.post(builder.version_url(suffix="/text"), data={
        "template-name": taken, "template-title": "Same name, new title", "template-intro": ""})
    assert kept.status_code == 303  # a draft keeps its own name


def test_sections_are_added_edited_moved_and_removed(builder):
    """Can the admin add a section, rename it, move it up and remove it again?"""
    response = builder.client.post(builder.version_url(suffix="/sections"), data={
        "new_section-title": "Meetings", "new_section-intro": "How we meet."})
    assert response.status_code == 303 and response.headers["Location"].endswith("#section-meetings")
    assert [key for key, _ in order(builder)] == ["goals", "signing", "meetings"]
    builder.client.post(builder.version_url(suffix="/sections/meetings"),
                        data={"section-title": "Our meetings", "section-intro": ""})
    assert builder.draft().section("meetings").title == "Our meetings"
    builder.client.post(builder.version_url(suffix="/sections/meetings/move"), data={"direction": "up"})
    assert [key for key, _ in order(builder)] == ["goals", "meetings", "signing"]
    builder.client.post(builder.version_url(suffix="/sections/goals/remove"))
    assert order(builder) == [("meetings", []), ("signing", ["signatures"])]


def test_a_section_title_is_required(builder):
    """Is a section without a title refused next to the title, nothing added?"""
    stored = builder.draft_json()
    response = builder.client.post(builder.version_url(suffix="/sections"), data={"new_section-title": ""})
    assert response.status_code == 422
    assert "This is empty" in error_of(response.get_data(as_text=True), "new_section-title")
    assert builder.draft_json() == stored


def test_the_last_section_cannot_be_removed(builder):
    """Is removing the only section refused with an explanation (a template needs one)?"""
    builder.client.post(builder.version_url(suffix="/sections/goals/remove"))
    stored = builder.draft_json()
    response = builder.client.post(builder.version_url(suffix="/sections/signing/remove"))
    assert response.status_code == 422
    assert any("at least one section" in e for e in form_errors(response.get_data(as_text=True)))
    assert builder.draft_json() == stored


def test_fields_move_within_and_across_sections(builder):
    """Do move up/down reorder fields, crossing into the neighbouring section at a section's edge?"""
    url = builder.version_url(suffix="/fields/objectives/move")
    builder.client.post(url, data={"direction": "up"})
    assert order(builder) == [("goals", ["objectives", "goal"]), ("signing", ["signatures"])]
    builder.client.post(url, data={"direction": "down"})
    builder.client.post(url, data={"direction": "down"})
    assert order(builder) == [("goals", ["goal"]), ("signing", ["objectives", "signatures"])]
    builder.client.post(builder.version_url(suffix="/fields/signatures/move"), data={"direction": "down"})
    page = builder.client.get(builder.version_url()).get_data(as_text=True)
    assert "The field is already the last." in page
    assert order(builder) == [("goals", ["goal"]), ("signing", ["objectives", "signatures"])]


def test_a_field_is_removed(builder):
    """Can the admin remove a field from the draft while the published version keeps it?"""
    response = builder.client.post(builder.version_url(suffix="/fields/objectives/remove"))
    assert response.status_code == 303
    assert builder.draft().field("objectives") is None
    published = builder.client.get(builder.version_url(builder.published_id)).get_data(as_text=True)
    assert 'id="field-objectives"' in published


def test_htmx_changes_get_the_builder_fragment_back(builder):
    """Does an htmx change get the fresh builder fragment (200, not a redirect), with the notice and Vary?"""
    response = builder.client.post(builder.version_url(suffix="/fields/goal/move"), data={"direction": "down"},
                                   headers={"HX-Request": "true"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Redirect" not in response.headers
    assert page.lstrip().startswith('<div id="builder"') and "<html" not in page
    assert "Field moved down." in page and 'id="field-goal-down" class="small" autofocus' in page
    assert "HX-Request" in response.headers["Vary"]


def test_htmx_refusals_get_the_fragment_with_the_problem(builder):
    """Does an invalid htmx change get the builder fragment with 422 and the editor still open?"""
    response = builder.client.post(builder.version_url(suffix="/fields/goal"),
                                   data={"field-label": "", "field-max_length": "10"},
                                   headers={"HX-Request": "true"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and page.lstrip().startswith('<div id="builder"')
    assert "This is empty" in error_of(page, "field-label")
    assert 'value="10"' in page  # what was typed is still there


def test_builder_forms_work_without_javascript(builder):
    """Does every htmx element also work as plain HTML (a form's action and method, a link's href), name its
    target and swap explicitly, and does the page hold no inline script or style?"""
    import re
    page = builder.client.get(builder.version_url()).get_data(as_text=True)
    enhanced = re.findall(r"<(?:form|a)\b[^>]*\bdata-hx-(?:post|get)=[^>]*>", page)
    assert len(enhanced) > 20
    for tag in enhanced:
        assert 'data-hx-target="#builder"' in tag and 'data-hx-swap="outerHTML"' in tag, tag
        if tag.startswith("<form"):
            assert re.search(r'method="(post|get)"', tag) and 'action="/programs/' in tag, tag
            if 'method="post"' in tag:
                assert re.search(r'action="([^"]+)"', tag).group(1) == re.search(r'data-hx-post="([^"]+)"', tag).group(1)
        else:
            assert 'href="/programs/' in tag, tag
    assert "<script>" not in page and " style=" not in page and "onclick" not in page


def test_a_stale_page_is_told_the_field_is_gone(builder):
    """When a field was removed in another window, is editing it answered with a clear 404, nothing saved?"""
    builder.client.post(builder.version_url(suffix="/fields/objectives/remove"))
    stored = builder.draft_json()
    response = builder.client.post(builder.version_url(suffix="/fields/objectives"), data={"field-label": "x"})
    assert response.status_code == 404
    assert "no longer" in response.get_data(as_text=True) or "not in this draft" in response.get_data(as_text=True)
    assert builder.draft_json() == stored


def test_the_draft_warns_when_it_cannot_be_signed(builder):
    """Does the builder point out a template without a signature block?"""
    assert "no signature block yet" not in builder.client.get(builder.version_url()).get_data(as_text=True)
    builder.client.post(builder.version_url(suffix="/fields/signatures/remove"))
    assert "no signature block yet" in builder.client.get(builder.version_url()).get_data(as_text=True)


def test_the_signature_warning_follows_htmx_changes(builder):
    """Does the builder fragment an htmx change answers with say whether a signature block is still missing?"""
    htmx = {"HX-Request": "true"}
    removed = builder.client.post(builder.version_url(suffix="/fields/signatures/remove"), headers=htmx)
    assert removed.status_code == 200 and "no signature block yet" in removed.get_data(as_text=True)
    added = builder.client.post(builder.version_url(suffix="/sections/signing/fields"), headers=htmx,
                                data={"field_type": "signatures", "field-label": "", "field-signers": "mentor,mentee"})
    assert added.status_code == 200, added.get_data(as_text=True)[:500]
    assert "no signature block yet" not in added.get_data(as_text=True)


def test_changes_are_audited(builder):
    """Is every saved change recorded in the audit log with who made it (and no template text)?"""
    from portal.extensions import db
    from portal.models import AuditEvent
    builder.client.post(builder.version_url(suffix="/fields/goal"),
                        data={"field-label": "A secret-looking label", "field-max_length": "100"})
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "template.edit"))
    assert event.actor_id is not None and '"change": "field_changed"' in event.detail
    assert "secret-looking" not in event.detail


def test_a_draft_never_outgrows_a_template_file(builder):
    """Is a change that would make the draft too large to export and import again refused, nothing saved?"""
    from portal.domain import template_store
    from portal.extensions import db
    from portal.models import TemplateVersion
    version = db.session.get(TemplateVersion, builder.draft_id)
    for number in range(12):  # 12 clauses of 20,000 characters: about 240 KiB, still a valid file
        template_store.add_field(version, None, "goals", "clause", {"text": "x" * 20_000}, key=f"clause_{number}")
    db.session.commit()
    stored = builder.draft_json()
    response = builder.client.post(builder.version_url(suffix="/sections/goals/fields"),
                                   data={"field_type": "clause", "field-text": "y" * 20_000})
    assert response.status_code == 422
    assert "more than the 256 KiB a template file may hold" in response.get_data(as_text=True)
    assert builder.draft_json() == stored
