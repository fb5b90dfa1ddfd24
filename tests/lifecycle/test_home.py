"""The home page points each person at what is waiting in the mentorship's life."""
from __future__ import annotations

from datetime import timedelta

from portal.timeutil import utctoday
from tests.lifecycle.conftest import build_world


def test_members_see_what_is_waiting_for_them(app):
    """Does a member see a due check-in and the end of the term, and their partner's request to review?"""
    world = build_world(app, term_start=utctoday() - timedelta(days=120))
    home = world.client("mentee").get("/").get_data(as_text=True)
    assert "A progress check-in is due." in home and "The term has ended" in home
    assert f"/pairs/{world.pair.id}" in home
    world.client("mentor").post(f"/agreements/{world.agreement.id}/review/start")
    home = world.client("mentee").get("/").get_data(as_text=True)
    assert "Write your review of the mentorship." in home


def test_a_partners_early_review_request_shows_on_home(world):
    """Before the term ends, does the partner's wish to review early show on the other member's home?"""
    world.client("mentor").post(f"/agreements/{world.agreement.id}/review/start")
    assert "Your partner would like to start the review early." in world.client("mentee").get("/").get_data(as_text=True)
    assert "Your partner would like" not in world.client("mentor").get("/").get_data(as_text=True)


def test_staff_find_the_dashboards_from_home(world):
    """Do the program admin and the supervisor find the progress dashboard on their home page?"""
    url = f"/programs/{world.program.id}/dashboard"
    assert url in world.client("admin").get("/").get_data(as_text=True)
    assert url in world.client("supervisor").get("/").get_data(as_text=True)
    assert f"/programs/{world.program.id}/audit" in world.client("admin").get("/").get_data(as_text=True)
    assert "/admin/audit" in world.client("site_admin").get("/").get_data(as_text=True)
