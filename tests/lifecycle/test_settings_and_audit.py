"""A program's reminder and retention settings, and the audit log per program and for the whole portal."""
from __future__ import annotations

from portal import audit
from portal.extensions import db
from portal.models import AuditEvent, Program
from tests.factories import make_program, make_role, make_user, act_as


def program_of(world) -> Program:
    db.session.expire_all()
    return db.session.get(Program, world.program.id)


def test_the_program_admin_sets_stall_days_and_retention(world):
    """Can the program admin set the stall period and a retention period, and clear the retention again?"""
    url = f"/programs/{world.program.id}/settings"
    page = world.client("admin").get(url).get_data(as_text=True)
    assert 'value="30"' in page  # the default
    response = world.client("admin").post(url, data={"stall_days": "21", "retention_months": "12"})
    assert response.status_code == 303
    assert (program_of(world).stall_days, program_of(world).retention_months) == (21, 12)
    world.client("admin").post(url, data={"stall_days": "21", "retention_months": ""})
    assert program_of(world).retention_months is None
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "program.lifecycle_settings")).all()
    assert len(event) == 2


def test_bad_settings_are_explained_and_change_nothing(world):
    """Are a stall period out of range and a non-number retention refused with 422 next to their fields?"""
    response = world.client("admin").post(f"/programs/{world.program.id}/settings",
                                          data={"stall_days": "2", "retention_months": "soon"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "from 7 to 365" in body and "leave it empty to keep" in body and 'value="soon"' in body
    assert (program_of(world).stall_days, program_of(world).retention_months) == (30, None)


def test_a_site_admin_changes_settings_too_and_others_cannot(world):
    """Can a site admin change them (from the program's admin page), while supervisors and members get 404?"""
    detail = world.client("site_admin").get(f"/admin/programs/{world.program.id}").get_data(as_text=True)
    assert f"/programs/{world.program.id}/settings" in detail
    assert world.client("site_admin").post(f"/programs/{world.program.id}/settings",
                                           data={"stall_days": "45", "retention_months": "6"}).status_code == 303
    assert program_of(world).stall_days == 45
    for who in ("supervisor", "mentor", "outsider"):
        assert world.client(who).post(f"/programs/{world.program.id}/settings",
                                      data={"stall_days": "8"}).status_code == 404
    assert program_of(world).stall_days == 45


def test_program_admins_read_their_programs_audit_log_only(app, world):
    """Does the program admin see who did what in their program (closure, help), while another program's
    admin gets a 404 and the site admin sees every program?"""
    world.client("mentee").post(f"/pairs/{world.pair.id}/help", data={"message": ""})
    world.client("mentor").post(f"/agreements/{world.agreement.id}/end", data={"reason": "fit"})
    other = make_program(code="OTHER")
    with app.test_request_context():
        audit.record("pair.create", program_id=other.id)
        db.session.commit()
    log = world.client("admin").get(f"/programs/{world.program.id}/audit").get_data(as_text=True)
    assert "asked the program for help" in log and "closed an agreement" in log
    assert "Maria Mentor and Nina Mentee" in log and "kind: early" in log and "reason: fit" in log
    assert "OTHER" not in log
    other_admin = make_user()
    make_role(other_admin, other, "admin")
    client = app.test_client()
    act_as(client, other_admin)
    assert client.get(f"/programs/{world.program.id}/audit").status_code == 404
    everything = world.client("site_admin").get("/admin/audit").get_data(as_text=True)
    assert "Audit log of the whole portal" in everything and "OTHER" in everything
    assert "closed an agreement" in everything
    assert world.client("admin").get("/admin/audit").status_code == 404


def test_the_audit_log_pages(app, world):
    """With more than a page of events, does the log page through them, newest first, its chain intact?"""
    with app.test_request_context():
        for n in range(120):
            audit.record(f"test.event{n:03d}", program_id=world.program.id)
        db.session.commit()
    first = world.client("admin").get(f"/programs/{world.program.id}/audit").get_data(as_text=True)
    assert "test.event119" in first and "test.event000" not in first and "Page 1 of 3" in first
    assert "The log is intact" in first
    last = world.client("admin").get(f"/programs/{world.program.id}/audit?page=3").get_data(as_text=True)
    assert "test.event000" in last and "Page 3 of 3" in last


def test_why_a_pair_ended_early_is_read_in_the_audit_log_by_the_programs_admins_only(app, world):
    """The reason category of an early ending is for the pair and the program's admins: does the program admin
    read it in the audit log, and a site admin who is not the program's admin see that it ended, not why?"""
    mentee = world.client("mentee")
    assert mentee.post(f"/agreements/{world.agreement.id}/end", data={"reason": "fit"}).status_code == 303
    admin_page = world.client("admin").get(f"/programs/{world.program.id}/audit").get_data(as_text=True)
    assert "reason: fit" in admin_page
    site_admin = make_user(site_admin=True)
    client = app.test_client()
    act_as(client, site_admin)
    for url in (f"/programs/{world.program.id}/audit", "/admin/audit"):
        page = client.get(url).get_data(as_text=True)
        assert "kind: early" in page
        assert "reason: fit" not in page and "reason: not shown" in page
