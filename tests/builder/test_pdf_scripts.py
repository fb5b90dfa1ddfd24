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
