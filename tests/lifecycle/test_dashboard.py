"""The progress dashboard: filters, search, sorting and pages over thousands of pairs at a fixed number of
queries; the CSV of the filtered list; small groups hidden in reports; supervisors' scope."""
from __future__ import annotations

import csv
import io
import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, insert

from portal.domain.agreements import last_day_of_term
from portal.domain.dashboard import ReportLine
from portal.extensions import db
from portal.models import Agreement, Meeting, Pair, PairSupervisor, User
from portal.models.programs import sort_name
from portal.timeutil import utcnow, utctoday
from tests.factories import make_help_request, make_meeting, make_pair, make_user, set_state, act_as
from tests.lifecycle.conftest import build_world

STATES = ("draft", "signing", "active", "in_review", "closed")


def bulk_pairs(world, count: int, supervised_every: int = 0) -> None:
    """`count` more pairs in the world's program, inserted in bulk. Pair i is in STATES[i % 5]; active pairs
    with i % 10 == 2 started 80 days ago (ending within 14 days, and stalled: no meeting since)."""
    today, now = utctoday(), utcnow()
    first_user = (db.session.scalar(db.select(db.func.max(User.id))) or 0) + 1
    names = [f"{'Mentor' if n % 2 == 0 else 'Mentee'} {n // 2:05d}" for n in range(2 * count)]
    db.session.execute(insert(User), [
        {"id": first_user + n, "email": f"bulk{first_user + n}@example.org", "name": names[n],
         "password_hash": None, "is_site_admin": False, "is_deactivated": False, "session_generation": 1,
         "created_at": now}
        for n in range(2 * count)])
    first_pair = (db.session.scalar(db.select(db.func.max(Pair.id))) or 0) + 1
    # A bulk insert passes the ORM by, so it fills the sort names itself, as the benchmark's seed does.
    db.session.execute(insert(Pair), [
        {"id": first_pair + i, "program_id": world.program.id, "mentor_id": first_user + 2 * i,
         "mentee_id": first_user + 2 * i + 1, "created_at": now, "mentor_sort_name": sort_name(names[2 * i]),
         "mentee_sort_name": sort_name(names[2 * i + 1])} for i in range(count)])
    rows = []
    for i in range(count):
        start = today - timedelta(days=80 if i % 10 == 2 else 30)
        rows.append({"pair_id": first_pair + i, "template_version_id": world.version.id, "state": STATES[i % 5],
                     "revision": 1, "term_start": start, "term_months": 3, "term_end": last_day_of_term(start, 3),
                     "change_seq": 0, "created_at": now, "updated_at": now})
    db.session.execute(insert(Agreement), rows)
    if supervised_every:
        db.session.execute(insert(PairSupervisor), [
            {"pair_id": first_pair + i, "user_id": world.people["supervisor"].id}
            for i in range(0, count, supervised_every)])
    db.session.commit()


@contextmanager
def counted_statements():
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def table_rows(page: str) -> list[list[str]]:
    body = page.split('<table class="dashboard">', 1)[1].split("</tbody>", 1)[0].split("<tbody>", 1)[1]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip()
                 for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        rows.append(cells)
    return rows


def test_the_dashboard_costs_the_same_few_queries_for_any_number_of_pairs(app):
    """With 10 pairs and with 3,000, does the filtered, sorted, paged dashboard run the same small number of
    SQL statements? (The CSV, now the whole list, is counted in test_dashboard_following.py.)"""
    world = build_world(app)
    bulk_pairs(world, 10)
    url = f"/programs/{world.program.id}/dashboard?state=active&sort=activity&direction=desc&page=2"
    client = world.client("admin")
    client.get(url)  # warm up caches (template definitions) so both measurements are alike
    with counted_statements() as small:
        assert client.get(url).status_code == 200
    bulk_pairs(world, 3000)
    with counted_statements() as large:
        page = client.get(url).get_data(as_text=True)
    assert len(large) == len(small) <= 16, large
    assert "page 2 of 25" in page  # 601 active pairs (the world's own and 600 bulk), 25 a page
    assert len(table_rows(page)) == 25


