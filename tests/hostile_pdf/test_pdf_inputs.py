"""Hostile input to every PDF the portal makes: the agreement's two copies (downloaded, and mailed when the
agreement becomes active) and the builder's template preview. Text that names outside resources (loopback,
IPv6 loopback, link-local metadata, local files, data: URIs) never makes the renderer fetch anything: a canary
server on a loopback port counts every connection. Called directly with raw markup, the renderer refuses every
fetch itself, and deeply nested markup or pathological CSS ends in a clean error within the render's time bound;
through HTTP a PDF that cannot be made is a clear page (422), never a 500, and never quotes pair-only text.
"""
from __future__ import annotations

import http.server
import logging
import socket
import threading
import time

import pytest

import portal.pdf
from portal.domain import agreement_pdf, signing
from portal.domain.template_format import parse_definition
from portal.domain.template_store import create_template, publish
from portal.extensions import db
from portal.pdf import MAX_RENDER_SECONDS, PdfRenderError, render_pdf, render_pdf_report
from tests.factories import make_agreement, make_pair, make_program, make_role, make_user, outbox, act_as, delivered
from tests.signing.conftest import FULL_VALUES, SIGNING_TEMPLATE, pdf_text

# A render may take MAX_RENDER_SECONDS (the app kills it then); the margin absorbs a noisy shared machine.
MARGIN_SECONDS = 20
PAIR_SECRET = "CANARY-pair-only-layout"


class Canary:
    """HTTP servers on free loopback ports (IPv4, and IPv6 where the machine has it) that count every
    connection made to them, even one that never sends a request."""

    def __init__(self):
        self.connections: list[str] = []
        canary = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server API)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()

            do_POST = do_HEAD = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            def verify_request(self, request, client_address):
                canary.connections.append(str(client_address))
                return True

        class Server6(Server):
            address_family = socket.AF_INET6

        self.servers = [Server(("127.0.0.1", 0), Handler)]
        self.port = self.servers[0].server_address[1]
        try:
            self.servers.append(Server6(("::1", self.port), Handler))
        except OSError:
            pass  # no IPv6 loopback here: the [::1] addresses are still tried, and refused before any connection

    def __enter__(self):
        for server in self.servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        for server in self.servers:
            server.shutdown()
            server.server_close()


@pytest.fixture
def canary():
    with Canary() as server:
        yield server


def attacks(port: int) -> list[str]:
    """Text that would make a careless renderer fetch: every way of naming loopback, the cloud metadata
    address, local files and data: URIs, as tags, attributes and CSS."""
    return [
        f'<img src="http://127.0.0.1:{port}/img">',
        f'<link rel="stylesheet" href="http://127.0.0.1:{port}/link.css">',
        f'<style>@import url(http://127.0.0.1:{port}/import.css);</style>',
        f'<p style="background-image: url(http://localhost:{port}/bg)">',
        f'<img src="http://[::1]:{port}/v6">',
        f'<img src="http://0x7f000001:{port}/hex"> <img src="http://2130706433:{port}/decimal">',
        '<img src="http://169.254.169.254/latest/meta-data/">',
        "url(file:///etc/passwd)", "file:///etc/passwd", '<img src="/etc/passwd">', '<img src="../../../etc/hostname">',
        f"@font-face {{ src: url(http://127.0.0.1:{port}/font.ttf) }}",
        '<img src="data:image/svg+xml,<svg xmlns=\'http://www.w3.org/2000/svg\'><image href=\'file:///etc/passwd\'/></svg>">',
    ]


def hostile_template(port: int) -> dict:
    """The signing test's template with an attack in every text a program admin writes."""
    text = " ".join(attacks(port))
    sections = []
    for section in SIGNING_TEMPLATE["sections"]:
        fields = []
        for field in section["fields"]:
            field = dict(field)
            if field["type"] in ("clause", "acknowledgement"):
                field["text"] = field["text"] + " " + text
            else:
                field["help"] = text
            if "item_label" in field:
                field["item_label"] = f'<img src="http://127.0.0.1:{port}/item">'[:100]
            if "unit" in field:
                field["unit"] = f"url(http://[::1]:{port}/unit)"[:100]
            fields.append(field)
        sections.append(dict(section, intro=text, fields=fields))
    return dict(SIGNING_TEMPLATE, title=f'Agreement <img src="http://127.0.0.1:{port}/title">'[:200],
                intro=text, sections=sections)


