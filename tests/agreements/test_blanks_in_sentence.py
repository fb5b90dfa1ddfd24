"""A blank can sit inside its sentence, as on paper: "We will meet for [6] months". The pair types into the
sentence in the editor; the read-only page, the PDF copy and the builder's preview read the same sentence."""
from __future__ import annotations

import io
import re

from portal.extensions import db
from tests.builder.conftest import make_template, small_template
from tests.factories import (
    act_as, make_agreement, make_pair, make_program, make_role, make_signed_agreement, make_user, make_version,
)


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    return " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(data)).pages)


def sentence_template() -> dict:
    data = small_template()
    data["sections"][0]["fields"] += [
        {"key": "months", "type": "number", "label": "We will meet for ____ months.", "unit": "months",
         "min": 1, "max": 24},
        {"key": "place", "type": "short_text", "label": "We will meet at ____ every week."},
        {"key": "start_on", "type": "date", "label": "Our first meeting is on ____."},
        {"key": "topic", "type": "short_text", "label": "Our first topic"},  # no blank: as before
    ]
    return data


def field_block(page: str, key: str) -> str:
    return page.split(f'id="field-{key}"', 1)[1].split('class="history-link"', 1)[0]


def label_of(block: str) -> str:
    return block.split("</h3>", 1)[0]


def test_the_editor_puts_the_input_inside_its_sentence(app):
    """Does the mentor's editor show "We will meet for", the number input, then "months." in one sentence, with
    no "____" and no second "months" after the input?"""
    program = make_program()
    published, _ = make_template(program, sentence_template(), draft=False)
    pair = make_pair(program)
    agreement = make_agreement(pair, published)
    client = app.test_client()
    act_as(client, pair.mentor)
    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    for key, before, after in (("months", "We will meet for", "months."),
                               ("place", "We will meet at", "every week."),
                               ("start_on", "Our first meeting is on", ".")):
        label = label_of(field_block(page, key))
        assert "____" not in label
        text = re.sub(r"\s+", " ", re.sub(r"<input[^>]*>", " [INPUT] ", label))
        text = re.sub(r"<[^>]+>", "", text)
        assert re.search(rf"{re.escape(before)}\s*\[INPUT\]\s*{re.escape(after)}", text), text
        assert f'id="in-{key}"' in label  # the input itself sits in the sentence, named by it
    assert "</span> <span>months</span>" not in field_block(page, "months")
    assert page.count(">months</span>") == 0  # the unit is written by the sentence, not repeated


def test_a_label_without_a_blank_renders_as_before(app):
    """Does a field whose label has no blank keep its label above its input?"""
    program = make_program()
    published, _ = make_template(program, sentence_template(), draft=False)
    pair = make_pair(program)
    agreement = make_agreement(pair, published)
    client = app.test_client()
    act_as(client, pair.mentor)
    block = field_block(client.get(f"/agreements/{agreement.id}").get_data(as_text=True), "topic")
    assert '<label for="in-topic">Our first topic</label>' in block
    assert 'id="in-topic"' not in label_of(block)


def test_a_saved_answer_stays_in_its_sentence(app):
    """After saving 6 months without JavaScript, is 6 in the input inside the sentence?"""
    program = make_program()
    published, _ = make_template(program, sentence_template(), draft=False)
    pair = make_pair(program)
    agreement = make_agreement(pair, published)
    client = app.test_client()
    act_as(client, pair.mentor)
    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    version = re.search(r'name="v-months" value="(\d+)"', page).group(1)
    client.post(f"/agreements/{agreement.id}", data={"f-months": "6", "v-months": version})
    label = label_of(field_block(client.get(f"/agreements/{agreement.id}").get_data(as_text=True), "months"))
    assert re.search(r'We will meet for\s*(<[^>]+>\s*)*<input[^>]*value="6"', label), label


def test_the_read_only_page_and_pdf_read_the_sentence_with_the_answer(app):
    """Once signed, do the supervisor's page and the program's PDF copy read "We will meet for 6 months."?"""
    program = make_program()
    supervisor = make_user()
    make_role(supervisor, program, "supervisor")
    published, _ = make_template(program, sentence_template(), draft=False)
    pair = make_pair(program, supervisors=(supervisor,))
    agreement = make_signed_agreement(pair, published, values={"months": 6, "place": "the library"})
    db.session.refresh(pair)
    client = app.test_client()
    act_as(client, supervisor)
    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    text = " ".join(re.sub(r"<[^>]+>", "", page).split())
    assert "We will meet for 6 months." in text and "We will meet at the library every week." in text
    pdf = client.get(f"/agreements/{agreement.id}/versions/1/program-copy.pdf")
    assert pdf.status_code == 200
    pdf_words = " ".join(pdf_text(pdf.data).split())
    assert "We will meet for 6 months." in pdf_words


def test_the_builder_preview_puts_the_input_inside_its_sentence(app):
    """Does the builder's preview show the number input inside "We will meet for ... months." as the pair will?"""
    program = make_program()
    admin = make_user()
    make_role(admin, program, "admin")
    published, _ = make_template(program, sentence_template(), draft=False)
    client = app.test_client()
    act_as(client, admin)
    page = client.get(f"/programs/{program.id}/templates/versions/{published.id}/preview").get_data(as_text=True)
    block = page.split('class="preview-field preview-number"', 1)[1].split("</div>", 1)[0]
    assert "____" not in block
    assert re.search(r'We will meet for\s*(<[^>]+>\s*)*<input type="number" id="preview-months"', block), block
    assert re.search(r'id="preview-months"[^>]*>\s*</span>\s*months\.', block), block  # the unit once


def test_the_shipped_forms_keep_their_sentences(app):
    """Does WHPRMS's "Meet regularly and for ____ months." now take its number inside the sentence?"""
    program = make_program()
    pair = make_pair(program)
    agreement = make_agreement(pair, make_version(program))
    client = app.test_client()
    act_as(client, pair.mentor)
    label = label_of(field_block(client.get(f"/agreements/{agreement.id}").get_data(as_text=True), "term_months"))
    assert re.search(r"1\. Meet regularly and for\s*<input[^>]*id=\"in-term_months\"", label), label
