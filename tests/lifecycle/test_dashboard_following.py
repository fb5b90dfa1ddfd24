"""Following a program from its dashboard: a search that ignores case and accents and finds people by name
or e-mail address, and the whole filtered list as a streamed CSV that never carries a pair-only value."""
from __future__ import annotations

import csv
import io
import re
from contextlib import contextmanager
from datetime import timedelta

from portal import rawsql

from portal.extensions import db
from portal.models import PairSupervisor
from tests.factories import make_pair, make_user
from tests.lifecycle.conftest import build_world
from tests.lifecycle.test_dashboard import bulk_pairs, counted_statements, table_rows
from tests.lifecycle.test_migration import upgraded


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


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_the_csv_holds_every_page_of_the_filtered_list_streamed(app):
    """With a state filter matching 61 pairs (three pages on screen), does "Download as CSV" stream all 61, in
    the table's order, whichever page the admin was on?"""
    world = build_world(app)
    bulk_pairs(world, 300)
    client = world.client("admin")
    base = f"/programs/{world.program.id}/dashboard"
    screen = []
    for page in (1, 2, 3):
        screen += table_rows(client.get(f"{base}?state=active&sort=mentee&direction=desc&page={page}")
                             .get_data(as_text=True))
    response = client.get(f"{base}.csv?state=active&sort=mentee&direction=desc&page=2")
    assert response.is_streamed and response.mimetype == "text/csv"
    assert re.search(r'filename="[^"]+-pairs-active\.csv"', response.headers["Content-Disposition"])
    rows = csv_rows(response)
    assert len(rows) - 1 == len(screen) == 61
    assert [row[:2] for row in rows[1:]] == [cells[:2] for cells in screen]


def test_the_csv_gives_addresses_supervisors_template_version_state_dates_and_counts(app):
    """Does a program admin's CSV name each member's address, the supervisors, the template and its version,
    the state, the term and the meeting and goal counts, and a supervisor's leave the addresses and the other
    supervisors out?"""
    world = build_world(app)
    db.session.add(PairSupervisor(pair_id=world.pair.id, user_id=world.people["other_supervisor"].id))
    db.session.commit()
    rows = csv_rows(world.client("admin").get(f"/programs/{world.program.id}/dashboard.csv"))
    record = dict(zip(rows[0], rows[1]))
    mentor, mentee = world.people["mentor"], world.people["mentee"]
    assert record["Mentor"] == "Maria Mentor" and record["Mentor e-mail"] == mentor.email
    assert record["Mentee"] == "Nina Mentee" and record["Mentee e-mail"] == mentee.email
    assert record["Supervisors"] == "Olga Supervisor; Sam Supervisor"
    template = world.version.template
    assert record["Template"] == template.name and record["Template version"] == str(world.version.number)
    assert record["State"] == "Active" and record["Term start"] == str(world.agreement.term_start)
    assert record["Term end"] == str(world.agreement.term_end)
    assert record["Meetings held"] == "0" and record["Meetings agreed or planned"] == "12 committed"
    assert record["Goals not started"] == "4"
    supervised = csv_rows(world.client("supervisor").get(f"/programs/{world.program.id}/dashboard.csv"))
    assert "Mentor e-mail" not in supervised[0] and "Supervisors" not in supervised[0]
    assert "Template version" in supervised[0]
    text = "\n".join(",".join(row) for row in supervised)
    assert mentor.email not in text and "Olga" not in text


def test_a_supervisors_csv_keeps_its_columns_and_no_admin_alert_for_a_member_who_has_not_joined(app):
    """With a mentee who never set a password in a pair made weeks ago, does a supervisor's CSV still put the
    template under "Template" and its number under "Template version", and say nothing of "Not joined"
    (which the program's admins see)?"""
    world = build_world(app)
    world.people["mentee"].password_hash = None
    world.pair.created_at = world.pair.created_at - timedelta(days=30)
    db.session.commit()
    url = f"/programs/{world.program.id}/dashboard.csv"
    admin_rows = csv_rows(world.client("admin").get(url))
    assert "Not joined" in dict(zip(admin_rows[0], admin_rows[1]))["Alerts"]
    rows = csv_rows(world.client("supervisor").get(url))
    assert len(rows[0]) == len(rows[1])
    record = dict(zip(rows[0], rows[1]))
    assert record["Template"] == world.version.template.name
    assert record["Template version"] == str(world.version.number)
    assert record["State"] == "Active" and record["Term start"] == str(world.agreement.term_start)
    assert "Not joined" not in record["Alerts"] and "Not joined" not in rows[0]


@contextmanager
def every_statement():
    """Statements sent through the ORM and through portal.rawsql (the dashboard's reads)."""
    raw: list[str] = []
    rawsql.listen(raw.append)
    try:
        with counted_statements() as orm:
            yield raw, orm
    finally:
        rawsql.remove(raw.append)


def test_the_csv_of_thousands_of_pairs_reads_them_a_batch_at_a_time(app):
    """Does the CSV run three statements per batch of 500 rows, not a statement per pair: with 3,001 pairs (seven
    batches) as many as with 11 (one batch) plus 18?"""
    world = build_world(app)
    client = world.client("admin")
    bulk_pairs(world, 10)
    url = f"/programs/{world.program.id}/dashboard.csv"
    client.get(url).get_data()  # warm up caches (template definitions) so both measurements are alike
    with every_statement() as (small_raw, small_orm):
        assert len(csv_rows(client.get(url))) - 1 == 11
    bulk_pairs(world, 2990)
    with every_statement() as (large_raw, large_orm):
        assert len(csv_rows(client.get(url))) - 1 == 3001
    assert len(large_orm) == len(small_orm)
    assert len(large_raw) == len(small_raw) + 6 * 3


def test_upgrading_gives_existing_people_their_search_keys(tmp_path):
    """Does migration 0018 fold the names and addresses of people already in the database, so that the search
    finds them at once?"""
    seed = ("insert into user(id,email,name,is_site_admin,is_deactivated,session_generation,created_at) values "
            "(1,'zoë@x.example','Zoë Ångström',0,0,1,'2026-01-01'),(2,'b@x.example','Straße',0,0,1,'2026-01-01');")
    with upgraded(tmp_path, "0017_program_default_template", seed) as connection:
        keys = connection.execute("select search_name, search_email from user order by id").fetchall()
    assert keys == [("zoe angstrom", "zoe@x.example"), ("strasse", "b@x.example")]
