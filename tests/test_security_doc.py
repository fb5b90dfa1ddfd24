"""docs/security.md states figures that the suite proves. Each is computed here from the suite's own tables, so
a change to the suite that changes a figure fails this test until the document says the new number."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile import payloads
from tests.hostile.test_forms import STATE_FIELDS
from tests.hostile.test_ids import REACHING_THE_VIEW, REFUSED_BY_CONVERTER, END_TO_END_ROUTES, actor_for, foreign_ids
from tests.hostile.test_markup import HOSTILE, TEXT_FIELDS
from tests.hostile.test_uploads import BAD_CSV, BAD_PDF, BAD_TEMPLATE
from tests.hostile_pdf import test_pdf_inputs
from tests.properties.test_field_values import PROPERTIES
from tests.notes.test_confidentiality import OUTSIDERS, every_url, fixed_values, plant_canaries
from tests.test_authorization import ACTORS, ROUTES, world  # noqa: F401  (world is the walk's fixture)

DOC = Path(__file__).resolve().parent.parent / "docs" / "security.md"


def n(value: int) -> str:
    return f"{value:,}"


def id_arguments(app) -> list[tuple[tuple[str, str], str]]:
    """(route, argument) for every id argument of every route in the authorization table."""
    from portal import IdConverter
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (rule.endpoint, method) in ROUTES:
                found += [((rule.endpoint, method), name) for name, converter in rule._converters.items()
                          if isinstance(converter, IdConverter)]
    return found


def bad_ids_end_to_end(app) -> int:
    """The requests of tests/hostile/test_ids.py that take each refused bad id through the whole app."""
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    return sum(len(rules[endpoint].arguments) * len(REFUSED_BY_CONVERTER) * 2
               for endpoint, _method in END_TO_END_ROUTES)


def figures(app) -> dict[str, str]:
    arguments = id_arguments(app)
    foreign = sum(len(foreign_ids(route[0], name)) for route, name in arguments if actor_for(route) != "site_admin")
    distinct = {
        "bad ids": len(payloads.BAD_IDS), "bad query values": len(payloads.BAD_QUERY_VALUES),
        "markup, template and link payloads": len(HOSTILE), "state fields": len(STATE_FIELDS),
        "bad CSV files": len(BAD_CSV), "bad template files": len(BAD_TEMPLATE), "bad PDFs": len(BAD_PDF),
    }
    return {
        "routes": n(len(ROUTES)), "actors": n(len(ACTORS)), "route checks": n(len(ROUTES) * len(ACTORS)),
        "id arguments": n(len(arguments)),
        "bad-id requests": n(len(arguments) * len(REACHING_THE_VIEW) * 2 + bad_ids_end_to_end(app)),
        "bad-id route matches": n(len(arguments) * len(REFUSED_BY_CONVERTER)),
        "foreign-id requests": n(foreign),
        "hostile inputs": n(sum(distinct.values())),
        "form text fields covered": n(len(TEXT_FIELDS)),
        **{name: n(value) for name, value in distinct.items()},
    }


def pdf_and_property_figures() -> dict[str, str]:
    raw_markup = next(mark for mark in test_pdf_inputs.test_the_renderer_itself_refuses_every_fetch.pytestmark
                      if mark.name == "parametrize").args[1]
    examples = sum(test._hypothesis_internal_use_settings.max_examples for test in PROPERTIES.values())
    return {
        "attacks in every PDF text": n(len(test_pdf_inputs.attacks(1))),
        "raw-markup fetches refused by the renderer": n(len(raw_markup)),
        "pathological PDF documents": n(len(test_pdf_inputs.PATHOLOGICAL)),
        "field types with a property test": n(len(PROPERTIES)),
        "generated field values": n(examples),
    }


def stated(text: str, name: str, value: str) -> bool:
    return f"| {name} | {value} |" in text


def test_the_security_document_states_the_suites_figures(app):
    """Does docs/security.md state exactly the figures the suite proves: routes x actors of the authorization
    walk, id arguments and bad-id requests, foreign-id requests, the hostile inputs by kind, and leaks: 0?"""
    text = DOC.read_text()
    wrong = [f"| {name} | {value} |" for name, value in figures(app).items() if not stated(text, name, value)]
    assert wrong == [], "update the figures table of docs/security.md to:\n" + "\n".join(wrong)
    assert "| leaks found | 0 |" in text


def test_the_security_document_states_the_pdf_and_property_figures():
    """Does docs/security.md state how many attacks go into the PDFs' texts, how many raw-markup fetches and
    pathological documents the renderer is given, and how many values the property tests generate per run,
    with no canary connection?"""
    text = DOC.read_text()
    wrong = [f"| {name} | {value} |" for name, value in pdf_and_property_figures().items()
             if not stated(text, name, value)]
    assert wrong == [], "update the figures table of docs/security.md to:\n" + "\n".join(wrong)
    assert "| canary connections from PDFs | 0 |" in text


def test_the_security_document_states_the_canary_walks_size(app, world):
    """Does docs/security.md state how many addresses the canary walk reads as each outsider, and how many
    outsiders it tries?"""
    values = {**fixed_values(world), **plant_canaries(app, world)}
    gets = every_url(app, values, ("GET",))
    posts = [url for _, url in every_url(app, values, ("POST",)) if not url.startswith("/auth/")]
    requests_per_outsider = 2 * len(gets) + 2 + len(posts)  # each GET also as htmx; a 404 and the search page
    text = DOC.read_text()
    expected = (("canary GET addresses", n(len(gets))), ("canary POST addresses", n(len(posts))),
                ("canary outsiders", n(len(OUTSIDERS))),
                ("canary requests", n(requests_per_outsider * len(OUTSIDERS))))
    wrong = [f"| {name} | {value} |" for name, value in expected if not stated(text, name, value)]
    assert wrong == [], "update the figures table of docs/security.md to:\n" + "\n".join(wrong)


def flow_figures() -> dict[str, str]:
    from tests.flows import test_flow_canary as flows
    tests = [name for name in dir(flows) if name.startswith("test_")]
    return {"flows driven": n(len(tests)), "pair-only channels with a flow canary": n(len(flows.TEXT_TAGS)),
            "share recipients with an address canary": n(len(flows.ADDRESS_TAGS)),
            "flow canary outsiders": n(len(flows.OUTSIDERS))}


def test_the_security_document_states_the_flow_canary_figures():
    """Does docs/security.md state how many flows the flow canary suite drives, how many pair-only channels and
    share recipients carry a canary, and how many outsiders crawl after each flow?"""
    text = DOC.read_text()
    wrong = [f"| {name} | {value} |" for name, value in flow_figures().items() if not stated(text, name, value)]
    assert wrong == [], "update the figures table of docs/security.md to:\n" + "\n".join(wrong)
    assert "## Map of pair-only data" in text


def test_the_readme_links_the_security_document():
    """Does the README's security section link docs/security.md?"""
    readme = (DOC.parent.parent / "README.md").read_text()
    section = readme.split("## Security model in short", 1)[1].split("\n## ", 1)[0]
    assert "(docs/security.md)" in section


@pytest.mark.parametrize("heading", ["Threat model", "Who can see and do what", "Keys and secrets", "Sessions",
                                     "Rate limits", "Audit log", "Headers and CSP", "Uploads", "Dependencies",
                                     "What the tests prove"])
def test_the_security_document_has_its_sections(heading):
    """Does docs/security.md cover each part of the security model?"""
    assert f"## {heading}" in DOC.read_text()
