"""Publishing safely: unknown placeholders refused where they are typed, a checklist before publishing,
ready-made templates added as drafts, a default template for new pairs, and retired versions brought back."""
from __future__ import annotations

import html
import io
import json
import re

from portal.extensions import db
from portal.models import AuditEvent, TemplateVersion
from tests.builder.conftest import counts, error_of

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


# --- the checklist before publishing -----------------------------------------------------------------------------

def publish_url(builder) -> str:
    return builder.version_url(suffix="/publish")


def draft_state(builder) -> str:
    db.session.expire_all()
    return db.session.get(TemplateVersion, builder.draft_id).state


def test_publishing_shows_the_checklist_and_asks_for_confirmation(builder):
    """Does "Publish" lead to a checklist page that says all is well and asks to confirm, publishing nothing yet?"""
    page = builder.client.get(builder.version_url()).get_data(as_text=True)
    assert f'href="{publish_url(builder)}"' in page
    response = builder.client.get(publish_url(builder))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Publish version 2 of Small agreement?" in page
    assert "Everything checked" in page and "Publish version 2</button>" in page
    assert draft_state(builder) == "draft"
    response = builder.client.post(publish_url(builder))
    assert response.status_code == 303 and draft_state(builder) == "published"
    assert [json.loads(e.detail).get("version") for e in audited("template.publish")] == [1, 2]  # 1: the fixture


def test_a_template_without_fields_to_fill_in_cannot_be_published(builder):
    """Is a draft with nothing for the pair to fill in refused, the problem listed, no publish button, nothing
    published even by a direct post?"""
    for field_key in ("goal", "objectives"):
        assert builder.client.post(builder.version_url(suffix=f"/fields/{field_key}/remove")).status_code == 303
    page = builder.client.get(publish_url(builder)).get_data(as_text=True)
    assert "cannot be published yet" in page and "no field the pair fills in" in page
    assert "Publish version 2</button>" not in page
    response = builder.client.post(publish_url(builder), data={"accept_warnings": "y"})
    assert response.status_code == 422 and "no field the pair fills in" in response.get_data(as_text=True)
    assert draft_state(builder) == "draft" and len(audited("template.publish")) == 1  # the fixture's version 1


def test_an_unknown_placeholder_saved_earlier_refuses_publishing(builder):
    """Is a draft that holds {mentor} (saved before the rule) refused, naming where it is?"""
    version = db.session.get(TemplateVersion, builder.draft_id)
    data = json.loads(version.definition_json)
    data["sections"][0]["fields"][0]["label"] = "Goal agreed with {mentor}"
    version.definition_json = json.dumps(data)
    db.session.commit()
    response = builder.client.post(publish_url(builder))
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "Field 'Goal agreed with {mentor}' (section 'Goals') uses {mentor}, which is not a placeholder" in page
    assert draft_state(builder) == "draft"


def test_warnings_are_listed_and_must_be_accepted(builder):
    """Are an empty section and a missing signature block shown as warnings that publish only once accepted,
    and is the acceptance audited?"""
    builder.client.post(builder.version_url(suffix="/fields/signatures/remove"))  # its section is left empty
    page = html.unescape(builder.client.get(publish_url(builder)).get_data(as_text=True))
    assert "2 warnings" in page and "Section 'Signing' is empty" in page and "no signature block" in page
    assert "cannot be published yet" not in page and 'name="accept_warnings"' in page
    response = builder.client.post(publish_url(builder))
    assert response.status_code == 422
    assert "tick this box to publish anyway" in error_of(response.get_data(as_text=True), "accept_warnings")
    assert draft_state(builder) == "draft"
    response = builder.client.post(publish_url(builder), data={"accept_warnings": "y"})
    assert response.status_code == 303 and draft_state(builder) == "published"
    assert [json.loads(e.detail).get("warnings") for e in audited("template.publish_warnings_accepted")] == [2]


def test_a_published_version_has_no_checklist_to_publish(builder):
    """Does asking to publish a version that is already published say so, and does a post change nothing?"""
    response = builder.client.get(builder.version_url(builder.published_id, "/publish"), follow_redirects=True)
    assert "already published" in response.get_data(as_text=True)
    assert builder.client.post(builder.version_url(builder.published_id, "/publish")).status_code == 409


# --- bringing a retired version back -----------------------------------------------------------------------------

