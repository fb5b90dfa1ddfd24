"""Does a pair review and renew its mentorship in the browser, and can another pair end early?"""
import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, make_pair, make_program, make_signed_agreement, make_user, make_version


def write_review(page, outcome: str, conclusion: str) -> None:
    """On the review page (opened from the pair page if need be): mark every goal and write a conclusion."""
    if "/review" not in page.url:
        page.get_by_role("link", name="Write your review").click()
    expect(page.get_by_role("heading", name="Review of your mentorship")).to_be_visible()
    goals = page.locator("fieldset.goal")
    expect(goals.first).to_be_visible()
    for index in range(goals.count()):
        goals.nth(index).get_by_role("radio", name=outcome, exact=True).check()
    page.get_by_label("Your learning conclusion").fill(conclusion)
    page.get_by_role("button", name="Save my review").click()
    expect(page.get_by_text("Your review is saved.")).to_be_visible()


def sign(page) -> None:
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign the agreement").click()


def test_pair_reviews_and_renews(live_server, open_page):
    """When the term has ended, do both members each write a review, continue with a new agreement pre-filled from
    the old one, confirm its goals and sign it, ending with the old agreement closed as renewed?"""
    with live_server.seed():
        program = make_program(name="Meadow Mentoring", code="MEADOW")
        mentor, mentee = make_user(name="Ruth Renew"), make_user(name="Sam Second")
        agreement = make_signed_agreement(make_pair(program, mentor, mentee), make_version(program), values={
            "goal": "Sam runs the weekly handover on his own."})
        mentor_email, mentee_email, old_id = mentor.email, mentee.email, agreement.id

    ruth, sam = open_page(), open_page()
    sign_in(ruth, mentor_email)
    ruth.get_by_role("link", name="Meetings and progress").click()
    status = ruth.get_by_role("region", name="Where you stand")
    expect(status).to_contain_text("The term ended on 04 April 2026.")  # three months from 5 January
    ruth.get_by_role("button", name="Start the review").click()
    expect(ruth.get_by_text("Your review has started.")).to_be_visible()
    write_review(ruth, "Partly achieved", "Sam needs less help than I thought.")

    sign_in(sam, mentee_email)
    sam.get_by_role("link", name="Meetings and progress").click()
    expect(sam.get_by_role("region", name="Where you stand")).to_contain_text(
        "Still to write their review: Sam Second.")
    write_review(sam, "Achieved", "Handing over calmly takes practice, and I had it.")
    expect(sam.locator(".review-card").filter(has_text="Ruth Renew")).to_contain_text("Sam needs less help")

    ruth.reload()
    expect(ruth.locator(".review-card").filter(has_text="Sam Second")).to_contain_text("Handing over calmly")
    ruth.get_by_role("link", name="Continue with a new agreement").click()
    expect(ruth.get_by_text("Everything you wrote is carried over.").first).to_be_visible()
    ruth.get_by_role("button", name="Create the new agreement").click()
    expect(ruth.get_by_text("Your new agreement is ready")).to_be_visible()
    expect(ruth.get_by_role("textbox", name="Goal:")).to_have_value("Sam runs the weekly handover on his own.")
    goals = ruth.get_by_role("complementary", name="Confirm your goals for the new term")
    expect(goals).to_contain_text("Ruth Renew: not confirmed yet")
    ruth.get_by_role("button", name="I confirm these goals").click()
    expect(goals).to_contain_text("Ruth Renew: confirmed")
    new_agreement = ruth.url.split("#")[0]

    sam.goto(new_agreement)
    sam.get_by_role("button", name="I confirm these goals").click()
    expect(sam.get_by_role("complementary", name="Confirm your goals for the new term")).to_contain_text(
        "Sam Second: confirmed")
    sign(sam)
    expect(sam.get_by_text(re.compile("You signed this version on"))).to_be_visible()
    # Ruth's open agreement page notices the signature by itself and reloads.
    expect(ruth.get_by_text("Sam Second signed on")).to_be_visible(timeout=10_000)
    sign(ruth)
    expect(ruth.locator(".agreement-header .state")).to_have_text("Active")
    expect(ruth.get_by_text(re.compile("This agreement continues the agreement of"))).to_be_visible()

    # The old agreement is closed as renewed, read-only, and points to the one that continues it.
    ruth.goto(f"/agreements/{old_id}")
    expect(ruth.locator(".closed-notice")).to_contain_text("Renewed")
    expect(ruth.get_by_role("link", name="Open the agreement that continues it")).to_be_visible()
    ruth.get_by_role("link", name=re.compile("← Ruth Renew and Sam Second")).click()
    agreements = ruth.get_by_role("region", name="Agreements")
    expect(agreements).to_contain_text("(renewed)")
    expect(agreements).to_contain_text("Continues the agreement of")


def test_a_member_ends_the_mentorship_early_with_a_reason(live_server, open_page):
    """Can a mentee end an active mentorship early, choosing a reason category, and does the mentor see it
    ended without blame, read-only?"""
    with live_server.seed():
        program = make_program(name="Ridge Mentoring", code="RIDGE")
        mentor, mentee = make_user(name="Vera Mentor"), make_user(name="Will Mentee")
        make_signed_agreement(make_pair(program, mentor, mentee), make_version(program))
        mentor_email, mentee_email = mentor.email, mentee.email

    will = open_page()
    sign_in(will, mentee_email)
    will.get_by_role("link", name="Meetings and progress").click()
    will.get_by_role("link", name="End the mentorship early").click()
    expect(will.get_by_role("heading", name="End the mentorship early")).to_be_visible()
    will.get_by_role("radio", name="Schedule or availability").check()
    will.get_by_role("button", name="End the mentorship").click()
    expect(will.get_by_text("The mentorship has ended and Vera Mentor has been told.")).to_be_visible()
    status = will.get_by_role("region", name="Where you stand")
    expect(status).to_contain_text("ended early, without blame, by Will Mentee")
    expect(status).to_contain_text("Reason given: Schedule or availability.")

    vera = open_page()
    sign_in(vera, mentor_email)
    vera.get_by_role("link", name="Open the agreement").click()
    expect(vera.locator(".closed-notice")).to_contain_text("Ended early, without blame, by Will Mentee")
    expect(vera.locator(".agreement-header .state")).to_have_text("Closed")
    expect(vera.get_by_role("button", name="Save all changes")).to_have_count(0)
    expect(vera.get_by_role("link", name="End the mentorship early")).to_have_count(0)
