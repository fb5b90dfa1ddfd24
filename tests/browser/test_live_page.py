"""Does an open agreement page follow what the partner does without a reload: the last required answer brings
the sign form, a decline shows with its reason, and someone who closed the page soon stops being "on it"?"""
from playwright.sync_api import expect

from portal.domain.template_store import definition_of
from tests.browser.test_coediting_journey import LIVE, open_agreement
from tests.factories import PASSWORD, answer_for, fill_in, make_agreement, make_pair, make_program, make_user


def test_the_sign_form_appears_live_when_the_partner_completes_the_agreement(live_server, open_page):
    """When the mentor gives the last required answer, does the mentee's open page replace "fill in first" with
    the sign form (and empty the to-do list) within seconds, and can he sign with it?"""
    with live_server.seed():
        program = make_program(name="Bayview Mentoring", code="BAYSIGN")
        mentor, mentee = make_user(name="Mona Live"), make_user(name="Elias Live")
        agreement = make_agreement(make_pair(program, mentor, mentee))
        definition = definition_of(agreement.template_version)
        fill_in(agreement, {f.key: answer_for(f) for f in definition.fields
                            if f.stores_value and f.required and f.key != "goal"}, required=False)
        mentor_email, mentee_email = mentor.email, mentee.email

    mona, elias = open_page(), open_page()
    open_agreement(mona, mentor_email)
    open_agreement(elias, mentee_email)
    panel = elias.locator("#signing")
    expect(panel).to_contain_text("Before you can sign, fill in every part")
    todo = "Still to fill in before you can sign"
    expect(elias.get_by_role("heading", name=todo)).to_be_visible()

    mona.get_by_role("textbox", name="Goal:").fill("Elias leads a ward audit by June.")
    expect(mona.locator("#status-goal")).to_have_text("Saved", timeout=LIVE)

    expect(panel.get_by_role("heading", name="Sign as mentee")).to_be_visible(timeout=LIVE)
    expect(elias.get_by_role("heading", name=todo)).to_have_count(0)
    expect(mona.get_by_role("heading", name=todo)).to_have_count(0, timeout=LIVE)

    form = elias.locator("form.sign-form")
    form.get_by_label("Your password").fill(PASSWORD)
    form.get_by_role("button", name="Sign the agreement").click()
    expect(elias.get_by_text("You signed this version on")).to_be_visible()


def test_a_decline_and_its_reason_show_live(live_server, open_page):
    """When the mentee declines to sign, does the mentor's open page show it, with his reason, by itself?"""
    with live_server.seed():
        program = make_program(name="Bayview Mentoring", code="BAYDECL")
        mentor, mentee = make_user(name="Mona Decline"), make_user(name="Elias Decline")
        fill_in(make_agreement(make_pair(program, mentor, mentee)))
        mentor_email, mentee_email = mentor.email, mentee.email

    mona, elias = open_page(), open_page()
    open_agreement(mona, mentor_email)
    open_agreement(elias, mentee_email)
    elias.get_by_text("Not ready to sign? Decline and say why").click()
    elias.get_by_label("Why you do not sign this version").fill("The schedule is too tight for me.")
    elias.get_by_role("button", name="Decline to sign").click()
    expect(elias.get_by_text("You declined to sign.")).to_be_visible()

    expect(mona.get_by_text("Elias Decline declined to sign.")).to_be_visible(timeout=LIVE)
    expect(mona.locator("#line-mentee")).to_contain_text("The schedule is too tight for me.")
    expect(mona.locator("#signing").get_by_role("heading", name="Sign as mentor")).to_be_visible()


def test_a_partner_who_closes_the_page_is_gone_within_10_seconds(live_server, open_page):
    """When the mentee closes his agreement page, does the mentor's page stop naming him within 10 seconds?"""
    with live_server.seed():
        program = make_program(name="Bayview Mentoring", code="BAYGONE")
        mentor, mentee = make_user(name="Mona Stays"), make_user(name="Elias Leaves")
        make_agreement(make_pair(program, mentor, mentee))
        mentor_email, mentee_email = mentor.email, mentee.email

    mona, elias = open_page(), open_page()
    open_agreement(mona, mentor_email)
    open_agreement(elias, mentee_email)
    presence = mona.locator("#presence")
    expect(presence).to_contain_text("Elias Leaves", timeout=LIVE)
    elias.close(run_before_unload=True)
    expect(presence).to_have_text("Only you have this page open.", timeout=10_000)
