"""The editor keeps each unchanged field's markup between renders (portal/fragment_cache.py): the page must be
exactly what it would be without it, change as soon as a value changes, and never hold a pair-only value."""
from __future__ import annotations

import re

from portal import fragment_cache
from tests.agreements.test_editor import autosave, pair_world  # noqa: F401  (the fixture)

CSRF = re.compile(r'(name="csrf_token" value="|"X-CSRFToken": "|name="csrf-token" content=")[^"]+')


def page(client, agreement) -> str:
    response = client.get(f"/agreements/{agreement.id}")
    assert response.status_code == 200
    return CSRF.sub(r"\1", response.get_data(as_text=True))  # the token is signed with the time: left out


def test_the_page_is_the_same_with_and_without_the_fragment_cache(app, pair_world):
    """Is every member's and follower's page exactly what it is without the cache, on a miss and on a hit?"""
    agreement, clients = pair_world
    autosave(clients["mentor"], agreement, "motto", {"f-motto": "Onwards <together>"})
    autosave(clients["mentee"], agreement, "goals", {"f-goals": ["Read more", "Write weekly"]})
    autosave(clients["mentor"], agreement, "cadence", {"f-cadence": "other", "f-cadence-other": "fortnightly"})
    for who in ("mentor", "mentee", "supervisor", "admin"):
        app.jinja_env.fragment_cache_enabled = False
        fresh = page(clients[who], agreement)
        app.jinja_env.fragment_cache_enabled = True
        fragment_cache.clear()
        assert page(clients[who], agreement) == fresh  # rendered and kept
        assert page(clients[who], agreement) == fresh  # from the cache


def test_a_partners_change_shows_though_the_old_markup_was_kept(pair_world):
    """After the mentee changes a field the mentor's page had cached, does the mentor's next page show the new
    value, with its new version and author, and not the old one?"""
    agreement, clients = pair_world
    autosave(clients["mentor"], agreement, "motto", {"f-motto": "First motto"})
    assert 'value="First motto"' in page(clients["mentor"], agreement)
    autosave(clients["mentee"], agreement, "motto", {"f-motto": "Second motto"})
    after = page(clients["mentor"], agreement)
    assert 'value="Second motto"' in after and "First motto" not in after
    assert 'name="v-motto" value="2"' in after and "Last saved by Eli Mentee" in after


def test_the_followers_page_is_not_a_members_cached_markup(pair_world):
    """Does the supervisor get the read-only field (no autosave) even right after a member's page kept it?"""
    agreement, clients = pair_world
    autosave(clients["mentor"], agreement, "motto", {"f-motto": "Shared motto"})
    assert "data-hx-post" in page(clients["mentor"], agreement).split('id="field-motto"', 1)[1].split("</div>", 1)[0]
    followed = page(clients["supervisor"], agreement)
    block = followed.split('id="field-motto"', 1)[1].split("</div>", 1)[0]
    assert "Shared motto" in followed and "hx-post" not in block and "field-block readonly" in followed


def test_no_pair_only_value_is_kept_in_the_cache(pair_world):
    """Is a pair-only answer rendered afresh every time, never kept in the worker's memory?"""
    agreement, clients = pair_world
    fragment_cache.clear()
    autosave(clients["mentor"], agreement, "secret", {"f-secret": "Only-between-us-7731"})
    autosave(clients["mentor"], agreement, "motto", {"f-motto": "Public motto"})
    assert "Only-between-us-7731" in page(clients["mentor"], agreement)
    assert "Only-between-us-7731" in page(clients["mentee"], agreement)
    kept = repr(list(fragment_cache._fragments.items()))
    assert "Public motto" in kept  # the cache is in use...
    assert "Only-between-us-7731" not in kept  # ...but not for the pair's secret