def test_a_retired_version_can_be_brought_back(builder):
    """Can the admin publish a retired version again, so that new pairs start from it, with an audit entry?"""
    from portal.domain import template_store
    builder.client.post(builder.version_url(builder.published_id, "/retire"))
    assert template_store.published_versions(builder.program) == []
    page = builder.client.get(f"/programs/{builder.program.id}/templates/{builder.template_id}").get_data(
        as_text=True)
    assert builder.version_url(builder.published_id, "/republish") in page and "Bring back" in page
    response = builder.client.post(builder.version_url(builder.published_id, "/republish"), follow_redirects=True)
    assert "Version 1 is published again. New pairs start from it again." in response.get_data(as_text=True)
    assert [v.id for v in template_store.published_versions(builder.program)] == [builder.published_id]
    assert [json.loads(e.detail).get("version") for e in audited("template.republish")] == [1]
    audit_page = builder.client.get(f"/programs/{builder.program.id}/audit").get_data(as_text=True)
    assert "brought back a retired template version" in audit_page


def test_only_a_retired_version_can_be_brought_back(builder):
    """Is bringing back a published version or a draft refused (409), changing nothing?"""
    before = counts()
    for version_id in (builder.published_id, builder.draft_id):
        response = builder.client.post(builder.version_url(version_id, "/republish"))
        assert response.status_code == 409 and "only a retired version can be brought back" in response.get_data(
            as_text=True)
    assert counts() == before


# --- ready-made templates ----------------------------------------------------------------------------------------

def test_ready_made_templates_are_added_as_drafts_naming_this_program(builder):
    """Does "add a ready-made template" add CCMC as a draft (not published, no new pair starts from it), whose
    release names this program rather than the Commission, until the admin publishes it?"""
    from portal.domain import template_store
    response = builder.client.post(f"/programs/{builder.program.id}/templates/shipped",
                                   data={"shipped-shipped": "ccmc"}, follow_redirects=True)
    page = html.unescape(response.get_data(as_text=True))
    assert "added as a draft" in page
    added = db.session.scalar(db.select(TemplateVersion).order_by(TemplateVersion.id.desc()).limit(1))
    assert (added.template.name, added.state) == ("CCMC Mentoring Agreement", "draft")
    assert "CCMC Mentoring Agreement" not in [v.template.name for v in template_store.published_versions(
        builder.program)]
    preview = builder.client.get(builder.version_url(added.id, "/preview")).get_data(as_text=True)
    assert "hold harmless the Nurses Mentoring, its respective directors" in preview
    assert "Commission for Case Manager Certification" not in preview
    assert [json.loads(e.detail).get("shipped") for e in audited("template.add_ready_made")] == ["ccmc"]
    refused = builder.client.post(f"/programs/{builder.program.id}/templates/shipped",
                                  data={"shipped-shipped": "../../etc/passwd"})
    assert refused.status_code == 422 and "Not a valid choice" in refused.get_data(as_text=True)


# --- the program's default template ------------------------------------------------------------------------------

def second_template(builder):
    """A second published template in the builder's program, named "Another agreement"."""
    from tests.builder.conftest import make_template, small_template
    version, _ = make_template(builder.program, small_template(name="Another agreement"), draft=False)
    return version


def test_the_program_admin_chooses_the_default_template_for_new_pairs(builder):
    """Can the admin make a template the default (audited), and is it then preselected on the new-pair form,
    although another template comes first in the alphabet?"""
    another = second_template(builder)  # "Another agreement" sorts before "Small agreement"
    index = f"/programs/{builder.program.id}/templates"
    page = builder.client.get(f"/programs/{builder.program.id}/pairs/new").get_data(as_text=True)
    assert f'value="{another.id}"' in page and ", the program&#39;s default" not in page  # none preselected
    response = builder.client.post(f"{index}/default", data={"default-template": str(builder.template_id)},
                                   follow_redirects=True)
    page = html.unescape(response.get_data(as_text=True))
    assert "New pairs now start from 'Small agreement'" in page and "default for new pairs" in page
    form = builder.client.get(f"/programs/{builder.program.id}/pairs/new").get_data(as_text=True)
    selected = re.search(r'<option[^>]*selected[^>]*>([^<]*)</option>', form)
    assert selected and "Small agreement (version 1), the program&#39;s default" in selected.group(1)
    assert [json.loads(e.detail).get("template_id") for e in audited("program.default_template")] == [
        builder.template_id]