def test_filters_search_sorting_and_pages_over_thousands_of_pairs(app):
    """Do state and alert filters, the name search, sorting and paging give the right pairs in SQL?"""
    world = build_world(app)
    bulk_pairs(world, 2000)
    client = world.client("admin")
    base = f"/programs/{world.program.id}/dashboard"
    page = client.get(f"{base}?state=in_review").get_data(as_text=True)
    assert "400 pairs match your filters · page 1 of 16" in page
    page = client.get(f"{base}?alert=ending_soon").get_data(as_text=True)
    assert "200 pairs match your filters" in page  # active and i % 10 == 2
    assert all("Ending soon" in row[9] and "Stalled" in row[9] for row in table_rows(page))
    page = client.get(f"{base}?q=mentee 01234").get_data(as_text=True)
    [row] = table_rows(page)
    assert row[:2] == ["Mentor 01234", "Mentee 01234"]
    page = client.get(f"{base}?sort=mentor&direction=desc&page=3").get_data(as_text=True)
    names = [row[0] for row in table_rows(page)]
    assert names == sorted(names, reverse=True) and names[0] == "Mentor 01949"
    assert "page 3 of 81" in page
    page = client.get(f"{base}?page=999").get_data(as_text=True)
    assert "page 81 of 81" in page  # past the end: the last page
    fragment = client.get(f"{base}?state=closed", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="pairs-table">') and "<html" not in fragment
    page = client.get(f"{base}?state=bogus&alert=nonsense&sort=evil&page=-1").get_data(as_text=True)
    assert "2001 pairs ·" in page  # unknown filters fall back to showing everything


def test_a_row_shows_signatures_activity_meetings_goals_and_alerts(world):
    """Does the world's own pair show its signatures, meetings held against committed, goal counts and
    last activity?"""
    a = world.agreement
    make_meeting(a, world.people["mentor"], held_on=utctoday())
    world.client("mentee").post(f"/agreements/{a.id}/progress",
                                data={"status-goal:0": "achieved", "status-objectives:0": "in_progress"})
    page = world.client("admin").get(f"/programs/{world.program.id}/dashboard").get_data(as_text=True)
    [row] = table_rows(page)
    assert row[:3] == ["Maria Mentor", "Nina Mentee", "Active"]
    assert row[5] == "0 of 2"
    assert row[6] == utctoday().strftime("%d %b %Y")
    assert row[7] == "1 of 12 committed"
    assert row[8] == "2 / 1 / 1"
    assert row[9] == "none"


def test_the_csv_follows_the_table_and_defuses_formulas(app):
    """With a filter and a sort, does the CSV hold the same rows in the same order as the table, and defuse
    cells that a spreadsheet would run as formulas?"""
    world = build_world(app)
    bulk_pairs(world, 120)
    db.session.scalar(db.select(User).where(User.name == "Mentor 00005")).name = "=HYPERLINK(\"x\")"
    db.session.commit()
    query = "state=draft&sort=mentor&direction=asc&page=1"
    client = world.client("admin")
    page = client.get(f"/programs/{world.program.id}/dashboard?{query}").get_data(as_text=True)
    response = client.get(f"/programs/{world.program.id}/dashboard.csv?{query}")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Mentor", "Mentee", "Mentor e-mail"] and rows[0][-1] == "Help asked on"
    on_screen = table_rows(page)
    assert len(rows) - 1 == len(on_screen) == 24
    undo_defusing = [[cell[1:] if cell.startswith("'=") else cell for cell in row[:2]] for row in rows[1:]]
    assert undo_defusing == [[cell.replace("&#34;", '"') for cell in row[:2]] for row in on_screen]
    held = rows[0].index("Meetings held")
    assert [row[held] for row in rows[1:]] == [row[7].split(" of ")[0] for row in on_screen]
    assert rows[1][0] == "'=HYPERLINK(\"x\")"  # sorted first, and defused
    # The page asked for does not matter: the CSV is the whole list.
    second = client.get(f"/programs/{world.program.id}/dashboard.csv?state=draft&page=2")
    assert second.get_data(as_text=True) == response.get_data(as_text=True)
    assert second.headers["Content-Disposition"].endswith('-pairs-draft.csv"')


def test_reports_show_counts_and_hide_groups_smaller_than_three(app):
    """Are report counts of 1 or 2 shown as "fewer than 3", and 0 and 3+ as numbers?"""
    assert [ReportLine("x", n).shown for n in (0, 1, 2, 3, 40)] == ["0", "fewer than 3", "fewer than 3", "3", "40"]
    world = build_world(app)
    bulk_pairs(world, 10)  # two of each state, plus the world's active pair
    page = world.client("admin").get(f"/programs/{world.program.id}/dashboard").get_data(as_text=True)
    reports = page.split('id="reports-title"', 1)[1]
    assert "<th scope=\"row\">Active</th><td>3</td>" in reports
    assert "<th scope=\"row\">Draft</th><td>fewer than 3</td>" in reports
    assert re.search(r"<th scope=\"row\">Ended early[^<]*</th><td>", reports) is None  # nothing ended early


def test_pairs_sort_by_name_without_case_and_follow_a_renamed_mentor(app):
    """Are pairs listed by their mentor's name whatever its capitals (non-ASCII ones too), and does a pair
    move to its new place as soon as its mentor changes their name?"""
    world = build_world(app)  # its mentor is Maria Mentor
    renaming = make_user(name="adam Brook")
    for mentor in (renaming, make_user(name="Bea Crane"), make_user(name="zed Zimmer"),
                   make_user(name="Émile Two"), make_user(name="émile One")):
        make_pair(world.program, mentor)
    url = f"/programs/{world.program.id}/dashboard?sort=mentor"

    def mentors() -> list[str]:
        return [row[0] for row in table_rows(world.client("admin").get(url).get_data(as_text=True))]

    names = mentors()
    assert [name for name in names if name.isascii()] == ["adam Brook", "Bea Crane", "Maria Mentor", "zed Zimmer"]
    assert names.index("Émile Two") == names.index("émile One") + 1  # "É" folds to "é": One before Two
    client = app.test_client()
    act_as(client, renaming)
    assert client.post("/auth/account/name", data={"name-name": "Yusuf Adam"}).status_code == 303
    assert [name for name in mentors() if name.isascii()] == ["Bea Crane", "Maria Mentor", "Yusuf Adam",
                                                               "zed Zimmer"]


def test_supervisors_see_their_own_pairs_only(app):
    """Does a supervisor's dashboard list only the pairs assigned to them, and another program's staff get
    a 404?"""
    world = build_world(app)
    bulk_pairs(world, 100, supervised_every=10)
    page = world.client("supervisor").get(f"/programs/{world.program.id}/dashboard").get_data(as_text=True)
    assert "11 pairs." in page  # the world's pair and every tenth bulk pair
    assert "the pairs you supervise" in page
    other = world.client("other_supervisor").get(f"/programs/{world.program.id}/dashboard").get_data(as_text=True)
    assert "0 pairs" in other and "No pairs yet." in other
    for who in ("mentor", "outsider", "site_admin"):
        assert world.client(who).get(f"/programs/{world.program.id}/dashboard").status_code == 404
        assert world.client(who).get(f"/programs/{world.program.id}/dashboard.csv").status_code == 404


@pytest.mark.parametrize("alert", ["stalled", "awaiting_signature", "review_due"])
def test_each_alert_filter_finds_its_pair(app, alert):
    """Is the pair that is stalled, waiting for a signature, or past its term found by that alert alone?"""
    world = build_world(app, term_start=utctoday() - timedelta(days=40))
    if alert == "awaiting_signature":
        set_state(world.agreement, "signing", updated_at=utcnow() - timedelta(days=8))
    elif alert == "review_due":
        set_state(world.agreement, "active", term_start=utctoday() - timedelta(days=120))
    client = world.client("admin")
    page = client.get(f"/programs/{world.program.id}/dashboard?alert={alert}").get_data(as_text=True)
    assert "1 pair matches your filters" in page
    make_meeting(world.agreement, world.people["mentor"], held_on=utctoday())
    make_user()  # unrelated activity changes nothing
    if alert == "stalled":
        page = client.get(f"/programs/{world.program.id}/dashboard?alert=stalled").get_data(as_text=True)
        assert "0 pairs match your filters" in page
    assert db.session.scalar(db.select(db.func.count(Meeting.id))) == 1


def test_reports_are_counted_at_most_once_a_minute_and_say_when(app):
    """With reuse on, do the reports keep their counts (and say when they were counted) while the list
    moves on, stay per scope (a supervisor never gets the admin's counts), and count again when they age?"""
    from portal.domain import dashboard as boards

    boards._report_cache.clear()
    app.config["DASHBOARD_REPORTS_SECONDS"] = 60
    try:
        world = build_world(app)
        bulk_pairs(world, 10, supervised_every=5)
        url = f"/programs/{world.program.id}/dashboard"
        first = world.client("admin").get(url).get_data(as_text=True)
        assert "11 pairs." in first and "<th scope=\"row\">Active</th><td>3</td>" in first
        assert re.search(r"Counted at \d\d:\d\d UTC: they may be up to 60 seconds behind the list above", first)
        bulk_pairs(world, 5)  # one more of each state
        again = world.client("admin").get(url).get_data(as_text=True)
        assert "16 pairs." in again  # the list is always current
        assert "<th scope=\"row\">Active</th><td>3</td>" in again.split('id="reports-title"', 1)[1]
        supervised = world.client("supervisor").get(url).get_data(as_text=True)
        assert "<th scope=\"row\">Active</th><td>3</td>" not in supervised.split('id="reports-title"', 1)[1]
        app.config["DASHBOARD_REPORTS_SECONDS"] = 0  # as if the minute had passed
        fresh = world.client("admin").get(url).get_data(as_text=True)
        assert "<th scope=\"row\">Active</th><td>4</td>" in fresh and "Counted at" not in fresh
    finally:
        boards._report_cache.clear()


def test_the_dashboard_lists_the_requests_for_help_waiting_longest_and_every_one_on_request(app):
    """With 12 open requests for help, does the dashboard list the 10 oldest with a link to every one, and
    does that link list all 12 (filters kept)?"""
    from portal.domain.dashboard import HELP_SHOWN

    world = build_world(app)
    bulk_pairs(world, 12)
    pairs = db.session.scalars(db.select(Pair).where(Pair.program_id == world.program.id)
                               .order_by(Pair.id.desc()).limit(12)).all()
    for number, pair in enumerate(pairs):
        request_ = make_help_request(pair, pair.mentor, f"Request number {number:02d}")
        request_.at = utcnow() - timedelta(hours=100 - number)  # number 00 waited longest
    db.session.commit()
    client = world.client("admin")
    page = client.get(f"/programs/{world.program.id}/dashboard?state=active").get_data(as_text=True)
    help_section = page.split('id="help-requests"', 1)[1].split("</section>", 1)[0]
    shown = re.findall(r"Request number (\d\d)", help_section)
    assert shown == [f"{n:02d}" for n in range(HELP_SHOWN)]
    assert "more pairs are waiting" in help_section
    link = re.search(r'href="([^"]*help=all[^"]*)"', help_section).group(1).replace("&amp;", "&")
    assert "state=active" in link
    every = client.get(link).get_data(as_text=True).split('id="help-requests"', 1)[1].split("</section>", 1)[0]
    assert re.findall(r"Request number (\d\d)", every) == [f"{n:02d}" for n in range(12)]
    assert "more pairs are waiting" not in every


def _report(page: str, title: str) -> dict[str, str]:
    """One report table of the dashboard as {label: shown count}."""
    table = page.split(f"<caption>{title}</caption>", 1)[1].split("</table>", 1)[0]
    return dict(re.findall(r'<th scope="row">([^<]*)</th><td>([^<]*)</td>', table))


def _close_early(world, reason: str | None, supervised: bool = True) -> None:
    from tests.factories import make_agreement
    pair = make_pair(world.program, supervisors=(world.people["supervisor"],) if supervised else ())
    set_state(make_agreement(pair, world.version), "closed", closure_kind="early", closure_reason=reason)


def test_supervisors_see_no_reason_why_pairs_ended_early(app):
    """Does a supervisor's "How agreements ended" show "Ended early" as one group, with no reason category
    (not even a suppressed one), while the program's admins see the categories of 3 or more?"""
    world = build_world(app)
    for reason in ("fit", "schedule", "schedule", "schedule"):
        _close_early(world, reason)
    url = f"/programs/{world.program.id}/dashboard"
    supervised = world.client("supervisor").get(url).get_data(as_text=True)
    ended = _report(supervised, "How agreements ended")
    assert ended == {"Ended early": "4"}
    assert "good fit" not in supervised.lower() and "schedule or availability" not in supervised.lower()
    csv_text = world.client("supervisor").get(f"/programs/{world.program.id}/dashboard.csv").get_data(as_text=True)
    assert "fit" not in csv_text.lower() and "schedule" not in csv_text.lower()
    admin = world.client("admin").get(url).get_data(as_text=True)
    assert _report(admin, "How agreements ended") == {"Ended early: schedule or availability": "3",
                                                      "Other endings": "fewer than 3"}
    assert "good fit" not in admin.lower()


def test_a_suppressed_group_shows_neither_count_nor_label(app):
    """With one or two pairs ended early, does the supervisor's report name no "Ended early" group at all (only
    "Other endings", fewer than 3), and does the admin's not name the reason either?"""
    world = build_world(app)
    _close_early(world, "fit")
    url = f"/programs/{world.program.id}/dashboard"
    for who in ("supervisor", "admin"):
        page = world.client(who).get(url).get_data(as_text=True)
        assert _report(page, "How agreements ended") == {"Other endings": "fewer than 3"}, who
        assert "good fit" not in page.lower()
