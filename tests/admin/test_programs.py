"""Site admins create programs and appoint program admins; program admins appoint supervisors."""
from __future__ import annotations

from portal.extensions import db
from portal.models import AuditEvent, Program, ProgramRole, User
from tests.factories import make_program, make_role, make_user, outbox, sign_in

VALID = {"name": "Nurses Mentoring", "code": "NMP", "return_email": "office@nmp.example",
         "default_term_months": "6"}


def site_admin_client(app):
    client = app.test_client()
    sign_in(client, make_user(site_admin=True))
    return client


def test_site_admin_creates_a_program(app):
    """Can a site admin create a program with its name, code, return address and default term?"""
    client = site_admin_client(app)
    response = client.post("/admin/programs", data=VALID)
    assert response.status_code == 303
    program = db.session.scalar(db.select(Program).where(Program.code == "NMP"))
    assert (program.name, program.return_email, program.default_term_months) == (
        "Nurses Mentoring", "office@nmp.example", 6)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Program Nurses Mentoring created" in page
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "program.create"))


def test_bad_program_input_is_explained_and_saves_nothing(app):
    """Is each bad value refused next to its field with 422, and nothing created?"""
    client = site_admin_client(app)
    make_program(code="TAKEN")
    bad = {"name": "", "code": "taken", "return_email": "not-an-address", "default_term_months": "99"}
    response = client.post("/admin/programs", data=bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Give the program a name." in page
    assert "Enter the e-mail address that receives" in page
    assert "Choose a term between 1 and 60 months." in page
    assert db.session.scalar(db.select(db.func.count(Program.id))) == 1
    response = client.post("/admin/programs", data=dict(VALID, code="taken"))
    assert response.status_code == 422 and "already used by another program" in response.get_data(as_text=True)


def test_htmx_program_form_gets_its_fragment_back(app):
    """Does an htmx submission with errors get only the form fragment (swapped on 422), with Vary set?"""
    client = site_admin_client(app)
    response = client.post("/admin/programs", data=dict(VALID, name=""), headers={"HX-Request": "true"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert page.lstrip().startswith('<form id="program-form"') and "<html" not in page
    assert "HX-Request" in response.headers["Vary"]


def test_site_admin_appoints_a_program_admin_by_invitation(app):
    """Does appointing an unknown address create the account, give the role and send the invitation?"""
    client = site_admin_client(app)
    program = make_program()
    response = client.post(f"/admin/programs/{program.id}/admins",
                           data={"appoint-email": "Lead@Program.example", "appoint-name": "Lee Lead"})
    assert response.status_code == 303
    user = db.session.scalar(db.select(User).where(User.email == "lead@program.example"))
    assert user.name == "Lee Lead" and user.password_hash is None
    assert db.session.scalar(db.select(ProgramRole).where(ProgramRole.user_id == user.id)).role == "admin"
    assert len(outbox("invite", to="lead@program.example")) == 1


def test_appointing_twice_is_explained(app):
    """Is appointing the same person twice refused with a clear message?"""
    client = site_admin_client(app)
    program = make_program()
    person = make_user()
    make_role(person, program, "admin")
    response = client.post(f"/admin/programs/{program.id}/admins", data={"appoint-email": person.email})
    assert response.status_code == 422 and "already a program admin" in response.get_data(as_text=True)


def test_site_admin_removes_a_program_admin(app):
    """Can a site admin take the program admin role away again?"""
    client = site_admin_client(app)
    program = make_program()
    role_id = make_role(make_user(), program, "admin").id
    assert client.post(f"/admin/programs/{program.id}/roles/{role_id}/revoke").status_code == 303
    assert db.session.get(ProgramRole, role_id) is None


def test_program_admin_appoints_and_removes_supervisors(app, client):
    """Can a program admin appoint a supervisor in their program and remove them, but not remove an admin?"""
    admin = make_user()
    program = make_program()
    admin_role = make_role(admin, program, "admin")
    sign_in(client, admin)
    client.post(f"/programs/{program.id}/supervisors", data={"supervisor-email": "sup@example.org"})
    role = db.session.scalar(db.select(ProgramRole).where(ProgramRole.role == "supervisor"))
    role_id = role.id
    assert role.program_id == program.id
    assert "sup@example.org" in client.get(f"/programs/{program.id}").get_data(as_text=True)
    client.post(f"/programs/{program.id}/roles/{admin_role.id}/revoke", follow_redirects=True)
    assert db.session.get(ProgramRole, admin_role.id) is not None
    client.post(f"/programs/{program.id}/roles/{role_id}/revoke")
    assert db.session.get(ProgramRole, role_id) is None


def test_program_admin_of_another_program_gets_404(app, client):
    """Does a program admin see a 404 for another program's page and actions?"""
    mine, theirs = make_program(), make_program()
    admin = make_user()
    make_role(admin, mine, "admin")
    sign_in(client, admin)
    assert client.get(f"/programs/{mine.id}").status_code == 200
    assert client.get(f"/programs/{theirs.id}").status_code == 404
    assert client.post(f"/programs/{theirs.id}/supervisors", data={"supervisor-email": "x@example.org"}
                       ).status_code == 404
    assert db.session.scalar(db.select(db.func.count(ProgramRole.id)).where(ProgramRole.role == "supervisor")) == 0


def test_roles_are_per_program(app, client):
    """Is a supervisor in one program nobody in another, and a program admin no site admin?"""
    program = make_program()
    person = make_user()
    make_role(person, program, "admin")
    sign_in(client, person)
    assert client.get("/admin/programs").status_code == 404
    assert client.get("/admin/users").status_code == 404
    assert client.post("/admin/programs", data=VALID).status_code == 404


def test_site_admin_cannot_deactivate_themselves(app):
    """Is a site admin stopped from locking themselves out?"""
    admin = make_user(site_admin=True)
    client = app.test_client()
    sign_in(client, admin)
    page = client.post(f"/admin/users/{admin.id}/deactivate", follow_redirects=True).get_data(as_text=True)
    assert "cannot deactivate your own account" in page
    assert db.session.get(User, admin.id).is_deactivated is False


def test_reactivated_person_can_sign_in_again(app, client):
    """Does reactivating an account let its owner sign in again?"""
    admin_client = site_admin_client(app)
    person = make_user()
    admin_client.post(f"/admin/users/{person.id}/deactivate")
    assert sign_in(client, person).status_code == 422
    admin_client.post(f"/admin/users/{person.id}/reactivate")
    assert sign_in(client, person).status_code == 303


def test_account_search(app):
    """Does the accounts page find people by name or address?"""
    client = site_admin_client(app)
    make_user(name="Zelda Findable", email="zelda@example.org")
    make_user(name="Other Person")
    page = client.get("/admin/users?q=zeld").get_data(as_text=True)
    assert "Zelda Findable" in page and "Other Person" not in page


def test_the_accounts_page_says_what_each_person_is(app):
    """Does the site admin's list of accounts name every role: site admin, program roles, and mentor or mentee
    (with the program, and how many pairs when more than one)?"""
    from tests.factories import make_pair
    client = site_admin_client(app)
    whprms, ccmc = make_program(code="WHPRMS"), make_program(code="CCMC")
    mentor = make_user(name="Maria Mentor", email="maria@example.org")
    mentees = [make_user(name=f"Mentee {n}", email=f"mentee{n}@example.org") for n in range(3)]
    supervisor = make_user(name="Sam Supervisor", email="sam@example.org")
    make_role(supervisor, ccmc, "supervisor")
    make_pair(whprms, mentor, mentees[0])
    make_pair(whprms, mentor, mentees[1])
    make_pair(ccmc, mentees[2], mentees[0])  # a mentee in one program can mentor in another
    nobody = make_user(name="Nobody Yet", email="nobody@example.org")
    db.session.commit()

    def roles_of(page: str, email: str) -> str:
        row = page.split(f"<td>{email}</td>", 1)[1].split("</tr>", 1)[0]
        return row.split("<td>", 2)[1].split("</td>", 1)[0]

    page = client.get("/admin/users").get_data(as_text=True)
    assert roles_of(page, "maria@example.org") == "mentor of 2 pairs (WHPRMS)"
    assert roles_of(page, "mentee0@example.org") == "mentee (CCMC), mentee (WHPRMS)"
    assert roles_of(page, "mentee2@example.org") == "mentor (CCMC)"
    assert roles_of(page, "sam@example.org") == "supervisor (CCMC)"
    assert "none" in roles_of(page, nobody.email)


def test_the_accounts_page_counts_only_pairs_not_removed(app):
    """After a program admin removes one of a mentor's two pairs (archived, never deleted), does the accounts
    page say "mentor" of the one pair left, and say nothing of a mentee whose only pair was removed?"""
    from tests.factories import make_pair
    from portal.timeutil import utcnow
    client = site_admin_client(app)
    program = make_program(code="WHPRMS")
    mentor = make_user(name="Maria Mentor", email="maria@example.org")
    kept = make_pair(program, mentor, make_user(email="kept@example.org"))
    removed = make_pair(program, mentor, make_user(email="gone@example.org"))
    removed.archived_at = utcnow()
    db.session.commit()

    def roles_of(page: str, email: str) -> str:
        row = page.split(f"<td>{email}</td>", 1)[1].split("</tr>", 1)[0]
        return row.split("<td>", 2)[1].split("</td>", 1)[0]

    page = client.get("/admin/users").get_data(as_text=True)
    assert roles_of(page, "maria@example.org") == "mentor (WHPRMS)"
    assert roles_of(page, "kept@example.org") == "mentee (WHPRMS)" and kept.archived_at is None
    assert "mentee" not in roles_of(page, "gone@example.org")