def hostile_values(port: int) -> dict:
    text = " ".join(attacks(port))
    return {**FULL_VALUES, "motto": f'<img src="http://127.0.0.1:{port}/motto">', "story": text[:4000],
            "goals": [a[:500] for a in attacks(port)[:3]], "secret": text[:4000],
            "topics": [f'<link href="http://169.254.169.254/latest/meta-data/{n}">' for n in range(3)]}


def sign_over_the_page(client, agreement_id: int, role: str, name: str):
    from tests.factories import PASSWORD
    from tests.signing.conftest import SEEN
    page = client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    return client.post(f"/agreements/{agreement_id}/sign", data={
        "role": role, "printed_name": name, "password": PASSWORD, "acknowledge": ["release"],
        "seen": SEEN.search(page).group(1)})


def test_no_pdf_the_portal_makes_fetches_anything_named_in_its_text(app, canary, caplog):
    """With attacks in every answer (pair-only ones too), every template text, the people's and the program's
    names: are the agreement's copies (the program's mailed on activation, both downloaded) and the template's PDF preview made
    without a single connection to the canary or a read of a local file, each attack shown as the text it is?"""
    port = canary.port
    caplog.set_level(logging.WARNING, logger="portal.pdf")
    program = make_program(code="HPD", name=f'Program <img src="http://127.0.0.1:{port}/program">')
    admin = make_user(name="Ada Admin")
    make_role(admin, program, "admin")
    mentor = make_user(name=f'<img src="http://127.0.0.1:{port}/mentor">')
    mentee = make_user(name=f"url(http://169.254.169.254/latest/{port})")
    version = publish(create_template(program, parse_definition(hostile_template(port)), None), None)
    db.session.commit()
    agreement = make_agreement(make_pair(program, mentor, mentee), version)
    from tests.factories import fill_in
    fill_in(agreement, hostile_values(port))
    clients = {}
    for role, person in (("mentor", mentor), ("mentee", mentee), ("admin", admin)):
        clients[role] = app.test_client()
        act_as(clients[role], person)
    for role, person in (("mentor", mentor), ("mentee", mentee)):  # the second signature mails both copies
        assert sign_over_the_page(clients[role], agreement.id, role, person.name).status_code == 303
    assert db.session.get(type(agreement), agreement.id).state == "active"

    pdfs = {"mailed " + mail.kind: mail.attachment for mail in delivered() if mail.attachment is not None}
    assert list(pdfs) == ["mailed signed_copy_program"]  # members get a link to their copy
    for copy in ("pair", "program"):
        response = clients["mentor"].get(f"/agreements/{agreement.id}/versions/1/{copy}-copy.pdf")
        assert response.status_code == 200
        pdfs[f"downloaded {copy} copy"] = response.get_data()
    preview = clients["admin"].get(f"/programs/{program.id}/templates/versions/{version.id}/preview.pdf")
    assert preview.status_code == 200
    pdfs["template preview"] = preview.get_data()

    for name, pdf in pdfs.items():
        text = pdf_text(pdf)
        assert f'<img src="http://127.0.0.1:{port}/img">' in text, name  # shown as typed
        assert "url(file:///etc/passwd)" in text and "root:x:0:0" not in text, name
    assert f'<img src="http://127.0.0.1:{port}/motto">' in pdf_text(pdfs["downloaded pair copy"])
    assert f'<img src="http://127.0.0.1:{port}/mentor">' in pdf_text(pdfs["downloaded program copy"])
    assert canary.connections == []
    assert "refused" not in caplog.text  # not even a fetch was attempted: no text ever became markup


