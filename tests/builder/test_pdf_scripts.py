"""The template builder's PDF preview prints every script as the agreement copies do, with its fonts embedded."""
from __future__ import annotations

import pytest

from tests.builder.conftest import make_template, small_template
from tests.pdf_tools import assert_every_font_embedded, pdftotext, require_pdf_tools

TEXTS = ("Łukasz Żółkiewski-O'Brien", "Ἀλέξανδρος", "Пётр Чайковский", "李小龍", "やまだ はなこ", "김민준",
         "محمد عبد الله", "שרה לוי")


@pytest.fixture(autouse=True)
def _poppler():
    require_pdf_tools()


def test_the_pdf_preview_prints_template_text_in_every_script(builder):
    """Does the preview PDF of a template written in these scripts give back each text exactly, with every font
    embedded?"""
    data = small_template(title="Agreement " + " ".join(TEXTS[:4]), intro="Intro " + " ".join(TEXTS[4:]))
    data["sections"][0]["title"] = TEXTS[6]
    data["sections"][0]["fields"].append({"key": "rule", "type": "clause", "label": "", "text": TEXTS[7]})
    published, _ = make_template(builder.program, data, draft=False)
    response = builder.client.get(builder.version_url(published.id, "/preview.pdf"))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = response.get_data()
    assert_every_font_embedded(pdf)
    text = pdftotext(pdf)
    for typed in TEXTS:
        assert typed in text, (typed, text[:500])


def test_the_pdf_preview_is_signed_and_checks_as_a_preview_not_an_agreement(app, builder):
    """Does the preview PDF carry the portal's signature (pyHanko validates it with the portal's certificate)
    and does "Check a signed PDF" recognise it as a template preview, never as a signed agreement?"""
    import io

    from tests.signing.test_issued_files import portal_certificate, validate
    pdf = builder.client.get(builder.version_url(builder.published_id, "/preview.pdf")).get_data()
    [status] = validate(pdf, portal_certificate(app))
    assert status.intact and status.valid and status.trusted
    page = builder.client.post("/verify", data={"pdf": (io.BytesIO(pdf), "preview.pdf")},
                               content_type="multipart/form-data").get_data(as_text=True)
    assert "Yes: this file is a template preview the portal issued." in page and "Signed by both" not in page
    public = app.test_client().post("/check-a-pdf", data={"pdf": (io.BytesIO(pdf), "preview.pdf")},
                                    content_type="multipart/form-data").get_data(as_text=True)
    assert "A template preview (not an agreement)" in public and "Signed on" not in public