def test_a_template_never_published_cannot_be_the_default(builder):
    """Is a template without a published version (or another program's) refused as the default, next to the
    choice, changing nothing?"""
    from tests.factories import make_program
    response = builder.client.post(f"/programs/{builder.program.id}/templates",
                                   data={"new-name": "Unpublished"})
    unpublished_id = db.session.get(TemplateVersion, int(response.headers["Location"].rsplit("/", 1)[1])).template_id
    foreign, _ = make_template_in(make_program(code="FAR"))
    for template_id, words in ((unpublished_id, "has no published version yet"),
                               (foreign.template_id, "Choose one of the program's published templates")):
        response = builder.client.post(f"/programs/{builder.program.id}/templates/default",
                                       data={"default-template": str(template_id)})
        assert response.status_code == 422
        assert words in html.unescape(error_of(response.get_data(as_text=True), "default-template"))
    db.session.expire_all()
    assert builder.program.default_template_id is None and audited("program.default_template") == []


def test_a_default_choice_that_is_no_template_is_refused_and_only_none_clears_it(builder):
    """Is a huge number, a word or a negative number as the default template refused next to the choice (never a
    500, never clearing the default), while choosing "None" still clears it?"""
    url = f"/programs/{builder.program.id}/templates/default"
    builder.client.post(url, data={"default-template": str(builder.template_id)})
    for bad in ("99999999999999999999", str(2**31), "abc", "-1", "1.5"):
        response = builder.client.post(url, data={"default-template": bad})
        assert response.status_code == 422, bad
        assert "Choose one of the program's published templates" in html.unescape(
            error_of(response.get_data(as_text=True), "default-template"))
        db.session.expire_all()
        assert builder.program.default_template_id == builder.template_id
    for none in ("", "none"):
        builder.client.post(url, data={"default-template": str(builder.template_id)})
        assert builder.client.post(url, data={"default-template": none}).status_code == 303
        db.session.expire_all()
        assert builder.program.default_template_id is None


def make_template_in(program):
    from tests.builder.conftest import make_template
    return make_template(program, draft=False)


def test_new_pairs_and_the_csv_import_use_the_default_template(builder):
    """With two templates, do a pair created without naming one and a CSV row without a template column start
    from the default template's newest version?"""
    from portal.domain import template_store
    from portal.models import Agreement
    second_template(builder)
    csv_text = "mentor_email,mentee_email\nm1@example.org,e1@example.org\n"
    upload = {"csv_file": (io.BytesIO(csv_text.encode()), "pairs.csv")}
    refused = builder.client.post(f"/programs/{builder.program.id}/pairs/import", data=upload,
                                  content_type="multipart/form-data")
    assert "several templates and no default one" in refused.get_data(as_text=True)
    builder.client.post(f"/programs/{builder.program.id}/templates/default",
                        data={"default-template": str(builder.template_id)})
    upload = {"csv_file": (io.BytesIO(csv_text.encode()), "pairs.csv")}
    preview = builder.client.post(f"/programs/{builder.program.id}/pairs/import", data=upload,
                                  content_type="multipart/form-data")
    assert preview.status_code == 200 and "Import 1 pair" in preview.get_data(as_text=True)
    response = builder.client.post(f"/programs/{builder.program.id}/pairs/import/confirm",
                                   data={"csv_text": csv_text})
    assert response.status_code == 303
    response = builder.client.post(f"/programs/{builder.program.id}/pairs/new", data={
        "mentor_email": "m2@example.org", "mentee_email": "e2@example.org"})
    assert response.status_code == 303
    default = template_store.default_version(builder.program)
    assert default.id == builder.published_id
    assert [a.template_version_id for a in db.session.scalars(db.select(Agreement))] == [default.id] * 2


def test_both_ready_made_templates_pass_the_checklist(builder):
    """Do the WHPRMS and CCMC templates, added as drafts, pass the checklist without a problem or a warning?"""
    for shipped in ("whprms", "ccmc"):
        response = builder.client.post(f"/programs/{builder.program.id}/templates/shipped",
                                       data={"shipped-shipped": shipped})
        page = builder.client.get(response.headers["Location"] + "/publish").get_data(as_text=True)
        assert "Everything checked" in page and "warning" not in page, shipped
        assert builder.client.post(response.headers["Location"] + "/publish").status_code == 303
