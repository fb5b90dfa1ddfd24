"""The confidentiality rule, with a canary: a unique string written into notes by the pair must never reach
anyone outside the pair, through any channel: pages, fragments, error pages, e-mails, the audit log, the
application log, or the database in clear."""
from __future__ import annotations

import itertools
import logging

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Note, NoteShare
from tests.factories import approval_form, outbox, act_as
from tests.flows.canary import is_file
from tests.database_files import read_sqlite_files
from tests.test_authorization import World, world  # noqa: F401  (world is the walk's fixture, reused here)

CANARY = "canary-7f3a-gleaming-heron-5521"
# Everyone who must never read the pair's notes. The recipient is added for notes not shared with them.
OUTSIDERS = ("anonymous", "site_admin", "program_admin", "other_program_admin", "supervisor", "other_supervisor",
             "other_mentor", "withdrawn_recipient", "deactivated", "recipient")


def fixed_values(world: World) -> dict:
    """URL arguments other than notes and shares, taken from the world."""
    return {"pair_id": [world.ids["pair"], world.ids["other_pair"]], "program_id": [world.ids["program"]],
            "role_id": [world.ids["supervisor_role"]], "user_id": [world.ids["user"]],
            "token": ["x" * 43], "filename": ["app.css"],
            "agreement_id": [world.ids["agreement"]], "key": ["goal"], "template_id": [world.ids["template"]],
            "version_id": [world.ids["version"], world.ids["draft"]], "section_key": ["signing"],
            "field_key": ["goal"], "revision": [1], "meeting_id": [world.ids["meeting"]],
            "request_id": [world.ids["help_request"]]}


def every_url(app, values: dict, methods=("GET",)) -> list[tuple[str, str]]:
    """Every route of the app in `methods`, once per combination of the given ids. A route with an argument
    this test does not know fails here, so that a new kind of page cannot skip the canary check."""
    urls = []
    for rule in app.url_map.iter_rules():
        for method in sorted(set(methods) & rule.methods):
            unknown = set(rule.arguments) - set(values)
            assert not unknown, f"teach the canary test the URL argument(s) {unknown} of {rule.rule}"
            names = sorted(rule.arguments)
            for combination in itertools.product(*(values[name] for name in names)):
                urls.append((method, rule.build(dict(zip(names, combination)), append_unknown=False)[1]))
    return urls


def readable_text(response) -> str:
    """What a person could read in a response: the text of a PDF, the body of anything else."""
    if response.mimetype == "application/pdf":
        import io

        from pypdf import PdfReader
        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(response.get_data())).pages)
    return response.get_data().decode("utf-8", errors="replace")


def member_client(app, user):
    client = app.test_client()
    act_as(client, user)
    return client


def plant_canaries(app, world: World) -> dict:
    """Members write the canary into several notes through the real routes and take each sharing step."""
    mentor = member_client(app, world.people["mentor"])
    mentee = member_client(app, world.people["mentee"])
    pair = world.ids["pair"]

    def write(client, text):
        assert client.post(f"/pairs/{pair}/notes", data={"text": text}).status_code == 303
        return db.session.scalar(select(Note).order_by(Note.id.desc()))

    def propose(client, note, email):
        response = client.post(f"/pairs/{pair}/notes/{note.id}/share", data={f"share-{note.id}-email": email})
        assert response.status_code == 303
        return db.session.scalar(select(NoteShare).order_by(NoteShare.id.desc()))

    plain = write(mentor, f"First {CANARY} thought.\n- **{CANARY}** in a list")
    assert mentee.post(f"/pairs/{pair}/notes/{plain.id}/edit", data={
        f"note-{plain.id}-text": f"Edited {CANARY}", f"note-{plain.id}-version": "1"}).status_code == 303
    # Approved for a newcomer (invitation + mails), declined, and proposed to the supervisor but not approved.
    shared = write(mentee, f"Shared {CANARY} with a newcomer.")
    approved = propose(mentee, shared, "canary.reader@example.org")
    assert mentor.post(f"/pairs/{pair}/shares/{approved.id}/approve",
                       data=approval_form(approved)).status_code == 303
    declined_note = write(mentor, f"Declined {CANARY}.")
    declined = propose(mentor, declined_note, world.people["recipient"].email)
    assert mentee.post(f"/pairs/{pair}/shares/{declined.id}/decline").status_code == 303
    pending_note = write(mentor, f"Proposed to the supervisor: {CANARY}.")
    pending = propose(mentor, pending_note, world.people["supervisor"].email)
    # A wrong password, a refused self-approval and a replayed approval: refusals must not echo the note.
    for response in (
            mentee.post(f"/pairs/{pair}/shares/{pending.id}/approve", data=approval_form(pending, "no")),
            mentor.post(f"/pairs/{pair}/shares/{pending.id}/approve", data=approval_form(pending)),
            mentor.post(f"/pairs/{pair}/shares/{approved.id}/approve", data=approval_form(approved)),
            mentee.post(f"/pairs/{pair}/notes/{plain.id}/delete", data={}),
            mentee.post(f"/pairs/{pair}/notes/{plain.id}/edit", data={f"note-{plain.id}-text": "", f"note-{plain.id}-version": "2"}),
    ):
        assert response.status_code in (403, 409, 422)
        if response.status_code in (403, 409):
            assert CANARY not in response.get_data(as_text=True), "an error page echoed the note"
    withdrawn_note = write(mentor, f"Withdrawn {CANARY}.")
    withdrawn = propose(mentor, withdrawn_note, world.people["withdrawn_recipient"].email)
    assert mentee.post(f"/pairs/{pair}/shares/{withdrawn.id}/approve",
                       data=approval_form(withdrawn)).status_code == 303
    assert mentor.post(f"/pairs/{pair}/shares/{withdrawn.id}/withdraw").status_code == 303
    assert CANARY in mentor.post(f"/pairs/{pair}/notes/search", data={"q": CANARY}).get_data(as_text=True)
    assert CANARY in mentee.get(f"/pairs/{pair}/notes").get_data(as_text=True)  # the members do read it
    notes = [plain, shared, declined_note, pending_note, withdrawn_note]
    shares = [approved, declined, pending, withdrawn]
    return {"note_id": [note.id for note in notes] + [world.ids["note"], world.ids["other_note"]],
            "share_id": [share.id for share in shares] + [world.ids["share"], world.ids["withdrawn_share"]]}


