"""Ids in URLs that are not the person's to use: negative, huge, of the wrong type, or of another pair or
program. Driven by the app's url_map through the authorization walk's table, so a new route is covered as
soon as it is added there (and test_authorization fails until it is). The answer is always a 404 (the sign-in
redirect for an anonymous visitor), never a 500."""
from __future__ import annotations

import pytest

from portal.domain.template_store import install_shipped_template
from portal.extensions import db
from portal.models import Agreement, ProgramRole
from tests.factories import (
    make_agreement, make_help_request, make_meeting, make_note, make_pair, make_share, make_signed_agreement,
    make_user, act_as,
)
from tests.flows.canary import is_file
from tests.hostile.payloads import BAD_IDS, BAD_QUERY_VALUES
from tests.test_authorization import ALLOW, ROUTES, World, world  # noqa: F401  (world is the walk's fixture)

SENTINEL = 987654321
# Who tries each route: the first of these the authorization table allows on it.
PREFERRED = ("mentor", "mentee", "program_admin", "recipient", "supervisor", "site_admin")
# What a foreign id of each URL argument is, in the world built below.
FOREIGN = {"program_id": ("other_program",), "pair_id": ("other_pair", "far_pair"),
           "agreement_id": ("other_agreement", "far_agreement"), "note_id": ("other_note", "far_note"),
           "share_id": ("far_share",), "meeting_id": ("far_meeting",), "request_id": ("far_help_request",),
           "template_id": ("far_template",), "version_id": ("far_version",), "role_id": ("far_role",)}
# A program admin's routes for one pair of their program: every pair of the program is theirs, so the foreign
# pair is the other program's.
PROGRAM_PAIR_ROUTES = {"programs.pair_invitations", "programs.resend_invitation"}
# Removing something already gone is not an error (the partner may have removed it a moment before): these
# answer a missing id by sending the person back to their own page with "already removed", changing nothing.
ALREADY_GONE = {"notes.delete_note", "lifecycle.delete_meeting", "programs.revoke_role", "admin.revoke_role"}


def foreign_ids(endpoint: str, name: str) -> tuple[str, ...]:
    """The world's ids that are foreign to whoever may use this route. A program admin manages every pair of
    their own program (programs.* routes), so there only a pair of another program is foreign."""
    if name == "pair_id" and endpoint.startswith("programs."):
        return ("far_pair",)
    return FOREIGN.get(name, ())


def actor_for(route) -> str:
    expectations = ROUTES[route][1]
    return next(actor for actor in PREFERRED if expectations[actor] == ALLOW)


def add_far_world(world: World) -> None:
    """Everything again in the other program: a template, a pair with an agreement, a meeting, a request for
    help, a note shared with someone, a supervisor."""
    from portal.models import Program
    far = db.session.get(Program, world.ids["other_program"])
    version = install_shipped_template(far, "ccmc", None)
    db.session.commit()
    pair = make_pair(far)
    agreement = make_agreement(pair, version)
    note = make_note(pair, pair.mentor, "Far away.")
    share = make_share(note, make_user())
    role = ProgramRole(user_id=make_user().id, program_id=far.id, role="supervisor")
    db.session.add(role)
    db.session.commit()
    other_agreement = db.session.scalar(db.select(Agreement.id).where(Agreement.pair_id == world.ids["other_pair"]))
    world.ids.update(far_pair=pair.id, far_agreement=agreement.id, far_note=note.id, far_share=share.id,
                     far_meeting=make_meeting(agreement, pair.mentor).id,
                     far_help_request=make_help_request(pair, pair.mentee).id, far_template=version.template_id,
                     far_version=version.id, far_role=role.id, other_agreement=other_agreement)


def concrete_routes(app, world: World):
    """(endpoint, method, url, arguments, actor) for every route of the authorization table."""
    adapter = app.url_map.bind("localhost")
    for route in sorted(ROUTES):
        endpoint, method = route
        url = ROUTES[route][0].format(**world.ids).partition("?")[0]
        matched, arguments = adapter.match(url, method=method)
        assert matched == endpoint, (url, matched)
        yield endpoint, method, url, arguments, actor_for(route)


def with_argument(app, endpoint: str, method: str, arguments: dict, name: str, value: str) -> str:
    url = app.url_map.bind("localhost").build(endpoint, {**arguments, name: SENTINEL}, method=method)
    assert str(SENTINEL) in url
    return url.replace(str(SENTINEL), value)


