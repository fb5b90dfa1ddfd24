"""Can a program admin assign a supervisor to a pair in the browser, one pair at a time and from the dashboard,
and does the supervisor's view follow at once?"""
import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.factories import make_agreement, make_pair, make_program, make_role, make_user, make_version


def test_admin_assigns_a_supervisor_to_a_pair_and_the_supervisor_follows_it(live_server, open_page):
    """Does assigning a supervisor on the pair's page show the pair on the supervisor's home page, and does
    unassigning it from the dashboard take it away again?"""
    with live_server.seed():
        admin = make_user(name="Alma Admin")
        supervisor = make_user(name="Sven Supervisor")
        program = make_program(name="Orchard Mentoring", code="ORCHARD")
        make_role(admin, program, "admin")
        make_role(supervisor, program, "supervisor")
        version = make_version(program)
        pair = make_pair(program, make_user(name="Mira Mentor"), make_user(name="Nils Mentee"))
        make_agreement(pair, version)
        admin_email, supervisor_email, pair_id = admin.email, supervisor.email, pair.id

    page = open_page()
    sign_in(page, admin_email)
    page.get_by_role("link", name="Orchard Mentoring").click()
    page.get_by_role("link", name="Manage Mira Mentor and Nils Mentee").click()
    expect(page.get_by_role("heading", name="Manage the pair Mira Mentor and Nils Mentee")).to_be_visible()
    expect(page.get_by_text("No supervisor follows this pair.")).to_be_visible()
    page.get_by_label("Supervisor to assign").select_option(label=f"Sven Supervisor <{supervisor_email}>")
    page.get_by_role("button", name="Assign the supervisor").click()
    expect(page.get_by_text("Sven Supervisor now supervises Mira Mentor and Nils Mentee.")).to_be_visible()
    expect(page.get_by_role("button", name="Unassign Sven Supervisor")).to_be_visible()

    watcher = open_page()
    sign_in(watcher, supervisor_email)
    expect(watcher.get_by_text("Mira Mentor")).to_be_visible()
    watcher.goto(f"/pairs/{pair_id}")
    expect(watcher.get_by_role("heading", name=re.compile("Mira Mentor"))).to_be_visible()

    # From the dashboard: select the pair, choose the supervisor, unassign.
    page.get_by_role("link", name="← Orchard Mentoring").click()
    page.get_by_role("link", name="Progress dashboard").click()
    page.get_by_role("checkbox", name="Select Mira Mentor and Nils Mentee").check()
    page.get_by_label("Supervisor for the selected pairs").select_option(label=f"Sven Supervisor <{supervisor_email}>")
    page.get_by_role("button", name="Unassign from selected pairs").click()
    expect(page.get_by_text("Sven Supervisor no longer supervises 1 pair.")).to_be_visible()

    response = watcher.goto(f"/pairs/{pair_id}")
    assert response.status == 404
