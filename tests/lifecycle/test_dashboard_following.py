"""Following a program from its dashboard: a search that ignores case and accents and finds people by name
or e-mail address, and the whole filtered list as a streamed CSV that never carries a pair-only value."""
from __future__ import annotations

import csv
import io
import re

from portal.extensions import db
from portal.models import User
from tests.factories import make_pair, make_user
from tests.lifecycle.conftest import build_world
from tests.lifecycle.test_dashboard import bulk_pairs, counted_statements, table_rows


def mentors_found(client, program_id: int, q: str) -> list[str]:
    page = client.get(f"/programs/{program_id}/dashboard", query_string={"q": q}).get_data(as_text=True)
    return [row[0] for row in table_rows(page) if len(row) > 1]  # a single cell: "No pair matches"


def test_search_ignores_case_and_accents_both_ways(app):
    """Does "zoe" find Zoë, "ZOË" find Zoe, and "jose" find José Ñúñez's pair by the mentee's name?"""
    world = build_world(app)
    make_pair(world.program, make_user(name="Zoë Ångström"), make_user(name="Liam Lee"))
    make_pair(world.program, make_user(name="Zoe Plain"), make_user(name="José Ñúñez"))
    client = world.client("admin")
    assert sorted(mentors_found(client, world.program.id, "zoe")) == ["Zoe Plain", "Zoë Ångström"]
    assert sorted(mentors_found(client, world.program.id, "ZOË")) == ["Zoe Plain", "Zoë Ångström"]
    assert mentors_found(client, world.program.id, "angstrom") == ["Zoë Ångström"]
    assert mentors_found(client, world.program.id, "NUNEZ") == ["Zoe Plain"]
    assert mentors_found(client, world.program.id, "Zoë Å") == ["Zoë Ångström"]


def test_search_follows_a_renamed_person(app):
    """After a mentee is renamed, does the search find the new name and no longer the old one?"""
    world = build_world(app)
    world.people["mentee"].name = "Renée Ørsted"
    db.session.commit()
    client = world.client("admin")
    assert mentors_found(client, world.program.id, "renee") == ["Maria Mentor"]
    assert mentors_found(client, world.program.id, "nina") == []


def test_program_admins_find_pairs_by_e_mail_address_and_supervisors_do_not(app):
    """Can a program admin search by part of a member's address (which only they are shown), while a
    supervisor's search matches names only?"""
    world = build_world(app)
    mentee = make_user(name="Pat Quiet", email="zoë.private@Clinic.example")
    make_pair(world.program, make_user(name="Kim Lead"), mentee, supervisors=(world.people["supervisor"],))
    assert mentors_found(world.client("admin"), world.program.id, "ZOE.PRIVATE@clinic") == ["Kim Lead"]
    assert mentors_found(world.client("supervisor"), world.program.id, "zoe.private") == []
    assert mentors_found(world.client("supervisor"), world.program.id, "pat quiet") == ["Kim Lead"]


def test_search_over_thousands_of_pairs_costs_the_same_statements(app):
    """Does a search run as many statements with 3,000 pairs (added in bulk) as with 10, and find the one?"""
    world = build_world(app)
    bulk_pairs(world, 10)
    client = world.client("admin")
    url = f"/programs/{world.program.id}/dashboard?q=MENTÉE 00007"
    client.get(url)
    with counted_statements() as small:
        client.get(url)
    bulk_pairs(world, 3000)
    url = f"/programs/{world.program.id}/dashboard?q=MENTÉE 01234"
    with counted_statements() as large:
        page = client.get(url).get_data(as_text=True)
    assert len(large) == len(small)
    assert [row[1] for row in table_rows(page)] == ["Mentee 01234"]
