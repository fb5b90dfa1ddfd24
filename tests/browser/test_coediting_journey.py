"""Do mentor and mentee, each in their own browser, fill in their agreement together and settle a clash?"""
import re

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.factories import fill_in, make_agreement, make_pair, make_program, make_user

LIVE = 10_000  # the editors poll every 2 s and check in every 3 s: a change shows within this


def open_agreement(page, email, pictures=False):
    if pictures:
        page.goto("/auth/sign-in")
        screenshot(page, "sign-in")
    sign_in(page, email)
    expect(page.get_by_role("heading", name="Your mentorships")).to_be_visible()
    if pictures:
        screenshot(page, "home")
    page.get_by_role("link", name="Open the agreement").click()
    expect(page.get_by_role("heading", name="Mentor Partnership Agreement", exact=False).first).to_be_visible()


def test_mentor_and_mentee_co_edit_live_and_resolve_a_clash(live_server, open_page):
    """Does each see the other's edits and presence without reloading, and does a clash on one field end with
    the value the later editor chose, shown to both?"""
    with live_server.seed():
        program = make_program(name="Bayview Mentoring", code="BAY")
        mentor = make_user(name="Mona Mentor")
        mentee = make_user(name="Elias Mentee")
        make_agreement(make_pair(program, mentor, mentee))
        mentor_email, mentee_email = mentor.email, mentee.email

    mona, elias = open_page(), open_page()
    open_agreement(mona, mentor_email, pictures=True)
    open_agreement(elias, mentee_email)

    # Presence: both see that both have the page open.
    for page in (mona, elias):
        presence = page.locator("#presence")
        expect(presence).to_contain_text("On this page now", timeout=LIVE + 5_000)
        expect(presence).to_contain_text("Mona Mentor")
        expect(presence).to_contain_text("Elias Mentee")

    # Each one's answer appears on the other's screen, no reload.
    mona_goal = mona.get_by_role("textbox", name="Goal:")
    mona_goal.fill("Elias leads a ward audit by June.")
    expect(mona.locator("#status-goal")).to_have_text("Saved", timeout=LIVE)
    mona_goal.blur()
    expect(elias.get_by_role("textbox", name="Goal:")).to_have_value("Elias leads a ward audit by June.",
                                                                      timeout=LIVE)
    elias_schedule = elias.get_by_role("textbox", name="Our schedule for meetings will be:")
    elias_schedule.fill("First Monday of the month, 8:00, in the library.")
    expect(elias.locator("#status-meeting_schedule")).to_have_text("Saved", timeout=LIVE)
    elias_schedule.blur()
    expect(mona.get_by_role("textbox", name="Our schedule for meetings will be:")).to_have_value(
        "First Monday of the month, 8:00, in the library.", timeout=LIVE)
    expect(mona.locator("#field-meeting_schedule")).to_contain_text("Last saved by Elias Mentee")
    mona.evaluate("() => window.scrollTo(0, 0)")  # the header, with who is on the page
    screenshot(mona, "agreement-editor")

    # The clash: Elias has typed in the ground rules (his save not yet through) while Mona saves her version.
    ground_rules = re.compile("Honor the ground rules")
    held_saves = []
    elias.route("**/fields/ground_rules", lambda route: held_saves.append(route))
    elias.get_by_label(ground_rules).fill("We keep what we say between us.")
    mona_rules = mona.get_by_label(ground_rules)
    mona_rules.fill("Phones away; we start on time.")
    expect(mona.locator("#status-ground_rules")).to_have_text("Saved", timeout=LIVE)
    mona_rules.blur()
    # Elias's screen keeps what he typed and tells him that Mona changed it.
    expect(elias.locator("#status-ground_rules")).to_contain_text("Your partner changed this too", timeout=LIVE)
    expect(elias.get_by_label(ground_rules)).to_have_value("We keep what we say between us.")
    for route in held_saves:  # his save goes through now, based on the version he had
        route.continue_()
    elias.unroute("**/fields/ground_rules")
    conflict = elias.locator("#field-ground_rules .conflict-panel")
    expect(conflict).to_be_visible(timeout=LIVE)
    expect(conflict).to_contain_text("Mona Mentor changed this")
    expect(conflict.locator(".theirs")).to_contain_text("Phones away; we start on time.")
    expect(elias.get_by_label(ground_rules)).to_have_value("We keep what we say between us.")
    assert_accessible(elias)
    elias.locator("#field-ground_rules").scroll_into_view_if_needed()
    screenshot(elias, "conflict-view")

    # He merges the two in the box and saves his version; both end up with it.
    merged = "Phones away; we start on time. We keep what we say between us."
    elias.get_by_label(ground_rules).fill(merged)
    elias.get_by_role("button", name="Replace their version with mine (as in the box below)").click()
    expect(conflict).to_have_count(0)
    expect(elias.get_by_label(ground_rules)).to_have_value(merged)
    expect(mona.get_by_label(ground_rules)).to_have_value(merged, timeout=LIVE)
    expect(mona.locator("#field-ground_rules")).to_contain_text("Last saved by Elias Mentee")

    for page in (mona, elias):  # and it is what is stored
        page.reload()
        expect(page.get_by_label(ground_rules)).to_have_value(merged)
        expect(page.get_by_role("textbox", name="Goal:")).to_have_value("Elias leads a ward audit by June.")


