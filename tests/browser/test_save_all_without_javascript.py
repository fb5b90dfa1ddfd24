"""Two browsers with JavaScript turned off, both on the agreement page: does "Save all changes" on the older page
save only what that person changed, and leave the partner's newer answers alone unless the person chooses?"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.test_without_javascript import submit
from tests.factories import make_agreement, make_pair, make_program, make_user, make_version

MENTOR_ANSWERS = {"goal": "Lead the falls-prevention committee by spring.",
                  "meeting_schedule": "First Monday of the month, 8 am.",
                  "learning_opportunities": "Shadow the committee chair.",
                  "term_months": "6"}
MENTEE_ANSWERS = {"ground_rules": "Start on time; cancel a day ahead.",
                  "feedback_method": "Ten minutes of feedback at the end of each meeting.",
                  "meeting_counts-face_to_face": "4",
                  "objectives": "Chair two committee meetings"}


@pytest.fixture
def pair_world(live_server):
    with live_server.seed():
        program = make_program(name="Two Windows Program")
        mentor, mentee = make_user(name="Mona Mentor"), make_user(name="Milo Mentee")
        agreement = make_agreement(make_pair(program, mentor, mentee), make_version(program))
        return {"mentor": mentor.email, "mentee": mentee.email, "url": f"/agreements/{agreement.id}"}


def box(page, name: str):
    return page.locator(f"[name='f-{name}']").first  # a list's first item


def test_saving_all_from_an_older_page_keeps_the_partners_answers(pair_world, open_page):
    """The mentor fills four answers and saves all; the mentee, on the page opened before, fills four others and
    saves all: are all eight kept with no clash, and does a real clash show both versions and overwrite the
    partner's answer only through the clearly labelled choice?"""
    mentor, mentee = open_page(js=False), open_page(js=False)
    for page, who in ((mentor, "mentor"), (mentee, "mentee")):
        sign_in(page, pair_world[who])
        page.goto(pair_world["url"])

    for name, text in MENTOR_ANSWERS.items():
        box(mentor, name).fill(text)
    _response, status = submit(mentor, mentor.get_by_role("button", name="Save all changes"))
    assert status == 303

    for name, text in MENTEE_ANSWERS.items():
        box(mentee, name).fill(text)
    _response, status = submit(mentee, mentee.get_by_role("button", name="Save all changes"))
    assert status == 303
    expect(mentee.locator("#flash")).to_contain_text("Saved 4 changes")
    expect(mentee.locator(".conflict-panel")).to_have_count(0)
    mentor.goto(pair_world["url"])
    for page in (mentor, mentee):
        for name, text in {**MENTOR_ANSWERS, **MENTEE_ANSWERS}.items():
            expect(box(page, name)).to_have_value(text)

    # A real clash: both change the ground rules from the same page.
    box(mentor, "ground_rules").fill("Phones away.")
    box(mentee, "ground_rules").fill("We keep what we say between us.")
    submit(mentor, mentor.get_by_role("button", name="Save all changes"))
    _response, status = submit(mentee, mentee.get_by_role("button", name="Save all changes"))
    assert status == 409
    panel = mentee.locator("#field-ground_rules .conflict-panel")
    expect(panel).to_contain_text("Mona Mentor changed this")
    expect(panel.locator(".theirs")).to_contain_text("Phones away.")
    expect(panel.locator(".mine")).to_contain_text("We keep what we say between us.")
    # Saving the whole page again is not the choice: the mentor's answer stays.
    _response, status = submit(mentee, mentee.get_by_role("button", name="Save all changes"))
    assert status == 409
    mentor.goto(pair_world["url"])
    expect(box(mentor, "ground_rules")).to_have_value("Phones away.")
    # The explicit choice replaces it.
    _response, status = submit(mentee, mentee.get_by_role(
        "button", name=re.compile("Replace their version with mine")))
    assert status == 303
    mentor.goto(pair_world["url"])
    expect(box(mentor, "ground_rules")).to_have_value("We keep what we say between us.")
    expect(box(mentor, "goal")).to_have_value(MENTOR_ANSWERS["goal"])
