"""A share's last day is bounded like an id: a date too far ahead (or long past) is explained, never a 500."""
from __future__ import annotations

from datetime import timedelta

from portal.extensions import db
from portal.models import NoteShare
from portal.timeutil import utctoday
from tests.factories import make_note
from tests.notes.test_sharing import page_of, propose


def test_a_share_expiry_far_ahead_is_explained_and_changes_nothing(app, pairing):
    """Is a last day of 9999-12-31 (or more than 10 years ahead) refused with 422 and a message saying the
    latest day allowed, and 0001-01-01 refused as past, with no share made?"""
    note = make_note(pairing.pair, pairing.mentor)
    for typed in ("9999-12-31", (utctoday() + timedelta(days=3700)).isoformat()):
        response = propose(pairing, note, "reader@example.org", expires_on=typed)
        assert response.status_code == 422, typed
        assert "no later than" in page_of(response)
    response = propose(pairing, note, "reader@example.org", expires_on="0001-01-01")
    assert response.status_code == 422 and "or a later date" in page_of(response)
    assert db.session.scalar(db.select(db.func.count(NoteShare.id))) == 0
    response = propose(pairing, note, "reader@example.org", expires_on=(utctoday() + timedelta(days=3000)).isoformat())
    assert response.status_code == 303
