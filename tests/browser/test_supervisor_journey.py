"""Does a supervisor follow a pair's progress in the browser without meeting anything the pair keeps to itself?"""
import io
import re

from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser.conftest import screenshot, sign_in
from tests.factories import (
    make_meeting, make_note, make_pair, make_program, make_role, make_signed_agreement, make_user, make_version,
)

CANARIES = ("CANARY-OFFLIMITS-4711", "CANARY-NOTE-0815", "CANARY-MEETING-2342")


def test_supervisor_sees_progress_and_never_pair_only_text(live_server, open_page):
    """On every page a supervisor visits (home, dashboard, pair, agreement, signed version, program's PDF), is
    the pair's state and progress shown while no pair-only answer, note or meeting summary appears?"""
    with live_server.seed():
        program = make_program(name="Valley Case Managers", code="VALLEY")
        supervisor = make_user(name="Sofia Supervisor")
        make_role(supervisor, program, "supervisor")
        mentor, mentee = make_user(name="Gina Mentor"), make_user(name="Hugo Mentee")
        pair = make_pair(program, mentor, mentee, supervisors=(supervisor,))
        agreement = make_signed_agreement(pair, make_version(program, "ccmc"), values={
            "off_limits_topics": [f"{CANARIES[0]} family matters"],
            "meeting_place_time": "Tuesdays in the staff room", "term_months": 6,
            "meeting_period": {"option": "weekly", "other_text": ""}})
        make_note(pair, mentor, f"{CANARIES[1]}: Hugo is thinking of leaving the ward.")
        make_meeting(agreement, mentee, summary=f"{CANARIES[2]}: we talked about the conflict with a colleague.")
        supervisor_email, mentor_email, pair_id, agreement_id = supervisor.email, mentor.email, pair.id, agreement.id

    # The canaries are really there: the pair itself reads each of them.
    member = open_page()
    sign_in(member, mentor_email)
    for address, canary in ((f"/agreements/{agreement_id}", CANARIES[0]), (f"/pairs/{pair_id}/notes", CANARIES[1]),
                            (f"/pairs/{pair_id}", CANARIES[2])):
        member.goto(address)
        expect(member.locator("main")).to_contain_text(canary)

    page = open_page()
    seen = []

    def look():
        """The page as the supervisor's browser has it: no canary anywhere in it."""
        seen.append(page.url)
        content = page.content()
        for canary in CANARIES:
            assert canary not in content, f"{canary} shown to the supervisor on {page.url}"

    sign_in(page, supervisor_email)
    expect(page.get_by_role("heading", name="Pairs you supervise")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Gina Mentor"))).to_contain_text("Active")
    look()

    page.get_by_role("link", name="Progress dashboard: VALLEY").click()
    row = page.get_by_role("row", name=re.compile("Gina Mentor"))
    expect(row).to_contain_text("Hugo Mentee")
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("2 of 2")  # signatures
    look()

    row.get_by_role("link", name="Gina Mentor").click()
    expect(page.get_by_role("heading", name="Gina Mentor and Hugo Mentee")).to_be_visible()
    expect(page.get_by_text("You follow this pair's progress.")).to_be_visible()
    expect(page.get_by_role("region", name="Where the mentorship stands")).to_contain_text("Active")
    screenshot(page, "supervisor-view")
    look()

    page.get_by_role("link", name="Open the agreement").first.click()
    expect(page.get_by_text("You follow this pair: the agreement is read-only here")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Tuesdays in the staff room")  # what the pair did not keep private
    look()

    page.get_by_role("link", name="Original (revision 1)").click()
    expect(page.get_by_role("heading", name="Signature certificate")).to_be_visible()
    look()
    expect(page.get_by_role("link", name=re.compile("Pair's copy"))).to_have_count(0)
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("Program's copy")).click()
    with open(info.value.path(), "rb") as handle:
        text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(handle.read())).pages)
    assert "Tuesdays in the staff room" in " ".join(text.split())
    assert not any(canary in text for canary in CANARIES)

    # The pair's notebook is not there for a supervisor at all.
    response = page.goto(f"/pairs/{pair_id}/notes")
    assert response.status == 404
    look()
    assert len(seen) == 6