@pytest.mark.parametrize("actor", OUTSIDERS)
def test_the_canary_never_reaches_anyone_outside_the_pair(app, world, caplog, actor):
    """Can this outsider (a supervisor, a program admin, a site admin, another pair, another program's admin, a
    recipient of another note, a withdrawn recipient or an anonymous visitor) read a pair's note through any
    route (page or htmx fragment), error page, e-mail, audit record, log line, or the raw database? (No.)
    One outsider per test, so that parallel workers share the walk."""
    caplog.set_level(logging.DEBUG)
    values = {**fixed_values(world), **plant_canaries(app, world)}
    gets = every_url(app, values, ("GET",))
    posts = every_url(app, values, ("POST",))
    assert len(gets) > 40 and any(url.startswith("/shared/") for _, url in gets)

    client = app.test_client()
    if actor not in ("anonymous", "deactivated"):
        act_as(client, world.people[actor])
    requests = [(method, url, headers) for method, url in gets for headers in ({}, {"HX-Request": "true"})]
    requests += [("GET", "/no/such/page", {}), ("GET", f"/pairs/{world.ids['pair']}/notes/search", {})]
    requests += [(method, url, {}) for method, url in posts if not url.startswith("/auth/")]
    files = set()  # a file has no fragment: read once, without the htmx header (tests/flows/test_files_and_htmx.py)
    for method, url, headers in requests:
        if headers and url in files:
            continue
        response = client.open(url, method=method, headers=headers, data={} if method == "POST" else None)
        assert response.status_code < 500, (actor, method, url)
        if is_file(response):
            files.add(url)
        body = readable_text(response)
        assert CANARY not in body, f"{actor} read the canary at {method} {url} {headers}"
        assert CANARY not in str(response.headers), (actor, url)
    # The same forms without a CSRF token: the 400 page must not carry anything either.
    response = client.post(f"/pairs/{world.ids['pair']}/notes/search", data={"q": CANARY}, csrf=False)
    assert response.status_code in (400, 303) and CANARY not in response.get_data(as_text=True)

    for mail in outbox():
        assert CANARY not in f"{mail.to_address} {mail.subject} {mail.body}", mail.kind
    assert {mail.kind for mail in outbox()} >= {"note_share_proposed", "note_shared", "note_share_decided", "invite"}
    assert CANARY not in caplog.text
    assert_database_holds_no_canary()


def assert_database_holds_no_canary():
    """Every column of every table, as the database returns it, then the SQLite files byte for byte."""
    needle = CANARY.encode()
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(table.select()):
            for column, value in zip(table.columns, row):
                raw = bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode()
                assert needle not in raw, f"{table.name}.{column.name} holds the canary"
    db.session.commit()
    for name, content in read_sqlite_files().items():
        assert needle not in content, name


def test_the_recipient_reads_only_the_note_shared_with_them(app, world):
    """Does the newcomer who was shared one note read that note, and nothing else the pair wrote?"""
    plant_canaries(app, world)
    newcomer_share = db.session.scalar(select(NoteShare).where(NoteShare.recipient_email == "canary.reader@example.org"))
    reader = newcomer_share.recipient
    reader.password_hash = world.people["recipient"].password_hash
    db.session.commit()
    client = member_client(app, reader)
    page = client.get(f"/shared/{newcomer_share.id}").get_data(as_text=True)
    assert f"Shared {CANARY} with a newcomer." in page
    for other in ("First", "Edited", "Declined", "Proposed to the supervisor", "Withdrawn"):
        assert f"{other} {CANARY}" not in page
    home = client.get("/").get_data(as_text=True)
    assert CANARY not in home and f"/shared/{newcomer_share.id}" in home


@pytest.mark.parametrize("actor", ["supervisor", "program_admin", "site_admin"])
def test_staff_pages_show_no_note_counts_or_sharing(app, world, actor):
    """Do the pages staff can reach stay silent about notes and shares (no counts, no recipients)?"""
    plant_canaries(app, world)
    client = member_client(app, world.people[actor])
    for url in ("/", f"/programs/{world.ids['program']}", "/admin/users"):
        page = client.get(url).get_data(as_text=True).lower()
        assert "notebook" not in page and "shared with" not in page and "share" not in page
