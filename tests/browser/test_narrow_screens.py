"""Does every main page fit a phone held upright (390 px) without scrolling sideways, for every role: the pair,
the supervisor, the program admin and the site admin, wide tables (progress, signed versions) and the template
builder included?"""
from playwright.sync_api import expect

from portal.domain.template_store import new_draft_version
from portal.extensions import db
from tests.browser.conftest import NARROW_WIDTH, sideways_scroll, sign_in
from tests.factories import (
    make_agreement, make_meeting, make_note, make_pair, make_program, make_role, make_signed_agreement, make_user,
)


def test_no_page_scrolls_sideways_on_a_phone(live_server, open_page):
    """Visited at 390 px wide as each role, does any main page scroll sideways?"""
    with live_server.seed():
        program = make_program(name="Narrow Screens Mentoring Programme of the Regional Health Board", code="NARROW")
        site_admin = make_user(name="Sita Siteadmin", site_admin=True)
        admin, supervisor = make_user(name="Ada Programadmin"), make_user(name="Sam Supervisor")
        mentor, mentee = make_user(name="Maximiliana Mentor-Longname"), make_user(name="Eli Mentee")
        make_role(admin, program, "admin")
        make_role(supervisor, program, "supervisor")
        pair = make_pair(program, mentor, mentee, supervisors=(supervisor,))
        signed = make_signed_agreement(pair)
        make_meeting(signed, mentor)
        note = make_note(pair, mentor, "A note about our first meeting, with a long-unbroken-word-in-it-" * 3)
        other_pair = make_pair(program, make_user(name="Olga Other"), make_user(name="Otto Other"))
        draft_agreement = make_agreement(other_pair)
        version = signed.template_version
        draft = new_draft_version(version.template, None)
        db.session.commit()
        ids = {"program": program.id, "pair": pair.id, "signed": signed.id, "note": note.id,
               "template": version.template_id, "version": version.id, "draft": draft.id,
               "draft_agreement": draft_agreement.id}
        emails = {"site_admin": site_admin.email, "admin": admin.email, "supervisor": supervisor.email,
                  "mentor": mentor.email}

    pages = {
        "anonymous": ["/auth/sign-in", "/auth/forgot-password"],
        "mentor": ["/", "/pairs/{pair}", "/agreements/{signed}", "/agreements/{signed}/versions/1",
                   "/agreements/{signed}/history", "/pairs/{pair}/notes", "/pairs/{pair}/notes/{note}",
                   "/agreements/{signed}/review", "/agreements/{signed}/end", "/pairs/{pair}/help", "/verify",
                   "/auth/account"],
        "supervisor": ["/", "/pairs/{pair}", "/agreements/{signed}", "/agreements/{signed}/versions/1",
                       "/programs/{program}/dashboard"],
        "admin": ["/", "/programs/{program}", "/programs/{program}/pairs/new", "/programs/{program}/pairs/import",
                  "/programs/{program}/dashboard", "/programs/{program}/audit", "/programs/{program}/settings",
                  "/programs/{program}/templates", "/programs/{program}/templates/{template}",
                  "/programs/{program}/templates/versions/{draft}", "/programs/{program}/templates/{template}/diff",
                  "/programs/{program}/templates/versions/{version}/preview", "/pairs/{pair}",
                  "/agreements/{draft_agreement}"],
        "site_admin": ["/admin/programs", "/admin/programs/{program}", "/admin/users", "/admin/audit"],
    }
    problems = []
    for role, addresses in pages.items():
        page = open_page(viewport={"width": NARROW_WIDTH, "height": 844})
        if role != "anonymous":
            sign_in(page, emails[role])
        for address in addresses:
            url = address.format(**ids)
            response = page.goto(url)
            assert response is not None and response.status == 200, f"{role} {url}: {response and response.status}"
            expect(page.locator("main, body").first).to_be_visible()
            overflow = sideways_scroll(page)
            if overflow:
                problems.append(f"{role} {url}: {overflow}")
    assert not problems, "pages that scroll sideways at 390 px:\n" + "\n".join(problems)
