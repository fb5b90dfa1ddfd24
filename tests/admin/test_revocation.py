"""Revoking a role, or deactivating an account, removes every access the role gave: the pages, the signed
copies, the dashboard and its CSV of the pairs it opened."""
from __future__ import annotations

from portal.extensions import db
from portal.models import AuditEvent, PairSupervisor, ProgramRole
from tests.factories import make_pair, make_program, make_role, make_signed_agreement, make_user, sign_in


def _world(app):
    program = make_program()
    admin, supervisor, site_admin = make_user(), make_user(), make_user(site_admin=True)
    make_role(admin, program, "admin")
    supervisor_role = make_role(supervisor, program, "supervisor")
    pair = make_pair(program, supervisors=(supervisor,))
    agreement = make_signed_agreement(pair)
    clients = {}
    for name, person in {"admin": admin, "supervisor": supervisor, "site_admin": site_admin}.items():
        clients[name] = app.test_client()
        sign_in(clients[name], person)
    return program, pair, agreement, supervisor_role, admin, supervisor, clients


def _addresses(program, pair, agreement) -> list[str]:
    return [f"/pairs/{pair.id}", f"/agreements/{agreement.id}",
            f"/agreements/{agreement.id}/versions/1/program-copy.pdf",
            f"/programs/{program.id}/dashboard", f"/programs/{program.id}/dashboard.csv"]


def _statuses(client, addresses) -> list[int]:
    return [client.get(address).status_code for address in addresses]


def test_revoked_supervisor_loses_their_pairs(app):
    """Once a program admin revokes a supervisor, does the former supervisor get a 404 on the pair page, the
    agreement, the program's copy, the dashboard and its CSV, with the assignment removed and audited?"""
    program, pair, agreement, role, _admin, supervisor, clients = _world(app)
    addresses = _addresses(program, pair, agreement)
    assert _statuses(clients["supervisor"], addresses) == [200] * 5
    assert clients["admin"].post(f"/programs/{program.id}/roles/{role.id}/revoke").status_code == 303
    assert _statuses(clients["supervisor"], addresses) == [404] * 5
    assert db.session.scalar(db.select(db.func.count(PairSupervisor.id)).where(
        PairSupervisor.user_id == supervisor.id)) == 0
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "pair.supervisor_removed"))
    # Appointed again later: a new role, but the old pairs stay closed to them until assigned again.
    make_role(supervisor, program, "supervisor")
    assert _statuses(clients["supervisor"], addresses[:3]) == [404] * 3


def test_an_assignment_without_a_live_role_opens_nothing(app):
    """Does an assignment left over without the supervisor role (a role removed before assignments were
    cleaned up) open neither the pair page, the agreement, the program's copy nor the dashboard?"""
    program, pair, agreement, role, _admin, _supervisor, clients = _world(app)
    db.session.delete(db.session.get(ProgramRole, role.id))
    db.session.commit()
    assert _statuses(clients["supervisor"], _addresses(program, pair, agreement)) == [404] * 5


def test_revoked_program_admin_loses_the_program(app):
    """Once a site admin revokes a program admin, does the former admin get a 404 on the program's pages,
    pairs, agreements, copies, dashboard and CSV?"""
    program, pair, agreement, _role, admin, _supervisor, clients = _world(app)
    make_role(make_user(), program, "admin")
    admin_role = db.session.scalar(db.select(ProgramRole).where(ProgramRole.user_id == admin.id))
    addresses = [*_addresses(program, pair, agreement), f"/programs/{program.id}"]
    assert _statuses(clients["admin"], addresses) == [200] * 6
    assert clients["site_admin"].post(f"/admin/programs/{program.id}/roles/{admin_role.id}/revoke"
                                      ).status_code == 303
    assert _statuses(clients["admin"], addresses) == [404] * 6


def test_deactivation_removes_roles_and_assignments(app):
    """Does deactivating a supervisor remove their roles and pair assignments (audited), so that a later
    reactivation gives back the account and not the pairs?"""
    program, pair, agreement, _role, _admin, supervisor, clients = _world(app)
    site = clients["site_admin"]
    assert site.post(f"/admin/users/{supervisor.id}/deactivate").status_code == 303
    assert db.session.scalar(db.select(db.func.count(ProgramRole.id)).where(
        ProgramRole.user_id == supervisor.id)) == 0
    assert db.session.scalar(db.select(db.func.count(PairSupervisor.id)).where(
        PairSupervisor.user_id == supervisor.id)) == 0
    assert site.post(f"/admin/users/{supervisor.id}/reactivate").status_code == 303
    again = app.test_client()
    assert sign_in(again, supervisor).status_code == 303
    assert _statuses(again, _addresses(program, pair, agreement)) == [404] * 5
    actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert {"role.revoke", "pair.supervisor_removed", "account.deactivated"} <= actions


def test_deactivating_a_site_admin_ends_their_site_admin_role(app):
    """Does deactivating a site admin end that role too, so that reactivation gives back the account only (the
    role is given again, if wanted, with `flask create-admin`)?"""
    first, second = make_user(site_admin=True), make_user(site_admin=True)
    client = app.test_client()
    assert sign_in(client, first).status_code == 303
    assert client.post(f"/admin/users/{second.id}/deactivate").status_code == 303
    assert client.post(f"/admin/users/{second.id}/reactivate").status_code == 303
    again = app.test_client()
    assert sign_in(again, second).status_code == 303
    assert [again.get(url).status_code for url in ("/admin/users", "/admin/audit", "/admin/programs")] == [404] * 3
    assert "account.site_admin_removed" in set(db.session.scalars(db.select(AuditEvent.action)))
