"""Appointing someone who already has the role, or whose account has another name, changes nothing silently:
the portal says so and offers to update, and updates only on confirmation."""
from __future__ import annotations

import json

from portal.extensions import db
from portal.models import AuditEvent, ProgramRole, User
from tests.factories import act_as, make_program, make_role, make_user, outbox


def admin_of(program):
    admin = make_user(name="Ada Admin")
    make_role(admin, program, "admin")
    return admin


def supervisor_roles(program) -> int:
    return db.session.scalar(db.select(db.func.count(ProgramRole.id)).where(
        ProgramRole.program_id == program.id, ProgramRole.role == "supervisor"))


def name_of(user_id: int) -> str:
    db.session.expire_all()
    return db.session.get(User, user_id).name


def test_a_supervisor_appointed_again_under_another_name_is_asked_about(app, client):
    """Is appointing a supervisor again with a new name refused with what would change, nothing changed?"""
    program = make_program(name="Nurses Mentoring")
    person = make_user(email="sam@example.org", name="Sam Smith")
    make_role(person, program, "supervisor")
    act_as(client, admin_of(program))
    response = client.post(f"/programs/{program.id}/supervisors",
                           data={"supervisor-email": "sam@example.org", "supervisor-name": "Samantha Smith"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Sam Smith is already a supervisor of Nurses Mentoring" in page
    assert "Nothing was changed" in page
    assert "Change the name to \u201cSamantha Smith\u201d" in page
    assert name_of(person.id) == "Sam Smith" and supervisor_roles(program) == 1
    assert not outbox()


def test_confirming_updates_the_name_and_is_audited(app, client):
    """Does confirming the update change the name once, keep one role, and record it in the audit log?"""
    program = make_program()
    person = make_user(email="sam@example.org", name="Sam Smith")
    make_role(person, program, "supervisor")
    admin = admin_of(program)
    act_as(client, admin)
    response = client.post(f"/programs/{program.id}/supervisors", data={
        "supervisor-email": "sam@example.org", "supervisor-name": "Samantha Smith", "supervisor-confirm": "update"})
    assert response.status_code == 303
    assert "Samantha Smith" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert name_of(person.id) == "Samantha Smith" and supervisor_roles(program) == 1
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "account.renamed_on_appointment"))
    assert event is not None and event.actor_id == admin.id and event.program_id == program.id


def test_someone_still_invited_under_another_name_is_asked_before_appointing(app, client):
    """Is a person invited under another name (no password yet, no role anywhere) neither appointed nor renamed
    until the admin chooses, and is their name kept out of the question (the admin does not know them yet)?"""
    program = make_program()
    person = make_user(email="sam@example.org", name="Sam Smith", password=None)
    act_as(client, admin_of(program))
    response = client.post(f"/programs/{program.id}/supervisors",
                           data={"supervisor-email": "sam@example.org", "supervisor-name": "Samantha Smith"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "An account exists for this address, under another name" in page and "Sam Smith" not in page
    assert "Appoint and change the name to \u201cSamantha Smith\u201d" in page
    assert "Appoint and keep the account\u2019s name" in page
    assert supervisor_roles(program) == 0 and not outbox()
    response = client.post(f"/programs/{program.id}/supervisors", data={
        "supervisor-email": "sam@example.org", "supervisor-name": "Samantha Smith", "supervisor-confirm": "keep"})
    assert response.status_code == 303
    assert name_of(person.id) == "Sam Smith" and supervisor_roles(program) == 1
    assert db.session.scalar(db.select(AuditEvent).where(
        AuditEvent.action == "account.renamed_on_appointment")) is None


def test_a_program_admin_cannot_rename_another_programs_admin_by_appointing_them(app, client):
    """Does appointing another program's admin (or a site admin, or anyone who set a password and has no role
    here) under another name, even "confirmed", appoint them under their own name, say the name stays, and
    never show their name before they are appointed?"""
    program, elsewhere = make_program(name="Nurses Mentoring"), make_program(code="ELSE")
    other_admin = make_user(email="lee@example.org", name="Lee Lead")
    make_role(other_admin, elsewhere, "admin")
    site_admin = make_user(email="sue@example.org", name="Sue Site", site_admin=True)
    signed_up = make_user(email="pat@example.org", name="Pat Past")
    act_as(client, admin_of(program))
    for person in (other_admin, site_admin, signed_up):
        old_name = person.name
        for confirm in ("", "update"):
            response = client.post(f"/programs/{program.id}/supervisors", data={
                "supervisor-email": person.email, "supervisor-name": "Mallory Renamed", "supervisor-confirm": confirm})
            if response.status_code == 303:
                break
            assert old_name not in response.get_data(as_text=True)
        assert response.status_code == 303, person.email
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "the name stays as their account has it" in page and f"{old_name} is now a supervisor" in page
        assert name_of(person.id) == old_name
    assert supervisor_roles(program) == 3
    assert db.session.scalar(db.select(AuditEvent).where(
        AuditEvent.action == "account.renamed_on_appointment")) is None


def test_the_site_admin_may_rename_anyone_and_the_audit_keeps_both_names(app, client):
    """May the site admin rename someone who is a supervisor elsewhere while appointing them a program admin,
    with the old and the new name in the program's audit log?"""
    program, elsewhere = make_program(name="Nurses Mentoring"), make_program(code="ELSE")
    person = make_user(email="lee@example.org", name="Lee Lead")
    make_role(person, elsewhere, "supervisor")
    act_as(client, make_user(site_admin=True))
    response = client.post(f"/admin/programs/{program.id}/admins", data={
        "appoint-email": "lee@example.org", "appoint-name": "Lee Leader", "appoint-confirm": "update"})
    assert response.status_code == 303
    assert name_of(person.id) == "Lee Leader"
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "account.renamed_on_appointment"))
    assert event.program_id == program.id
    assert json.loads(event.detail)["old_name"] == "Lee Lead" and json.loads(event.detail)["new_name"] == "Lee Leader"


def test_the_same_person_appointed_again_with_the_same_name_is_told(app, client):
    """Is the same appointment made twice (same name, or none given) told, with nothing to confirm?"""
    program = make_program(name="Nurses Mentoring")
    person = make_user(email="sam@example.org", name="Sam Smith")
    make_role(person, program, "supervisor")
    act_as(client, admin_of(program))
    for name in ("Sam Smith", ""):
        response = client.post(f"/programs/{program.id}/supervisors",
                               data={"supervisor-email": "sam@example.org", "supervisor-name": name})
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "Sam Smith is already a supervisor of Nurses Mentoring" in page
        assert "Change the name" not in page


def test_site_admin_reappointing_a_program_admin_is_asked_too(app, client):
    """Does the site admin's appointment of program admins ask the same way, and update only on confirm?"""
    program = make_program(name="Nurses Mentoring")
    person = make_user(email="lee@example.org", name="Lee Lead")
    make_role(person, program, "admin")
    act_as(client, make_user(site_admin=True))
    response = client.post(f"/admin/programs/{program.id}/admins",
                           data={"appoint-email": "lee@example.org", "appoint-name": "Lee Leader"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Lee Lead is already a program admin of Nurses Mentoring" in page and "Nothing was changed" in page
    assert name_of(person.id) == "Lee Lead"
    response = client.post(f"/admin/programs/{program.id}/admins", data={
        "appoint-email": "lee@example.org", "appoint-name": "Lee Leader", "appoint-confirm": "update"})
    assert response.status_code == 303
    assert name_of(person.id) == "Lee Leader"
