"""Do the core journeys work in a browser with JavaScript turned off: sign in, fill in the agreement, both sign,
and keep notes, share one with both approvals and withdraw it?

Every change is a plain HTML form: a successful one answers 303 (Post/Redirect/Get) and the page after the
redirect shows what was saved; a refused one comes back (422) with the problem next to the input.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, make_agreement, make_pair, make_program, make_user, make_version


def submit(page, button):
    """Click a form's submit button; return the final response and the status that answered the POST."""
    with page.expect_navigation() as navigation:
        button.click()
    response = navigation.value
    first = response.request.redirected_from
    return response, (first.response().status if first else response.status)


def expect_redirected(page, button, to: str | re.Pattern | None = None):
    """A form that succeeds answers 303 and the browser follows it to a page that answers 200."""
    response, status = submit(page, button)
    assert status == 303, f"expected 303 after the POST, got {status} at {page.url}"
    assert response.status == 200
    if to is not None:
        expect(page).to_have_url(to)
    return response


def expect_refused(page, button):
    response, status = submit(page, button)
    assert status == 422, f"expected 422 for the refused form, got {status}"
    return response


@pytest.fixture
def pair_world(live_server):
    with live_server.seed():
        program = make_program(name="No-Script Program")
        mentor, mentee = make_user(name="Mona Mentor"), make_user(name="Milo Mentee")
        recipient = make_user(name="Rhea Reader")
        pair = make_pair(program, mentor, mentee)
        agreement = make_agreement(pair, make_version(program))
        world = {"mentor": mentor.email, "mentee": mentee.email, "recipient": recipient.email,
                 "pair": pair.id, "agreement": agreement.id}
    return world


def test_sign_in_refuses_a_wrong_password_and_lets_the_right_one_in(pair_world, open_page):
    """Without JavaScript, does a wrong password get a message on the sign-in page, and the right one the home
    page?"""
    page = open_page(js=False)
    page.goto("/auth/sign-in")
    page.get_by_label("E-mail").fill(pair_world["mentor"])
    page.get_by_label("Password").fill("not the password")
    expect_refused(page, page.get_by_role("button", name="Sign in"))
    expect(page.get_by_role("alert")).to_contain_text(re.compile("password", re.I))
    expect(page).to_have_url(re.compile("/auth/sign-in"))
    page.get_by_label("Password").fill(PASSWORD)
    expect_redirected(page, page.get_by_role("button", name="Sign in"), re.compile(r"/$"))
    expect(page.get_by_role("link", name=re.compile("Mona Mentor"))).to_be_visible()


def test_the_pair_fills_in_and_signs_the_agreement_without_javascript(pair_world, open_page):
    """Can mentor and mentee fill in every required answer with plain form posts, see a refused answer explained,
    and both sign with their password, until the agreement is active?"""
    agreement_url = f"/agreements/{pair_world['agreement']}"
    mentor = open_page(js=False)
    sign_in(mentor, pair_world["mentor"])
    mentor.goto(agreement_url)
    expect(mentor.get_by_role("heading", name="Still to fill in before you can sign")).to_be_visible()

    # The mentor's part, with one answer out of range: the form comes back, the problem next to the input.
    mentor.locator("#in-goal").fill("Lead the falls-prevention committee by spring.")
    objectives = mentor.locator("input[name='f-objectives']")
    objectives.nth(0).fill("Chair two committee meetings")
    objectives.nth(1).fill("Present the audit results")
    mentor.locator("#in-term_months").fill("99")
    mentor.locator("input[name='f-meeting_counts-face_to_face']").fill("6")
    expect_refused(mentor, mentor.get_by_role("button", name="Save all changes"))
    status = mentor.locator("#status-term_months")
    expect(status).to_have_attribute("role", "alert")
    expect(status).not_to_be_empty()
    expect(mentor.locator("#in-term_months")).to_have_value("99")
    expect(mentor.locator("#in-term_months")).to_have_attribute("aria-invalid", "true")
    expect(mentor.get_by_role("alert").first).to_be_visible()
    # The valid answers of the same post were saved; the refused one was not.
    expect(mentor.locator("#in-goal")).to_have_value("Lead the falls-prevention committee by spring.")
    mentor.locator("#in-term_months").fill("6")
    expect_redirected(mentor, mentor.get_by_role("button", name="Save all changes"), re.compile(agreement_url))
    expect(mentor.locator("#flash")).to_contain_text("Saved")
    expect(mentor.locator("#in-term_months")).to_have_value("6")
    expect(mentor.locator("#in-goal")).to_have_value("Lead the falls-prevention committee by spring.")
    expect(objectives.nth(1)).to_have_value("Present the audit results")
    expect(mentor.locator("input[name='f-meeting_counts-face_to_face']")).to_have_value("6")
    expect(mentor.locator("#status-goal")).to_contain_text("Last saved by Mona Mentor")

    # The mentee's part: the mentor's answers are there after the mentee's page loads.
    mentee = open_page(js=False)
    sign_in(mentee, pair_world["mentee"])
    mentee.goto(agreement_url)
    expect(mentee.locator("#in-goal")).to_have_value("Lead the falls-prevention committee by spring.")
    for key, text in (("meeting_schedule", "First Monday of the month, 8 am."),
                      ("learning_opportunities", "Shadow the committee chair."),
                      ("ground_rules", "Start on time; cancel a day ahead."),
                      ("feedback_method", "Ten minutes of feedback at the end of each meeting.")):
        mentee.locator(f"#in-{key}").fill(text)
    expect_redirected(mentee, mentee.get_by_role("button", name="Save all changes"), re.compile(agreement_url))
    expect(mentee.locator("#flash")).to_contain_text("Saved 4 changes")
    expect(mentee.get_by_role("heading", name="Still to fill in before you can sign")).to_have_count(0)
    expect(mentee.locator("#in-ground_rules")).to_have_value("Start on time; cancel a day ahead.")

    # The mentee signs first, with a wrong password then the right one.
    expect(mentee.get_by_label("Your name, as it should be printed on the agreement")).to_have_value("Milo Mentee")
    mentee.get_by_label("Your password").fill("wrong password")
    expect_refused(mentee, mentee.get_by_role("button", name="Sign the agreement"))
    expect(mentee.locator("#password-error")).to_have_attribute("role", "alert")
    expect(mentee.locator("#password-error")).not_to_be_empty()
    expect(mentee.get_by_label("Your password")).to_have_attribute("aria-invalid", "true")
    mentee.get_by_label("Your password").fill(PASSWORD)
    expect_redirected(mentee, mentee.get_by_role("button", name="Sign the agreement"))
    expect(mentee.get_by_text(re.compile("You signed this version"))).to_be_visible()
    expect(mentee.locator(".state")).to_have_text("Signing")

    # The mentor reloads, sees the mentee's signature, and signs too: the agreement is active and read-only.
    mentor.goto(agreement_url)
    expect(mentor.locator("#line-mentee")).to_contain_text("signed")
    mentor.get_by_label("Your password").fill(PASSWORD)
    expect_redirected(mentor, mentor.get_by_role("button", name="Sign the agreement"))
    expect(mentor.locator(".state")).to_have_text("Active")
    expect(mentor.locator("#in-goal")).to_have_count(0)
    expect(mentor.get_by_role("button", name="Save all changes")).to_have_count(0)
    expect(mentor.get_by_role("link", name=re.compile("Original"))).to_be_visible()
    mentee.reload()
    expect(mentee.locator(".state")).to_have_text("Active")


