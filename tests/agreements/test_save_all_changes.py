"""Without JavaScript, "Save all changes" posts every field of the page: only the fields the person changed on
that page count, and a partner's newer answer is never written over unless the person chooses so, seeing both."""
from __future__ import annotations

import re

import pytest

from portal.domain.template_format import parse_definition
from portal.domain.template_store import create_template, publish
from portal.extensions import db
from portal.models import Agreement, FieldChange
from tests.factories import make_agreement, make_pair, make_program, make_user, sign_in
from tests.notes.html_forms import form_posting_to

MENTOR_KEYS = ("motto", "story", "place", "first_topic")
MENTEE_KEYS = ("hope", "worry", "habit", "last_topic")

TEMPLATE = {
    "format": "mentorship-agreement-template", "format_version": 1,
    "name": "Eight answers", "title": "Eight answers", "intro": "",
    "sections": [{"key": "answers", "title": "Answers", "intro": "", "fields": [
        *({"key": key, "type": "short_text", "label": f"Answer {key}"} for key in MENTOR_KEYS + MENTEE_KEYS),
        {"key": "term_months", "type": "number", "label": "Meet for ____ months.", "min": 1, "max": 12,
         "suggested": 3, "unit": "months"},
        {"key": "cadence", "type": "choice", "label": "We meet ____.",
         "options": [{"value": "weekly", "label": "weekly"}, {"value": "monthly", "label": "monthly"}]},
    ]}],
}


@pytest.fixture
def pair_world(app):
    program = make_program(code="SAV", name="Save Program")
    mentor, mentee = make_user(name="Maya Mentor"), make_user(name="Eli Mentee")
    version = publish(create_template(program, parse_definition(TEMPLATE), None), None)
    db.session.commit()
    agreement = make_agreement(make_pair(program, mentor, mentee), version)
    clients = {}
    for name, person in (("mentor", mentor), ("mentee", mentee)):
        clients[name] = app.test_client()
        sign_in(clients[name], person)
    return agreement, clients


def stored(agreement: Agreement) -> dict:
    from portal.domain.agreements import read_fields, values_of
    from portal.domain.template_store import definition_of
    db.session.expire_all()
    agreement = db.session.get(Agreement, agreement.id)
    return values_of(read_fields(agreement, definition_of(agreement.template_version), True))


def save_all(client, agreement, page: str, **values):
    """Press "Save all changes" on `page` (as loaded earlier) after typing `values` into it."""
    action = f"/agreements/{agreement.id}"
    form = form_posting_to(page, action)
    assert all(f"f-{key}" in form.fields or key == "cadence" for key in values)  # radios: sent once checked
    return client.post(action, data={**form.fields, **{f"f-{key}": value for key, value in values.items()}},
                       csrf=False)


def test_two_members_saving_different_fields_from_older_pages_keep_both(pair_world):
    """Both open the agreement; the mentor fills four fields and saves all; the mentee, on the older page, fills
    four others and saves all: are all eight saved, none shown as a conflict, and the mentor's four untouched?"""
    agreement, clients = pair_world
    url = f"/agreements/{agreement.id}"
    mentor_page = clients["mentor"].get(url).get_data(as_text=True)
    mentee_page = clients["mentee"].get(url).get_data(as_text=True)
    mentor_answers = {key: f"mentor says {key}" for key in MENTOR_KEYS}
    mentee_answers = {key: f"mentee says {key}" for key in MENTEE_KEYS}

    assert save_all(clients["mentor"], agreement, mentor_page, **mentor_answers).status_code == 303
    response = save_all(clients["mentee"], agreement, mentee_page, **mentee_answers)

    assert response.status_code == 303, response.get_data(as_text=True)
    after = clients["mentee"].get(url).get_data(as_text=True)
    assert "Saved 4 changes." in after and "changed this" not in after
    values = stored(agreement)
    assert {key: values[key] for key in MENTOR_KEYS} == mentor_answers
    assert {key: values[key] for key in MENTEE_KEYS} == mentee_answers
    assert values["term_months"] == 3 and values["cadence"] is None
    mentee_id = db.session.get(Agreement, agreement.id).pair.mentee_id
    written_by_mentee = db.session.scalars(db.select(FieldChange.field_key).where(
        FieldChange.agreement_id == agreement.id, FieldChange.user_id == mentee_id)).all()
    assert sorted(written_by_mentee) == sorted(MENTEE_KEYS)


def test_an_untouched_field_never_takes_back_a_partners_change(pair_world):
    """The mentee changes the term and the meeting rhythm; the mentor, on a page from before, saves all with
    only the motto changed: do the mentee's answers stay, with nothing to resolve?"""
    agreement, clients = pair_world
    url = f"/agreements/{agreement.id}"
    mentor_page = clients["mentor"].get(url).get_data(as_text=True)
    mentee_page = clients["mentee"].get(url).get_data(as_text=True)
    assert save_all(clients["mentee"], agreement, mentee_page, term_months="7", cadence="weekly").status_code == 303

    response = save_all(clients["mentor"], agreement, mentor_page, motto="Onwards")

    assert response.status_code == 303
    values = stored(agreement)
    assert values["term_months"] == 7 and values["cadence"] == {"option": "weekly", "other_text": ""}
    assert values["motto"] == "Onwards"
    assert db.session.get(Agreement, agreement.id).term_months == 7


