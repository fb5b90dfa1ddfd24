"""Previews show template text as text: placeholders filled in, anything that looks like markup or Jinja shown
literally. The PDF is made without fetching anything."""
from __future__ import annotations

import http.server
import io
import threading

import pypdf
import pytest

from portal.pdf import MAX_HTML_BYTES, PdfRenderError, render_pdf, render_pdf_report
from tests.builder.conftest import make_template, small_template

JINJA = "{{ config.SECRET_KEY }} {% if true %}IF{% endif %} {{ 7*7 }}"
SCRIPT = '<script>alert("x")</script><b onmouseover="alert(1)">bold</b>'


def hostile_template(extra_text: str = "") -> dict:
    data = small_template(name=f"Name {JINJA}", title=f"Title {SCRIPT}", intro=f"Intro {JINJA}")
    goals = data["sections"][0]
    goals["title"] = f"Goals {SCRIPT}"
    goals["fields"][0]["label"] = f"Goal {JINJA}"
    goals["fields"][0]["help"] = f"Help {SCRIPT}"
    goals["fields"].append({"key": "rule", "type": "clause", "label": "", "text": f"Clause {SCRIPT} {extra_text}"})
    goals["fields"].append({"key": "period", "type": "choice", "label": "How often {mentee_name}?",
                            "options": [{"value": "weekly", "label": "<i>weekly</i>"}]})
    return data


@pytest.fixture
def hostile(builder):
    published, _ = make_template(builder.program, hostile_template(), draft=False)
    return published.id


def assert_literal(page: str, secret: str) -> None:
    assert "{{ config.SECRET_KEY }}" in page and "{% if true %}IF{% endif %}" in page and "{{ 7*7 }}" in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "&lt;b onmouseover=&#34;alert(1)&#34;&gt;" in page and "&lt;i&gt;weekly&lt;/i&gt;" in page
    assert "<script>alert" not in page and "<b onmouseover" not in page and "<i>weekly" not in page
    assert secret not in page and ">49<" not in page


def test_the_builder_shows_template_text_literally(builder, hostile):
    """Does the builder page show text that looks like Jinja or HTML exactly as typed, escaped, never run?"""
    page = builder.client.get(builder.version_url(hostile)).get_data(as_text=True)
    assert_literal(page, builder.client.application.config["SECRET_KEY"])


def test_the_editor_shows_template_text_literally(builder):
    """Does an open editor hold such text escaped in its inputs?"""
    builder.client.post(builder.version_url(suffix="/fields/goal"),
                        data={"field-label": f"Goal {JINJA} {SCRIPT}", "field-max_length": "100"})
    page = builder.client.get(builder.version_url() + "?edit=field:goal").get_data(as_text=True)
    assert "{{ config.SECRET_KEY }}" in page and "&lt;script&gt;" in page and "<script>alert" not in page


def test_the_preview_fills_placeholders_and_shows_text_literally(builder, hostile):
    """Does the preview put sample values in the placeholders and show everything else as typed?"""
    page = builder.client.get(builder.version_url(hostile, "/preview")).get_data(as_text=True)
    assert_literal(page, builder.client.application.config["SECRET_KEY"])
    assert "How often Sam Example (mentee)?" in page
    assert "{mentee_name}" not in page


def test_placeholders_are_substituted_once_and_never_evaluated(builder):
    """Is {program_name} replaced by the program's name, and are other braces left alone? (A {word} that is
    no placeholder is refused when typed: see test_publishing.)"""
    data = small_template(intro="Welcome to {program_name}; return it to {return_address}. {not a placeholder} stays.")
    published, _ = make_template(builder.program, data, draft=False)
    page = builder.client.get(builder.version_url(published.id, "/preview")).get_data(as_text=True)
    assert "Welcome to Nurses Mentoring; return it to office@nurses.example. {not a placeholder} stays." in page


