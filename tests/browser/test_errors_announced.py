"""Is a refused form announced to a screen-reader user, with and without JavaScript?

"Announced" here: the message is in an element with role=alert (or inside an aria-live region), and on a page
that comes back whole the focus moves to the problem: to the message itself, or to the refused input whose
aria-describedby names the message. An answer refused while autosaving (htmx) is announced by its alert and marks
its input invalid, without pulling the focus away from where the person is typing.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import PASSWORD, fill_in, make_agreement, make_pair, make_program, make_user, make_version


def expect_announced(message) -> None:
    """The message is visible, and in an alert or a live region."""
    expect(message).to_be_visible()
    expect(message).not_to_be_empty()
    assert message.evaluate("el => !!el.closest('[role=alert], [aria-live]:not([aria-live=off])')"), \
        f"not in an alert or live region: {message.evaluate('el => el.outerHTML')}"


def expect_focus_on_problem(page, message) -> None:
    """The focus is on the message, or on an input that the message describes."""
    message_id = message.get_attribute("id")
    focused = page.locator(":focus")
    expect(focused).to_have_count(1)
    if focused.evaluate("(el, message) => el === message", message.element_handle()):
        return
    assert message_id, "the message has no id, so no input can refer to it"
    expect(focused).to_have_attribute("aria-describedby", re.compile(rf"(^|\s){re.escape(message_id)}(\s|$)"))
    expect(focused).to_have_attribute("aria-invalid", "true")


@pytest.fixture
def errors_world(live_server):
    with live_server.seed():
        program = make_program(name="Errors Program")
        mentor, mentee = make_user(name="Eve Mentor"), make_user(name="Ezra Mentee")
        pair = make_pair(program, mentor, mentee)
        agreement = make_agreement(pair, make_version(program))
        fill_in(agreement)  # every required answer: the signing form is there
        world = {"mentor": mentor.email, "mentee": mentee.email, "agreement": agreement.id, "pair": pair.id}
    return world


@pytest.mark.parametrize("js", [True, False], ids=["with-js", "without-js"])
def test_a_wrong_password_at_sign_in_is_announced_and_focused(errors_world, open_page, js):
    """Does a wrong password at sign-in put an alert on the page and the focus on it?"""
    page = open_page(js=js)
    page.goto("/auth/sign-in")
    page.get_by_label("E-mail").fill(errors_world["mentor"])
    page.get_by_label("Password").fill("not my password")
    page.get_by_role("button", name="Sign in").click()
    message = page.locator(".form-error")
    expect_announced(message)
    expect(message).to_contain_text("do not match")
    expect_focus_on_problem(page, message)
    if js:
        assert_accessible(page)


@pytest.mark.parametrize("js", [True, False], ids=["with-js", "without-js"])
def test_a_wrong_password_when_signing_is_announced_and_focused(errors_world, open_page, js):
    """Does signing with a wrong password say so in an alert tied to the password box, with the focus there?"""
    page = open_page(js=js)
    sign_in(page, errors_world["mentor"])
    page.goto(f"/agreements/{errors_world['agreement']}")
    page.get_by_label("Your password").fill("not my password")
    page.get_by_role("button", name="Sign the agreement").click()
    message = page.locator("#password-error")
    expect_announced(message)
    expect_focus_on_problem(page, message)
    expect(page.get_by_label("Your password")).to_be_focused()
    if js:
        assert_accessible(page)
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign the agreement").click()
    expect(page.get_by_text(re.compile("You signed this version"))).to_be_visible()


def test_an_answer_refused_on_a_full_page_is_announced_and_focused(errors_world, open_page):
    """Without JavaScript, does "Save all changes" with an out-of-range answer come back with the refused input
    focused, marked invalid and described by an alert?"""
    page = open_page(js=False)
    sign_in(page, errors_world["mentee"])
    page.goto(f"/agreements/{errors_world['agreement']}")
    page.locator("#in-term_months").fill("99")
    page.get_by_role("button", name="Save all changes").click()
    message = page.locator("#status-term_months")
    expect_announced(message)
    expect_focus_on_problem(page, message)
    expect(page.locator("#in-term_months")).to_be_focused()
    expect_announced(page.locator("p.flash-error"))  # the page's summary: "1 field needs your attention"


def test_an_answer_refused_while_autosaving_is_announced_without_moving_the_focus(errors_world, open_page):
    """With JavaScript, does an out-of-range answer get an alert and mark the input invalid while the person keeps
    typing there, and does a good answer clear both?"""
    page = open_page()
    sign_in(page, errors_world["mentee"])
    page.goto(f"/agreements/{errors_world['agreement']}")
    months = page.locator("#in-term_months")
    months.focus()
    months.press("Control+a")
    months.press_sequentially("99")
    status = page.locator("#status-term_months")
    expect(status).to_have_attribute("role", "alert", timeout=15_000)
    expect_announced(status)
    expect(months).to_have_attribute("aria-invalid", "true")
    expect(months).to_have_attribute("aria-describedby", re.compile(r"\bstatus-term_months\b"))
    expect(months).to_be_focused()  # the person is still typing: the focus stays with them
    assert_accessible(page)
    months.press("Control+a")
    months.press_sequentially("6")
    expect(status).to_have_text("Saved", timeout=15_000)
    expect(status).to_have_attribute("role", "status")
    expect(months).not_to_have_attribute("aria-invalid", "true")


def test_an_empty_note_is_announced_and_focused_with_htmx(errors_world, open_page):
    """With JavaScript, does saving an empty note swap in an alert and put the focus on the note box?"""
    page = open_page()
    sign_in(page, errors_world["mentor"])
    page.goto(f"/pairs/{errors_world['pair']}/notes")
    page.get_by_role("button", name="Save note").click()
    message = page.locator("#text-error")
    expect_announced(message)
    expect_focus_on_problem(page, message)
    assert_accessible(page)
