"""Do the program admin's and the site admin's pages fit the screen: every admin page (every GET page of the
authorization walk that only admins open) on a phone held upright without scrolling sideways, and the whole
row of the progress dashboard on a 1280 px laptop screen, without a column cut off?"""
from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from portal.domain.template_store import new_draft_version
from portal.extensions import db
from portal.timeutil import utctoday
from tests.browser.conftest import NARROW_WIDTH, sideways_scroll, sign_in
from tests.factories import (
    make_agreement, make_help_request, make_meeting, make_pair, make_program, make_role, make_signed_agreement,
    make_user, set_state,
)
from tests.test_authorization import ALLOW, DENY, ROUTES

FILES = re.compile(r"\.(csv|pdf|json|ics)$|/export$")


def admin_pages() -> list[tuple[str, str]]:
    """(who, address) of every page the walk lets admins open and pair members not: files left out."""
    pages = []
    for (_endpoint, method), (address, expectations) in sorted(ROUTES.items()):
        if method != "GET" or expectations["mentor"] != DENY or FILES.search(address.split("?")[0]):
            continue
        if expectations["program_admin"] == ALLOW:
            pages.append(("program_admin", address))
        elif expectations["site_admin"] == ALLOW:
            pages.append(("site_admin", address))
    return pages


def long_named_world(code: str):
    """A program with long names, a signed pair that asked for help, a draft pair and a draft template version
    (`code`: the live portal's database is shared by the session's tests)."""
    program = make_program(name="Narrow Screens Mentoring Programme of the Regional Health Board", code=code)
    people = {"site_admin": make_user(name="Sita Siteadmin", site_admin=True),
              "program_admin": make_user(name="Ada Programadmin"), "supervisor": make_user(name="Sam Supervisor"),
              "bystander": make_user(name="Bea Bystander")}
    make_role(people["program_admin"], program, "admin")
    supervisor_role = make_role(people["supervisor"], program, "supervisor")
    mentor = make_user(name="Maximiliana Mentor-Longname", email=f"maximiliana.mentor-longname.{code}@example.org")
    mentee = make_user(name="Bartholomew Mentee-Longername", email=f"bartholomew.longername.{code}@example.org")
    pair = make_pair(program, mentor, mentee, supervisors=(people["supervisor"],))
    agreement = make_signed_agreement(pair)
    meeting = make_meeting(agreement, mentor)
    help_request = make_help_request(pair, mentee, "Could someone from the program join our next meeting?")
    other = make_pair(program, make_user(name="Olga Other"), make_user(name="Otto Other"))
    other_agreement = make_agreement(other, term_start=utctoday() - timedelta(days=200))
    set_state(other_agreement, "active")
    version = agreement.template_version
    draft = new_draft_version(version.template, None)
    db.session.commit()
    ids = {"program": program.id, "pair": pair.id, "other_pair": other.id, "agreement": agreement.id,
           "template": version.template_id, "version": version.id, "draft": draft.id,
           "user": people["bystander"].id, "supervisor_role": supervisor_role.id, "meeting": meeting.id,
           "help_request": help_request.id}
    return ids, {who: person.email for who, person in people.items()}


def test_every_admin_page_fits_a_phone(live_server, open_page):
    """Visited at 390 px wide by the program admin or the site admin, does any admin page scroll sideways?"""
    with live_server.seed():
        ids, emails = long_named_world("ADMINPHONE")
    pages = admin_pages()
    assert len(pages) >= 12, pages  # the walk's admin pages were found
    problems, browsers = [], {}
    for who, address in pages:
        if who not in browsers:
            browsers[who] = open_page(viewport={"width": NARROW_WIDTH, "height": 844})
            sign_in(browsers[who], emails[who])
        page = browsers[who]
        try:
            url = address.format(**ids)
        except KeyError as missing:
            raise AssertionError(f"{address}: give long_named_world an id for {missing}") from None
        response = page.goto(url)
        assert response is not None and response.status == 200, f"{who} {url}: {response and response.status}"
        expect(page.locator("main")).to_be_visible()
        overflow = sideways_scroll(page)
        if overflow:
            problems.append(f"{who} {url}: {overflow}")
    # The import's preview answers a POST: reached by uploading a file, with long addresses and a warning.
    page = browsers["program_admin"]
    page.goto(f"/programs/{ids['program']}/pairs/import")
    long_row = ("ADMINPHONE,maximiliana.mentor-longname.adminphone@example.org,,"
                "a.very.long.address.of.a.new.mentee.who.joins.late@hospital-network.example.org,,,2020-01-15,\n")
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "pairs.csv", "mimeType": "text/csv",
                "buffer": ("program,mentor_email,mentor_name,mentee_email,mentee_name,supervisor_emails,term_start,"
                           "template\n" + long_row).encode()}])
    page.get_by_role("button", name="Preview the import").click()
    expect(page.get_by_role("heading", name="Import preview")).to_be_visible()
    expect(page.get_by_text("This term already ended")).to_be_visible()
    overflow = sideways_scroll(page)
    if overflow:
        problems.append(f"program_admin import preview: {overflow}")
    assert not problems, "admin pages that scroll sideways at 390 px:\n" + "\n".join(problems)


def test_the_whole_dashboard_row_is_visible_at_1280_px(live_server, open_page):
    """On a 1280 px screen, is every column of the dashboard's rows (long names, alerts, goals) inside the
    window, with nothing cut off or hidden behind a sideways scroll?"""
    with live_server.seed():
        ids, emails = long_named_world("WIDEROW")
    page = open_page(viewport={"width": 1280, "height": 900})
    sign_in(page, emails["program_admin"])
    page.goto(f"/programs/{ids['program']}/dashboard")
    expect(page.locator("table.dashboard tbody tr").first).to_be_visible()
    cut_off = page.evaluate("""() => {
        const table = document.querySelector('table.dashboard');
        const box = table.parentElement;
        const out = [];
        if (box.scrollWidth > box.clientWidth + 1) {
            out.push(`the table is ${box.scrollWidth} px wide in a ${box.clientWidth} px box`);
        }
        for (const cell of table.querySelectorAll('th, td')) {
            const right = cell.getBoundingClientRect().right;
            if (right > document.documentElement.clientWidth + 1) {
                out.push(`${cell.textContent.trim().slice(0, 30)} ends at ${Math.round(right)} px`);
            }
        }
        return out.slice(0, 8);
    }""")
    assert cut_off == [], cut_off
    assert sideways_scroll(page) is None
