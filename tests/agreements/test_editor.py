"""The agreement editor: both members fill in one agreement, see each other's changes live, and no edit is lost."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from portal import rawsql
from portal.domain.template_format import parse_definition
from portal.domain.template_store import create_template, publish
from portal.extensions import db
from portal.models import Agreement, FieldChange, FieldValue
from tests.factories import make_agreement, make_pair, make_program, make_role, make_user, make_version, act_as

HTMX = {"HX-Request": "true"}

EVERY_TYPE = {
    "format": "mentorship-agreement-template", "format_version": 1,
    "name": "Every type", "title": "Every type for {program_name}", "intro": "Intro {{ config }}",
    "sections": [{"key": "only", "title": "All fields", "intro": "", "fields": [
        {"key": "motto", "type": "short_text", "label": "Motto", "max_length": 20},
        {"key": "story", "type": "long_text", "label": "Story", "max_length": 50, "required": True},
        {"key": "goals", "type": "numbered_list", "label": "Goals", "min_items": 2, "max_items": 3,
         "item_label": "Goal", "max_length": 30, "required": True},
        {"key": "term_months", "type": "number", "label": "Months", "min": 1, "max": 12, "suggested": 3,
         "unit": "months"},
        {"key": "cadence", "type": "choice", "label": "We meet ____",
         "options": [{"value": "weekly", "label": "weekly"}, {"value": "monthly", "label": "monthly"}],
         "allow_other": True},
        {"key": "modes", "type": "meeting_modes", "label": "Meetings",
         "modes": [{"key": "face_to_face", "label": "face to face"}, {"key": "phone", "label": "by phone"}],
         "allow_other": True},
        {"key": "start", "type": "date", "label": "First meeting"},
        {"key": "secret", "type": "long_text", "label": "Topics we keep to ourselves", "pair_only": True},
        {"key": "rule", "type": "clause", "text": "We are kind to each other."},
    ]}],
}


@pytest.fixture
def pair_world(app):
    program = make_program(code="EVT", name="Every Program")
    admin, supervisor, mentor, mentee = make_user(), make_user(), make_user(name="Maya Mentor"), make_user(
        name="Eli Mentee")
    make_role(admin, program, "admin")
    make_role(supervisor, program, "supervisor")
    version = publish(create_template(program, parse_definition(EVERY_TYPE), None), None)
    db.session.commit()
    pair = make_pair(program, mentor, mentee, supervisors=(supervisor,))
    agreement = make_agreement(pair, version)
    clients = {}
    for name, person in (("mentor", mentor), ("mentee", mentee), ("supervisor", supervisor), ("admin", admin)):
        clients[name] = app.test_client()
        act_as(clients[name], person)
    return agreement, clients


def version_of(agreement: Agreement, key: str) -> int:
    db.session.expire_all()
    return db.session.scalar(db.select(FieldValue.version).where(
        FieldValue.agreement_id == agreement.id, FieldValue.field_key == key))


def stored(agreement: Agreement, key: str):
    from portal.domain.agreements import read_fields
    from portal.domain.template_store import definition_of
    db.session.expire_all()
    agreement = db.session.get(Agreement, agreement.id)
    return read_fields(agreement, definition_of(agreement.template_version), True)[key].value


def autosave(client, agreement, key, data, version=None, headers=HTMX):
    version = version_of(agreement, key) if version is None else version
    return client.post(f"/agreements/{agreement.id}/fields/{key}", data={**data, f"v-{key}": str(version)},
                       headers=headers)


def test_members_see_every_section_field_and_clause_in_order(pair_world):
    """Does the agreement page show the template's fields in order with its clauses, and template text as text?"""
    agreement, clients = pair_world
    page = clients["mentor"].get(f"/agreements/{agreement.id}").get_data(as_text=True)
    labels = ["Motto", "Story", "Goals", "Months", "We meet ____", "Meetings", "First meeting",
              "Topics we keep to ourselves", "We are kind to each other."]
    form = page.split('id="agreement-form"', 1)[1]
    positions = [form.index(label) for label in labels]
    assert positions == sorted(positions)
    assert "Every type for Every Program" in page  # placeholder filled in
    assert "Intro {{ config }}" in page  # template text is data, never a template
    assert 'value="3"' in page  # the suggested number is filled in
    assert "Still to fill in before you can sign" in page


