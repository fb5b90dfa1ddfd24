"""Dates at the ends of the calendar (9999-12-31, 0001-01-01) typed into the pair's forms get a message and a
422, never a 500, and change nothing."""
from __future__ import annotations

from portal.extensions import db
from portal.models import Agreement, Meeting
from tests.lifecycle.test_renewal import reviewed

EXTREMES = ("9999-12-31", "0001-01-01")


def test_a_meeting_date_at_the_end_of_the_calendar_is_explained(world):
    """Is a meeting dated 9999-12-31 or 0001-01-01 refused with 422 and a message, and nothing logged?"""
    for typed in EXTREMES:
        response = world.client("mentor").post(f"/agreements/{world.agreement.id}/meetings", data={
            "held_on": typed, "mode": "phone", "minutes": "30"})
        assert response.status_code == 422, typed
        assert "Enter a date" in response.get_data(as_text=True) or "in the future" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Meeting.id))) == 0


def test_a_renewal_starting_at_the_end_of_the_calendar_is_explained(app):
    """Is a renewal whose new term starts on 9999-12-31 or 0001-01-01 refused with 422 and a message, leaving
    the agreement in review and no successor made?"""
    world = reviewed(app)
    old = world.agreement
    for typed in EXTREMES:
        response = world.client("mentor").post(f"/agreements/{old.id}/renew", data={
            "version_id": str(old.template_version_id), "term_start": typed, "term_months": str(old.term_months)})
        assert response.status_code == 422, typed
        page = response.get_data(as_text=True)
        assert "no later than" in page or "must start after" in page
    db.session.expire_all()
    assert db.session.get(Agreement, old.id).state == "in_review"
    assert db.session.scalar(db.select(db.func.count(Agreement.id))) == 1