@pytest.mark.parametrize("markup", [
    '<img src="http://127.0.0.1:{port}/img">',
    '<img src="http://localhost:{port}/name">',
    '<img src="http://[::1]:{port}/v6">',
    '<img src="http://[::ffff:127.0.0.1]:{port}/mapped">',
    '<img src="http://0x7f000001:{port}/hex">',
    '<img src="http://2130706433:{port}/decimal">',
    '<img src="http://169.254.169.254/latest/meta-data/">',
    '<img src="http://[fe80::1]/link-local">',
    '<link rel="stylesheet" href="http://127.0.0.1:{port}/link.css">',
    '<style>@import url(http://127.0.0.1:{port}/import.css);</style>',
    '<style>@import "file:///etc/passwd";</style>',
    '<style>@font-face {{ font-family: X; src: url(http://127.0.0.1:{port}/font.ttf); }} p {{ font-family: X }}</style>'
    '<p>x</p>',
    '<style>body {{ background-image: url(file:///etc/passwd); }}</style>',
    '<p style="background-image: url(http://127.0.0.1:{port}/inline-bg)">x</p>',
    '<img src="file:///etc/passwd">',
    '<img src="file://localhost/etc/passwd">',
    '<img src="/etc/passwd">',
    '<img src="../../../../etc/hostname">',
    '<img src="requirements.txt">',
    '<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAA'
    'AABJRU5ErkJggg==">',
    '<img src="data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22%3E%3Cimage '
    'href=%22http://127.0.0.1:{port}/svg%22/%3E%3C/svg%3E">',
    '<pdf:font name="X" src="http://127.0.0.1:{port}/pdffont.ttf" />',
    '<a href="http://127.0.0.1:{port}/link">a link is written, never followed</a>',
])
def test_the_renderer_itself_refuses_every_fetch(canary, markup):
    """Given raw markup (as if text had escaped into it), does the renderer make a PDF without one connection to
    the canary and without reading a local file?"""
    result = render_pdf_report(f"<html><body><p>Before</p>{markup.format(port=canary.port)}<p>After</p></body></html>")
    assert result.pdf.startswith(b"%PDF-")
    text = pdf_text(result.pdf)
    assert "Before" in text and "After" in text and "root:x:0:0" not in text
    assert canary.connections == []


PATHOLOGICAL = {
    "5,000 nested divs": "<div>" * 5_000 + "deep" + "</div>" * 5_000,
    "5,000 nested tables": "<table><tr><td>" * 5_000 + "deep" + "</td></tr></table>" * 5_000,
    "90 nested tables": "<table><tr><td>" * 30 + "deep" + "</td></tr></table>" * 30,
    "5,000 nested inline tags": "<b><i>" * 2_500 + "deep",
    "a million-character selector": "<style>" + "p" * 1_000_000 + " { color: red }</style><p>x</p>",
    "a selector of 15,000 combinators": "<style>" + "div " * 15_000 + "{ color: red }</style><p>x</p>",
    "100,000 rules": "<style>" + "p.c { color: red } " * 100_000 + "</style><p>x</p>",
    "a huge font size": "<style>p { font-size: 100000000pt }</style><p>x</p>",
    "a font size of 1e308": '<p style="font-size: 1e308pt">x</p>',
    "enormous widths and heights": "<style>div { width: 100000000px; height: 100000000px }</style><div>x</div>",
    "negative sizes": "<style>p { font-size: -50pt; width: -1000px; margin: -1000000px; padding: -100px }</style>"
                      "<p>x</p>",
    "a page of a million inches": "<style>@page { size: 1000000in 1000000in; margin: -5in }</style><p>x</p>",
    "huge letter spacing and line height": '<p style="letter-spacing: 100000pt; line-height: 100000pt">xxxx</p>',
    "an unclosed comment": "<!--" * 50_000,
    "a wall of angle brackets": "<" * 20_000,
    "one word of 500,000 letters": "<p>" + "x" * 500_000 + "</p>",
}


