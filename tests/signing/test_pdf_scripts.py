"""Every name and answer printed: the PDF copies embed fonts for Latin with its extensions, Greek, Cyrillic,
Chinese, Japanese, Korean, Arabic and Hebrew, and a reader's tools get back exactly the text typed."""
from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from portal.domain import agreement_pdf, signing
from portal.domain.template_format import parse_definition
from portal.domain.template_store import create_template, publish
from portal.extensions import db
from tests.factories import fill_in, make_agreement, make_pair, make_program, make_signed_agreement, make_user, \
    make_version, sign_as, sign_in
from tests.pdf_tools import assert_every_font_embedded, pdftotext, require_pdf_tools
from tests.signing.conftest import FULL_VALUES, SIGNING_TEMPLATE

# Per case: the mentor's and mentee's names, then answers: a short text, a long text's two lines, a goal, and a
# pair-only text (in the pair's copy only).
SCRIPTS = {
    "latin-and-greek": ("Łukasz Żółkiewski-O'Brien", "Ἀλέξανδρος Παπαδόπουλος",
                        "Ça ira, Øresund, Nguyễn Thị Ánh, Şule, Dvořák", "Καλημέρα κόσμε", "Ευχαριστώ πολύ",
                        "Ἡ ἀρχὴ ἥμισυ παντός", "Grüße aus Kraków, Ærøskøbing"),
    "cyrillic-and-chinese": ("Пётр Чайковский", "李小龍", "Доверие и уважение", "我们每周见面一次", "讨论职业发展",
                             "Ещё раз: съешь же этих булок", "保密的谈话内容"),
    "japanese-and-korean": ("山田はなこ", "김민준", "カタカナとひらがな", "함께 성장하기", "매주 만나요", "日本語の目標",
                            "비밀 이야기"),
    "arabic-and-hebrew": ("محمد عبد الله", "שרה לוי", "نلتقي كل أسبوع", "שלום עולם", "مرحبا بكم", "לומדים יחד",
                          "سر بيننا"),
}


@pytest.fixture(autouse=True)
def _poppler():
    require_pdf_tools()


@pytest.mark.parametrize("case", SCRIPTS, ids=list(SCRIPTS))
def test_names_and_answers_in_every_script_come_back_from_both_copies_exactly(app, case):
    """Signed by people named in these scripts, with answers in them: does pdftotext give back every name and
    answer exactly as typed from the pair's copy (pair-only answer included) and the program's copy (without
    it), with every font of both embedded?"""
    mentor_name, mentee_name, motto, line_1, line_2, goal, secret = SCRIPTS[case]
    program = make_program(code="SCR", name="Scripts Program")
    version = publish(create_template(program, parse_definition(SIGNING_TEMPLATE), None), None)
    mentor, mentee = make_user(name=mentor_name), make_user(name=mentee_name)
    pair = make_pair(program, mentor, mentee)
    agreement = make_agreement(pair, version)
    fill_in(agreement, {**FULL_VALUES, "motto": motto, "story": f"{line_1}\n{line_2}", "goals": [goal],
                        "secret": secret})
    sign_as(agreement, mentor)
    sign_as(db.session.get(type(agreement), agreement.id), mentee)
    client = app.test_client()
    sign_in(client, mentor)
    copies = {}
    for copy in ("pair", "program"):
        response = client.get(f"/agreements/{agreement.id}/versions/1/{copy}-copy.pdf")
        assert response.status_code == 200
        copies[copy] = response.get_data()
    for copy, pdf in copies.items():
        assert_every_font_embedded(pdf)
        text = pdftotext(pdf)
        for typed in (mentor_name, mentee_name, motto, line_1, line_2, f"Goal 1: {goal}",
                      f"signed electronically by {mentor_name}", f"signed electronically by {mentee_name}"):
            assert typed in text, (copy, typed, text[:600])
        assert (secret in text) == (copy == "pair"), copy


def test_a_latin_only_whprms_copy_stays_small(app):
    """Is the three-page WHPRMS copy of a Latin-only agreement still under 150 KB with its fonts embedded
    (subset, not whole)?"""
    program = make_program(code="WHP", name="WHPRMS Mentor Program")
    agreement = make_signed_agreement(make_pair(program), make_version(program, "whprms"))
    pdf = agreement_pdf.render_copy(signing.signed_version(agreement, 1), "pair")
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 3
    assert len(pdf) < 150 * 1024, len(pdf)
    fonts = assert_every_font_embedded(pdf)
    assert not any("WenQuanYi" in font["name"] for font in fonts)  # a font no character needs stays out


@pytest.mark.parametrize("case", SCRIPTS, ids=list(SCRIPTS))
def test_italic_text_prints_in_every_script(case):
    """Are names in italics (the signature table's "signed electronically by ...") printed in every script,
    though the bundled oblique faces lack some letters (Arabic), with the copies' own font list?"""
    import re
    from pathlib import Path

    from portal.pdf import render_pdf
    template = Path(__file__).resolve().parents[2] / "templates" / "agreements" / "pdf.html"
    families = re.search(r"body \{ font-family: ([^;]+);", template.read_text()).group(1)
    names = SCRIPTS[case][:2]
    lines = "".join(f"<p><i>signed electronically by {name}</i></p>" for name in names)
    pdf = render_pdf(f"<html><head><style>body {{ font-family: {families}; }}</style></head><body>{lines}</body></html>")
    text = pdftotext(pdf)
    for name in names:
        assert f"signed electronically by {name}" in text, (name, text)
