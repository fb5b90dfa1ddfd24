"""The lifecycle pages quote what the pair's own agreement says about each step, and nothing it does not say."""
from __future__ import annotations

import dataclasses

import pytest

from portal.domain import agreement_quotes
from portal.domain.template_store import definition_of
from tests.lifecycle.conftest import build_world

WHPRMS_REVIEW, CCMC_REVIEW = agreement_quotes.SENTENCES["review"]
WHPRMS_RENEW, = agreement_quotes.SENTENCES["renew"]
WHPRMS_HELP, = agreement_quotes.SENTENCES["help"]
CCMC_END, WHPRMS_END = agreement_quotes.SENTENCES["end"]
EVERY_SENTENCE = {sentence for sentences in agreement_quotes.SENTENCES.values() for sentence in sentences}


def pages(world) -> dict[str, str]:
    client, a = world.client("mentor"), world.agreement
    urls = {"review": f"/agreements/{a.id}/review", "renew": f"/agreements/{a.id}/renew",
            "help": f"/pairs/{world.pair.id}/help", "end": f"/agreements/{a.id}/end"}
    found = {}
    for step, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, (step, response.status_code)
        found[step] = response.get_data(as_text=True)
    return found


@pytest.mark.parametrize("shipped, expected", [
    ("whprms", {"review": WHPRMS_REVIEW, "renew": WHPRMS_RENEW, "help": WHPRMS_HELP, "end": WHPRMS_END}),
    ("ccmc", {"review": CCMC_REVIEW, "renew": None, "help": None, "end": CCMC_END}),
])
def test_each_step_quotes_only_the_programs_own_form(app, shipped, expected):
    """Does a WHPRMS pair read WHPRMS's sentences on its review, renewal, help and ending pages, and a CCMC pair
    CCMC's (none where its form says nothing of the step), never the other program's?"""
    world = build_world(app, shipped=shipped, answers={} if shipped == "ccmc" else None, state="in_review")
    for step, page in pages(world).items():
        # (WHPRMS's sentence on ending includes its sentence on outside help.)
        quoted = {sentence for sentence in EVERY_SENTENCE if sentence in page and sentence not in (expected[step] or "")}
        if expected[step]:
            assert f"Your agreement says: \u201c{expected[step]}\u201d" in page, step
            assert quoted == set(), step
        else:
            assert "Your agreement says" not in page and quoted == set(), step


def test_a_reworded_clause_is_not_quoted(app):
    """When a program words its clause differently, does the page quote nothing rather than the paper form?"""
    world = build_world(app, state="in_review")
    definition = definition_of(world.version)
    assert agreement_quotes.quote(definition, "renew") == WHPRMS_RENEW
    sections = []
    for section in definition.sections:
        fields = []
        for field in section.fields:
            if field.text and "negotiate a basis for continuation" in field.text:
                field = dataclasses.replace(field, options=type(field.options)(
                    {**field.options, "text": "We may agree to go on if we both want to."}))
            fields.append(field)
        sections.append(dataclasses.replace(section, fields=tuple(fields)))
    reworded = dataclasses.replace(definition, sections=tuple(sections))
    assert agreement_quotes.quote(reworded, "renew") is None
    assert agreement_quotes.quote(reworded, "help") == WHPRMS_HELP  # the other clauses still stand
    assert agreement_quotes.quote(None, "review") is None
