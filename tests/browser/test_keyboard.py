"""Can a person who uses only the keyboard sign in, fill in the agreement and sign it, always seeing where the
focus is?

No clicks and no fill(): only Tab, typing, Enter, Space and arrow keys. At each step the test checks which element
has the focus and that it is visibly marked (an outline or a box shadow from :focus-visible).
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, fill_in, make_agreement, make_pair, make_program, make_user, make_version

FOCUSED = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
    const box = el.getBoundingClientRect();
    let behind = el.parentElement, background = 'rgb(255, 255, 255)';
    while (behind) {
        const color = getComputedStyle(behind).backgroundColor;
        if (color && color !== 'transparent' && !color.startsWith('rgba(0, 0, 0, 0')) { background = color; break; }
        behind = behind.parentElement;
    }
    return {id: el.id, tag: el.tagName.toLowerCase(), outlineColor: style.outlineColor, background, name: el.getAttribute('name') || '',
            type: el.getAttribute('type') || '', text: (el.innerText || el.value || '').trim().slice(0, 80),
            checked: !!el.checked, marked: outline || style.boxShadow !== 'none',
            onscreen: box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0};
}"""


def luminance(css_color: str) -> float:
    red, green, blue = (int(part) / 255 for part in re.findall(r"\d+", css_color)[:3])
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def focused(page) -> dict:
    return page.evaluate(FOCUSED)


def expect_visible_focus(page) -> dict:
    """The focused element is on screen and visibly marked."""
    state = focused(page)
    assert state["tag"] != "body", "nothing has the focus"
    assert state["marked"], f"focus is not visible on {state}"
    assert state["onscreen"], f"the focused element is off screen: {state}"
    ring = contrast(state["outlineColor"], state["background"])
    assert ring >= 3, f"the focus ring has a contrast of {ring:.1f}:1 with what is behind it (3:1 needed): {state}"
    return state


def tab(page, key: str = "Tab") -> dict:
    page.keyboard.press(key)
    return expect_visible_focus(page)


def tab_to(page, selector: str, limit: int = 80) -> int:
    """Press Tab until the element matching `selector` has the focus; every stop on the way must show the
    focus. Returns how many presses it took."""
    for presses in range(1, limit + 1):
        tab(page)
        if page.evaluate("(selector) => document.activeElement.matches(selector)", selector):
            return presses
    raise AssertionError(f"{selector} not reached with {limit} presses of Tab; focus is on {focused(page)}")


@pytest.fixture
def keyboard_world(live_server):
    """A CCMC agreement with everything filled in but three answers: goals (a list), how often to meet (a choice)
    and where (a short text)."""
    with live_server.seed():
        program = make_program(name="Keyboard Program")
        mentor, mentee = make_user(name="Kim Keys"), make_user(name="Lee Mentee")
        pair = make_pair(program, mentor, mentee)
        agreement = make_agreement(pair, make_version(program, "ccmc"))
        fill_in(agreement, required=False, values={
            "evaluation_metrics": ["Pass the CCM exam"], "term_months": 6,
            "cancellation_notice": "24 hours"})
        world = {"mentor": mentor.email, "agreement": agreement.id}
    return world


def sign_in_by_keyboard(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/auth/sign-in")
    expect(page.get_by_label("E-mail")).to_be_focused()  # autofocus: ready to type
    expect_visible_focus(page)
    page.keyboard.type(email)
    assert tab(page)["id"] == "password"
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))


def test_the_skip_link_is_the_first_stop_and_leads_to_the_content(keyboard_world, open_page):
    """Is 'Skip to content' the first thing Tab reaches, visible when focused, and does it move the focus past
    the header into the main content?"""
    page = open_page()
    sign_in_by_keyboard(page, keyboard_world["mentor"])
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    expect_visible_focus(page)
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    # The next Tab lands inside the main content, not on the header's links.
    tab(page)
    assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)")


def test_a_mentor_fills_in_and_signs_with_the_keyboard_alone(keyboard_world, open_page):
    """Can the mentor reach each missing answer from the to-do list, type a list, choose with the arrow keys,
    save with Enter, and sign (accepting the release with Space) without a mouse?"""
    page = open_page()
    sign_in_by_keyboard(page, keyboard_world["mentor"])
    page.goto(f"/agreements/{keyboard_world['agreement']}")
    todo = page.get_by_role("complementary", name="Still to fill in before you can sign")
    expect(todo.get_by_role("link")).to_have_count(3)

    # The to-do list leads to the first missing answer: its first input is the next Tab stop.
    tab_to(page, "aside.todo a[href='#field-goals']")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("#field-goals$"))
    assert tab(page)["id"] == "in-goals"
    page.keyboard.type("Pass the certification exam")
    second = tab(page)
    assert second["name"] == "f-goals" and second["id"] != "in-goals", second
    page.keyboard.type("Lead a complex case review")
    expect(page.locator("#status-goals")).to_have_text("Saved", timeout=15_000)

    # How often: Space chooses the first answer, the arrow key moves to the next one.
    tab_to(page, "#in-meeting_period")
    page.keyboard.press("Space")
    expect(page.locator("#in-meeting_period")).to_be_checked()
    page.keyboard.press("ArrowRight")
    expect(page.locator("input[name='f-meeting_period'][value='weekly']")).to_be_checked()
    expect(page.locator("input[name='f-meeting_period'][value='weekly']")).to_be_focused()
    expect_visible_focus(page)
    expect(page.locator("#status-meeting_period")).to_have_text("Saved", timeout=15_000)

    # Where: a short text; once it has saved, Enter submits the whole form and the page comes back ready to sign.
    tab_to(page, "#in-meeting_place_time")
    page.keyboard.type("Wednesdays at noon, by video")
    expect(page.locator("#status-meeting_place_time")).to_have_text("Saved", timeout=15_000)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#flash")).to_contain_text(re.compile("Saved|No changes"))
    expect(page.get_by_role("complementary", name="Still to fill in before you can sign")).to_have_count(0)

    # Signing: the printed name is filled in, Space accepts the release, the password, Enter signs.
    tab_to(page, "#printed_name", limit=150)
    expect(page.locator("#printed_name")).to_have_value("Kim Keys")
    assert tab(page)["id"] == "ack-release"
    page.keyboard.press("Space")
    expect(page.locator("#ack-release")).to_be_checked()
    assert tab(page)["id"] == "password"
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile("You signed this version"))).to_be_visible()
    expect(page.locator(".state")).to_have_text("Signing")
    expect(page.locator("#line-mentor")).to_contain_text("signed")
