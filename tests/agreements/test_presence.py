"""Who is on the agreement page: a partner who closed it stops being shown within 10 seconds."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.domain import agreements as agreement_rules
from portal.timeutil import utcnow
from tests.agreements.test_editor import HTMX, pair_world  # noqa: F401  (the fixture)


def presence(client, agreement) -> str:
    response = client.post(f"/agreements/{agreement.id}/presence", headers=HTMX)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def clock(monkeypatch):
    """The time the presence rules read, moved by hand (no sleeping)."""
    now = {"at": utcnow()}
    monkeypatch.setattr(agreement_rules, "utcnow", lambda: now["at"])

    def advance(seconds: float):
        now["at"] += timedelta(seconds=seconds)
    return advance


def test_a_partner_who_closed_the_page_is_gone_at_the_next_check_in(pair_world):
    """When the mentee's page says it is leaving (closed, reloaded, navigated away), does the mentor's next
    check-in no longer name him?"""
    agreement, clients = pair_world
    presence(clients["mentee"], agreement)
    assert "Eli Mentee" in presence(clients["mentor"], agreement)
    # As the page's beacon sends it: a plain form with the page's CSRF token, no htmx headers.
    mentee = clients["mentee"]
    token = mentee.csrf_token or mentee.fetch_csrf_token()
    left = mentee.post(f"/agreements/{agreement.id}/presence/leave", data={"csrf_token": token}, csrf=False)
    assert left.status_code == 204
    body = presence(clients["mentor"], agreement)
    assert "Eli Mentee" not in body and "Only you have this page open" in body


def test_leaving_needs_the_pages_csrf_token_and_membership(pair_world):
    """Can a leave be forged from another site (no CSRF token), or sent by someone outside the pair?"""
    agreement, clients = pair_world
    presence(clients["mentee"], agreement)
    forged = clients["mentee"].post(f"/agreements/{agreement.id}/presence/leave", csrf=False)
    assert forged.status_code == 400
    for outsider in ("supervisor", "admin"):
        assert clients[outsider].post(f"/agreements/{agreement.id}/presence/leave").status_code == 404
    assert "Eli Mentee" in presence(clients["mentor"], agreement)


def test_a_page_that_stopped_checking_in_drops_out_within_10_seconds(pair_world, clock):
    """When a page closes without saying so (a crash, a lost connection), is its owner still shown while the
    page checks in on time, and gone from the partner's page within 10 seconds of its last check-in, counting
    the partner page's own check-in interval?"""
    agreement, clients = pair_world
    page = clients["mentor"].get(f"/agreements/{agreement.id}").get_data(as_text=True)
    interval = int(re.search(r'id="presence"[^>]*data-hx-trigger="load, every (\d+)s"', page).group(1))
    presence(clients["mentee"], agreement)  # his last check-in
    clock(interval)  # one check-in interval later he still counts (his next one may be on its way)
    assert "Eli Mentee" in presence(clients["mentor"], agreement)
    # The mentor's page asks every `interval` seconds: it must show him gone by 10 s after his last check-in.
    clock(10 - 2 * interval)
    assert "Eli Mentee" not in presence(clients["mentor"], agreement)
