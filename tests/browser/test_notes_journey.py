"""Does one confidential note reach a third person only with both members' consent, and only until withdrawn?"""
import re

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in
from tests.factories import PASSWORD, make_pair, make_program, make_user

NOTE = "Talked about the night-shift rota. Next step: ask the ward manager for two day shifts."
OTHER_NOTE = "Private worry about the exam date; keep between us."


def test_a_note_is_shared_with_both_approvals_and_withdrawn(live_server, open_page):
    """Does the mentor's note become readable by the named recipient only after the mentee approves, and
    stop being readable as soon as it is withdrawn, while the rest of the notebook stays private?"""
    with live_server.seed():
        program = make_program(name="Northshore Mentoring", code="NORTH")
        mentor = make_user(name="Nora Notes")
        mentee = make_user(name="Omar Mentee")
        recipient = make_user("rhea.recipient@example.org", "Rhea Recipient")
        pair = make_pair(program, mentor, mentee)
        mentor_email, mentee_email, recipient_email, pair_id = mentor.email, mentee.email, recipient.email, pair.id

    nora = open_page()
    sign_in(nora, mentor_email)
    nora.get_by_role("link", name="Your confidential notebook").click()
    expect(nora.get_by_role("heading", name="Write a note")).to_be_visible()
    for text in (OTHER_NOTE, NOTE):
        nora.get_by_label("Note", exact=True).fill(text)
        nora.get_by_role("button", name="Save note").click()
        expect(nora.locator("article.note").filter(has_text=text)).to_be_visible()
    expect(nora.get_by_label("Note", exact=True)).to_have_value("")

    # Nora proposes sharing one note with Rhea.
    note = nora.locator("article.note").filter(has_text=NOTE)
    note.get_by_role("link", name="Share… this note").click()
    note.get_by_label("Share with (e-mail address)").fill(recipient_email)
    expect(nora).to_have_url(re.compile(r"/notes$"))  # the panel opened in place, in the notebook (htmx)
    note.get_by_role("button", name="Propose sharing").click()
    expect(note.locator(".shares")).to_contain_text("Omar Mentee")
    screenshot(nora, "notes")

    # Until Omar approves, Rhea has nothing to read.
    rhea = open_page()
    sign_in(rhea, recipient_email)
    expect(rhea.get_by_role("heading", name="Notes shared with you")).to_have_count(0)

    omar = open_page()
    sign_in(omar, mentee_email)
    expect(omar.get_by_text("1 share waiting for your approval")).to_be_visible()
    omar.get_by_role("link", name="Your confidential notebook").click()
    shared = omar.locator("article.note").filter(has_text=NOTE)
    shared.get_by_role("link", name=re.compile("^Approve… sharing with")).click()
    shared.get_by_label("Your password").fill(PASSWORD)
    shared.get_by_role("button", name="Approve sharing").click()
    expect(shared.get_by_role("button", name=re.compile("^Withdraw sharing with"))).to_be_visible()

    # Rhea now reads that note, and only that note.
    rhea.reload()
    rhea.get_by_role("link", name="A note from Nora Notes and Omar Mentee").click()
    expect(rhea.get_by_role("heading", name="A note shared with you")).to_be_visible()
    expect(rhea.locator("article.note")).to_contain_text(NOTE)
    shared_url = rhea.url
    assert OTHER_NOTE not in rhea.content()
    response = rhea.goto(f"/pairs/{pair_id}/notes")
    assert response.status == 404 and NOTE not in rhea.content()

    # Omar withdraws it; from Rhea's next request on it is gone.
    shared.get_by_role("button", name=re.compile("^Withdraw sharing with")).click()
    expect(shared).to_contain_text("can no longer read this note")
    response = rhea.goto(shared_url)
    assert response.status in (403, 404, 410), response.status
    assert NOTE not in rhea.content()
    rhea.goto("/")
    expect(rhea.get_by_role("heading", name="Notes shared with you")).to_have_count(0)
