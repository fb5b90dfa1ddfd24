"""A pair with both members signed in, for the notebook and sharing tests."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from portal.models import Pair, Program, User
from tests.conftest import PortalClient
from tests.factories import make_pair, make_program, make_user, act_as


@dataclass
class Pairing:
    program: Program
    pair: Pair
    mentor: User
    mentee: User
    mentor_client: PortalClient
    mentee_client: PortalClient

    @property
    def notes_url(self) -> str:
        return f"/pairs/{self.pair.id}/notes"

    def note_url(self, note_id: int, action: str = "") -> str:
        return f"/pairs/{self.pair.id}/notes/{note_id}" + (f"/{action}" if action else "")

    def share_url(self, share_id: int, action: str) -> str:
        return f"/pairs/{self.pair.id}/shares/{share_id}/{action}"


def signed_in_client(app, user) -> PortalClient:
    client = app.test_client()
    act_as(client, user)
    return client


@pytest.fixture
def pairing(app) -> Pairing:
    program = make_program(name="WHPRMS Mentor Program")
    mentor, mentee = make_user(name="Maria Mentor"), make_user(name="Nina Mentee")
    pair = make_pair(program, mentor, mentee)
    return Pairing(program, pair, mentor, mentee, signed_in_client(app, mentor), signed_in_client(app, mentee))