@pytest.fixture
def hostile_world(app, world):
    add_far_world(world)
    agreement = db.session.get(Agreement, world.ids["agreement"])
    world.ids["signed_agreement"] = make_signed_agreement(agreement.pair, agreement.template_version).id
    return world


def counts() -> dict:
    """How many rows each table holds, and every note share's state: what a wrongly accepted id would change."""
    from portal.models import NoteShare
    numbers = {table.name: db.session.scalar(db.select(db.func.count()).select_from(table))
               for table in db.metadata.sorted_tables if table.name not in ("audit_event", "editor_presence", "rate_event")}
    numbers["shares"] = sorted(db.session.execute(db.select(NoteShare.id, NoteShare.state)).all())
    return numbers


def clients_for(app, world: World) -> dict:
    clients = {"anonymous": app.test_client()}
    for actor in PREFERRED:
        clients[actor] = app.test_client()
        act_as(clients[actor], world.people[actor])
    return clients


def test_route_ids_match_exactly_the_numbers_an_id_column_holds():
    """Do routes take every id from 0 to 2**31 - 1 (PostgreSQL's integer) and nothing beyond or in another
    script, so that no id reaches the database that would overflow it?"""
    import re

    from portal import MAX_ID, digits_up_to
    pattern = re.compile(digits_up_to(MAX_ID) + r"\Z")
    for number in (0, 1, 9, 10, 99, 2**31 - 2, MAX_ID, 1_999_999_999, 2_099_999_999, 2_147_483_639):
        assert pattern.match(str(number)), number
    for text in (str(MAX_ID + 1), "2147483650", "2200000000", "9999999999", str(2**63), "\u00b2", "\u0661", "-1"):
        assert not pattern.match(text), text


def converter_refuses(bad: str) -> bool:
    """Does the id converter refuse `bad` (as it appears in a URL), so that no route matches it?"""
    import re
    from urllib.parse import unquote

    from portal import IdConverter
    return re.fullmatch(IdConverter.regex, unquote(bad)) is None


# The bad ids no route can match (the converter's pattern refuses them) and those it takes ("0", the largest
# id), which reach the view and must be refused there.
REFUSED_BY_CONVERTER = tuple(bad for bad in BAD_IDS if converter_refuses(bad))
REACHING_THE_VIEW = tuple(bad for bad in BAD_IDS if not converter_refuses(bad))


# The URL arguments that are not ids: keys of a template's sections and fields, one-time tokens, file names.
NOT_IDS = {"section_key", "field_key", "key", "token", "filename"}


def test_every_id_argument_goes_through_the_id_converter(app):
    """Does every route take each of its arguments that is not one of the few named text arguments through the
    one id converter, so that what the converter refuses no route can match?"""
    from portal import IdConverter
    others = {(rule.rule, name) for rule in app.url_map.iter_rules() for name, converter in rule._converters.items()
              if not isinstance(converter, IdConverter)}
    assert {name for _rule, name in others} <= NOT_IDS, sorted(others)


def test_bad_ids_no_route_can_match_are_refused_for_every_id_argument(app, hostile_world):
    """For every id argument of every route, does each bad id the converter refuses (negative, huge, text,
    fractions, hex, other scripts' digits, NUL, spaces) match no route at all, so that the app answers 404
    before any view runs? The next test proves that answer end to end."""
    from werkzeug.exceptions import MethodNotAllowed, NotFound
    adapter = app.url_map.bind("localhost")
    unmatched, checked = [], 0
    for endpoint, method, _url, arguments, _actor in concrete_routes(app, hostile_world):
        for name, value in arguments.items():
            if not isinstance(value, int):
                continue
            for bad in REFUSED_BY_CONVERTER:
                bad_url = with_argument(app, endpoint, method, arguments, name, bad)
                checked += 1
                try:
                    matched = adapter.match(bad_url, method=method)
                except (NotFound, MethodNotAllowed):
                    continue
                unmatched.append(f"{method} {bad_url} matched {matched}")
    assert unmatched == []
    assert checked == len(id_arguments_of(app, hostile_world)) * len(REFUSED_BY_CONVERTER)


def id_arguments_of(app, world) -> list[tuple[str, str, str]]:
    return [(endpoint, method, name) for endpoint, method, _url, arguments, _actor in concrete_routes(app, world)
            for name, value in arguments.items() if isinstance(value, int)]


END_TO_END_ROUTES = (("agreements.show", "GET"), ("notes.create_note", "POST"))


