"""PDF copies: they read like the paper form, the pair's copy holds every field and the program's copy none of
the pair-only ones, they go out by e-mail when the agreement becomes active, and rendering fetches nothing."""
from __future__ import annotations

import http.server
import threading

import pytest

from portal.domain import agreement_pdf, signing
from portal.domain.template_format import parse_definition
from portal.domain.template_store import create_template, publish
from portal.extensions import db
from portal.pdf import MAX_HTML_BYTES, PdfRenderError, render_pdf, render_pdf_report
from tests.factories import (
    fill_in, make_pair, make_program, make_signed_agreement, make_user, make_version, outbox, sign_as, delivered,
)
from tests.signing.conftest import (
    FULL_VALUES, PAIR_SECRET, PAIR_TOPIC, RETURN_ADDRESS, SIGNING_TEMPLATE, pdf_text,
)

PAIR_ONLY_LABELS = ("Something only we know", "Topics we keep off the table")


def signed(world):
    fill_in(world.agreement, FULL_VALUES)
    sign_as(world.fresh(), world.people["mentor"])
    sign_as(world.fresh(), world.people["mentee"])
    agreement = world.fresh()
    return agreement, signing.signed_version(agreement, 1)


def download(world, who: str, copy: str, revision: int = 1):
    return world.clients[who].get(f"{world.url}/versions/{revision}/{copy}-copy.pdf")


def test_the_pairs_copy_holds_every_value_and_the_programs_copy_no_pair_only_one(world):
    """Does the pair's copy show every field value (pair-only ones too), and the program's copy every value but
    none of the pair-only values or their labels?"""
    agreement, version = signed(world)
    pair_copy = pdf_text(download(world, "mentor", "pair").get_data())
    program_copy = pdf_text(download(world, "mentor", "program").get_data())
    expected = ["Onwards together", "We met at the spring conference.", "Then we kept talking.",
                "Goal 1: Lead the review board", "Goal 2: Publish one paper", "Meet for 6 months.",
                "We meet monthly.", "Meetings: 2 in person, 5 by phone.", "2026-02-03"]
    for text in expected:
        assert text in pair_copy, text
        assert text in program_copy, text
    for text in (PAIR_SECRET, f"Topic 1: {PAIR_TOPIC}", *PAIR_ONLY_LABELS):
        assert text in pair_copy, text
        assert text not in program_copy, text
    assert "CANARY" not in program_copy
    assert "Program's copy. The parts of this agreement that the pair keeps confidential are left out" in program_copy
    assert "Between the two of us" in pair_copy and "Between the two of us" not in program_copy  # no empty section


def test_a_pdf_reads_like_the_paper_form_and_ends_with_a_signature_certificate(world):
    """Does the PDF have the program and title, every section and clause in order, the signature lines with
    printed names and dates, and a last page certificate with hash, times, addresses, browsers and history?"""
    agreement, version = signed(world)
    pdf = download(world, "mentee", "pair").get_data()
    text = pdf_text(pdf)
    in_order = ["Agreement of Signing Program", "Signing Program", "Read it together.", "Goals", "What we aim for.",
                "Our motto", "How we met", "Meetings", "We are kind to each other.", "Between the two of us",
                "Signatures", "Mentor's signature: signed electronically by Maya Mentor",
                "Mentee's signature: signed electronically by Eli Mentee",
                "We release Signing Program from every claim.", "Signature certificate"]
    position = 0
    for part in in_order:  # each part after the one before it (the page footer comes first in the text)
        position = text.index(part, position) + len(part)
    import io

    from pypdf import PdfReader
    reader = PdfReader(io.BytesIO(pdf))
    certificate = " ".join(reader.pages[-1].extract_text().split())
    rows = signing.version_signatures(version)
    assert "Signature certificate" in certificate
    assert " ".join(version.content_hash[i:i + 16] for i in range(0, 64, 16)) in certificate
    for row in rows:
        assert row.at.strftime("%Y-%m-%d %H:%M:%S") in certificate
        assert row.printed_name in certificate and "192.0.2.10" in certificate and "pytest-agent/1.0" in certificate
    assert row.at.strftime("%Y-%m-%d") in text.split("Signature certificate")[0]  # the date on the signature line
    for kind in ("Created", "Signed", "Activated"):
        assert kind in certificate.split("History of this version")[1]
    assert reader.metadata["/Subject"] == f"portal-sha256:{version.content_hash}"


