"""Review and closure: each state transition, and each refused one."""
from __future__ import annotations

from datetime import timedelta

import pytest

from portal.extensions import db
from portal.models import Agreement, AgreementEvent, AuditEvent, ReviewEntry
from portal.timeutil import utctoday
from tests.factories import outbox
from tests.lifecycle.conftest import build_world

FULL_REVIEW = {"outcome-goal:0": "partly", "outcome-objectives:0": "achieved",
               "outcome-objectives:1": "not_achieved", "outcome-objectives:2": "achieved",
               "conclusion": "I learned to ask for help early."}


def state_of(world) -> str:
    return world.refresh().state


def ended_term(app, **kwargs):
    """An active agreement whose three-month term ended yesterday or earlier."""
    return build_world(app, term_start=utctoday() - timedelta(days=120), **kwargs)


def events(world) -> list[str]:
    return [e.kind for e in db.session.scalars(db.select(AgreementEvent).where(
        AgreementEvent.agreement_id == world.agreement.id).order_by(AgreementEvent.id))]


def review_started(app):
    world = ended_term(app)
    world.client("mentor").post(f"/agreements/{world.agreement.id}/review/start")
    assert state_of(world) == "in_review"
    return world


def test_before_the_term_ends_the_review_starts_when_both_ask(world):
    """Does one member's request only wait (and tell the partner), and the second one start the review?"""
    a = world.agreement
    response = world.client("mentor").post(f"/agreements/{a.id}/review/start", follow_redirects=True)
    assert "once Nina Mentee agrees too" in response.get_data(as_text=True)
    assert state_of(world) == "active"
    [mail] = outbox("review_requested", to=world.people["mentee"].email)
    assert "Maria Mentor would like to start the review" in mail.body
    page = world.client("mentee").get(f"/pairs/{world.pair.id}").get_data(as_text=True)
    assert "Maria Mentor would like to start the review now" in page and "Agree and start the review" in page
    response = world.client("mentee").post(f"/agreements/{a.id}/review/start")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/agreements/{a.id}/review")
    assert state_of(world) == "in_review"
    assert "review_started" in events(world)
    assert world.agreement.change_seq > 0  # open editors see the new state and refresh


def test_asking_twice_tells_the_partner_once(world):
    """Does a second click on "ask to start the review early" leave the partner's inbox alone?"""
    for _ in range(2):
        world.client("mentor").post(f"/agreements/{world.agreement.id}/review/start")
    assert len(outbox("review_requested")) == 1
    assert state_of(world) == "active"


def test_the_review_page_before_the_review_explains_when_it_comes(world):
    """Does the review page of an active agreement say when the review comes, offering no form?"""
    page = world.client("mentee").get(f"/agreements/{world.agreement.id}/review").get_data(as_text=True)
    assert "The review has not started" in page and 'name="conclusion"' not in page


def test_a_request_to_review_early_can_be_withdrawn(world):
    """Can a member take back their request, so that the partner's click alone does not start the review?"""
    a = world.agreement
    world.client("mentor").post(f"/agreements/{a.id}/review/start")
    world.client("mentor").post(f"/agreements/{a.id}/review/withdraw")
    world.client("mentee").post(f"/agreements/{a.id}/review/start")
    assert state_of(world) == "active"


def test_after_the_term_either_member_starts_the_review(app):
    """Once the term has ended, does one member's click start the review, and the page say the term ended?"""
    world = ended_term(app)
    page = world.client("mentee").get(f"/pairs/{world.pair.id}").get_data(as_text=True)
    assert "The term ended on" in page
    world.client("mentee").post(f"/agreements/{world.agreement.id}/review/start")
    assert state_of(world) == "in_review"


@pytest.mark.parametrize("state", ["draft", "signing", "in_review", "closed"])
def test_the_review_only_starts_from_an_active_agreement(app, state):
    """Is starting a review refused for a draft, an agreement being signed, one already in review or closed?"""
    world = ended_term(app, state=state)
    response = world.client("mentor").post(f"/agreements/{world.agreement.id}/review/start", follow_redirects=True)
    assert response.status_code == 200
    assert state_of(world) == state


