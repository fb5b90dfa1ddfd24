"""Can a person reach the live portal in a real browser, and is the sign-in page accessible?"""
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import make_user


def test_sign_in_page_greets_and_signs_in(live_server, open_page):
    """Does a person with an account get from the sign-in page to their home page?"""
    with live_server.seed():
        person = make_user(name="Ada Example")
        email = person.email
    page = open_page()
    page.goto("/auth/sign-in")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert_accessible(page)
    sign_in(page, email)
    expect(page.get_by_text("Ada Example").first).to_be_visible()


def test_accessibility_check_notices_an_unlabelled_input(open_page):
    """Would the axe-core check catch a form field that a screen reader cannot name?"""
    from tests.browser.conftest import accessibility_violations

    page = open_page()
    page.set_content("<html lang='en'><head><title>t</title></head><body><main><h1>Form</h1>"
                     "<input type='text'></main></body></html>")
    violations = accessibility_violations(page, impacts=("serious", "critical"))
    assert any(" label " in violation for violation in violations), violations