def test_the_shipped_whprms_form_reads_like_paper(app):
    """Does the WHPRMS PDF fill the form's blanks in its own sentences and end with the return address?"""
    program = make_program(code="WHP", name="WHPRMS Mentor Program", return_email="president_elect@whprms.org")
    agreement = make_signed_agreement(make_pair(program), make_version(program, "whprms"), values={
        "meeting_counts": {"counts": {"face_to_face": 2, "phone": 4, "email": 6, "other": 1},
                           "other_label": "video calls"}})
    text = pdf_text(agreement_pdf.render_copy(signing.signed_version(agreement, 1), "program"))
    assert "1. Meet regularly and for 3 months." in text
    assert "We will meet 2 face to face, 4 by phone, 6 by email, 1 other (video calls)." in text
    assert "This form should be returned to: president_elect@whprms.org" in text
    assert text.index("Goals and objectives") < text.index("How we will work together") < text.index(
        "Review, continuation and closure") < text.index("Mentor's signature") < text.index("Mentee's signature")


def test_the_shipped_ccmc_form_reads_like_paper(app):
    """Does the CCMC PDF write the term with its unit into the form's sentence, list the mentee's line first,
    and show the release as accepted by both signers?"""
    program = make_program(code="CCM", name="CCMC Case Manager Mentoring")
    agreement = make_signed_agreement(make_pair(program), make_version(program, "ccmc"), values={
        "term_months": 6, "meeting_period": {"option": "other", "other_text": "every other week"}})
    text = pdf_text(agreement_pdf.render_copy(signing.signed_version(agreement, 1), "program"))
    assert "3. We agree to meet for 6 months. At the end of that period" in text
    assert "1. We commit to meet every other week and make every effort" in text
    assert text.index("Mentee's signature") < text.index("Mentor's signature")
    assert "release and forever discharge" in text and "Accepted when signing by:" in text


def test_the_second_signer_does_not_wait_for_the_programs_copy(world, monkeypatch):
    """Does the second signature make the agreement active without rendering any PDF in that request, leaving
    the program's copy to the mail sender, which renders it once, attaches it and records it as issued?"""
    import portal.pdf
    from portal.models import IssuedFile
    renders = []
    real_render = portal.pdf.render_pdf_report
    monkeypatch.setattr(portal.pdf, "render_pdf_report", lambda *a, **k: renders.append(1) or real_render(*a, **k))
    agreement, version = signed(world)
    assert agreement.state == "active" and renders == []
    [queued] = outbox("signed_copy_program")
    assert queued.attachment is None and queued.copy_of_signed_version_id == version.id
    assert "The program's copy is attached as a PDF" in queued.body
    [sent] = delivered("signed_copy_program")
    assert renders == [1] and sent.sent_at is not None and sent.copy_of_signed_version_id is None
    assert sent.attachment.startswith(b"%PDF-") and sent.attachment_name.endswith("program-copy.pdf")
    assert db.session.scalar(db.select(IssuedFile.kind).where(IssuedFile.signed_version_id == version.id)) \
        == "program_copy"


def test_activation_mails_the_programs_copy_to_the_program_and_each_member_a_link_to_their_own(world):
    """When the second signature makes the agreement active, does the program's return address get the
    program's copy attached, and each member a link to download the pair's copy after signing in (no PDF
    attached), so that no mail row holds pair-only text, in its body or in an attachment?"""
    signed(world)
    [program_mail] = delivered("signed_copy_program")
    assert program_mail.to_address == RETURN_ADDRESS
    assert program_mail.attachment_name.endswith("program-copy.pdf")
    program_copy = pdf_text(program_mail.attachment)
    assert "Onwards together" in program_copy and "CANARY" not in program_copy
    member_mails = outbox("signed_copy_pair")
    assert sorted(mail.to_address for mail in member_mails) == sorted(
        [world.people["mentor"].email, world.people["mentee"].email])
    for mail in member_mails:
        assert mail.attachment is None and mail.attachment_name is None
        assert f"{world.url}/versions/1/pair-copy.pdf" in mail.body and "sign in" in mail.body
    for mail in outbox():
        assert "CANARY" not in mail.body and "CANARY" not in mail.subject
        if mail.attachment is not None:
            assert b"CANARY" not in mail.attachment and "CANARY" not in pdf_text(mail.attachment)
    # the link in the mail gives the member the pair's copy, once signed in
    link = next(line for line in member_mails[0].body.splitlines() if "pair-copy.pdf" in line).strip()
    response = world.clients["mentor"].get(link[link.index("/agreements/"):])
    assert response.status_code == 200 and PAIR_SECRET in pdf_text(response.get_data())


def test_members_download_both_copies_and_followers_only_the_programs(world):
    """Can members download both copies, the supervisor and program admin only the program's, outsiders none?"""
    signed(world)
    for who in ("mentor", "mentee"):
        for copy in ("pair", "program"):
            response = download(world, who, copy)
            assert response.status_code == 200 and response.mimetype == "application/pdf"
            assert response.headers["Content-Disposition"].startswith("attachment; filename=\"SGN-agreement-")
            assert response.headers["Cache-Control"] == "no-store"
    for who in ("supervisor", "admin"):
        assert download(world, who, "pair").status_code == 404
        program_copy = download(world, who, "program")
        assert program_copy.status_code == 200 and "CANARY" not in pdf_text(program_copy.get_data())
    for copy in ("pair", "program"):
        assert download(world, "outsider", copy).status_code == 404
        assert download(world, "mentor", copy, revision=2).status_code == 404  # no such signed version


