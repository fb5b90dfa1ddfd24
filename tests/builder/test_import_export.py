"""Export a version as a file, import it back; every bad file is refused with its reason and nothing written."""
from __future__ import annotations

import dataclasses
import io
import json

import pytest

from portal.domain import template_store
from portal.domain.template_format import MAX_FILE_BYTES
from portal.extensions import db
from portal.models import AgreementTemplate, TemplateVersion
from tests.builder.conftest import as_json, counts, small_template, snapshot


def import_file(builder, raw: bytes, target: str = "new", filename: str = "template.json"):
    return builder.client.post(f"/programs/{builder.program.id}/templates/import",
                               data={"import-file": (io.BytesIO(raw), filename), "import-target": target})


def export(builder, version_id: int):
    return builder.client.get(builder.version_url(version_id, "/export"))


def test_export_is_the_canonical_file(builder):
    """Is an export a JSON download of the version in the documented canonical form?"""
    response = export(builder, builder.published_id)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="small-agreement-v1.json"'
    version = db.session.get(TemplateVersion, builder.published_id)
    from portal.domain.template_format import dump_template_file
    assert response.get_data(as_text=True) == dump_template_file(template_store.definition_of(version))


@pytest.mark.parametrize("shipped", ["whprms", "ccmc"])
def test_export_then_import_gives_the_same_template(builder, shipped):
    """After exporting a version and importing the file, is the new draft the same template, to the byte, but
    for a number added to its name so that the program's two templates can be told apart?"""
    version = template_store.install_shipped_template(builder.program, shipped, None)
    db.session.commit()
    original = template_store.definition_of(version)
    exported = export(builder, version.id).get_data()
    response = import_file(builder, exported)
    assert response.status_code == 303
    imported_id = int(response.headers["Location"].rsplit("/", 1)[1])
    imported = db.session.get(TemplateVersion, imported_id)
    assert (imported.number, imported.state) == (1, "draft") and imported.template_id != version.template_id
    assert imported.template.name == f"{original.name} (2)"
    assert template_store.definition_of(imported) == dataclasses.replace(original, name=f"{original.name} (2)")
    renamed = json.dumps(original.name)[:-1] + ' (2)"'
    assert export(builder, imported_id).get_data() == exported.replace(
        json.dumps(original.name).encode(), renamed.encode(), 1)
    page = builder.client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Imported &#39;{original.name} (2)&#39;" in page and "(a draft)" in page


def test_import_as_the_next_version_of_a_template(builder):
    """Can a file become the new draft version of an existing template (once its draft is out of the way)?"""
    changed = small_template(title="Changed title")
    refused = import_file(builder, as_json(changed), target=str(builder.template_id))
    assert refused.status_code == 422
    assert "already has a draft (version 2)" in refused.get_data(as_text=True)
    builder.client.post(builder.version_url(suffix="/publish"))
    response = import_file(builder, as_json(changed), target=str(builder.template_id))
    assert response.status_code == 303
    newest = template_store.newest_version(db.session.get(AgreementTemplate, builder.template_id))
    assert (newest.number, newest.state) == (3, "draft")
    assert template_store.definition_of(newest).title == "Changed title"


def _duplicate_field_key():
    data = small_template()
    data["sections"][0]["fields"][1]["key"] = "goal"
    return as_json(data)


def _wrong_type():
    data = small_template()
    data["sections"][0]["fields"][0]["required"] = 1
    return as_json(data)


def _unknown_type():
    data = small_template()
    data["sections"][0]["fields"][0]["type"] = "slider"
    return as_json(data)


def _oversized():
    data = small_template(intro="x" * 19_000)
    data["sections"] = [dict(data["sections"][0], key=f"s{n}", title=f"Section {n}", fields=[],
                             intro="y" * 19_000) for n in range(15)]
    raw = as_json(data)
    assert len(raw) > MAX_FILE_BYTES
    return raw


REFUSED = {
    "wrong type": (_wrong_type, "required must be true or false, not the number 1"),
    "unknown field type": (_unknown_type, "unknown field type &#39;slider&#39;"),
    "duplicate key": (_duplicate_field_key, "duplicate key &#39;goal&#39;"),
    "name twice in an object": (lambda: b'{"format": "mentorship-agreement-template", "format": "x"}',
                                "the name &#39;format&#39; appears twice in one object"),
    "oversized": (_oversized, "The file is too large"),
    "malformed JSON": (lambda: b'{"format": "mentorship-agreement-template",', "The file is not valid JSON"),
    "not UTF-8": (lambda: as_json(small_template(name="Caf\u00e9")).replace("Caf\\u00e9".encode(), b"Caf\xe9"),
                  "The file is not valid UTF-8 text (byte 0xe9"),
    "not a template": (lambda: b'{"name": "a shopping list"}', "this is not an agreement template"),
    "not an object": (lambda: b'[1, 2, 3]', "must hold one JSON object"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_bad_file_is_refused_with_its_reason_and_nothing_written(builder, case):
    """Is each kind of bad template file refused (422) with a message naming the problem, and nothing written?"""
    make_raw, reason = REFUSED[case]
    before, versions = counts(), snapshot()
    for target in ("new", str(builder.template_id)):
        response = import_file(builder, make_raw(), target=target)
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "Nothing was imported: the file is not a valid template." in page
        assert reason in page
    assert counts() == before and snapshot() == versions


def test_an_import_without_a_file_asks_for_one(builder):
    """Is submitting the import form without choosing a file answered with a request to choose one?"""
    before = counts()
    response = builder.client.post(f"/programs/{builder.program.id}/templates/import", data={"import-target": "new"})
    assert response.status_code == 422 and "Choose the template file to import." in response.get_data(as_text=True)
    assert counts() == before


def test_an_upload_larger_than_the_portal_accepts_is_refused(builder):
    """Is an upload beyond the request size limit refused with a clear page, nothing written?"""
    before = counts()
    response = import_file(builder, b" " * (builder.client.application.config["MAX_CONTENT_LENGTH"] + 1))
    assert response.status_code == 413 and "larger than the portal accepts" in response.get_data(as_text=True)
    assert counts() == before


def test_imported_file_text_is_data(builder):
    """Does a file whose texts look like markup or Jinja import as plain text (nothing evaluated)?"""
    raw = as_json(small_template(name="{{ config.SECRET_KEY }}", intro="<script>alert(1)</script>"))
    response = import_file(builder, raw)
    page = builder.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "{{ config.SECRET_KEY }}" in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert builder.client.application.config["SECRET_KEY"] not in page
    assert json.loads(export(builder, int(response.headers["Location"].rsplit("/", 1)[1])).get_data())[
        "name"] == "{{ config.SECRET_KEY }}"
