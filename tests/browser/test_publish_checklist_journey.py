"""Publishing with the checklist: what refuses publishing, what warns, and bringing a retired version back."""
import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.factories import make_program, make_role, make_user


def test_admin_publishes_through_the_checklist(live_server, open_page):
    """Is an empty template refused with the reason, an unknown placeholder refused where it is typed, a missing
    signature block a warning to accept, and can the retired version be brought back?"""
    with live_server.seed():
        admin = make_user(name="Pia Publisher")
        program = make_program(name="Lighthouse Mentoring", code="LIGHT")
        make_role(admin, program, "admin")
        email = admin.email
    page = open_page()
    sign_in(page, email)
    page.get_by_role("link", name="Lighthouse Mentoring").click()
    page.get_by_role("link", name="Build, import and publish templates").click()
    page.get_by_label("Name of the new template").fill("Lighthouse agreement")
    page.get_by_role("button", name="Create and open the builder").click()

    # Nothing to fill in yet: the checklist refuses, and offers no button to publish.
    page.get_by_role("link", name="Publish version 1…").click()
    expect(page.get_by_role("heading", name="Publish version 1 of Lighthouse agreement?")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="cannot be published yet")).to_contain_text(
        "no field the pair fills in")
    expect(page.get_by_role("button", name="Publish version 1")).to_have_count(0)
    page.get_by_role("link", name="Back to the builder").click()

    # {mentor} is no placeholder: refused next to the label, naming the ones that exist.
    page.get_by_label("Add a field to this section:").select_option(label="Short text")
    page.get_by_role("button", name="Add a field", exact=True).click()
    editor = page.get_by_role("form", name="New field: Short text")
    editor.get_by_label("Label", exact=True).fill("Goal agreed with {mentor}")
    editor.get_by_role("button", name="Add the field").click()
    expect(editor.get_by_role("alert").filter(has_text="{mentor}, which is not a placeholder")).to_contain_text(
        "{mentor_name}")
    editor.get_by_label("Label", exact=True).fill("Goal agreed with {mentor_name}")
    editor.get_by_role("button", name="Add the field").click()
    expect(page.get_by_role("heading", name="New field: Short text")).to_have_count(0)

    # No signature block: a warning, published only once accepted.
    page.get_by_role("link", name="Publish version 1…").click()
    expect(page.get_by_text("no signature block")).to_be_visible()
    page.get_by_role("button", name="Publish version 1").click()
    expect(page.get_by_role("alert").filter(has_text="tick this box to publish anyway")).to_be_visible()
    page.get_by_label("I have read the warnings above and want to publish this version anyway").check()
    page.get_by_role("button", name="Publish version 1").click()
    expect(page.get_by_text("Version 1 is published")).to_be_visible()

    # Retired, then brought back.
    row = page.get_by_role("row", name=re.compile("Version 1"))
    row.get_by_text("Retire…").click()
    row.get_by_role("button", name="Retire version 1").click()
    expect(page.get_by_text("Version 1 is retired")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("Version 1"))
    row.get_by_text("Bring back…").click()
    row.get_by_role("button", name="Publish version 1 again").click()
    expect(page.get_by_text("Version 1 is published again. New pairs start from it again.")).to_be_visible()
