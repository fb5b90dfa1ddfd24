"""Everyone who reads an agreement can tell which template version it was made from."""
from __future__ import annotations

import re

from portal.domain import template_store
from portal.extensions import db
from tests.factories import (
    act_as, make_agreement, make_pair, make_program, make_role, make_signed_agreement, make_user, make_version,
)


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def second_version(program):
    """The WHPRMS template published twice: version 2 is what new pairs start from."""
    first = make_version(program)
    draft = template_store.new_draft_version(first.template, None)
    template_store.publish(draft, None)
    db.session.commit()
    return draft


def people(program):
    admin, supervisor = make_user(name="Ada Admin"), make_user(name="Sue Supervisor")
    make_role(admin, program, "admin")
    make_role(supervisor, program, "supervisor")
    return admin, supervisor


def test_every_agreement_page_names_its_template_version(app):
    """Do the mentor, the supervisor and the program admin each read "Mentor Partnership Agreement, version 2"
    on the agreement page, and the pair on the pair's page?"""
    program = make_program(name="Version Program")
    admin, supervisor = people(program)
    version = second_version(program)
    pair = make_pair(program, supervisors=(supervisor,))
    agreement = make_agreement(pair, version)
    db.session.refresh(pair)
    name = template_store.definition_of(version).name
    for person in (pair.mentor, supervisor, admin):
        client = app.test_client()
        act_as(client, person)
        page = text_of(client.get(f"/agreements/{agreement.id}").get_data(as_text=True))
        assert f"Template: {name}, version 2" in page, person.name
        pair_page = text_of(client.get(f"/pairs/{pair.id}").get_data(as_text=True))
        assert f"{name}, version 2" in pair_page, person.name


def test_a_signed_version_names_its_template_version(app):
    """Does the page of a signed version say which template version was signed?"""
    program = make_program()
    pair = make_pair(program)
    agreement = make_signed_agreement(pair, make_version(program))
    db.session.refresh(pair)
    client = app.test_client()
    act_as(client, pair.mentee)
    page = text_of(client.get(f"/agreements/{agreement.id}/versions/1").get_data(as_text=True))
    assert "version 1" in page and "Template:" in page


def test_the_dashboard_row_shows_the_template_version(app):
    """Does each row of the program's dashboard say which template version the pair's agreement uses, and the
    supervisor's dashboard too?"""
    program = make_program(name="Board Program")
    admin, supervisor = people(program)
    old = make_version(program, "ccmc")
    newer = second_version(program)
    make_agreement(make_pair(program, mentor=make_user(name="Amy Old"), supervisors=(supervisor,)), old)
    make_agreement(make_pair(program, mentor=make_user(name="Bob New"), supervisors=(supervisor,)), newer)
    old_name = template_store.definition_of(old).name
    new_name = template_store.definition_of(newer).name
    for person in (admin, supervisor):
        client = app.test_client()
        act_as(client, person)
        page = client.get(f"/programs/{program.id}/dashboard").get_data(as_text=True)
        rows = {text_of(row).split(" ")[1]: text_of(row) for row in re.findall(r"<tr>(.*?)</tr>", page, re.S)
                if "Amy Old" in row or "Bob New" in row}
        assert f"{old_name}, version 1" in rows["Old"]
        assert f"{new_name}, version 2" in rows["New"]
