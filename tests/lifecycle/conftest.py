"""A program with a WHPRMS pair whose agreement is filled in and active, and a signed-in client per person."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from portal.domain.agreements import read_fields, save_field
from portal.domain.template_store import definition_of
from portal.extensions import db
from portal.models import Agreement
from portal.timeutil import utctoday
from tests.factories import (
    make_agreement, make_pair, make_program, make_role, make_user, make_version, set_state, act_as,
)

HTMX = {"HX-Request": "true"}

WHPRMS_ANSWERS = {
    "goal": "Lead the regional patient-safety committee",
    "objectives": ["Chair two committee meetings", "Write the falls section of the risk report",
                   "Build a network of three peers"],
    "meeting_counts": {"counts": {"face_to_face": 2, "phone": 4, "email": 6}, "other_label": ""},
    "meeting_schedule": "First Monday of the month; calls on Thursdays, 08:00",
}


def fill(agreement: Agreement, answers: dict, by) -> Agreement:
    """Type answers into a draft agreement as a member would (through the editor's save rules)."""
    definition = definition_of(agreement.template_version)
    for key, value in answers.items():
        current = read_fields(agreement, definition, include_pair_only=True)[key]
        save_field(agreement, definition, definition.field(key), value, current.version, by)
    db.session.commit()
    return agreement


@dataclass
class World:
    program: object
    version: object
    pair: object
    agreement: Agreement
    people: dict
    clients: dict

    def client(self, who: str):
        return self.clients[who]

    def refresh(self) -> Agreement:
        db.session.expire_all()
        self.agreement = db.session.get(Agreement, self.agreement.id)
        return self.agreement


def build_world(app, shipped: str = "whprms", answers: dict | None = None, state: str = "active",
                term_start: date | None = None) -> World:
    program = make_program(name=f"{shipped.upper()} Mentoring", return_email="office@program.example")
    people = {"admin": make_user(name="Ada Admin"), "supervisor": make_user(name="Sam Supervisor"),
              "other_supervisor": make_user(name="Olga Supervisor"),
              "mentor": make_user(name="Maria Mentor"), "mentee": make_user(name="Nina Mentee"),
              "outsider": make_user(name="Otto Outsider"), "site_admin": make_user(name="Sue Site", site_admin=True)}
    make_role(people["admin"], program, "admin")
    make_role(people["supervisor"], program, "supervisor")
    make_role(people["other_supervisor"], program, "supervisor")
    version = make_version(program, shipped)
    pair = make_pair(program, people["mentor"], people["mentee"], supervisors=(people["supervisor"],))
    agreement = make_agreement(pair, version, term_start=term_start or utctoday() - timedelta(days=30))
    fill(agreement, WHPRMS_ANSWERS if answers is None and shipped == "whprms" else (answers or {}), people["mentee"])
    if state != "draft":
        set_state(agreement, state)  # the signing flow (another branch) is what activates agreements
    clients = {}
    for name, person in people.items():
        clients[name] = app.test_client()
        act_as(clients[name], person)
    clients["anonymous"] = app.test_client()
    return World(program, version, pair, agreement, people, clients)


@pytest.fixture
def world(app) -> World:
    return build_world(app)