def test_each_member_reviews_and_then_it_completes(app):
    """Does completing wait for both reviews (outcomes and conclusions), then close as completed, read-only,
    telling the partner?"""
    world = review_started(app)
    a = world.agreement
    refused = world.client("mentor").post(f"/agreements/{a.id}/complete", follow_redirects=True)
    assert "Waiting for the review of Maria Mentor and Nina Mentee" in refused.get_data(as_text=True)
    bad = world.client("mentor").post(f"/agreements/{a.id}/review", data={"conclusion": ""})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Write your learning conclusion" in body and "how far \u201cGoal\u201d" in body
    assert world.client("mentor").post(f"/agreements/{a.id}/review", data=FULL_REVIEW).status_code == 303
    assert b"learned" not in bytes(db.session.scalar(db.select(ReviewEntry.conclusion_ct)))
    still = world.client("mentee").post(f"/agreements/{a.id}/complete", follow_redirects=True)
    assert "Waiting for the review of Nina Mentee" in still.get_data(as_text=True)
    world.client("mentee").post(f"/agreements/{a.id}/review", data={**FULL_REVIEW, "conclusion": "Patience."})
    review_page = world.client("mentor").get(f"/agreements/{a.id}/review").get_data(as_text=True)
    assert "I learned to ask for help early." in review_page and "Patience." in review_page
    assert world.client("mentee").post(f"/agreements/{a.id}/complete").status_code == 303
    world.refresh()
    assert (world.agreement.state, world.agreement.closure_kind) == ("closed", "completed")
    assert world.agreement.closed_by_id == world.people["mentee"].id
    [mail] = outbox("closed_completed", to=world.people["mentor"].email)
    assert "Nina Mentee has completed your mentorship" in mail.body
    page = world.client("mentor").get(f"/pairs/{world.pair.id}").get_data(as_text=True)
    assert "The mentorship was completed" in page and "by Nina Mentee" in page
    assert "<td>Partly achieved</td>" in page  # outcomes shown with the review
    audit = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "agreement.closed"))
    assert '"kind": "completed"' in audit.detail


def test_after_closing_the_members_can_still_reach_their_reviews(app):
    """Once the mentorship is completed, do the pair page and the closed agreement lead both members back to
    their reviews and learning conclusions, while the supervisor is offered no such link?"""
    world = review_started(app)
    a = world.agreement
    world.client("mentor").post(f"/agreements/{a.id}/review", data=FULL_REVIEW)
    world.client("mentee").post(f"/agreements/{a.id}/review", data={**FULL_REVIEW, "conclusion": "Patience."})
    assert world.client("mentee").post(f"/agreements/{a.id}/complete").status_code == 303
    review_url = f'href="/agreements/{a.id}/review"'
    for member in ("mentor", "mentee"):
        for url in (f"/pairs/{world.pair.id}", f"/agreements/{a.id}"):
            assert review_url in world.client(member).get(url).get_data(as_text=True), (member, url)
        reviews = world.client(member).get(f"/agreements/{a.id}/review").get_data(as_text=True)
        assert "I learned to ask for help early." in reviews and "Patience." in reviews
    followed = world.client("supervisor").get(f"/pairs/{world.pair.id}")
    assert followed.status_code == 200 and review_url not in followed.get_data(as_text=True)
    assert world.client("supervisor").get(f"/agreements/{a.id}/review").status_code == 404


def test_either_member_ends_early_without_blame_and_only_the_category_reaches_the_program(world):
    """Does ending early close the agreement, tell the partner by page and e-mail, and show the reason
    category to the program admin, not to the supervisor?"""
    a = world.agreement
    form = world.client("mentee").get(f"/agreements/{a.id}/end").get_data(as_text=True)
    assert "without blame" in form and "I prefer not to say" in form
    bad = world.client("mentee").post(f"/agreements/{a.id}/end", data={"reason": "because I say so"})
    assert bad.status_code == 422 and "Choose one of the reasons" in bad.get_data(as_text=True)
    assert state_of(world) == "active"
    assert world.client("mentee").post(f"/agreements/{a.id}/end", data={"reason": "schedule"}).status_code == 303
    world.refresh()
    assert (world.agreement.state, world.agreement.closure_kind, world.agreement.closure_reason) == \
        ("closed", "early", "schedule")
    [mail] = outbox("closed_early", to=world.people["mentor"].email)
    assert "ended your mentorship" in mail.body and "without blame" in mail.body
    mentor_page = world.client("mentor").get(f"/pairs/{world.pair.id}").get_data(as_text=True)
    assert "ended early, without blame, by Nina Mentee" in mentor_page
    assert "Schedule or availability" in world.client("admin").get(f"/pairs/{world.pair.id}").get_data(as_text=True)
    supervisor_page = world.client("supervisor").get(f"/pairs/{world.pair.id}").get_data(as_text=True)
    assert "ended early" in supervisor_page and "Schedule or availability" not in supervisor_page


