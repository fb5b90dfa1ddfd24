"""Every field type with "confidential to the pair" ticked: the pair reads the answers and is told that only
the two of them see them; the supervisor and the program admin find them in none of their channels (pair page,
agreement page, htmx fragments, signed version, dashboard and its CSV, the program's PDF copy, mail)."""
from __future__ import annotations

import io
import re

from portal.domain.field_values import display_text
from portal.domain.template_format import PROGRAM_NEEDED_FIELDS, VALUE_FIELD_TYPES, parse_definition
from portal.domain.template_store import create_template, definition_of, publish
from portal.extensions import db
from portal.models import Agreement
from tests.factories import (
    fill_in, make_agreement, make_pair, make_program, make_role, make_user, sign_as, act_as, delivered,
)

HTMX = {"HX-Request": "true"}


def _pair_only(field_type: str) -> dict:
    field = {"key": f"secret_{field_type}", "type": field_type, "label": f"Between us ({field_type})",
             "pair_only": True}
    if field_type == "number":
        field.update({"min": 0, "max": 100_000})
    if field_type == "choice":
        field.update({"options": [{"value": "weekly", "label": "weekly"}], "allow_other": True})
    if field_type == "meeting_modes":
        field.update({"modes": [{"key": "walks", "label": "walks"}], "allow_other": True})
    return field


TEMPLATE = {
    "format": "mentorship-agreement-template", "format_version": 1, "name": "Every kind of secret",
    "title": "Agreement of {program_name}", "intro": "",
    "sections": [
        {"key": "shared", "title": "What the program follows", "intro": "", "fields": [
            {"key": "term_months", "type": "number", "label": "Meet regularly and for ____ months.", "min": 1,
             "max": 24, "suggested": 3, "unit": "months", "required": True},
        ]},
        {"key": "private", "title": "Between the two of us", "intro": "",
         "fields": [_pair_only(field_type) for field_type in VALUE_FIELD_TYPES]},
        {"key": "signing", "title": "Signatures", "intro": "", "fields": [{"key": "signatures", "type": "signatures"}]},
    ],
}

# A distinctive answer for every type; numbers and dates are looked for as whole tokens.
ANSWERS = {
    "secret_short_text": "CANARY-short-answer",
    "secret_long_text": "CANARY-long-answer\nwith a second line",
    "secret_numbered_list": ["CANARY-list-item-one", "CANARY-list-item-two"],
    "secret_number": 48213,
    "secret_choice": {"option": "other", "other_text": "CANARY-choice-other"},
    "secret_meeting_modes": {"counts": {"walks": 317, "other": 291}, "other_label": "CANARY-mode-label"},
    "secret_date": "2031-07-19",
}
assert set(ANSWERS) == {f"secret_{field_type}" for field_type in VALUE_FIELD_TYPES}  # every type, none forgotten


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    return " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(data)).pages)


def traces(definition) -> list[str]:
    """What would show that an answer got out: its words, its numbers and dates as whole tokens, and the line
    the portal writes for it."""
    found = ["CANARY", "48213", "48,213", "317", "291", "2031-07-19", "19 July 2031", "19 Jul 2031",
             "July 19, 2031"]
    found += [display_text(definition.field(key), value) for key, value in ANSWERS.items()]
    return found


def leaks(text: str, definition) -> list[str]:
    return [trace for trace in traces(definition)
            if re.search(rf"(?<![0-9A-Za-z]){re.escape(trace)}(?![0-9A-Za-z])", text)]


def test_no_pair_only_answer_of_any_field_type_reaches_staff(app):
    """With every field type marked pair-only and answered, signed and active: does the pair see each answer
    marked "only the two of you see this", and do the supervisor and the program admin find none of them on
    any page, fragment, CSV, PDF copy or mail, while the term (which the program needs) stays readable?"""
    program = make_program(name="Secret Keepers", return_email="returns@keepers.example")
    people = {"mentor": make_user(name="Maya Mentor"), "mentee": make_user(name="Eli Mentee"),
              "supervisor": make_user(name="Sue Supervisor"), "admin": make_user(name="Ada Admin")}
    make_role(people["admin"], program, "admin")
    make_role(people["supervisor"], program, "supervisor")
    version = publish(create_template(program, parse_definition(TEMPLATE), None), None)
    db.session.commit()
    definition = definition_of(version)
    assert not any(field.pair_only for field in definition.fields
                   if (field.key, field.type) in PROGRAM_NEEDED_FIELDS)
    pair = make_pair(program, people["mentor"], people["mentee"], supervisors=(people["supervisor"],))
    agreement = make_agreement(pair, version)
    fill_in(agreement, dict(ANSWERS))
    clients = {}
    for who, person in people.items():
        clients[who] = app.test_client()
        act_as(clients[who], person)
    # the pair: every answer is there, each marked as theirs alone, and the term is not
    draft = clients["mentor"].get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert draft.count("only the two of you see this") == len(VALUE_FIELD_TYPES)
    assert "CANARY-choice-other" in draft and "48213" in draft and "2031-07-19" in draft
    term = clients["mentor"].get(f"/agreements/{agreement.id}/fields/term_months", headers=HTMX)
    assert "only the two of you see this" not in term.get_data(as_text=True)

    sign_as(agreement, people["mentor"])
    sign_as(agreement, people["mentee"])
    db.session.expire_all()
    assert db.session.get(Agreement, agreement.id).state == "active"
    pair_copy = clients["mentee"].get(f"/agreements/{agreement.id}/versions/1/pair-copy.pdf")
    assert "CANARY-list-item-two" in pdf_text(pair_copy.data)  # the check below would prove nothing otherwise

    urls = [f"/pairs/{pair.id}", f"/agreements/{agreement.id}", f"/agreements/{agreement.id}/versions/1",
            f"/agreements/{agreement.id}/changes?since=0", f"/agreements/{agreement.id}/history",
            f"/agreements/{agreement.id}/schedule.ics", f"/pairs/{pair.id}/export.json", "/",
            f"/programs/{program.id}", f"/programs/{program.id}/dashboard",
            f"/programs/{program.id}/dashboard.csv", f"/programs/{program.id}/audit"]
    urls += [f"/agreements/{agreement.id}/fields/{key}" for key in ANSWERS]
    shown = 0
    for who in ("supervisor", "admin"):
        client = clients[who]
        for url in urls:
            for headers in ({}, HTMX):
                response = client.get(url, headers=headers)
                assert response.status_code < 500, (who, url)
                assert not leaks(response.get_data(as_text=True), definition), (who, url)
                shown += response.status_code == 200
        agreement_page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
        assert 'id="field-term_months"' in agreement_page  # the term is the program's to read
        copy = client.get(f"/agreements/{agreement.id}/versions/1/program-copy.pdf")
        assert copy.status_code == 200 and copy.mimetype == "application/pdf"
        text = pdf_text(copy.data)
        assert "Secret Keepers" in text and not leaks(text, definition), who
    assert shown >= 16  # the pages above were really shown to the supervisor and the admin

    members = {people["mentor"].email, people["mentee"].email}
    staff_mails = [mail for mail in delivered() if mail.to_address not in members]
    assert any(mail.to_address == "returns@keepers.example" and mail.attachment for mail in staff_mails)
    for mail in staff_mails:
        assert not leaks(mail.subject + "\n" + mail.body, definition), mail.kind
        if mail.attachment:
            assert not leaks(pdf_text(mail.attachment), definition), mail.kind
