"""Another program's templates: every builder address answers 404 and changes nothing."""
from __future__ import annotations

import io

import pytest

from tests.builder.conftest import counts, make_template, snapshot
from tests.factories import make_program, make_role, make_user, act_as

# Valid-looking form data for each POST route, so a refusal cannot be mistaken for a validation error.
FORM_DATA = {
    "builder.create_template": {"new-name": "Mine now"},
    "builder.import_template": {"import-target": "new"},
    "builder.add_shipped_template": {"shipped-shipped": "whprms"},
    "builder.edit_text": {"template-name": "x", "template-title": "x", "template-intro": ""},
    "builder.add_section": {"new_section-title": "Taken over"},
    "builder.edit_section": {"section-title": "Taken over", "section-intro": ""},
    "builder.move_section": {"direction": "down"},
    "builder.move_field": {"direction": "down"},
    "builder.add_field": {"field_type": "date", "field-label": "Taken over"},
    "builder.edit_field": {"field-label": "Taken over", "field-max_length": "10"},
}


def builder_routes(app):
    return sorted(((rule, method) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("builder.")
                   for method in rule.methods - {"HEAD", "OPTIONS"}), key=lambda pair: (pair[0].endpoint, pair[1]))


@pytest.fixture
def two_programs(app, client):
    """The victim program (with a published version and a draft) and an intruder who administers another one."""
    victim_program = make_program(code="VICTIM")
    make_role(make_user(), victim_program, "admin")
    published, draft = make_template(victim_program)
    intruder_program = make_program(code="INTRUDER")
    intruder = make_user()
    make_role(intruder, intruder_program, "admin")
    make_template(intruder_program)  # the intruder has templates of their own: their ids are real
    act_as(client, intruder)
    return {"victim": victim_program.id, "intruder": intruder_program.id, "template": published.template_id,
            "published": published.id, "draft": draft.id}


ADDRESS_PARTS = {"program_id", "template_id", "version_id", "section_key", "field_key"}


def test_the_walk_can_fill_in_every_builder_address(app):
    """Can the walk below build every route of the template area (so a new route cannot slip past it)?"""
    routes = builder_routes(app)
    assert len(routes) >= 20
    for rule, _ in routes:
        assert rule.arguments <= ADDRESS_PARTS, f"teach the isolation walk the parts of {rule.rule}"


@pytest.mark.parametrize("under", ["victim", "intruder"])
def test_another_programs_admin_gets_404_everywhere_and_changes_nothing(app, client, two_programs, under):
    """Does an admin of another program get 404 on every builder address of this program's templates (under this
    program's address or their own), with nothing changed by any POST?"""
    before, versions = counts(), snapshot()
    for rule, method in builder_routes(app):
        for version in ("published", "draft"):
            values = {"program_id": two_programs[under], "template_id": two_programs["template"],
                      "version_id": two_programs[version], "section_key": "goals", "field_key": "goal"}
            values = {name: value for name, value in values.items() if name in rule.arguments}
            if "template_id" not in values and "version_id" not in values and under == "intruder":
                continue  # the intruder's own program: their right, not this test's subject
            url = rule.build(values, append_unknown=False)[1]
            data = dict(FORM_DATA.get(rule.endpoint, {}))
            if rule.endpoint == "builder.import_template":
                data["import-file"] = (io.BytesIO(b"{}"), "x.json")
            response = client.open(url, method=method, data=data if method == "POST" else None)
            assert response.status_code == 404, f"{method} {url}: {response.status_code}"
            assert "Small agreement" not in response.get_data(as_text=True)
    assert counts() == before and snapshot() == versions


def test_a_template_cannot_be_imported_into_another_programs_template(app, client, two_programs):
    """Is naming another program's template as the import target refused, with nothing written?"""
    from tests.builder.conftest import as_json, small_template
    before = counts()
    response = client.post(f"/programs/{two_programs['intruder']}/templates/import", data={
        "import-file": (io.BytesIO(as_json(small_template())), "x.json"),
        "import-target": str(two_programs["template"])})
    assert response.status_code == 422 and "Not a valid choice" in response.get_data(as_text=True)
    assert counts() == before


def test_supervisors_and_pair_members_have_no_template_area(app, client):
    """Is the template area closed to a supervisor of the program (it is for its admins only)?"""
    program = make_program()
    published, _ = make_template(program)
    supervisor = make_user()
    make_role(supervisor, program, "supervisor")
    act_as(client, supervisor)
    assert client.get(f"/programs/{program.id}/templates").status_code == 404
    assert client.get(f"/programs/{program.id}/templates/versions/{published.id}/preview").status_code == 404