def pdf_text(response) -> str:
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.get_data()))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def test_the_pdf_preview_shows_template_text_literally(builder, hostile):
    """Does the PDF show Jinja- or HTML-looking template text as text (not markup, not evaluated)?"""
    response = builder.client.get(builder.version_url(hostile, "/preview.pdf"))
    assert response.headers["Content-Disposition"].startswith("inline; filename=")
    text = pdf_text(response)
    assert "{{ config.SECRET_KEY }}" in text and "{% if true %}IF{% endif %}" in text
    assert '<script>alert("x")</script>' in text and "<i>weekly</i>" in text
    assert "How often Sam Example (mentee)?" in text
    assert builder.client.application.config["SECRET_KEY"] not in text


def test_the_pdf_preview_of_a_shipped_template_reads_like_the_form(builder):
    """Does the PDF of the WHPRMS template carry its sentences and signature lines?"""
    from portal.domain.template_store import install_shipped_template
    from portal.extensions import db
    version = install_shipped_template(builder.program, "whprms", None)
    db.session.commit()
    text = pdf_text(builder.client.get(builder.version_url(version.id, "/preview.pdf")))
    assert "1. Meet regularly and for" in text and "3 months" in text
    assert "Mentor" in text and "Printed name" in text and "Nurses Mentoring" in text


class Canary:
    """A loopback HTTP server that records every request it gets."""

    def __init__(self):
        self.requests: list[str] = []
        canary = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server API)
                canary.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canary():
    with Canary() as server:
        yield server


def test_the_pdf_preview_fetches_nothing(builder, canary):
    """Is a PDF preview of a template whose text names outside resources made without a single fetch?"""
    text = (f'<img src="{canary.url}/canary"> <img src="file:///etc/passwd"> '
            f'<link rel="stylesheet" href="{canary.url}/style.css">')
    published, _ = make_template(builder.program, hostile_template(extra_text=text), draft=False)
    response = builder.client.get(builder.version_url(published.id, "/preview.pdf"))
    assert f'<img src="{canary.url}/canary">' in pdf_text(response)  # shown as the text it is
    assert canary.requests == []


def test_the_pdf_renderer_refuses_every_fetch_even_from_markup(canary):
    """Given real markup that names remote and local resources, does render_pdf fetch none and record them all?"""
    html = f"""<html><head>
      <link rel="stylesheet" href="{canary.url}/linked.css">
      <style>@import url({canary.url}/imported.css);
             @font-face {{ font-family: Remote; src: url({canary.url}/font.ttf); }}
             body {{ background-image: url({canary.url}/background.png); }}</style></head>
      <body><p>Visible text</p><img src="{canary.url}/canary.png"><img src="file:///etc/passwd">
      <img src="/etc/passwd"><img src="../../../../etc/hostname"></body></html>"""
    result = render_pdf_report(html)
    assert canary.requests == []
    assert result.pdf.startswith(b"%PDF")
    for resource in ("/linked.css", "/imported.css", "/font.ttf", "/background.png", "/canary.png"):
        assert any(blocked.endswith(resource) for blocked in result.blocked), resource
    assert "file:///etc/passwd" in result.blocked and "/etc/passwd" in result.blocked
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(result.pdf)).pages)
    assert "Visible text" in text and "root:" not in text


def test_the_pdf_renderer_bounds_its_input():
    """Is HTML larger than the bound refused with a clear error instead of tying up a worker?"""
    with pytest.raises(PdfRenderError, match="too large"):
        render_pdf("<p>" + "x" * MAX_HTML_BYTES + "</p>")
    with pytest.raises(PdfRenderError, match="must be text"):
        render_pdf(b"<p>bytes</p>")


def test_the_link_callback_alone_stops_fetches(canary, monkeypatch):
    """Even if the resource policy let everything through, would the link callback alone stop every fetch?
    (xhtml2pdf keeps the original address when a callback returns an empty value: the callback must not.)"""
    from xhtml2pdf.config.resources import PERMISSIVE_POLICY

    import portal.pdf
    monkeypatch.setattr(portal.pdf, "_DENY_EVERY_FETCH", PERMISSIVE_POLICY)
    result = render_pdf_report(f'<p>x</p><img src="{canary.url}/canary.png">'
                               f'<link rel="stylesheet" href="{canary.url}/linked.css">')
    assert canary.requests == []
    assert len(result.blocked) == 2
