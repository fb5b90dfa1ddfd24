"""Renewal ("continuation"): a successor agreement pre-filled from the old one, on the newest template
version if the pair chooses, with goals that both confirm again; the chain stays visible."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from portal.domain.agreements import read_fields, save_field, values_of
from portal.domain.commitments import goal_items
from portal.domain.lifecycle import goals_confirmed
from portal.domain.template_format import definition_to_dict, parse_definition
from portal.domain.template_store import definition_of, new_draft_version, publish
from portal.extensions import db
from portal.models import Agreement, FieldValue, GoalConfirmation
from portal.timeutil import utctoday
from tests.factories import outbox
from tests.lifecycle.conftest import build_world
from tests.lifecycle.test_transitions import FULL_REVIEW


def reviewed(app, **kwargs):
    """An agreement whose term ended, in review, both reviews written."""
    world = build_world(app, term_start=kwargs.pop("term_start", utctoday() - timedelta(days=120)), **kwargs)
    a = world.agreement
    world.client("mentor").post(f"/agreements/{a.id}/review/start")
    definition = definition_of(a.template_version)
    items = goal_items(definition, values_of(read_fields(a, definition, include_pair_only=False)))
    review = {f"outcome-{item.ref}": "achieved" for item in items} | {"conclusion": "Worth it."}
    for who in ("mentor", "mentee"):
        assert world.client(who).post(f"/agreements/{a.id}/review", data=review).status_code == 303
    return world


def newer_version(world, drop: str = "learning_opportunities"):
    """Version 2 of the template without one field and with a longer allowed term."""
    data = definition_to_dict(definition_of(world.version))
    for section in data["sections"]:
        section["fields"] = [f for f in section["fields"] if f["key"] != drop]
    version = publish(new_draft_version(world.version.template, None, parse_definition(data)), None)
    db.session.commit()
    return version


def successor_of(world) -> Agreement:
    db.session.expire_all()
    return db.session.scalar(db.select(Agreement).where(Agreement.predecessor_id == world.agreement.id))


def test_renewal_makes_a_prefilled_successor_with_a_new_term(app):
    """Does renewing create a draft linked to the old agreement, carrying every value (pair-only too), with a
    term starting the day after the old one ends and of the same length, and close the old one as renewed?"""
    world = reviewed(app, shipped="ccmc", answers={
        "goals": ["Pass the CCM exam", "Lead case conferences"],
        "meeting_period": {"option": "weekly", "other_text": ""}, "off_limits_topics": ["My previous employer"]})
    old = world.agreement
    page = world.client("mentor").get(f"/agreements/{old.id}/renew").get_data(as_text=True)
    assert "Everything you wrote is carried over." in page
    assert f'value="{(old.term_end + timedelta(days=1)).isoformat()}"' in page
    response = world.client("mentor").post(f"/agreements/{old.id}/renew", data={
        "version_id": str(old.template_version_id), "term_start": (old.term_end + timedelta(days=1)).isoformat(),
        "term_months": str(old.term_months)})
    new = successor_of(world)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/agreements/{new.id}")
    assert new.state == "draft" and new.pair_id == old.pair_id
    assert new.term_start == old.term_end + timedelta(days=1) and new.term_months == old.term_months
    values = values_of(read_fields(new, definition_of(new.template_version), include_pair_only=True))
    assert values["goals"] == ["Pass the CCM exam", "Lead case conferences"]
    assert values["off_limits_topics"] == ["My previous employer"]
    assert values["term_months"] == old.term_months
    world.refresh()
    assert (world.agreement.state, world.agreement.closure_kind) == ("closed", "renewed")
    [mail] = outbox("closed_renewed", to=world.people["mentee"].email)
    assert "new agreement" in mail.body
    pair_page = world.client("mentee").get(f"/pairs/{world.pair.id}").get_data(as_text=True)
    assert "Continues the agreement of" in pair_page and "First agreement" in pair_page
    assert f'href="/agreements/{old.id}/review">Reviews and learning conclusions' in pair_page
    old_page = world.client("mentee").get(f"/agreements/{old.id}").get_data(as_text=True)
    assert "Open the agreement that continues it" in old_page


def test_moving_to_the_newest_version_lists_what_no_longer_exists(app):
    """Offered the program's newest version, does the pair see what would not be carried over, and does the
    successor use that version?"""
    world = reviewed(app)
    world.refresh()
    definition = definition_of(world.agreement.template_version)
    # learning_opportunities was filled in while drafting: fill it now through the rules' back door
    world.agreement.state = "draft"
    field = definition.field("learning_opportunities")
    current = read_fields(world.agreement, definition, include_pair_only=True)["learning_opportunities"]
    save_field(world.agreement, definition, field, "Shadow the chair", current.version, world.people["mentor"])
    world.agreement.state = "in_review"
    db.session.commit()
    version_2 = newer_version(world)
    page = world.client("mentee").get(f"/agreements/{world.agreement.id}/renew").get_data(as_text=True)
    assert "The program's newest version (version 2)" in page
    assert "(no longer in the agreement)" in page and "opportunities and experiences" in page
    world.client("mentee").post(f"/agreements/{world.agreement.id}/renew", data={
        "version_id": str(version_2.id), "term_start": (world.agreement.term_end + timedelta(days=1)).isoformat(),
        "term_months": "6"})
    new = successor_of(world)
    assert new.template_version_id == version_2.id and new.term_months == 6
    assert "Not carried over" in world.client("mentee").get(f"/agreements/{new.id}").get_data(as_text=True)


def test_renewal_form_mistakes_are_explained(app):
    """Are an unknown version, a start before the old term's, and a term out of range refused with 422?"""
    world = reviewed(app)
    response = world.client("mentor").post(f"/agreements/{world.agreement.id}/renew", data={
        "version_id": "99999", "term_start": "2000-01-01", "term_months": "0"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Choose which version" in body
    response = world.client("mentor").post(f"/agreements/{world.agreement.id}/renew", data={
        "version_id": str(world.agreement.template_version_id), "term_start": "2000-01-01", "term_months": "99"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "must start after the previous one started" in body and "from 1 to 24 months" in body
    assert successor_of(world) is None


@pytest.mark.parametrize("situation", ["active", "closed_early", "completed", "unreviewed"])
def test_renewal_is_refused_outside_a_finished_review(app, situation):
    """Is renewing refused for an active agreement, one that ended early, a completed one, and one whose
    review is not written?"""
    world = build_world(app, term_start=utctoday() - timedelta(days=120))
    a = world.agreement
    if situation == "closed_early":
        world.client("mentor").post(f"/agreements/{a.id}/end", data={"reason": ""})
    elif situation in ("completed", "unreviewed"):
        world.client("mentor").post(f"/agreements/{a.id}/review/start")
        if situation == "completed":
            world.client("mentor").post(f"/agreements/{a.id}/review", data=FULL_REVIEW)
            world.client("mentee").post(f"/agreements/{a.id}/review", data=FULL_REVIEW)
            world.client("mentor").post(f"/agreements/{a.id}/complete")
    response = world.client("mentee").post(f"/agreements/{a.id}/renew", data={
        "version_id": str(a.template_version_id), "term_start": (a.term_end + timedelta(days=1)).isoformat(),
        "term_months": "3"}, follow_redirects=True)
    body = response.get_data(as_text=True)
    assert successor_of(world) is None
    expected = {"active": "Start your review first", "closed_early": "ended early and cannot be renewed",
                "completed": "closed and cannot be renewed", "unreviewed": "Waiting for the review"}[situation]
    assert expected in body


def test_both_members_confirm_the_renewed_goals_and_a_change_asks_again(app):
    """Is goals_confirmed false until both confirm, and false again when a goal changes afterwards?"""
    world = reviewed(app)
    a = world.agreement
    world.client("mentor").post(f"/agreements/{a.id}/renew", data={
        "version_id": str(a.template_version_id), "term_start": (a.term_end + timedelta(days=1)).isoformat(),
        "term_months": "3"})
    new = successor_of(world)
    page = world.client("mentor").get(f"/agreements/{new.id}").get_data(as_text=True)
    assert "Confirm your goals for the new term" in page and "I confirm these goals" in page
    assert not goals_confirmed(new)
    assert world.client("mentor").post(f"/agreements/{new.id}/goals/confirm").status_code == 303
    assert not goals_confirmed(new)
    world.client("mentee").post(f"/agreements/{new.id}/goals/confirm")
    db.session.expire_all()
    assert goals_confirmed(db.session.get(Agreement, new.id))
    assert db.session.scalar(db.select(db.func.count(GoalConfirmation.agreement_id))) == 2
    new = db.session.get(Agreement, new.id)
    definition = definition_of(new.template_version)
    current = read_fields(new, definition, include_pair_only=True)["objectives"]
    save_field(new, definition, definition.field("objectives"), ["A brand new objective"], current.version,
               world.people["mentee"])
    db.session.commit()
    assert not goals_confirmed(new)
    page = world.client("mentor").get(f"/agreements/{new.id}").get_data(as_text=True)
    assert "the goals changed since" in page


def test_a_first_agreement_needs_no_confirmation(world):
    """Does goals_confirmed hold for a first agreement, and is confirming one refused?"""
    assert goals_confirmed(world.agreement)
    response = world.client("mentor").post(f"/agreements/{world.agreement.id}/goals/confirm", follow_redirects=True)
    assert "Goals are confirmed while the new agreement is being prepared" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(GoalConfirmation.agreement_id))) == 0


def test_renewal_default_term_uses_month_ends(app):
    """Does a term ending on 30 April give a renewal starting on 1 May?"""
    world = reviewed(app, term_start=date(2025, 1, 31))
    world.refresh()
    assert world.agreement.term_end == date(2025, 4, 29)  # 31 Jan + 3 months = 30 Apr (clamped), minus a day
    page = world.client("mentor").get(f"/agreements/{world.agreement.id}/renew").get_data(as_text=True)
    assert 'value="2025-04-30"' in page


def test_renewing_after_an_early_review_starts_the_new_term_today(app):
    """When the pair reviewed a month before its term ends, does the renewal form propose today (renewing
    closes the old agreement now) and say why, rather than a start months away?"""
    world = build_world(app, term_start=utctoday() - timedelta(days=30))
    a = world.agreement
    for who in ("mentor", "mentee"):
        world.client(who).post(f"/agreements/{a.id}/review/start")
    definition = definition_of(a.template_version)
    items = goal_items(definition, values_of(read_fields(a, definition, include_pair_only=False)))
    review = {f"outcome-{item.ref}": "partly" for item in items} | {"conclusion": "Done sooner."}
    for who in ("mentor", "mentee"):
        assert world.client(who).post(f"/agreements/{a.id}/review", data=review).status_code == 303
    world.refresh()
    assert world.agreement.state == "in_review" and world.agreement.term_end > utctoday()
    page = world.client("mentor").get(f"/agreements/{a.id}/renew").get_data(as_text=True)
    assert f'value="{utctoday().isoformat()}"' in page
    assert "By default today: you reviewed before this term ends" in page
    world.client("mentor").post(f"/agreements/{a.id}/renew", data={
        "version_id": str(a.template_version_id), "term_start": utctoday().isoformat(),
        "term_months": str(a.term_months)})
    assert successor_of(world).term_start == utctoday()


def test_renewal_keeps_a_pair_only_answer_pair_only(app):
    """Does renewal keep a pair-only answer pair-only? When the program's newest version shares a field that
    was confidential to the pair, is the answer left out (not copied, not stored in plain text, not shown to
    the supervisor or the program) and listed as not carried over, with the reason, on the renewal page and
    on the new draft?"""
    secret = "CANARY-renewal-my-previous-employer"
    world = reviewed(app, shipped="ccmc", answers={
        "goals": ["Pass the CCM exam"], "meeting_period": {"option": "weekly", "other_text": ""},
        "off_limits_topics": [secret]})
    old = world.agreement
    data = definition_to_dict(definition_of(world.version))
    for section in data["sections"]:
        for field in section["fields"]:
            if field["key"] == "off_limits_topics":
                field["pair_only"] = False  # version 2 shares the list with the program
    version_2 = publish(new_draft_version(world.version.template, None, parse_definition(data)), None)
    db.session.commit()
    reason = ("was confidential to the two of you; the new version shares this answer with the program, "
              "so it was not copied")
    page = world.client("mentor").get(f"/agreements/{old.id}/renew").get_data(as_text=True)
    assert reason in page and "Issues that are off limits for discussion include" in page
    response = world.client("mentor").post(f"/agreements/{old.id}/renew", data={
        "version_id": str(version_2.id), "term_start": (old.term_end + timedelta(days=1)).isoformat(),
        "term_months": "3"}, follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "Not carried over" in body and reason in body
    new = successor_of(world)
    assert new.template_version_id == version_2.id
    values = values_of(read_fields(new, definition_of(new.template_version), include_pair_only=True))
    assert values["off_limits_topics"] in (None, [])
    assert values["goals"] == ["Pass the CCM exam"]  # what may be carried still is
    stored = db.session.scalars(db.select(FieldValue.value_json).where(FieldValue.agreement_id == new.id)).all()
    assert not any(secret in (text or "") for text in stored)
    for who in ("supervisor", "admin"):
        for url in (f"/agreements/{new.id}", f"/pairs/{world.pair.id}",
                    f"/programs/{world.program.id}/dashboard.csv"):
            assert secret not in world.client(who).get(url).get_data(as_text=True), (who, url)