def test_a_real_clash_shows_both_versions_and_overwrites_only_when_chosen(pair_world):
    """Both change the same answer: does the later one see the partner's current answer and their own side by
    side, does "Save all changes" again keep the partner's answer, and does only the clearly labelled choice
    replace it (and, if the partner changed it once more meanwhile, show the clash again instead)?"""
    agreement, clients = pair_world
    url = f"/agreements/{agreement.id}"
    mentor_page = clients["mentor"].get(url).get_data(as_text=True)
    mentee_page = clients["mentee"].get(url).get_data(as_text=True)
    assert save_all(clients["mentor"], agreement, mentor_page, motto="Motto of the mentor").status_code == 303

    clash = save_all(clients["mentee"], agreement, mentee_page, motto="Motto of the mentee", hope="Saved anyway")

    assert clash.status_code == 409
    page = clash.get_data(as_text=True)
    panel = page.split('class="conflict-panel"', 1)[1].split('class="conflict-actions"', 1)[0]
    assert "Maya Mentor" in panel and "Their version, saved now:" in panel and "Motto of the mentor" in panel
    assert "Your version, not saved:" in panel and "Motto of the mentee" in panel
    assert "Replace their version with mine" in page
    assert stored(agreement)["motto"] == "Motto of the mentor" and stored(agreement)["hope"] == "Saved anyway"

    again = save_all(clients["mentee"], agreement, page)  # "Save all changes" is not the choice to overwrite
    assert again.status_code == 409 and stored(agreement)["motto"] == "Motto of the mentor"

    replace = re.search(r'formaction="([^"]+)"\s+name="resolve" value="mine"', page)
    form = form_posting_to(page, url)
    newer = clients["mentor"].get(url).get_data(as_text=True)
    assert save_all(clients["mentor"], agreement, newer, motto="Second motto of the mentor").status_code == 303
    late = clients["mentee"].post(replace.group(1), data={**form.fields, "resolve": "mine"}, csrf=False)
    assert late.status_code == 409 and "Second motto of the mentor" in late.get_data(as_text=True)
    assert stored(agreement)["motto"] == "Second motto of the mentor"

    late_page = late.get_data(as_text=True)
    replace = re.search(r'formaction="([^"]+)"\s+name="resolve" value="mine"', late_page)
    chosen = clients["mentee"].post(replace.group(1), data={**form_posting_to(late_page, url).fields,
                                                            "resolve": "mine"}, csrf=False)
    assert chosen.status_code == 303
    assert stored(agreement)["motto"] == "Motto of the mentee"


def test_a_refused_answer_is_saved_later_only_over_what_the_page_showed(pair_world):
    """The mentee saves the motto; the mentor, on a page from before, types a motto too long to store and saves
    all: once corrected and saved again, does the mentor see the mentee's motto beside theirs (a clash) rather
    than write over it unseen?"""
    agreement, clients = pair_world
    url = f"/agreements/{agreement.id}"
    mentor_page = clients["mentor"].get(url).get_data(as_text=True)
    mentee_page = clients["mentee"].get(url).get_data(as_text=True)
    assert save_all(clients["mentee"], agreement, mentee_page, motto="Motto the mentee saved").status_code == 303

    refused = save_all(clients["mentor"], agreement, mentor_page, motto="x" * 300)
    assert refused.status_code == 422 and "x" * 300 in refused.get_data(as_text=True)

    corrected = save_all(clients["mentor"], agreement, refused.get_data(as_text=True), motto="Motto the mentor corrected")
    assert corrected.status_code == 409
    assert "Motto the mentee saved" in corrected.get_data(as_text=True).split('class="conflict-panel"', 1)[1]
    assert stored(agreement)["motto"] == "Motto the mentee saved"


def test_choosing_my_version_keeps_the_other_answers_typed_on_the_page(pair_world):
    """On the page that shows a clash, the mentee also changes another answer, then chooses "Replace their
    version with mine": are both saved, and does the page say so?"""
    agreement, clients = pair_world
    url = f"/agreements/{agreement.id}"
    mentor_page = clients["mentor"].get(url).get_data(as_text=True)
    mentee_page = clients["mentee"].get(url).get_data(as_text=True)
    assert save_all(clients["mentor"], agreement, mentor_page, motto="Motto of the mentor").status_code == 303
    clash = save_all(clients["mentee"], agreement, mentee_page, motto="Motto of the mentee").get_data(as_text=True)

    replace = re.search(r'formaction="([^"]+)"\s+name="resolve" value="mine"', clash)
    fields = {**form_posting_to(clash, url).fields, "f-place": "The library", "resolve": "mine"}
    chosen = clients["mentee"].post(replace.group(1), data=fields, csrf=False)

    assert chosen.status_code == 303
    assert stored(agreement)["motto"] == "Motto of the mentee" and stored(agreement)["place"] == "The library"
    assert "and 1 other change" in clients["mentee"].get(url).get_data(as_text=True)


def test_a_garbled_version_keeps_what_was_typed_and_writes_over_nothing(pair_world):
    """A form whose version of an answer is garbled: is the typed answer kept in the box (not emptied), and
    does saving that page again show the stored answer beside it instead of writing over it?"""
    agreement, clients = pair_world
    url = f"/agreements/{agreement.id}"
    mentee_page = clients["mentee"].get(url).get_data(as_text=True)
    assert save_all(clients["mentee"], agreement, mentee_page, motto="Stored motto").status_code == 303
    form = form_posting_to(clients["mentor"].get(url).get_data(as_text=True), url)

    garbled = clients["mentor"].post(url, data={**form.fields, "v-motto": "garbage", "f-motto": "Typed motto"},
                                     csrf=False)
    assert garbled.status_code == 422
    page = garbled.get_data(as_text=True)
    assert 'value="Typed motto"' in page

    again = save_all(clients["mentor"], agreement, page)
    assert again.status_code == 409 and stored(agreement)["motto"] == "Stored motto"
