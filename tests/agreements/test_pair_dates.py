"""A pair's term start and an agreement's date answers are bounded: dates at the ends of the calendar get a
message and a 422, never a 500, and create nothing."""
from __future__ import annotations

from portal.extensions import db
from portal.models import Pair
from tests.agreements.test_editor import autosave, pair_world, stored  # noqa: F401  (the fixture)
from tests.agreements.test_pairs import admin_of_program, upload

EXTREMES = ("9999-12-31", "0001-01-01")


def test_a_pair_term_starting_at_the_end_of_the_calendar_is_explained(app):
    """Is a new pair whose term starts on 9999-12-31 or 0001-01-01 refused with 422 and a message naming the
    allowed range, and no pair created?"""
    client, program, version = admin_of_program(app)
    for typed in EXTREMES:
        response = client.post(f"/programs/{program.id}/pairs/new", data={
            "mentor_email": "m@example.org", "mentee_email": "e@example.org", "template_version": str(version.id),
            "term_start": typed})
        assert response.status_code == 422, typed
        assert "The term must start between" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Pair.id))) == 0


def test_a_csv_row_with_a_term_at_the_end_of_the_calendar_is_explained(app):
    """Does the import preview (and its confirmation) refuse a row whose term starts on 9999-12-31 or
    0001-01-01, with a message for that row and nothing created?"""
    client, program, _version = admin_of_program(app)
    for typed in EXTREMES:
        csv_text = f"mentor_email,mentee_email,term_start\nm@example.org,e@example.org,{typed}\n"
        response = upload(client, program, csv_text)
        assert response.status_code == 422, typed
        assert "The term must start between" in response.get_data(as_text=True)
        response = client.post(f"/programs/{program.id}/pairs/import/confirm", data={"csv_text": csv_text})
        assert response.status_code == 422, typed
    assert db.session.scalar(db.select(db.func.count(Pair.id))) == 0


def test_an_agreement_date_at_the_end_of_the_calendar_is_explained(pair_world):  # noqa: F811
    """Is a date answer of 9999-12-31 or 0001-01-01 refused with a message and nothing saved?"""
    agreement, clients = pair_world
    for typed in EXTREMES:
        response = autosave(clients["mentor"], agreement, "start", {"f-start": typed})
        assert response.status_code == 422, typed
        assert "between the years 1900 and 2200" in response.get_data(as_text=True)
    assert stored(agreement, "start") is None
