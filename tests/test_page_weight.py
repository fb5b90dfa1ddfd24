"""Page weight (issue #10): a full page, htmx and the portal's own CSS and script included, stays under 100 KB
uncompressed, and an autosave answer under 2 KB. Byte counts, not times."""
from __future__ import annotations

import re

from portal.config import PROJECT_ROOT
from portal.domain import notes
from portal.domain.template_store import definition_of
from portal.extensions import db
from portal.models import FieldValue
from tests.factories import (
    fill_in, make_note, make_pair, make_program, make_role, make_share, make_signed_agreement, make_user, make_version,
    act_as,
)

PAGE_LIMIT = 100 * 1024
AUTOSAVE_LIMIT = 2 * 1024
HTMX = {"HX-Request": "true"}
# A note of an ordinary length: a few sentences and a short list (the benchmark's notes render to about 400
# bytes each, as this one does). The benchmark's notebook holds 40 notes (bench/seed.py HOT_NOTES), more than
# one page: the first page is the heaviest page a member opens.
NOTES_PER_PAIR = 40
SHARED_NOTES = 3  # on the first page, with their sharing lines and buttons
ORDINARY_NOTE = ("We met for an hour and went through the **committee agenda** together. Next time we look at the "
                 "risk report and how to present the figures on falls. We also talked about the evening shifts "
                 "and how to keep our weekly meeting when the unit is short of staff.\n\n- read last year's report\n"
                 "- draft the summary\n- ask Sam about the budget")


def assets_bytes(page: str) -> int:
    """The size of every stylesheet and script the page links to (all served from static/)."""
    total = 0
    for path in re.findall(r'(?:src|href)="/static/([^"?]+)"', page):
        total += (PROJECT_ROOT / "static" / path).stat().st_size
    return total


def weight(client, url: str) -> tuple[int, int]:
    response = client.get(url)
    assert response.status_code == 200, url
    body = response.get_data(as_text=True)
    return len(response.get_data()), assets_bytes(body)


def test_the_largest_pages_weigh_less_than_100_kb_with_htmx_css_and_script(app):
    """Do the editor of a filled-in WHPRMS agreement, the notebook of a pair with 40 ordinary notes (some of them
    shared), a dashboard page of 25 pairs and the home page each weigh under 100 KB together with htmx, app.css
    and app.js?"""
    program = make_program(name="WHPRMS Mentor Program")
    admin, mentor, mentee = make_user(), make_user(name="Maria Mentor"), make_user(name="Nina Mentee")
    make_role(admin, program, "admin")
    version = make_version(program, "whprms")
    pair = make_pair(program, mentor, mentee)
    agreement = make_signed_agreement(pair, version)
    from portal.domain import signing
    signing.reopen(agreement, mentor)  # an amendment: the editor, with a signed version listed below it
    db.session.commit()
    fill_in(agreement, everything=True, by=mentee)
    for n in range(NOTES_PER_PAIR):
        note = make_note(pair, mentor if n % 2 else mentee, ORDINARY_NOTE)
        if n >= NOTES_PER_PAIR - SHARED_NOTES:  # the newest: shown first
            make_share(note, make_user(name="Rhea Reader"), approve=n % 2 == 0)
    for _ in range(30):
        make_pair(program)
    member, program_admin = app.test_client(), app.test_client()
    act_as(member, mentor)
    act_as(program_admin, admin)
    pages = {
        "editor": weight(member, f"/agreements/{agreement.id}"),
        "notebook": weight(member, f"/pairs/{pair.id}/notes"),
        "dashboard": weight(program_admin, f"/programs/{program.id}/dashboard"),
        "home": weight(member, "/"),
    }
    notebook = member.get(f"/pairs/{pair.id}/notes").get_data(as_text=True)
    assert notebook.count('<article class="card note"') == notes.PAGE_SIZE and "Older notes" in notebook
    assert notebook.count('class="share share-') == SHARED_NOTES
    for name, (page, assets) in pages.items():
        assert assets > 50 * 1024, name  # htmx is counted
        assert page + assets < PAGE_LIMIT, (name, page, assets)


def test_an_autosave_answer_is_under_2_kb(app):
    """Is the answer to one field's autosave (the status line and the field's new version) under 2 KB, even for
    the longest answer the field accepts?"""
    program = make_program()
    mentor, mentee = make_user(), make_user()
    version = make_version(program, "whprms")
    from tests.factories import make_agreement
    agreement = make_agreement(make_pair(program, mentor, mentee), version)
    definition = definition_of(version)
    field = next(f for f in definition.fields if f.type == "long_text" and not f.pair_only)
    client = app.test_client()
    act_as(client, mentor)
    current = db.session.scalar(db.select(FieldValue.version).where(
        FieldValue.agreement_id == agreement.id, FieldValue.field_key == field.key))
    response = client.post(f"/agreements/{agreement.id}/fields/{field.key}", headers=HTMX, data={
        f"f-{field.key}": "x" * field.option("max_length"), f"v-{field.key}": str(current)})
    assert response.status_code == 200
    assert b"Saved" in response.get_data()
    assert len(response.get_data()) < AUTOSAVE_LIMIT