def test_bad_ids_answer_404_through_the_whole_app(app, hostile_world):
    """Does each bad id the converter refuses get a 404 (the sign-in page for an anonymous visitor), never a
    500, from the whole app, on a page and on a form, as the person allowed there and anonymously?"""
    clients = clients_for(app, hostile_world)
    before = counts()
    problems = []
    for route in END_TO_END_ROUTES:
        endpoint, method = route
        url = ROUTES[route][0].format(**hostile_world.ids).partition("?")[0]
        _matched, arguments = app.url_map.bind("localhost").match(url, method=method)
        for name in arguments:
            for bad in REFUSED_BY_CONVERTER:
                bad_url = with_argument(app, endpoint, method, arguments, name, bad)
                problems += _bad_id_problems(clients, route, bad_url)
    assert problems == [], "\n".join(problems)
    assert counts() == before, "a bad id changed something"


def _bad_id_problems(clients, route, bad_url: str) -> list[str]:
    endpoint, method = route
    problems = []
    for who in (actor_for(route), "anonymous"):
        response = clients[who].open(bad_url, method=method, data={} if method == "POST" else None)
        status, location = response.status_code, response.headers.get("Location", "")
        fine = status == 404 or (who == "anonymous" and status == 303 and location.startswith("/auth/sign-in"))
        fine = fine or (who != "anonymous" and endpoint in ALREADY_GONE and status == 303
                        and not location.startswith("/auth/"))
        if not fine:
            problems.append(f"{method} {bad_url} as {who}: {status}")
    return problems


def test_ids_that_reach_the_view_answer_404_in_every_route(app, hostile_world):
    """Does every route that takes an id answer 404 to the bad ids the converter lets through (0 and the largest
    id, which name nothing), as the person who may use the route and anonymously, and never a 500?"""
    clients = clients_for(app, hostile_world)
    before = counts()
    problems, tried = [], 0
    for endpoint, method, _url, arguments, _actor in concrete_routes(app, hostile_world):
        for name, value in arguments.items():
            if not isinstance(value, int):
                continue
            for bad in REACHING_THE_VIEW:
                bad_url = with_argument(app, endpoint, method, arguments, name, bad)
                problems += _bad_id_problems(clients, (endpoint, method), bad_url)
                tried += 2
    assert problems == [], "\n".join(problems)
    assert tried > 100
    assert counts() == before, "a bad id changed something"


def test_ids_of_another_pair_or_program_answer_404(app, hostile_world):
    """Does every route answer 404 when one of its ids belongs to another pair or another program, even when
    the other ids in the address are the person's own (a template of program B under program A's address)?"""
    clients = clients_for(app, hostile_world)
    before = counts()
    problems, tried = [], 0
    for endpoint, method, _url, arguments, actor in concrete_routes(app, hostile_world):
        if actor == "site_admin":
            continue  # a site admin's scope is every program and account
        for name, _value in arguments.items():
            for foreign in foreign_ids(endpoint, name):
                bad_url = with_argument(app, endpoint, method, arguments, name, str(hostile_world.ids[foreign]))
                response = clients[actor].open(bad_url, method=method, data={} if method == "POST" else None)
                tried += 1
                gone = endpoint in ALREADY_GONE and response.status_code == 303
                if response.status_code != 404 and not gone:
                    problems.append(f"{method} {bad_url} ({name}={foreign}) as {actor}: {response.status_code}")
    assert problems == [], "\n".join(problems)
    assert tried > 100
    assert counts() == before, "a foreign id changed something"


@pytest.mark.parametrize("bad", BAD_QUERY_VALUES)
def test_bad_query_values_never_fail(app, hostile_world, bad):
    """Do page numbers, cursors, filters and sort keys in the query string that are negative, huge, not
    numbers, non-ASCII digits or invalid UTF-8 get a normal answer on every GET route (never a 500)?"""
    clients = clients_for(app, hostile_world)
    names = ("page", "since", "state", "q", "sort", "direction", "alert", "field", "from", "to", "edit", "add",
             "type", "next")
    problems = []
    for _endpoint, method, url, _arguments, actor in concrete_routes(app, hostile_world):
        if method != "GET":
            continue
        query = "&".join(f"{name}={bad}" for name in names)
        response = None
        for headers in ({}, {"HX-Request": "true"}):
            if response is not None and is_file(response):
                break  # a file has no fragment (tests/flows/test_files_and_htmx.py)
            response = clients[actor].get(f"{url}?{query}", headers=headers)
            if response.status_code >= 500:
                problems.append(f"GET {url}?{query} as {actor}: {response.status_code}")
    assert problems == [], "\n".join(problems)
