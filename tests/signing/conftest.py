"""A program with a template that has every kind of field the signing rules care about: required ones, pair-only
ones, an acknowledgement and a signature block; a pair, their supervisor, the program admin and an outsider,
each with a signed-in client."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from portal.domain.template_format import parse_definition
from portal.domain.template_store import create_template, publish
from portal.extensions import db
from portal.models import Agreement, AgreementEvent, AgreementSignature, OutboxMail, SignedVersion
from tests.factories import make_agreement, make_pair, make_program, make_role, make_user, act_as

RETURN_ADDRESS = "returns@program.example"
PAIR_SECRET = "CANARY-pair-only-secret"
PAIR_TOPIC = "CANARY-off-limits-topic"

SIGNING_TEMPLATE = {
    "format": "mentorship-agreement-template", "format_version": 1,
    "name": "Signing test agreement", "title": "Agreement of {program_name}", "intro": "Read it together.",
    "sections": [
        {"key": "goals_section", "title": "Goals", "intro": "What we aim for.", "fields": [
            {"key": "motto", "type": "short_text", "label": "Our motto", "required": True},
            {"key": "story", "type": "long_text", "label": "How we met", "required": True},
            {"key": "goals", "type": "numbered_list", "label": "Goals", "item_label": "Goal", "max_items": 3,
             "required": True},
        ]},
        {"key": "meetings_section", "title": "Meetings", "intro": "", "fields": [
            {"key": "term_months", "type": "number", "label": "1. Meet for ____ months.", "min": 1, "max": 12,
             "suggested": 3, "unit": "months", "required": True},
            {"key": "cadence", "type": "choice", "label": "We meet ____.", "required": True,
             "options": [{"value": "weekly", "label": "weekly"}, {"value": "monthly", "label": "monthly"}]},
            {"key": "modes", "type": "meeting_modes", "label": "Meetings: ____ in person, ____ by phone.",
             "modes": [{"key": "in_person", "label": "in person"}, {"key": "phone", "label": "by phone"}]},
            {"key": "first_meeting", "type": "date", "label": "First meeting"},
            {"key": "kindness", "type": "clause", "text": "We are kind to each other."},
        ]},
        {"key": "private_section", "title": "Between the two of us", "intro": "", "fields": [
            {"key": "secret", "type": "long_text", "label": "Something only we know", "pair_only": True},
            {"key": "topics", "type": "numbered_list", "label": "Topics we keep off the table", "pair_only": True,
             "item_label": "Topic"},
        ]},
        {"key": "signing_section", "title": "Signatures", "intro": "", "fields": [
            {"key": "signatures", "type": "signatures"},
            {"key": "release", "type": "acknowledgement", "text": "We release {program_name} from every claim."},
        ]},
    ],
}

# Values for every field, pair-only ones included (the tests look for each of them in the PDFs).
FULL_VALUES = {
    "motto": "Onwards together",
    "story": "We met at the spring conference.\nThen we kept talking.",
    "goals": ["Lead the review board", "Publish one paper"],
    "term_months": 6,
    "cadence": {"option": "monthly", "other_text": ""},
    "modes": {"counts": {"in_person": 2, "phone": 5}, "other_label": ""},
    "first_meeting": "2026-02-03",
    "secret": PAIR_SECRET,
    "topics": [PAIR_TOPIC],
}
REQUIRED_VALUES = {key: FULL_VALUES[key] for key in ("motto", "story", "goals", "cadence")}


@dataclass
class SigningWorld:
    agreement: Agreement
    people: dict
    clients: dict

    def fresh(self) -> Agreement:
        db.session.expire_all()
        return db.session.get(Agreement, self.agreement.id)

    @property
    def url(self) -> str:
        return f"/agreements/{self.agreement.id}"


@pytest.fixture
def world(app) -> SigningWorld:
    program = make_program(code="SGN", name="Signing Program", return_email=RETURN_ADDRESS)
    people = {
        "mentor": make_user(name="Maya Mentor"), "mentee": make_user(name="Eli Mentee"),
        "supervisor": make_user(name="Sue Supervisor"), "admin": make_user(name="Ada Admin"),
        "outsider": make_user(name="Otto Outsider"),
    }
    make_role(people["admin"], program, "admin")
    make_role(people["supervisor"], program, "supervisor")
    version = publish(create_template(program, parse_definition(SIGNING_TEMPLATE), None), None)
    db.session.commit()
    pair = make_pair(program, people["mentor"], people["mentee"], supervisors=(people["supervisor"],))
    make_pair(program, people["outsider"])  # a member of another pair of the same program
    agreement = make_agreement(pair, version)
    clients = {}
    for name, person in people.items():
        clients[name] = app.test_client()
        act_as(clients[name], person)
    return SigningWorld(agreement=agreement, people=people, clients=clients)


SEEN = re.compile(r'name="seen" value="([^"]+)"')


def sign_over_http(world: SigningWorld, who: str, password: str | None = None, **overrides):
    """Sign as the page's own form does: load the page, then post its form (role and content number from it)."""
    from tests.factories import PASSWORD
    client = world.clients[who]
    page = client.get(world.url).get_data(as_text=True)
    seen = SEEN.search(page)
    data = {"role": who, "printed_name": world.people[who].name, "password": password or PASSWORD,
            "acknowledge": ["release"], "seen": seen.group(1) if seen else ""}
    data.update(overrides)
    return client.post(f"{world.url}/sign", data=data)


def snapshot(agreement_id: int) -> tuple:
    """Everything a refused action must leave as it was."""
    db.session.expire_all()
    agreement = db.session.get(Agreement, agreement_id)
    signatures = db.session.scalars(db.select(AgreementSignature).where(
        AgreementSignature.agreement_id == agreement_id).order_by(AgreementSignature.id)).all()
    return (agreement.state, agreement.revision, agreement.change_seq,
            [(row.role, row.outcome, row.cleared_at) for row in signatures],
            db.session.scalar(db.select(db.func.count(AgreementEvent.id)).where(
                AgreementEvent.agreement_id == agreement_id)),
            db.session.scalar(db.select(db.func.count(SignedVersion.id))),
            db.session.scalar(db.select(db.func.count(OutboxMail.id))))


def pdf_text(data: bytes) -> str:
    """All the text of a PDF, with whitespace collapsed (so a wrapped sentence is found whole)."""
    import io

    from pypdf import PdfReader
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