def test_an_unsigned_agreement_has_no_pdf(world):
    """Is there no PDF (404) for a revision that was never signed by both?"""
    fill_in(world.agreement, FULL_VALUES)
    sign_as(world.fresh(), world.people["mentor"])
    assert download(world, "mentor", "pair").status_code == 404


# --- rendering fetches nothing ---------------------------------------------------------------------------------

@pytest.fixture
def canary():
    """A tiny HTTP server on a free loopback port that counts every request it gets."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the stdlib's name)
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], hits
    server.shutdown()
    server.server_close()


def test_agreement_text_never_makes_the_renderer_fetch_anything(app, canary):
    """With tags pointing at a loopback server, /etc/passwd and a local path in the agreement's text (answers and
    the template's own prose), is the server never contacted, nothing read, and the text shown as typed?"""
    port, hits = canary
    attack = (f'<img src="http://127.0.0.1:{port}/x"> <img src="file:///etc/passwd"> '
              f'<img src="/etc/passwd"> <link rel="stylesheet" href="http://127.0.0.1:{port}/style.css">')
    definition = dict(SIGNING_TEMPLATE, title=f"Title <img src=\"http://127.0.0.1:{port}/title\"> {{{{ config }}}}")
    program = make_program(code="CAN", name="Canary Program")
    version = publish(create_template(program, parse_definition(definition), None), None)
    db.session.commit()
    pair = make_pair(program, make_user(), make_user())
    agreement = make_signed_agreement(pair, version, values={**FULL_VALUES, "story": attack,
                                                             "motto": f"<img src=http://127.0.0.1:{port}/m>"})
    version_row = signing.signed_version(agreement, 1)
    for copy in ("pair", "program"):
        text = pdf_text(agreement_pdf.render_copy(version_row, copy))
        assert f'<img src="http://127.0.0.1:{port}/x">' in text  # escaped: shown as text
        assert '<img src="file:///etc/passwd">' in text and "root:x:0:0" not in text
        assert "{{ config }}" in text and "SECRET_KEY" not in text
    assert hits == []


@pytest.mark.parametrize("markup", [
    '<img src="http://127.0.0.1:{port}/img">',
    '<link rel="stylesheet" href="http://127.0.0.1:{port}/css">',
    '<style>@import url("http://127.0.0.1:{port}/import.css");</style>',
    '<p style="background-image: url(http://127.0.0.1:{port}/bg)">x</p>',
    '<img src="file:///etc/passwd">',
    '<img src="/etc/passwd">',
    '<img src="pyproject.toml">',
    '<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw'
    'AAAABJRU5ErkJggg==">',
])
def test_the_renderer_refuses_every_fetch_even_from_raw_markup(canary, markup):
    """If markup ever reached the renderer unescaped, would every fetch (http, file, local and relative paths,
    data:) still be refused, recorded, and the canary never contacted?"""
    port, hits = canary
    result = render_pdf_report(f"<html><body><p>Before</p>{markup.format(port=port)}<p>After</p></body></html>")
    assert result.pdf.startswith(b"%PDF-")
    assert result.blocked, "the refused fetch was not recorded"
    assert hits == []


def test_the_renderer_bounds_its_input():
    """Are a document over the size limit and one nested too deeply refused with a clear error?"""
    with pytest.raises(PdfRenderError, match="too large"):
        render_pdf("<p>" + "x" * (MAX_HTML_BYTES + 1) + "</p>")
    with pytest.raises(PdfRenderError, match="nests more than"):
        render_pdf("<div>" * 500 + "deep" + "</div>" * 500)
    assert render_pdf("<p>Fine</p>").startswith(b"%PDF-")


def test_a_copy_that_cannot_be_rendered_does_not_undo_the_signatures(world, monkeypatch):
    """If a signed version is beyond what the renderer takes, does the agreement still become active, the mails
    say the PDF is missing instead of failing, and the download explain itself?"""
    import portal.pdf
    monkeypatch.setattr(portal.pdf, "MAX_HTML_BYTES", 1000)
    agreement, version = signed(world)
    assert agreement.state == "active" and version is not None
    [program_mail] = delivered("signed_copy_program")
    assert program_mail.attachment is None and "could not be made automatically" in program_mail.body
    assert all(mail.attachment is None for mail in outbox("signed_copy_pair"))
    response = download(world, "mentor", "pair")
    assert response.status_code == 422 and "too large to be made into a PDF" in response.get_data(as_text=True)