def test_a_field_only_clicked_into_takes_the_partners_change(live_server, open_page):
    """When the mentee only clicks into a field and types nothing, does the mentor's change of it replace the
    old value in his box, live, with no "your partner changed this too" (he changed nothing)?"""
    with live_server.seed():
        program = make_program(name="Bayview Mentoring", code="BAY2")
        mentor = make_user(name="Mona Focus")
        mentee = make_user(name="Elias Focus")
        make_agreement(make_pair(program, mentor, mentee))
        mentor_email, mentee_email = mentor.email, mentee.email

    mona, elias = open_page(), open_page()
    open_agreement(mona, mentor_email)
    open_agreement(elias, mentee_email)
    ground_rules = re.compile("Honor the ground rules")
    elias_rules = elias.get_by_label(ground_rules)
    elias_rules.click()
    expect(elias_rules).to_be_focused()

    mona.get_by_label(ground_rules).fill("Phones away; we start on time.")
    expect(mona.locator("#status-ground_rules")).to_have_text("Saved", timeout=LIVE)
    mona.get_by_label(ground_rules).blur()

    expect(elias_rules).to_have_value("Phones away; we start on time.", timeout=LIVE)
    expect(elias.locator("#field-ground_rules")).to_contain_text("Last saved by Mona Focus")
    expect(elias.locator("#status-ground_rules")).not_to_contain_text("Your partner changed this too")
    expect(elias.locator("#field-ground_rules .conflict-panel")).to_have_count(0)
    expect(elias_rules).to_be_focused()  # he is still where he was

    # A field he did change is still held back: typing, then the partner's change, keeps his words.
    held_saves = []
    elias.route("**/fields/goal", lambda route: held_saves.append(route))
    elias.get_by_role("textbox", name="Goal:").fill("Elias's own goal")
    mona.get_by_role("textbox", name="Goal:").fill("Mona's goal for Elias")
    expect(mona.locator("#status-goal")).to_have_text("Saved", timeout=LIVE)
    mona.get_by_role("textbox", name="Goal:").blur()
    expect(elias.locator("#status-goal")).to_contain_text("Your partner changed this too", timeout=LIVE)
    expect(elias.get_by_role("textbox", name="Goal:")).to_have_value("Elias's own goal")
    for route in held_saves:
        route.continue_()
    elias.unroute("**/fields/goal")
    expect(elias.locator("#field-goal .conflict-panel")).to_be_visible(timeout=LIVE)


def test_an_answer_typed_back_to_what_it_was_takes_the_partners_change(live_server, open_page):
    """When the mentee types in a field while the mentor changes it, and then deletes what she typed, does her
    box take the mentor's answer live (she no longer has a change), and while it was held back, did her page
    keep the signing token of the content it showed?"""
    with live_server.seed():
        program = make_program(name="Bayview Mentoring", code="BAY3")
        mentor = make_user(name="Mona Unseen")
        mentee = make_user(name="Elias Unseen")
        agreement = make_agreement(make_pair(program, mentor, mentee))
        fill_in(agreement)  # complete: each sees the signing form, with its `seen` token
        mentor_email, mentee_email = mentor.email, mentee.email

    mona, elias = open_page(), open_page()
    open_agreement(mona, mentor_email)
    open_agreement(elias, mentee_email)
    goal = elias.get_by_role("textbox", name="Goal:")
    before, seen = goal.input_value(), elias.locator("input[name=seen]").get_attribute("value")

    # She is typing, quicker than her autosave's pause: what she typed is in the box and not sent.
    goal.evaluate("(box, typed) => { box.value = typed; }", before + " TYPED")
    mona.get_by_role("textbox", name="Goal:").fill("Q-SIGNED-UNSEEN")
    expect(mona.locator("#status-goal")).to_have_text("Saved", timeout=LIVE)
    mona.get_by_role("textbox", name="Goal:").blur()
    expect(elias.locator("#status-goal")).to_contain_text("Your partner changed this too", timeout=LIVE)
    expect(goal).to_have_value(before + " TYPED")
    # The page shows the old answer: its signing form still carries the token of what it shows.
    assert elias.locator("input[name=seen]").get_attribute("value") == seen

    goal.fill(before)  # she deletes what she typed: her autosave now sends what her page showed
    expect(goal).to_have_value("Q-SIGNED-UNSEEN", timeout=LIVE)
    expect(elias.locator("#field-goal")).not_to_contain_text("Your partner changed this too")
    expect(elias.locator("#field-goal")).to_contain_text("Last saved by Mona Unseen")
