"""A program admin edits their own program's basics: name, return-copy address, default term, time zone."""
from __future__ import annotations

from portal.extensions import db
from portal.models import AuditEvent, Program
from tests.factories import act_as, make_program, make_role, make_user

GOOD = {"name": "Nurses Mentoring 2027", "return_email": "Copies@Nurses.example", "default_term_months": "9",
        "time_zone": "Europe/Berlin"}


def program_with_admin():
    program = make_program(code="NMP", name="Nurses Mentoring")
    admin = make_user(name="Ada Admin")
    make_role(admin, program, "admin")
    return program, admin


def test_program_admin_edits_the_basics(app, client):
    """Can a program admin change the name, return-copy address, default term and time zone, audited?"""
    program, admin = program_with_admin()
    act_as(client, admin)
    form = client.get(f"/programs/{program.id}/basics").get_data(as_text=True)
    assert 'value="Nurses Mentoring"' in form and 'value="UTC"' in form
    response = client.post(f"/programs/{program.id}/basics", data=GOOD)
    assert response.status_code == 303
    assert "Program details saved." in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    program = db.session.get(Program, program.id)
    assert (program.name, program.return_email, program.default_term_months, program.time_zone, program.code) == (
        "Nurses Mentoring 2027", "copies@nurses.example", 9, "Europe/Berlin", "NMP")
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "program.update"))
    assert event is not None and event.actor_id == admin.id and event.program_id == program.id


def test_the_program_page_links_to_the_basics(app, client):
    """Does the program's page lead its admin to the form?"""
    program, admin = program_with_admin()
    act_as(client, admin)
    page = client.get(f"/programs/{program.id}").get_data(as_text=True)
    assert f'href="/programs/{program.id}/basics"' in page


def test_bad_basics_are_explained_next_to_each_field_and_save_nothing(app, client):
    """Is each bad value refused next to its own field with 422, and nothing changed or audited?"""
    program, admin = program_with_admin()
    act_as(client, admin)
    response = client.post(f"/programs/{program.id}/basics", data={
        "name": " ", "return_email": "not an address", "default_term_months": "0", "time_zone": "Mars/Olympus"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for field, message in (("name", "Give the program a name."),
                           ("return_email", "Enter the e-mail address that receives"),
                           ("default_term_months", "Choose a term between 1 and 60 months."),
                           ("time_zone", "Enter a time zone by its name")):
        assert f'id="{field}-error" role="alert">{message}' in page, field
    db.session.expire_all()
    assert db.session.get(Program, program.id).name == "Nurses Mentoring"
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "program.update")) is None


def test_a_name_another_program_uses_is_refused_next_to_the_name(app, client):
    """Is renaming the program to another program's name (in other capitals) refused next to the name, changing
    nothing, while keeping its own name in other capitals is fine?"""
    program, admin = program_with_admin()
    make_program(code="CCMC", name="Case Managers Mentoring")
    act_as(client, admin)
    response = client.post(f"/programs/{program.id}/basics", data={**GOOD, "name": " case managers MENTORING "})
    assert response.status_code == 422
    assert 'id="name-error" role="alert">Another program already has this name' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Program, program.id).name == "Nurses Mentoring"
    response = client.post(f"/programs/{program.id}/basics", data={**GOOD, "name": "NURSES mentoring"})
    assert response.status_code == 303


def test_a_term_that_is_not_a_number_is_explained(app, client):
    """Is a term typed as words refused next to the term, not with an error page?"""
    program, admin = program_with_admin()
    act_as(client, admin)
    response = client.post(f"/programs/{program.id}/basics", data=dict(GOOD, default_term_months="six"))
    assert response.status_code == 422
    assert 'id="default_term_months-error"' in response.get_data(as_text=True)


def test_another_programs_admin_and_a_supervisor_get_404(app, client):
    """Does an admin of another program, or a supervisor of this one, get a 404 and change nothing?"""
    program, _admin = program_with_admin()
    stranger, supervisor = make_user(), make_user()
    make_role(stranger, make_program(), "admin")
    make_role(supervisor, program, "supervisor")
    for person in (stranger, supervisor):
        act_as(client, person)
        assert client.get(f"/programs/{program.id}/basics").status_code == 404
        assert client.post(f"/programs/{program.id}/basics", data=GOOD).status_code == 404
    db.session.expire_all()
    assert db.session.get(Program, program.id).name == "Nurses Mentoring"
