"""Can a program admin build a template in the browser, preview it and publish it?"""
import re

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in
from tests.factories import make_program, make_role, make_user


def test_admin_builds_previews_and_publishes_a_template(live_server, open_page):
    """Does a program admin get from an empty draft to a published template through the builder alone?"""
    with live_server.seed():
        admin = make_user(name="Bea Builder")
        program = make_program(name="Harbour Mentoring", code="HARB")
        make_role(admin, program, "admin")
        email = admin.email
    page = open_page()
    sign_in(page, email)

    page.get_by_role("link", name="Harbour Mentoring").click()
    page.get_by_role("link", name="Build, import and publish templates").click()
    page.get_by_label("Name of the new template").fill("Harbour agreement")
    page.get_by_role("button", name="Create and open the builder").click()
    expect(page.get_by_text("Template 'Harbour agreement' created as a draft")).to_be_visible()
    expect(page.get_by_role("heading", name="Harbour agreement version 1: draft")).to_be_visible()

    # The section the draft starts with gets a title of its own.
    page.get_by_role("link", name="Edit section Our agreement").click()
    editor = page.get_by_role("form", name="Edit section: Our agreement")
    editor.get_by_label("Section title").fill("Goals and meetings")
    editor.get_by_role("button", name="Save the section").click()
    expect(page.get_by_role("heading", name="Goals and meetings", exact=True)).to_be_visible()

    def add_field(type_name: str):
        """Open the editor of a new field of the type; returns the editor (a form named after it)."""
        page.get_by_label("Add a field to this section:").select_option(label=type_name)
        page.get_by_role("button", name="Add a field", exact=True).click()
        editor = page.get_by_role("form", name=f"New field: {type_name}")
        expect(editor).to_be_visible()
        return editor

    editor = add_field("Short text")
    editor.get_by_label("Label", exact=True).fill("Where will you meet?")
    editor.get_by_label("Required: the agreement cannot be signed while this is empty").check()
    editor.get_by_role("button", name="Add the field").click()
    expect(page.get_by_role("status").filter(has_text="added")).to_be_visible()

    editor = add_field("Choice of answers")
    editor.get_by_label("Label", exact=True).fill("How often will you meet?")
    editor.get_by_label("Answers, one per line").fill("weekly | Every week\nmonthly | Every month")
    editor.get_by_role("button", name="Add the field").click()
    expect(page.get_by_text("Every month").first).to_be_visible()

    editor = add_field("Number")
    editor.get_by_label("Label", exact=True).fill("We will meet for ____.")
    editor.get_by_label("Lowest allowed").fill("1")
    editor.get_by_label("Highest allowed").fill("12")
    editor.get_by_label("Suggested value (optional)").fill("6")
    editor.get_by_label("Unit (optional)").fill("months")
    editor.get_by_role("button", name="Add the field").click()
    expect(page.get_by_role("heading", name="New field: Number")).to_have_count(0)

    editor = add_field("Signature block")
    editor.get_by_role("button", name="Add the field").click()
    expect(page.get_by_text("This template has no signature block yet")).to_have_count(0)

    # A field already added is edited in place.
    page.get_by_role("link", name=re.compile(r"^Edit the field 'Where will you meet\?'")).click()
    editor = page.get_by_role("form", name="Edit field: Short text")
    editor.get_by_label("Label", exact=True).fill("Where and when will you meet?")
    editor.get_by_role("button", name="Save the field").click()
    expect(page.get_by_text("Where and when will you meet?").first).to_be_visible()
    screenshot(page, "template-builder")

    # The preview shows the form as a pair will fill it in.
    page.get_by_role("link", name="Preview as the pair sees it").click()
    expect(page.get_by_role("heading", name="Goals and meetings")).to_be_visible()
    preview = page.locator("article")
    expect(preview).to_contain_text("Where and when will you meet?")
    expect(preview).to_contain_text("How often will you meet?")
    expect(preview).to_contain_text("Every week")
    expect(preview).to_contain_text("months")
    page.go_back()

    page.get_by_role("link", name="Publish version 1…").click()  # the checklist first (test_publish_checklist_journey)
    expect(page.get_by_text("Everything checked")).to_be_visible()
    page.get_by_role("button", name="Publish version 1").click()
    expect(page.get_by_text("Version 1 is published")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Version 1")).first).to_contain_text("published")
    page.get_by_role("link", name="Templates").first.click()
    expect(page.get_by_role("row", name=re.compile("Harbour agreement"))).to_contain_text("version 1")