def test_autosave_stores_one_field_and_answers_briefly(pair_world):
    """Does one field save on its own, answering with its status and new version in under 2 KB?"""
    agreement, clients = pair_world
    response = autosave(clients["mentor"], agreement, "story", {"f-story": "We met at a conference."})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Saved" in body
    assert 'id="v-story"' in body and 'value="1"' in body and 'data-hx-swap-oob="true"' in body
    assert len(response.get_data()) < 2048
    assert stored(agreement, "story") == "We met at a conference."
    assert version_of(agreement, "story") == 1


def test_partner_sees_the_change_through_the_poll(pair_world):
    """Does the other member's poll bring the changed field, and answer 204 with no body when nothing changed?"""
    agreement, clients = pair_world
    since = db.session.get(Agreement, agreement.id).change_seq
    poll = f"/agreements/{agreement.id}/changes?since={since}&state=draft"
    quiet = clients["mentee"].get(poll, headers=HTMX)
    assert quiet.status_code == 204 and quiet.get_data() == b""
    autosave(clients["mentor"], agreement, "motto", {"f-motto": "Onwards together"})
    news = clients["mentee"].get(poll, headers=HTMX)
    body = news.get_data(as_text=True)
    assert news.status_code == 200
    assert 'id="field-motto"' in body and 'data-hx-swap-oob="true"' in body and "Onwards together" in body
    assert f"since={since + 1}" in body  # the next poll starts from the new change number
    own = clients["mentor"].get(poll, headers=HTMX)  # the author's own change is not sent back to them
    assert 'id="field-motto"' not in own.get_data(as_text=True)


def test_nothing_changed_costs_one_query(app, pair_world):
    """When nothing changed, does the poll run exactly one SQL statement (session check included)?"""
    agreement, clients = pair_world
    since = db.session.get(Agreement, agreement.id).change_seq
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    rawsql.listen(statements.append)  # the poll's read skips SQLAlchemy's Connection (portal/rawsql.py)
    try:
        response = clients["mentee"].get(f"/agreements/{agreement.id}/changes?since={since}&state=draft",
                                         headers=HTMX)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
        rawsql.remove(statements.append)
    assert response.status_code == 204
    assert len([s for s in statements if not s.startswith(("BEGIN", "COMMIT", "ROLLBACK"))]) == 1


def test_a_clash_on_one_field_shows_both_versions_and_loses_nothing(pair_world):
    """When both edit the same field from the same version, is the later one shown both values to choose from?"""
    agreement, clients = pair_world
    base = version_of(agreement, "story")
    assert autosave(clients["mentor"], agreement, "story", {"f-story": "Words of the mentor"}, base).status_code == 200
    clash = autosave(clients["mentee"], agreement, "story", {"f-story": "Words of the mentee"}, base)
    body = clash.get_data(as_text=True)
    assert clash.status_code == 409
    assert clash.headers["HX-Retarget"] == "#field-story" and clash.headers["HX-Reswap"] == "outerHTML"
    assert "Maya Mentor</strong> changed this" in body
    assert "Words of the mentor" in body and "Words of the mentee" in body  # theirs shown, mine kept in the box
    assert 'name="cv-story" value="1"' in body  # choosing "mine" writes over the partner's version shown
    assert 'name="v-story" value="0"' in body  # and nothing else does: the page stays based on what it showed
    assert "hx-trigger" not in body.split('class="conflict-panel"')[0]  # nothing saves by itself meanwhile
    assert stored(agreement, "story") == "Words of the mentor"
    merged = autosave(clients["mentee"], agreement, "story",
                      {"f-story": "Words of the mentor and the mentee", "resolve": "mine"}, 1)
    assert merged.status_code == 200
    assert 'id="field-story"' in merged.get_data(as_text=True)  # the whole field returns, without the conflict
    assert "conflict-panel" not in merged.get_data(as_text=True)
    assert stored(agreement, "story") == "Words of the mentor and the mentee"
    history = db.session.scalars(db.select(FieldChange).where(FieldChange.field_key == "story")
                                 .order_by(FieldChange.id)).all()
    assert [change.version for change in history] == [1, 2]


def test_use_their_version_returns_the_field_as_stored(pair_world):
    """Does "use their version" bring back the field with the partner's value and current version?"""
    agreement, clients = pair_world
    autosave(clients["mentor"], agreement, "motto", {"f-motto": "Theirs"})
    body = clients["mentee"].get(f"/agreements/{agreement.id}/fields/motto", headers=HTMX).get_data(as_text=True)
    assert 'value="Theirs"' in body and 'name="v-motto" value="1"' in body


