"""The read-only agreement page reads like the form: each answer written into the blank of its sentence, as in
the PDF copy."""
from __future__ import annotations

import re

from portal.extensions import db
from tests.factories import make_pair, make_program, make_role, make_signed_agreement, make_user, make_version, sign_in


def collapse(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def test_the_read_only_page_fills_each_blank_in_its_sentence(app):
    """Once the agreement is signed, do the pair and the supervisor read "Meet regularly and for 6 months" and
    the meeting counts inside their sentence, with no "____" left on the page?"""
    program = make_program(name="Sentence Program")
    supervisor = make_user()
    make_role(supervisor, program, "supervisor")
    pair = make_pair(program, supervisors=(supervisor,))
    agreement = make_signed_agreement(pair, make_version(program), values={
        "term_months": 6, "meeting_counts": {"counts": {"face_to_face": 4, "phone": 2}, "other_label": ""}})
    db.session.refresh(pair)
    for person in (pair.mentor, supervisor):
        client = app.test_client()
        sign_in(client, person)
        page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
        text = collapse(page)
        assert "1. Meet regularly and for 6 months." in text
        assert "We will meet 4 face to face, 2 by phone, 0 by email, 0 other (\u2014)." in text
        assert "____" not in page
        assert re.search(r'<strong class="filled">6</strong>', page)  # the answer stands out from the form's words
