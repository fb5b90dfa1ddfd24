"""Do both members sign their agreement in the browser, password re-entered, and download its PDF?"""
import io
import re

from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser.conftest import screenshot, sign_in
from tests.factories import PASSWORD, fill_in, make_agreement, make_pair, make_program, make_user, make_version


def pdf_text(download) -> str:
    with open(download.path(), "rb") as handle:
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(handle.read())).pages)


def sign(page, printed_name: str) -> None:
    """Fill in the signing form below the agreement and send it."""
    form = page.locator("form.sign-form")
    form.get_by_label("Your name, as it should be printed on the agreement").fill(printed_name)
    form.get_by_role("checkbox", name=re.compile("I have read this")).check()
    form.get_by_label("Your password").fill(PASSWORD)
    form.get_by_role("button", name="Sign the agreement").click()


def test_both_members_sign_and_download_the_pdf(live_server, open_page):
    """Is a signature refused without the right password, and once both have signed, does each download a PDF
    with the agreement's answers and both signatures' names?"""
    with live_server.seed():
        program = make_program(name="Summit Case Managers", code="SUMMIT")
        mentor = make_user(name="Sana Signer")
        mentee = make_user(name="Teo Trainee")
        agreement = make_agreement(make_pair(program, mentor, mentee), make_version(program, "ccmc"))
        fill_in(agreement, {
            "goals": ["Pass the CCM exam in autumn", "Run a discharge-planning huddle", "Lead one case review"],
            "meeting_place_time": "Thursdays at the Harbour Cafe",
            "cancellation_notice": "24 hours",
            "evaluation_metrics": ["A pass on the first attempt", "Teo chairs a huddle alone"],
            "meeting_period": {"option": "weekly", "other_text": ""},
            "term_months": 6,
        })
        mentor_email, mentee_email = mentor.email, mentee.email

    sana, teo = open_page(), open_page()
    sign_in(sana, mentor_email)
    sana.get_by_role("link", name="Open the agreement").click()
    sign_as_mentor = sana.get_by_role("heading", name="Sign as mentor")
    expect(sign_as_mentor).to_be_visible()
    sign_as_mentor.evaluate("heading => heading.scrollIntoView({block: 'start'})")
    screenshot(sana, "signing")

    # A wrong password signs nothing and says why, next to the password.
    form = sana.locator("form.sign-form")
    form.get_by_role("checkbox", name=re.compile("I have read this")).check()
    form.get_by_label("Your password").fill("not my password")
    form.get_by_role("button", name="Sign the agreement").click()
    expect(sana.get_by_label("Your password")).to_have_attribute("aria-invalid", "true")
    expect(sana.locator("#password-error")).to_be_visible()
    expect(sana.locator("#line-mentor")).to_contain_text("not signed yet")

    sign(sana, "Dr. Sana Signer")
    expect(sana.get_by_text(re.compile(r"You signed this version on .* as “Dr. Sana Signer”"))).to_be_visible()
    expect(sana.get_by_text("It becomes active when Teo Trainee signs too.")).to_be_visible()

    sign_in(teo, mentee_email)
    teo.get_by_role("link", name="Open the agreement").click()
    expect(teo.get_by_text("Sana Signer signed on")).to_be_visible()
    sign(teo, "Teo Trainee")
    expect(teo.locator(".agreement-header .state")).to_have_text("Active")
    expect(teo.get_by_text("This agreement is signed by both of you and active, so it is read-only.")).to_be_visible()

    # Sana's open page notices by itself that the agreement is now active (no reload by hand: it reloads).
    expect(sana.locator(".agreement-header .state")).to_have_text("Active", timeout=10_000)
    expect(sana.locator("#line-mentee")).to_contain_text("signed by Teo Trainee")
    sana.get_by_role("link", name="Original (revision 1)").click()
    expect(sana.get_by_role("heading", name="Signature certificate")).to_be_visible()
    certificate = sana.get_by_role("region", name="Signature certificate")
    expect(certificate).to_contain_text("Dr. Sana Signer")
    expect(certificate).to_contain_text("Teo Trainee")
    sana.get_by_role("heading", name="Signature certificate").evaluate(
        "heading => heading.scrollIntoView({block: 'start'})")
    screenshot(sana, "signed-agreement")

    # Each downloads the pair's copy: it holds the answers and both printed names.
    for page in (sana, teo):
        if page is teo:
            page.get_by_role("link", name="Original (revision 1)").click()
        with page.expect_download() as info:
            page.get_by_role("link", name=re.compile("Pair's copy")).click()
        download = info.value
        assert download.suggested_filename.endswith(".pdf")
        text = " ".join(pdf_text(download).split())
        for answer in ("Pass the CCM exam in autumn", "Thursdays at the Harbour Cafe", "24 hours"):
            assert answer in text, f"{answer!r} is not in the PDF: {text[:1500]}"
        assert "Dr. Sana Signer" in text and "Teo Trainee" in text