def test_the_same_value_twice_is_no_conflict(pair_world):
    """If both type the same thing from the same version, is the second save quietly up to date?"""
    agreement, clients = pair_world
    autosave(clients["mentor"], agreement, "motto", {"f-motto": "Same"}, 0)
    response = autosave(clients["mentee"], agreement, "motto", {"f-motto": "Same"}, 0)
    assert response.status_code == 200 and "Up to date" in response.get_data(as_text=True)


def test_edits_of_different_fields_never_disturb_each_other(pair_world):
    """Can both members save different fields based on the same page load without any conflict?"""
    agreement, clients = pair_world
    assert autosave(clients["mentor"], agreement, "motto", {"f-motto": "Hers"}, 0).status_code == 200
    assert autosave(clients["mentee"], agreement, "story", {"f-story": "His"}, 0).status_code == 200
    assert stored(agreement, "motto") == "Hers" and stored(agreement, "story") == "His"


INVALID = [
    ("motto", {"f-motto": "x" * 21}, "keep it to 20"),
    ("motto", {"f-motto": "two\nlines"}, "one line"),
    ("motto", {"f-motto": "nul\x00byte"}, "control characters"),
    ("story", {"f-story": "y" * 51}, "keep it to 50"),
    ("goals", {"f-goals": ["a", "b", "c", "d"]}, "at most 3 items"),
    ("goals", {"f-goals": ["z" * 31]}, "Goal 1 is 31 characters"),
    ("term_months", {"f-term_months": "13"}, "from 1 to 12 months"),
    ("term_months", {"f-term_months": "three"}, "whole number"),
    ("cadence", {"f-cadence": "yearly"}, "Choose one of the answers listed"),
    ("cadence", {"f-cadence": "other", "f-cadence-other": ""}, "say what it is"),
    ("modes", {"f-modes-face_to_face": "-1"}, "from 0 to 365"),
    ("modes", {"f-modes-phone": "4000"}, "from 0 to 365"),
    ("modes", {"f-modes-other": "2", "f-modes-other_label": ""}, "say what kind"),
    ("start", {"f-start": "31/12/2026"}, "YYYY-MM-DD"),
    ("start", {"f-start": "3026-01-01"}, "between the years 1900 and 2200"),
]


@pytest.mark.parametrize("key,data,message", INVALID, ids=[f"{k}-{m}" for k, _, m in INVALID])
def test_invalid_values_are_explained_and_never_stored(pair_world, key, data, message):
    """Is each invalid value refused with a message next to the field, and nothing stored?"""
    agreement, clients = pair_world
    before = (stored(agreement, key), version_of(agreement, key))
    response = autosave(clients["mentor"], agreement, key, data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True) and 'role="alert"' in response.get_data(as_text=True)
    assert (stored(agreement, key), version_of(agreement, key)) == before


VALID = [
    ("goals", {"f-goals": ["Learn", "", "Lead"]}, ["Learn", "Lead"]),
    ("term_months", {"f-term_months": "6"}, 6),
    ("cadence", {"f-cadence": "other", "f-cadence-other": "fortnightly"},
     {"option": "other", "other_text": "fortnightly"}),
    ("cadence", {"f-cadence": "weekly"}, {"option": "weekly", "other_text": ""}),
    ("modes", {"f-modes-face_to_face": "2", "f-modes-other": "1", "f-modes-other_label": "video"},
     {"counts": {"face_to_face": 2, "other": 1}, "other_label": "video"}),
    ("start", {"f-start": "2026-03-01"}, "2026-03-01"),
    ("story", {"f-story": "  line one\r\nline two  "}, "line one\nline two"),
]


@pytest.mark.parametrize("key,data,expected", VALID, ids=[k for k, _, _ in VALID])
def test_valid_values_are_stored_in_their_canonical_form(pair_world, key, data, expected):
    """Is each kind of valid answer stored as the template's value shape?"""
    agreement, clients = pair_world
    assert autosave(clients["mentee"], agreement, key, data).status_code == 200
    assert stored(agreement, key) == expected


def test_months_field_sets_the_agreement_term(pair_world):
    """Does changing the months field change the agreement's term?"""
    agreement, clients = pair_world
    autosave(clients["mentor"], agreement, "term_months", {"f-term_months": "9"})
    db.session.expire_all()
    assert db.session.get(Agreement, agreement.id).term_months == 9


