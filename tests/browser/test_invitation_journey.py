"""Can a program admin see that an invited mentee never joined, send the invitation again, and the mentee join
through the new link (the old one refused with what to do)?"""
import re
from datetime import timedelta

from playwright.sync_api import expect

from portal.domain import pairs
from portal.extensions import db
from portal.models import AccountToken, Pair
from portal.timeutil import utcnow
from tests.browser.conftest import link_from_outbox, sign_in
from tests.factories import make_program, make_role, make_user, make_version

MENTEE = "wanda.waiting@example.org"


def test_admin_resends_an_invitation_and_the_mentee_joins(live_server, open_page):
    """Does the dashboard flag the pair, the pair's invitations page resend, and the new link let her join?"""
    with live_server.seed():
        admin = make_user(name="Rhea Resender")
        mentor = make_user(name="Milo Mentor")
        program = make_program(name="Hillside Mentoring", code="HILL")
        make_role(admin, program, "admin")
        version = make_version(program)
        pair = pairs.create_pair(admin, program, pairs.PairRequest(
            mentor_email=mentor.email, mentee_email=MENTEE, mentee_name="Wanda Waiting",
            template_version_id=version.id))
        db.session.flush()
        # Invited ten days ago: the link has expired and the pair raises the "Not joined" alert.
        db.session.get(Pair, pair.id).created_at = utcnow() - timedelta(days=10)
        for token in db.session.scalars(db.select(AccountToken).where(AccountToken.user_id == pair.mentee_id)):
            token.created_at = utcnow() - timedelta(days=10)
            token.expires_at = utcnow() - timedelta(days=7)
        admin_email = admin.email
    old_link = link_from_outbox(live_server.app, MENTEE)

    page = open_page()
    sign_in(page, admin_email)
    page.get_by_role("link", name="Hillside Mentoring").click()
    page.get_by_role("link", name="Progress dashboard").click()
    page.get_by_role("link", name=re.compile(r"^Not joined\W+send the invitations again$")).click()
    expect(page.get_by_role("heading", name="Invitations: Milo Mentor and Wanda Waiting")).to_be_visible()
    expect(page.get_by_role("row", name=f"Mentee Wanda Waiting <{MENTEE}>")).to_contain_text("Link expired (sent")
    expect(page.get_by_role("row", name="Mentor Milo Mentor")).to_contain_text("Joined")
    page.get_by_role("button", name="Send the invitation again to Wanda Waiting").click()
    expect(page.get_by_text(f"A new invitation is on its way to Wanda Waiting at {MENTEE}.")).to_be_visible()
    expect(page.get_by_role("row", name=f"Mentee Wanda Waiting <{MENTEE}>")).to_contain_text("Invited")

    # A second click at once is refused, saying why.
    page.get_by_role("button", name="Send the invitation again to Wanda Waiting").click()
    expect(page.get_by_role("alert")).to_contain_text("less than 10 minutes ago")

    newcomer = open_page()
    newcomer.goto(old_link)
    expect(newcomer.get_by_role("alert")).to_contain_text("replaced by a newer one")
    newcomer.goto(link_from_outbox(live_server.app, MENTEE))
    expect(newcomer.get_by_role("heading", name="Welcome to the Mentorship Portal")).to_be_visible()
    newcomer.get_by_label("New password").fill("a long new password 2026")
    newcomer.get_by_label("Repeat the password").fill("a long new password 2026")
    newcomer.get_by_role("button", name="Save the password").click()
    expect(newcomer.get_by_text("Your password is set, Wanda Waiting. Sign in with it now.")).to_be_visible()
    sign_in(newcomer, MENTEE, "a long new password 2026")
    expect(newcomer.get_by_text("Your mentor is Milo Mentor.")).to_be_visible()

    page.reload()
    expect(page.get_by_role("row", name=f"Mentee Wanda Waiting <{MENTEE}>")).to_contain_text("Joined")
