"""The demo shows the mentorship's life: meetings and progress, a pair that ended early, a renewed chain,
a request for help, and the dashboards that follow them."""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models import Agreement, Pair, User
from tests.factories import sign_in


@pytest.fixture
def demo(app, runner):
    assert "Demo data loaded" in runner.invoke(args=["seed-demo"]).output

    def client_for(email):
        client = app.test_client()
        assert sign_in(client, email, app.config["DEMO_PASSWORD"]).status_code == 303
        return client
    return client_for


def pair_of(mentee_email: str) -> Pair:
    mentee = db.session.scalar(db.select(User).where(User.email == mentee_email))
    return db.session.scalar(db.select(Pair).where(Pair.mentee_id == mentee.id))


def test_the_demo_pair_has_meetings_progress_and_a_request_for_help(demo):
    """Does WHPRMS pair 1 show its meetings against the commitment, its progress and its help request?"""
    pair = pair_of("mentee1@demo.test")
    page = demo("mentor1@demo.test").get(f"/pairs/{pair.id}").get_data(as_text=True)
    assert "All meetings</th><td>3 (135 minutes)" in page.replace("\n", "")
    assert "Nina sent her draft" in page  # a summary, for the pair
    assert "Nina Mentee asked WHPRMS Mentor Program for help" in page
    supervisor_page = demo("supervisor@demo.test").get(f"/pairs/{pair.id}").get_data(as_text=True)
    assert "Achieved" in supervisor_page and "Nina sent her draft" not in supervisor_page
    board = demo("whprms.admin@demo.test").get(f"/programs/{pair.program_id}/dashboard").get_data(as_text=True)
    assert "Help asked" in board and "Our Monday slot no longer works" in board


def test_the_demo_shows_an_early_ending_and_a_renewed_chain(demo):
    """Is WHPRMS pair 2 ended early, and CCMC pair 1 renewed with the new agreement waiting for goals?"""
    ended = pair_of("mentee2@demo.test")
    page = demo("mentor2@demo.test").get(f"/pairs/{ended.id}").get_data(as_text=True)
    assert "ended early, without blame, by Priya Mentee" in page and "Schedule or availability" in page
    renewed = pair_of("mentee3@demo.test")
    first, second = db.session.scalars(db.select(Agreement).where(Agreement.pair_id == renewed.id)
                                       .order_by(Agreement.id)).all()
    assert (first.state, first.closure_kind, second.predecessor_id, second.state) == \
        ("closed", "renewed", first.id, "draft")
    mentor_home = demo("mentor3@demo.test").get("/").get_data(as_text=True)
    assert "Confirm the goals of your new agreement." in mentor_home
    page = demo("mentor3@demo.test").get(f"/agreements/{second.id}").get_data(as_text=True)
    assert "Rosa Mentee: <strong>confirmed</strong>" in page
    board = demo("ccmc.admin@demo.test").get(f"/programs/{renewed.program_id}/dashboard").get_data(as_text=True)
    assert "Quinn Mentor" in board
    # One renewal: neither counted exactly nor named (its name alone would say there are one or two).
    assert '<th scope="row">Other endings</th><td>fewer than 3</td>' in board
    assert '<th scope="row">Renewed</th>' not in board
