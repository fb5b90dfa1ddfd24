"""Finding the template area: from the program's overview, and in the demo."""
from __future__ import annotations

from portal.domain import template_store
from portal.extensions import db
from portal.models import Program
from tests.factories import sign_in, act_as


def test_the_overview_lists_the_programs_templates_and_links_the_area(builder):
    """Does the program overview list its templates with their state and link to the template area?"""
    page = builder.client.get(f"/programs/{builder.program.id}").get_data(as_text=True)
    assert "Agreement templates" in page and "Small agreement" in page
    assert "version 1 in use" in page and "draft version 2" in page
    assert f'href="/programs/{builder.program.id}/templates"' in page


def test_the_overview_says_when_there_is_no_template(app, client):
    """Does a program without templates say that pairs need one, and where to make it?"""
    from tests.factories import make_program, make_role, make_user
    program, admin = make_program(), make_user()
    make_role(admin, program, "admin")
    act_as(client, admin)
    page = client.get(f"/programs/{program.id}").get_data(as_text=True)
    assert "no agreement template yet" in page and f'href="/programs/{program.id}/templates"' in page
    index = client.get(f"/programs/{program.id}/templates").get_data(as_text=True)
    assert "has no template yet" in index and "Add a ready-made template" in index


def test_the_index_shows_what_new_pairs_start_from(builder):
    """Does the template list say which version new pairs start from and where the draft is?"""
    page = builder.client.get(f"/programs/{builder.program.id}/templates").get_data(as_text=True)
    assert builder.version_url(builder.published_id) in page and "version 1</a>" in page
    assert builder.version_url(builder.draft_id) in page and "(open the builder)" in page


def test_the_demo_programs_start_with_their_own_published_forms(app, client, runner):
    """After seed-demo, does each demo program hold its own form, published, shown to its admin?"""
    assert "Demo data loaded" in runner.invoke(args=["seed-demo"]).output
    for code, name in (("WHPRMS", "WHPRMS Mentor Partnership Agreement"), ("CCMC", "CCMC Mentoring Agreement")):
        program = db.session.scalar(db.select(Program).where(Program.code == code))
        assert [v.template.name for v in template_store.published_versions(program)] == [name]
    sign_in(client, "ccmc.admin@demo.test", app.config["DEMO_PASSWORD"])
    ccmc = db.session.scalar(db.select(Program).where(Program.code == "CCMC"))
    page = client.get(f"/programs/{ccmc.id}").get_data(as_text=True)
    assert "CCMC Mentoring Agreement" in page and "WHPRMS Mentor Partnership Agreement" not in page
