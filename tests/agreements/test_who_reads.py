"""The pair is told who reads each answer: the two of them alone (a pair-only field), or also the program and
supervisors. In the editor next to every field, and in each section of the pair's PDF copy."""
from __future__ import annotations

import re

import pytest

from portal.domain.template_store import definition_of
from portal.extensions import db
from tests.factories import make_agreement, make_pair, make_program, make_version, sign_in
from tests.properties.test_field_values import Page, collapse

PAIR_ONLY = "only the two of you see this"
SHARED = "the program and supervisors see this too"


def editor(app, shipped: str):
    program = make_program()
    pair = make_pair(program)
    agreement = make_agreement(pair, make_version(program, shipped))
    client = app.test_client()
    sign_in(client, db.session.get(type(pair.mentor), pair.mentor_id))
    html = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    return html, definition_of(agreement.template_version)


def readers_of(page: Page, key: str) -> str:
    """What the field's block says about who reads it, and that its input is described by it (not colour)."""
    [block] = page.find(id=f"field-{key}")
    [badge] = page.find(id=f"reads-{key}")
    assert page.inside(badge, block)
    inputs = [n for n, (tag, attrs) in enumerate(page.elements)
              if tag in ("input", "textarea", "div") and page.inside(n, block)
              and f"reads-{key}" in (attrs.get("aria-describedby") or "").split()]
    assert inputs, f"no input of {key} is described by who reads it"
    return collapse(page.text_of(badge))


@pytest.mark.parametrize("shipped", ["whprms", "ccmc"])
def test_every_field_in_the_editor_says_who_reads_it(app, shipped):
    """With WHPRMS (no pair-only field) and CCMC (off-limits topics pair-only): does every field say plainly
    whether only the two of them or also the program and supervisors read it, and the page say the same in
    one sentence, with no footer claiming the pair alone sees what the program reads?"""
    html, definition = editor(app, shipped)
    page = Page(html)
    pair_only = {f.key for f in definition.fields if f.stores_value and f.pair_only}
    assert (shipped == "ccmc") == ("off_limits_topics" in pair_only)
    for f in definition.fields:
        if f.stores_value:
            assert readers_of(page, f.key) == (PAIR_ONLY if f.key in pair_only else SHARED), f.key
    text = collapse(re.sub(r"<[^>]+>", " ", html))
    if pair_only:
        assert ("Answers marked \u201conly the two of you\u201d stay between you; "
                "the program and supervisors read the others.") in text
    else:
        assert "The program and supervisors read every answer of this agreement." in text
    assert "What a pair keeps confidential is seen by the pair alone" not in text


def test_each_section_of_the_pairs_pdf_copy_says_who_reads_it(app):
    """In the pair's copy, does every section say under its title who reads it: the two of them only for the
    pair-only section, also the program and supervisors for the others, and a mixed section mark its
    pair-only answers?"""
    from portal.domain import agreement_pdf, signing
    from portal.domain.template_format import parse_definition
    from portal.domain.template_store import create_template, publish
    from tests.factories import make_signed_agreement
    from tests.signing.conftest import FULL_VALUES, SIGNING_TEMPLATE, pdf_text

    template = {**SIGNING_TEMPLATE, "sections": [
        *SIGNING_TEMPLATE["sections"],
        {"key": "mixed_section", "title": "Partly ours", "intro": "", "fields": [
            {"key": "shared_plan", "type": "short_text", "label": "Our plan"},
            {"key": "private_plan", "type": "short_text", "label": "Our private plan", "pair_only": True}]}]}
    program = make_program()
    version = publish(create_template(program, parse_definition(template), None), None)
    db.session.commit()
    agreement = make_signed_agreement(make_pair(program), version, values={
        **FULL_VALUES, "shared_plan": "Plan A", "private_plan": "Plan B"})
    text = pdf_text(agreement_pdf.render_copy(signing.signed_version(agreement, 1), "pair"))

    everyone = "Who reads this section: the two of you, the program and supervisors."
    expected = [("Goals", everyone), ("Meetings", everyone),
                ("Between the two of us", "Who reads this section: only the two of you."),
                ("Signatures", everyone),
                ("Partly ours", "Who reads this section: the two of you, the program and supervisors, except "
                                "the answers marked (only the two of you).")]
    position = text.index("Read it together.")  # the template's intro: the sections come after it
    for title, readers in expected:
        position = text.index(f"{title} {readers}", position) + len(title)
    assert "Our private plan (only the two of you)" in text
    assert text.count("Who reads this section:") == len(expected)
