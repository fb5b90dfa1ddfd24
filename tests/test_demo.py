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