def test_notes_are_written_edited_shared_approved_and_withdrawn_without_javascript(pair_world, open_page):
    """Can a member write and edit a note, propose sharing it, the other member approve with their password, the
    recipient read it, and a member withdraw it, with JavaScript off?"""
    notebook_url = f"/pairs/{pair_world['pair']}/notes"
    mentor = open_page(js=False)
    sign_in(mentor, pair_world["mentor"])
    mentor.goto(notebook_url)

    # An empty note is refused in place; a real one is saved and shown.
    expect_refused(mentor, mentor.get_by_role("button", name="Save note"))
    expect(mentor.locator("#text-error")).to_have_attribute("role", "alert")
    mentor.get_by_label("Note", exact=True).fill("We agreed to try the *new* rota in March.")
    expect_redirected(mentor, mentor.get_by_role("button", name="Save note"), re.compile(notebook_url))
    expect(mentor.locator("#flash")).to_contain_text("Note saved.")
    note = mentor.locator("article.note").first
    expect(note).to_contain_text("We agreed to try the new rota in March.")

    # Edit it on its own page.
    note.get_by_role("link", name="Edit this note").click()
    expect(mentor).to_have_url(re.compile(r"/notes/\d+/edit$"))
    mentor.get_by_label("Note", exact=True).fill("We agreed to try the new rota in April instead.")
    expect_redirected(mentor, mentor.get_by_role("button", name="Save changes"), re.compile(r"/notes/\d+$"))
    note_url = mentor.url
    expect(mentor.locator("article.note")).to_contain_text("in April instead")

    # Propose sharing it: a bad address is refused with its message, then a real one is proposed.
    mentor.get_by_role("link", name="Share… this note").click()
    mentor.get_by_label("Share with (e-mail address)").fill("not an address")
    expect_refused(mentor, mentor.get_by_role("button", name="Propose sharing"))
    expect(mentor.get_by_role("alert").first).to_be_visible()
    mentor.get_by_label("Share with (e-mail address)").fill(pair_world["recipient"])
    expect_redirected(mentor, mentor.get_by_role("button", name="Propose sharing"), note_url)
    expect(mentor.locator("#flash")).to_contain_text("Nothing is shared with")

    # The mentee approves with their password (a wrong one first).
    mentee = open_page(js=False)
    sign_in(mentee, pair_world["mentee"])
    mentee.goto(note_url)
    mentee.get_by_role("link", name=re.compile("^Approve…")).click()
    mentee.get_by_label("Your password").fill("wrong password")
    expect_refused(mentee, mentee.get_by_role("button", name="Approve sharing"))
    expect(mentee.get_by_role("alert").first).to_be_visible()
    mentee.get_by_label("Your password").fill(PASSWORD)
    expect_redirected(mentee, mentee.get_by_role("button", name="Approve sharing"), note_url)
    expect(mentee.locator("#flash")).to_contain_text("Approved.")

    # The recipient reads it from their home page.
    reader = open_page(js=False)
    sign_in(reader, pair_world["recipient"])
    reader.get_by_role("link", name=re.compile("note", re.I)).first.click()
    expect(reader.locator("main")).to_contain_text("in April instead")
    shared_url = reader.url

    # The mentee withdraws it; the recipient's next request no longer shows it.
    mentee.goto(note_url)
    expect_redirected(mentee, mentee.get_by_role("button", name=re.compile("^Withdraw")), note_url)
    expect(mentee.locator("#flash")).to_contain_text("can no longer read this note")
    response = reader.goto(shared_url)
    assert response.status == 404
    expect(reader.locator("main")).not_to_contain_text("in April instead")
