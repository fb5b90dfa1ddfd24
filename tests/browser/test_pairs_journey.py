"""Can a program admin create a pair, and import pairs from a CSV file, in the browser? Can the invitee join?"""
import re

from playwright.sync_api import expect

from tests.browser.conftest import link_from_outbox, screenshot, sign_in
from tests.factories import make_program, make_role, make_user, make_version


def test_admin_creates_a_pair_and_the_invited_mentee_joins(live_server, open_page):
    """Does a pair created by e-mail address invite a newcomer, who sets a password and finds their mentorship?"""
    with live_server.seed():
        admin = make_user(name="Paula Program")
        mentor = make_user(name="Marco Mentor")
        program = make_program(name="Riverside Mentoring", code="RIVER")
        make_role(admin, program, "admin")
        make_version(program)
        admin_email, mentor_email = admin.email, mentor.email
    mentee_email = "nadia.newcomer@example.org"

    page = open_page()
    sign_in(page, admin_email)
    page.get_by_role("link", name="Riverside Mentoring").click()
    page.get_by_role("link", name="Add a pair").click()
    expect(page.get_by_role("heading", name="New pair")).to_be_visible()
    page.get_by_label("Mentor's e-mail").fill(mentor_email)
    page.get_by_label("Mentee's e-mail").fill(mentee_email)
    page.get_by_label("Mentee's name").fill("Nadia Newcomer")
    page.get_by_label("Term starts").fill("2026-03-02")
    page.get_by_role("button", name="Create the pair").click()
    expect(page.get_by_text("Pair created: Marco Mentor mentors Nadia Newcomer.")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Marco Mentor"))).to_contain_text("Nadia Newcomer")

    # The mentee follows the invitation's link, chooses a password, and signs in with it to find her mentorship.
    invitation = link_from_outbox(live_server.app, mentee_email)
    newcomer = open_page()
    newcomer.goto(invitation)
    expect(newcomer.get_by_role("heading", name="Welcome to the Mentorship Portal")).to_be_visible()
    expect(newcomer.get_by_text(mentee_email)).to_be_visible()
    newcomer.get_by_label("New password").fill("a long new password 2026")
    newcomer.get_by_label("Repeat the password").fill("a long new password 2026")
    newcomer.get_by_role("button", name="Save the password").click()
    expect(newcomer.get_by_text("Your password is set, Nadia Newcomer. Sign in with it now.")).to_be_visible()
    sign_in(newcomer, mentee_email, "a long new password 2026")
    expect(newcomer.get_by_role("heading", name="Welcome, Nadia Newcomer")).to_be_visible()
    expect(newcomer.get_by_text("Your mentor is Marco Mentor.")).to_be_visible()
    expect(newcomer.get_by_role("link", name="Open the agreement")).to_be_visible()


def test_admin_imports_pairs_from_a_csv_file(live_server, open_page):
    """Does a CSV upload show what each row would do, then create every pair, listed on the program's page?"""
    with live_server.seed():
        admin = make_user(name="Ida Importer")
        program = make_program(name="Lakeside Mentoring", code="LAKE")
        make_role(admin, program, "admin")
        make_version(program)
        admin_email = admin.email
    csv_text = ("mentor_email,mentor_name,mentee_email,mentee_name,term_start\n"
                "olga.mentor@example.org,Olga Mentor,pia.mentee@example.org,Pia Mentee,2026-04-01\n"
                "quentin.mentor@example.org,Quentin Mentor,rita.mentee@example.org,Rita Mentee,2026-04-01\n")

    page = open_page()
    sign_in(page, admin_email)
    page.get_by_role("link", name="Lakeside Mentoring").click()
    page.get_by_role("link", name="Import pairs from CSV").click()
    page.get_by_label("CSV file").set_input_files(
        {"name": "pairs.csv", "mimeType": "text/csv", "buffer": csv_text.encode()})
    page.get_by_role("button", name="Preview the import").click()
    expect(page.get_by_role("heading", name="Import preview")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="All 2 rows can be imported")).to_contain_text(
        "Nothing has been created yet.")
    expect(page.get_by_role("table")).to_contain_text("Olga Mentor")
    page.get_by_role("button", name="Import 2 pairs").click()

    expect(page.get_by_text("Imported 2 pairs. Everyone new has been invited.")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Olga Mentor"))).to_contain_text("Pia Mentee")
    expect(page.get_by_role("row", name=re.compile("Quentin Mentor"))).to_contain_text("Rita Mentee")
    assert link_from_outbox(live_server.app, "rita.mentee@example.org")  # the newcomers were invited

    # The program's dashboard follows the new pairs: both waiting for their agreement to be filled in.
    page.get_by_role("link", name="Progress dashboard").first.click()
    expect(page.get_by_role("heading", name="Lakeside Mentoring: progress of every pair")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="2 pairs")).to_be_visible()
    for mentor in ("Olga Mentor", "Quentin Mentor"):
        expect(page.get_by_role("row", name=re.compile(mentor))).to_contain_text("Draft")
    screenshot(page, "program-dashboard")
