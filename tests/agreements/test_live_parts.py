"""The parts of the editor page besides the fields follow the live updates (the poll every 2 s): the "still to
fill in" list, the signing panel and a partner's decline with its reason, with and without the kept markup."""
from __future__ import annotations

import re

import pytest

from portal import fragment_cache
from portal.extensions import db
from portal.models import Agreement
from tests.agreements.test_editor import HTMX, autosave, pair_world  # noqa: F401  (the fixture)
from tests.factories import fill_in, make_agreement, make_pair, make_program, make_user, sign_in


@pytest.fixture(params=["cached", "uncached"])
def markup_cache(app, request):
    """Each test runs with the fragment cache on (kept markup) and off."""
    fragment_cache.clear()
    app.jinja_env.fragment_cache_enabled = request.param == "cached"
    yield request.param
    app.jinja_env.fragment_cache_enabled = True


def seq_of(agreement) -> int:
    db.session.expire_all()
    return db.session.get(Agreement, agreement.id).change_seq


def poll(client, agreement, since: int) -> str:
    response = client.get(f"/agreements/{agreement.id}/changes?since={since}&state=draft", headers=HTMX)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def oob_part(body: str, element_id: str) -> str:
    """The out-of-band element with this id in a poll's answer ("" when it is not there)."""
    found = re.search(r'<(\w+)[^>]*\bid="%s"[^>]*data-hx-swap-oob="true"[^>]*>' % re.escape(element_id), body)
    if found is None:
        found = re.search(r'<(\w+)[^>]*data-hx-swap-oob="true"[^>]*\bid="%s"[^>]*>' % re.escape(element_id), body)
    if found is None:
        return ""
    tag = found.group(1)
    rest = body[found.start():]
    depth, position = 0, 0
    for match in re.finditer(r"<(/?)%s\b[^>]*>" % tag, rest):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            position = match.end()
            break
    return rest[:position]


def test_the_todo_list_and_the_sign_form_follow_the_partners_answers(pair_world, markup_cache):
    """While the mentor's page is open, does each poll after the mentee's answers bring the "still to fill in"
    list as it is now, and, once the last required answer is in, the signing form (not "fill in first")?"""
    agreement, clients = pair_world
    page = clients["mentor"].get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert "Still to fill in before you can sign" in page and "Sign as mentor" not in page
    since = seq_of(agreement)

    autosave(clients["mentee"], agreement, "story", {"f-story": "We met at a conference."})
    body = poll(clients["mentor"], agreement, since)
    todo = oob_part(body, "todo")
    assert "Still to fill in before you can sign" in todo
    assert ">Goals<" in todo and ">Story<" not in todo
    assert "Before you can sign, fill in every part" in oob_part(body, "signing")

    since = seq_of(agreement)
    autosave(clients["mentee"], agreement, "goals", {"f-goals": ["Read more", "Write weekly"]})
    body = poll(clients["mentor"], agreement, since)
    assert oob_part(body, "todo") and "Still to fill in" not in oob_part(body, "todo")
    signing = oob_part(body, "signing")
    assert "Sign as mentor" in signing and 'action="/agreements/%d/sign"' % agreement.id in signing
    # The form names the content as it is now, so that signing from the updated panel is accepted.
    token = re.search(r'name="seen" value="([^"]+)"', signing).group(1)
    fresh = clients["mentor"].get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert f'name="seen" value="{token}"' in fresh


def test_the_authors_own_poll_updates_the_todo_list_too(pair_world, markup_cache):
    """After the mentor fills in a required answer herself, does her own next poll drop it from her list?"""
    agreement, clients = pair_world
    since = seq_of(agreement)
    autosave(clients["mentor"], agreement, "story", {"f-story": "We met at a conference."})
    todo = oob_part(poll(clients["mentor"], agreement, since), "todo")
    assert ">Goals<" in todo and ">Story<" not in todo


@pytest.fixture
def whprms_pair(app):
    program = make_program(name="Bayview", code="BAYLIVE")
    mentor, mentee = make_user(name="Maya Mentor"), make_user(name="Eli Mentee")
    agreement = make_agreement(make_pair(program, mentor, mentee))
    fill_in(agreement)
    clients = {}
    for name, person in (("mentor", mentor), ("mentee", mentee)):
        clients[name] = app.test_client()
        sign_in(clients[name], person)
    return agreement, clients


def test_a_decline_and_its_reason_reach_the_partners_open_page(whprms_pair, markup_cache):
    """When the mentee declines to sign, does the mentor's open page learn it at the next poll: the notice,
    the reason on the mentee's signature line, and a signing panel that still lets her sign?"""
    agreement, clients = whprms_pair
    assert "Sign as mentor" in clients["mentor"].get(f"/agreements/{agreement.id}").get_data(as_text=True)
    since = seq_of(agreement)
    declined = clients["mentee"].post(f"/agreements/{agreement.id}/decline",
                                      data={"role": "mentee", "reason": "The schedule is too tight-4471."})
    assert declined.status_code == 303
    state = db.session.get(Agreement, agreement.id).state
    response = clients["mentor"].get(f"/agreements/{agreement.id}/changes?since={since}&state={state}",
                                     headers=HTMX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Eli Mentee declined to sign" in oob_part(body, "signing-notices")
    assert "The schedule is too tight-4471." in body and "declined to sign" in body
    assert "Sign as mentor" in oob_part(body, "signing")


def test_a_decline_is_not_hidden_by_the_unchanged_answer(whprms_pair, markup_cache):
    """Does a decline count as a change for the poll's quick "nothing changed" answer (never a 204)?"""
    agreement, clients = whprms_pair
    since = seq_of(agreement)
    url = f"/agreements/{agreement.id}/changes?since={since}&state=draft"
    assert clients["mentor"].get(url, headers=HTMX).status_code == 204
    clients["mentee"].post(f"/agreements/{agreement.id}/decline", data={"role": "mentee", "reason": "Not yet."})
    again = clients["mentor"].get(url, headers=HTMX)
    assert again.status_code == 200 and "Not yet." in again.get_data(as_text=True)
