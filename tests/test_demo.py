"""The demo a new user meets after `make run`: every account signs in and lands on a home page for its role."""
from __future__ import annotations

import pytest

from portal import demo

EXPECTED_ON_HOME = {
    "admin@demo.test": "Site administration",
    "whprms.admin@demo.test": "Programs you run",
    "ccmc.admin@demo.test": "Programs you run",
    "supervisor@demo.test": "Pairs you supervise",
    "mentor1@demo.test": "You mentor",
    "mentee1@demo.test": "Your mentor is",
}


@pytest.fixture
def seeded(runner):
    assert "Demo data loaded" in runner.invoke(args=["seed-demo"]).output


@pytest.mark.parametrize("email,name,_", demo.ACCOUNTS)
def test_every_demo_account_lands_on_its_home(app, client, seeded, email, name, _):
    """Can each demo account sign in with the demo password and see a home page meant for it?"""
    from tests.factories import sign_in
    response = sign_in(client, email, app.config["DEMO_PASSWORD"])
    assert response.status_code == 303
    page = client.get("/").get_data(as_text=True)
    assert f"Welcome, {name}" in page
    assert "Nothing here yet" not in page
    if email in EXPECTED_ON_HOME:
        assert EXPECTED_ON_HOME[email] in page


def test_readme_lists_every_demo_account(app):
    """Does the README list every demo account and the demo password?"""
    from pathlib import Path
    readme = (Path(app.root_path).parent / "README.md").read_text()
    assert app.config["DEMO_PASSWORD"] in readme
    for email, _, _ in demo.ACCOUNTS:
        assert email in readme


def test_the_demo_shows_an_active_agreement_and_one_being_signed(app, client, seeded):
    """Does the demo hold a signed, active agreement (WHPRMS pair 1, with its PDF copies sent), one that ended
    early (WHPRMS pair 2) and one waiting for its second signature (CCMC pair 2)?"""
    from portal.domain import signing
    from portal.extensions import db
    from portal.models import Agreement, Pair, User
    from tests.factories import outbox, sign_in

    def agreement_of(mentor_email: str, program_code: str) -> Agreement:
        mentor = db.session.scalar(db.select(User).where(User.email == mentor_email))
        pair = db.session.scalar(db.select(Pair).where(Pair.mentor_id == mentor.id).join(Pair.program)
                                 .where(Pair.program.has(code=program_code)))
        return pair.agreements[-1]

    active = agreement_of("mentor1@demo.test", "WHPRMS")
    assert active.state == "active" and signing.signed_version(active, 1) is not None
    assert signing.integrity_problem(active) is None
    assert "president_elect@whprms.org" in {mail.to_address for mail in outbox("signed_copy_program")}
    ended = agreement_of("mentor2@demo.test", "WHPRMS")
    assert (ended.state, ended.closure_kind) == ("closed", "early")
    waiting = agreement_of("mentor2@demo.test", "CCMC")
    assert waiting.state == "signing"
    sign_in(client, "mentor2@demo.test", app.config["DEMO_PASSWORD"])
    page = client.get(f"/agreements/{waiting.id}").get_data(as_text=True)
    assert "Tom Mentee signed on" in page and "Sign as mentor" in page