@pytest.mark.parametrize("html", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_documents_end_cleanly_within_the_time_bound(html):
    """Does deeply nested markup or pathological CSS end in a PDF or a clear PdfRenderError (never another
    exception), within the render's time bound?"""
    started = time.monotonic()
    try:
        assert render_pdf(html).startswith(b"%PDF-")
    except PdfRenderError as error:
        assert str(error).startswith("The document")
    assert time.monotonic() - started < MAX_RENDER_SECONDS + MARGIN_SECONDS


def test_a_render_that_runs_too_long_is_stopped_at_the_bound(monkeypatch):
    """Is a render that would take far longer than the bound (html5lib spends tens of seconds on 2 MB of "<",
    where xhtml2pdf's own deadline is never checked) stopped at the bound with a clear error?"""
    monkeypatch.setattr(portal.pdf, "MAX_RENDER_SECONDS", 1)
    started = time.monotonic()
    with pytest.raises(PdfRenderError, match="took longer than the 1 seconds"):
        render_pdf("<" * 2_000_000)
    assert time.monotonic() - started < 1 + MARGIN_SECONDS


class LayoutFailure(Exception):
    """Stands for reportlab's LayoutError, whose message quotes the text that did not fit on a page."""


def failing_layout(*args, **kwargs):
    raise LayoutFailure(f"Flowable <Paragraph>{PAIR_SECRET}(538 x 100000) too large on page 2")


def test_a_renderer_failure_is_reported_without_the_text_that_caused_it(monkeypatch, caplog):
    """When the layout fails with a message quoting the document's text, does the error (and the log) say what
    went wrong without quoting any of it?"""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(portal.pdf.pisa, "CreatePDF", failing_layout)
    with pytest.raises(PdfRenderError) as raised:
        portal.pdf._render(f"<p>{PAIR_SECRET}</p>")  # in this process, so that its log is captured here
    assert "cannot be laid out" in str(raised.value) and PAIR_SECRET not in str(raised.value)
    assert "LayoutFailure" in caplog.text and PAIR_SECRET not in caplog.text
    with pytest.raises(PdfRenderError, match="cannot be laid out") as raised:  # and through the forked render
        render_pdf(f"<p>{PAIR_SECRET}</p>")
    assert PAIR_SECRET not in str(raised.value)


def test_a_pdf_that_cannot_be_made_is_a_clear_page_not_a_500(app, canary, monkeypatch):
    """Through HTTP, when a PDF cannot be made (the layout fails on pair-only text, or the document goes past a
    bound), do the members, the program admin and the builder get a clear page (422) that quotes nothing of the
    agreement, and does signing still activate the agreement?"""
    program = make_program(code="LAY", name="Layout Program")
    admin, mentor, mentee = make_user(name="Ada Admin"), make_user(name="Maya Mentor"), make_user(name="Eli Mentee")
    make_role(admin, program, "admin")
    version = publish(create_template(program, parse_definition(SIGNING_TEMPLATE), None), None)
    db.session.commit()
    agreement = make_agreement(make_pair(program, mentor, mentee), version)
    from tests.factories import fill_in
    fill_in(agreement, {**FULL_VALUES, "secret": PAIR_SECRET})
    clients = {}
    for role, person in (("mentor", mentor), ("mentee", mentee), ("admin", admin)):
        clients[role] = app.test_client()
        act_as(clients[role], person)
    monkeypatch.setattr(portal.pdf.pisa, "CreatePDF", failing_layout)
    for role, person in (("mentor", mentor), ("mentee", mentee)):
        assert sign_over_the_page(clients[role], agreement.id, role, person.name).status_code == 303
    assert db.session.get(type(agreement), agreement.id).state == "active"
    assert all(mail.attachment is None for mail in outbox() if mail.kind.startswith("signed_copy"))
    pages = [clients["mentor"].get(f"/agreements/{agreement.id}/versions/1/pair-copy.pdf"),
             clients["admin"].get(f"/agreements/{agreement.id}/versions/1/program-copy.pdf"),
             clients["admin"].get(f"/programs/{program.id}/templates/versions/{version.id}/preview.pdf")]
    monkeypatch.undo()
    monkeypatch.setattr(portal.pdf, "MAX_STYLE_BYTES", 10)  # a bound passed before rendering starts
    pages.append(clients["admin"].get(f"/programs/{program.id}/templates/versions/{version.id}/preview.pdf"))
    for response in pages:
        body = response.get_data(as_text=True)
        assert response.status_code == 422 and response.mimetype == "text/html"
        assert "PDF" in body and PAIR_SECRET not in body and "Traceback" not in body
    assert canary.connections == []


def test_signed_copies_render_with_every_answer_at_its_longest(app):
    """Do answers at their longest, without a single space (a 4,000-letter word, a 200-letter motto, names at their longest),
    still make both copies, wrapped onto the page instead of failing the layout?"""
    program = make_program(code="LNG", name="L" * 160)
    pair = make_pair(program, make_user(name="M" * 120), make_user(name="E" * 120))
    version = publish(create_template(program, parse_definition(SIGNING_TEMPLATE), None), None)
    db.session.commit()
    from tests.factories import make_signed_agreement
    agreement = make_signed_agreement(pair, version, values={
        **FULL_VALUES, "motto": "m" * 200, "story": "s" * 4_000, "goals": ["g" * 500] * 3, "secret": "p" * 4_000,
        "topics": ["t" * 500] * 10})
    for copy in ("pair", "program"):
        pdf = agreement_pdf.render_copy(signing.signed_version(agreement, 1), copy)
        assert "m" * 50 in pdf_text(pdf).replace(" ", "")