def test_without_javascript_the_whole_form_saves_and_keeps_what_it_could_not(pair_world):
    """Does "Save all" store the valid fields, and show the invalid one with what was typed still in it?"""
    agreement, clients = pair_world
    data = {"f-motto": "Plain form", "v-motto": "0", "f-term_months": "99", "v-term_months": "0",
            "f-story": "Typed without JS", "v-story": "0"}
    response = clients["mentor"].post(f"/agreements/{agreement.id}", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Saved 2 changes. 1 field needs your attention below: nothing you typed was lost." in page
    only_bad = clients["mentor"].post(f"/agreements/{agreement.id}", data={"f-term_months": "99", "v-term_months": "0"})
    assert "Nothing was saved. 1 field needs your attention below" in only_bad.get_data(as_text=True)
    assert 'value="99"' in page and "from 1 to 12 months" in page
    assert stored(agreement, "motto") == "Plain form" and stored(agreement, "term_months") == 3
    ok = clients["mentor"].post(f"/agreements/{agreement.id}",
                                data={"f-term_months": "4", "v-term_months": "0"})
    assert ok.status_code == 303 and stored(agreement, "term_months") == 4


def test_without_javascript_a_clash_shows_the_conflict_on_the_page(pair_world):
    """With JavaScript off, does a stale save show the conflict view in the page (409) and keep both texts?"""
    agreement, clients = pair_world
    autosave(clients["mentor"], agreement, "story", {"f-story": "First"}, 0)
    response = clients["mentee"].post(f"/agreements/{agreement.id}", data={"f-story": "Second", "v-story": "0"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "changed this" in page and "First" in page and "Second" in page
    assert stored(agreement, "story") == "First"


def test_state_fields_posted_directly_are_ignored(pair_world):
    """Does posting state or version fields that are not on the form change nothing?"""
    agreement, clients = pair_world
    clients["mentor"].post(f"/agreements/{agreement.id}",
                           data={"state": "active", "change_seq": "99", "revision": "7", "pair_id": "999"})
    db.session.expire_all()
    fresh = db.session.get(Agreement, agreement.id)
    assert (fresh.state, fresh.revision, fresh.pair_id) == ("draft", 1, agreement.pair_id)


def test_a_signed_agreement_is_read_only(pair_world):
    """Once the agreement is active, is every edit refused with a clear message and nothing changed?"""
    agreement, clients = pair_world
    db.session.get(Agreement, agreement.id).state = "active"
    db.session.commit()
    response = autosave(clients["mentor"], agreement, "motto", {"f-motto": "Too late"}, 0)
    assert response.status_code == 409 and "read-only" in response.get_data(as_text=True)
    page = clients["mentor"].get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert 'name="f-motto"' not in page
    plain = clients["mentor"].post(f"/agreements/{agreement.id}", data={"f-motto": "x", "v-motto": "0"},
                                   follow_redirects=True)
    assert "read-only" in plain.get_data(as_text=True)
    assert stored(agreement, "motto") is None


def test_supervisor_and_program_admin_see_a_read_only_view_without_pair_only_fields(pair_world):
    """Do the supervisor and the program admin get the agreement read-only with the pair-only field absent?"""
    agreement, clients = pair_world
    autosave(clients["mentor"], agreement, "secret", {"f-secret": "CANARY-pair-only-text"})
    autosave(clients["mentor"], agreement, "motto", {"f-motto": "Visible motto"})
    for who in ("supervisor", "admin"):
        page = clients[who].get(f"/agreements/{agreement.id}").get_data(as_text=True)
        assert "Visible motto" in page
        assert "CANARY" not in page and "Topics we keep to ourselves" not in page
        assert 'name="f-' not in page and "hx-post" not in page.split("<main")[1]
        assert autosave(clients[who], agreement, "motto", {"f-motto": "Edited"}, 1).status_code == 404
        assert clients[who].get(f"/agreements/{agreement.id}/history").status_code == 404
    assert stored(agreement, "motto") == "Visible motto"


def test_outsiders_get_404(app, pair_world):
    """Do a member of another pair and another program's admin get 404 for the agreement?"""
    agreement, _ = pair_world
    other_program = make_program()
    outsider_admin = make_user()
    make_role(outsider_admin, other_program, "admin")
    other_pair = make_pair(other_program)
    for person in (outsider_admin, db.session.get(type(other_pair.mentor), other_pair.mentor_id)):
        client = app.test_client()
        act_as(client, person)
        assert client.get(f"/agreements/{agreement.id}").status_code == 404
        assert client.get(f"/agreements/{agreement.id}/changes?since=0").status_code == 404


def test_pair_only_values_are_encrypted_at_rest(pair_world):
    """Is a pair-only answer stored only as ciphertext (no plaintext column, no plaintext in history)?"""
    agreement, clients = pair_world
    autosave(clients["mentee"], agreement, "secret", {"f-secret": "CANARY-at-rest"})
    row = db.session.scalar(db.select(FieldValue).where(FieldValue.field_key == "secret"))
    assert row.value_json is None and b"CANARY" not in bytes(row.value_ct)
    change = db.session.scalar(db.select(FieldChange).where(FieldChange.field_key == "secret"))
    assert change.new_json is None and b"CANARY" not in bytes(change.new_ct)
    assert stored(agreement, "secret") == "CANARY-at-rest"


def test_history_shows_who_changed_what_and_when(pair_world):
    """Can the pair open the history of the whole agreement and of one field, with old and new values?"""
    agreement, clients = pair_world
    autosave(clients["mentor"], agreement, "motto", {"f-motto": "First motto"})
    autosave(clients["mentee"], agreement, "motto", {"f-motto": "Second motto"})
    autosave(clients["mentee"], agreement, "story", {"f-story": "A story"})
    whole = clients["mentor"].get(f"/agreements/{agreement.id}/history").get_data(as_text=True)
    table = whole.split("<table", 1)[1]
    assert table.index("A story") < table.index("Second motto") < table.index("Maya Mentor")
    one = clients["mentor"].get(f"/agreements/{agreement.id}/history?field=motto").get_data(as_text=True)
    assert "First motto" in one and "Second motto" in one and "A story" not in one
    assert clients["mentor"].get(f"/agreements/{agreement.id}/history?field=nope").status_code == 404


def test_members_see_who_else_is_on_the_page(pair_world):
    """When both have the editor open, does each see the other named as present?"""
    agreement, clients = pair_world
    clients["mentor"].post(f"/agreements/{agreement.id}/presence", headers=HTMX)
    body = clients["mentee"].post(f"/agreements/{agreement.id}/presence", headers=HTMX).get_data(as_text=True)
    assert "On this page now" in body and "Maya Mentor" in body and "Eli Mentee" in body


def count_page_queries(app, client, url) -> int:
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return len([s for s in statements if not s.startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA"))])


def test_the_editor_runs_a_fixed_number_of_queries(app, pair_world):
    """Does the editor page run the same number of SQL statements however many fields and changes there are?"""
    agreement, clients = pair_world
    small = count_page_queries(app, clients["mentor"], f"/agreements/{agreement.id}")
    for n in range(15):
        autosave(clients["mentor"], agreement, "motto", {"f-motto": f"Motto {n}"})
        autosave(clients["mentee"], agreement, "story", {"f-story": f"Story {n}"})
    assert count_page_queries(app, clients["mentor"], f"/agreements/{agreement.id}") == small
    program = db.session.get(type(agreement.pair.program), agreement.pair.program_id)
    big = make_agreement(make_pair(program, db.session.get(type(agreement.pair.mentor), agreement.pair.mentor_id)),
                         make_version(program, "whprms"))  # many more fields and clauses
    assert count_page_queries(app, clients["mentor"], f"/agreements/{big.id}") == small


def test_the_pair_page_lists_the_agreements(pair_world):
    """Does the pair's page list its agreement with state and link?"""
    agreement, clients = pair_world
    page = clients["supervisor"].get(f"/pairs/{agreement.pair_id}").get_data(as_text=True)
    assert f"/agreements/{agreement.id}" in page and "Draft" in page


def test_status_line_ids_match_the_inputs(pair_world):
    """Is every editable input tied to its field's status line (so errors are announced for that field)?"""
    agreement, clients = pair_world
    page = clients["mentor"].get(f"/agreements/{agreement.id}").get_data(as_text=True)
    for key in ("motto", "story", "term_months", "start"):
        assert re.search(rf'id="in-{key}"[^>]*aria-describedby="status-{key}', page), key
        assert f'id="status-{key}"' in page