def test_ending_without_a_reason_is_fine(world):
    """Can a member end the mentorship giving no reason at all?"""
    world.client("mentor").post(f"/agreements/{world.agreement.id}/end", data={"reason": ""})
    world.refresh()
    assert world.agreement.closure_kind == "early" and world.agreement.closure_reason is None


@pytest.mark.parametrize("state", ["draft", "signing", "closed"])
def test_only_an_active_or_reviewed_agreement_can_be_ended(app, state):
    """Is ending a draft, an agreement being signed, or a closed one refused, changing nothing?"""
    world = build_world(app, state=state)
    response = world.client("mentor").post(f"/agreements/{world.agreement.id}/end", data={"reason": ""},
                                           follow_redirects=True)
    assert response.status_code == 200
    world.refresh()
    assert world.agreement.state == state and world.agreement.closure_kind is None


def test_completing_is_refused_before_the_review(world):
    """Is closing an active agreement as completed refused (the review comes first)?"""
    response = world.client("mentor").post(f"/agreements/{world.agreement.id}/complete", follow_redirects=True)
    assert "Start your review first" in response.get_data(as_text=True)
    assert state_of(world) == "active"


def test_a_closed_agreement_is_read_only_for_ever(world):
    """After closing, are editing a field, logging progress, reviewing and reopening all refused, while the
    pair still reads everything?"""
    a = world.agreement
    world.client("mentor").post(f"/agreements/{a.id}/end", data={"reason": ""})
    client = world.client("mentee")
    edit = client.post(f"/agreements/{a.id}/fields/goal", data={"f-goal": "Changed", "v-goal": "1"})
    assert edit.status_code in (303, 409)
    assert client.post(f"/agreements/{a.id}", data={"f-goal": "Changed", "v-goal": "1"}).status_code == 303
    client.post(f"/agreements/{a.id}/progress", data={"status-goal:0": "achieved"})
    client.post(f"/agreements/{a.id}/review", data=FULL_REVIEW)
    client.post(f"/agreements/{a.id}/review/start")
    world.refresh()
    assert world.agreement.state == "closed"
    assert db.session.scalar(db.select(db.func.count(ReviewEntry.id))) == 0
    page = client.get(f"/agreements/{a.id}").get_data(as_text=True)
    assert "Lead the regional patient-safety committee" in page and "read-only for ever" in page
    assert 'id="agreement-form"' not in page


def test_nobody_outside_the_pair_can_move_it(app):
    """Do the supervisor, the program admin, a site admin and an outsider get a 404 for every lifecycle
    action, and does the agreement stay as it was?"""
    world = review_started(app)
    a = world.agreement
    actions = [("post", f"/agreements/{a.id}/review/start", {}), ("post", f"/agreements/{a.id}/review/withdraw", {}),
               ("get", f"/agreements/{a.id}/review", None), ("post", f"/agreements/{a.id}/review", FULL_REVIEW),
               ("post", f"/agreements/{a.id}/complete", {}), ("get", f"/agreements/{a.id}/end", None),
               ("post", f"/agreements/{a.id}/end", {"reason": ""}), ("get", f"/agreements/{a.id}/renew", None),
               ("post", f"/agreements/{a.id}/renew", {}), ("post", f"/agreements/{a.id}/goals/confirm", {}),
               ("post", f"/agreements/{a.id}/progress", {}), ("get", f"/pairs/{world.pair.id}/help", None),
               ("post", f"/pairs/{world.pair.id}/help", {"message": "x"}),
               ("get", f"/pairs/{world.pair.id}/export.json", None)]
    for who in ("supervisor", "admin", "site_admin", "outsider"):
        for method, url, data in actions:
            response = getattr(world.client(who), method)(url, data=data)
            assert response.status_code == 404, f"{who} {method} {url}: {response.status_code}"
    assert state_of(world) == "in_review"
    assert db.session.scalar(db.select(db.func.count(Agreement.id))) == 1
