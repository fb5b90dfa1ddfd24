"""Markup, htmx attributes, template syntax and script links typed into every text field a person can fill
in: every page and fragment that shows them (and the PDFs) shows them as text, never as markup, never
evaluated. Checked with a real HTML parser, not by looking for substrings."""
from __future__ import annotations

import copy
import io
import json

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.domain import notes
from portal.extensions import db
from portal.models import Agreement, Note, NoteShare, Pair, Program, TemplateVersion, User
from portal.timeutil import utctoday
from tests.factories import PASSWORD, fill_in, make_user, sign_as, act_as
from tests.hostile.html_check import html_problems, pdf_text, visible_text
from tests.hostile.payloads import LINK_PAYLOADS, MARKUP_PAYLOADS, TEMPLATE_PAYLOADS
from tests.notes.html_forms import forms_on

TEXT_KEYS = {"name", "title", "intro", "label", "help", "item_label", "text", "other_label"}
HOSTILE = MARKUP_PAYLOADS + TEMPLATE_PAYLOADS + LINK_PAYLOADS
TEXT_INPUT_TYPES = {"", "text", "search"}


def hostile_template(payload: str) -> bytes:
    """The shipped WHPRMS template with every label, help text, title, intro and clause set to `payload`."""
    from pathlib import Path
    raw = json.loads((Path(__file__).resolve().parents[2] / "portal/shipped_templates/whprms.json").read_text())

    counter = iter(range(1, 10_000))

    def walk(node):  # numbered, because labels of one field's choices must differ
        if isinstance(node, dict):
            return {key: (f"{payload} {next(counter)}" if key in TEXT_KEYS and isinstance(value, str) and value
                          else walk(value)) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node
    return json.dumps(walk(copy.deepcopy(raw))).encode()


def fill_text_fields(client, page_url: str, action: str, payload: str, **extra):
    """Post the form of `page_url` that posts to `action`, with every text input and textarea set to
    `payload` (as a person would type it), the other inputs as the page had them, and `extra`."""
    page = client.get(page_url).get_data(as_text=True)
    matches = [form for form in forms_on(page)
               if (form.action or page_url).partition("#")[0] == action and form.method == "post"]
    assert matches, f"no form posting to {action} on {page_url}"
    form = matches[0]
    text_names = _text_inputs(page, action, page_url)
    assert text_names, f"the form posting to {action} has no text field"
    data = {**form.fields, **{name: payload for name in text_names}, **extra}
    return client.post(action, data=data)


def _text_inputs(page: str, action: str, page_url: str) -> list[str]:
    from html.parser import HTMLParser

    class Finder(HTMLParser):
        inside, names = False, []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "form":
                self.inside = (attrs.get("action") or page_url).partition("#")[0] == action
            elif self.inside and attrs.get("name") and (
                    tag == "textarea" or (tag == "input" and (attrs.get("type") or "") in TEXT_INPUT_TYPES)):
                self.names.append(attrs["name"])

        def handle_endtag(self, tag):
            if tag == "form":
                self.inside = False
    finder = Finder()
    finder.names = []
    finder.feed(page)
    return finder.names


def set_password(email: str) -> User:
    from portal.domain.accounts import hash_password
    user = db.session.scalar(select(User).where(User.email == email))
    user.password_hash = hash_password(PASSWORD)
    db.session.commit()
    return user


def client_for(app, user):
    client = app.test_client()
    act_as(client, user)
    return client


def plant(app, payload: str) -> dict:
    """Type `payload` into every text field, through the portal's own forms, as the people who use them."""
    site = client_for(app, make_user(site_admin=True))
    assert site.post("/admin/programs", data={"name": payload, "code": "XSS", "return_email": "office@example.org",
                                              "default_term_months": "3"}).status_code == 303
    program = db.session.scalar(select(Program).where(Program.code == "XSS"))
    base = f"/programs/{program.id}"
    assert fill_text_fields(site, f"/admin/programs/{program.id}", f"/admin/programs/{program.id}/admins", payload,
                            **{"appoint-email": "admin@example.org"}).status_code == 303
    admin = client_for(app, set_password("admin@example.org"))
    assert fill_text_fields(admin, base, f"{base}/supervisors", payload,
                            **{"supervisor-email": "sup@example.org"}).status_code == 303
    supervisor_user = set_password("sup@example.org")
    upload = (io.BytesIO(hostile_template(payload)), "hostile.json")
    response = admin.post(f"{base}/templates/import", data={"import-target": "new", "import-file": upload},
                          content_type="multipart/form-data")
    assert response.status_code == 303, visible_text(response.get_data(as_text=True))[-3000:]
    version = db.session.scalar(select(TemplateVersion).order_by(TemplateVersion.id.desc()))
    assert admin.post(f"{base}/templates/versions/{version.id}/publish").status_code == 303
    assert fill_text_fields(admin, f"{base}/pairs/new", f"{base}/pairs/new", payload, **{
        "mentor_email": "mentor@example.org", "mentee_email": "mentee@example.org",
        "supervisors": str(supervisor_user.id), "template_version": str(version.id),
        "term_start": "2026-01-05"}).status_code == 303
    mentor, mentee = set_password("mentor@example.org"), set_password("mentee@example.org")
    pair = db.session.scalar(select(Pair).where(Pair.program_id == program.id))
    agreement = db.session.scalar(select(Agreement).where(Agreement.pair_id == pair.id))
    fill_in(agreement)  # numbers, dates and choices; the text comes next, typed
    member = client_for(app, mentor)
    assert fill_text_fields(member, f"/agreements/{agreement.id}", f"/agreements/{agreement.id}", payload
                            ).status_code == 303
    assert member.post(f"/pairs/{pair.id}/notes", data={"text": payload}).status_code == 303
    note = db.session.scalar(select(Note).where(Note.pair_id == pair.id))
    sign_as(agreement, mentor)
    sign_as(agreement, mentee)
    assert member.post(f"/agreements/{agreement.id}/meetings", data={
        "held_on": "2026-01-20", "mode": "other", "other_label": payload[:80], "minutes": "30",
        "summary": payload}).status_code == 303
    assert member.post(f"/agreements/{agreement.id}/meetings/plan", data={
        "on": (utctoday() + timedelta(days=3)).isoformat(), "at": "17:00", "minutes": "30",
        "place": payload[:500]}).status_code == 303
    assert fill_text_fields(member, f"/pairs/{pair.id}", f"/agreements/{agreement.id}/progress", payload
                            ).status_code == 303
    assert member.post(f"/pairs/{pair.id}/help", data={"message": payload}).status_code == 303
    assert member.post(f"/pairs/{pair.id}/notes/{note.id}/share", data={
        f"share-{note.id}-email": "reader@example.org", f"share-{note.id}-name": payload}).status_code == 303
    share = db.session.scalar(select(NoteShare).where(NoteShare.note_id == note.id))
    notes.approve_share(mentee, share, PASSWORD, None)
    db.session.commit()
    reader = set_password("reader@example.org")
    return {"program": program, "pair": pair, "agreement": agreement, "note": note, "share": share,
            "version": version, "people": {"site_admin": site, "program_admin": admin, "mentor": member,
                                           "supervisor": client_for(app, supervisor_user),
                                           "recipient": client_for(app, reader)}}


def urls_of(app, planted: dict) -> list[str]:
    """Every GET route of the app with the planted objects' ids."""
    values = {"program_id": planted["program"].id, "pair_id": planted["pair"].id,
              "agreement_id": planted["agreement"].id, "note_id": planted["note"].id,
              "share_id": planted["share"].id, "template_id": planted["version"].template_id,
              "version_id": planted["version"].id, "revision": 1, "key": "goal", "field_key": "goal",
              "section_key": "signing", "meeting_id": 1, "request_id": 1, "role_id": 1, "user_id": 1,
              "token": "x" * 43, "filename": "app.css"}
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint != "static":
            urls.append(rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1])
    return urls + ["/admin/users?q=x", f"/programs/{planted['program'].id}/dashboard?q=x"]


def test_the_html_check_sees_markup_made_from_input():
    """Would the check notice an element, an event handler, an htmx attribute or a script link made from the
    input (so that the walk below cannot pass by seeing nothing)?"""
    for made in ('<img src=x onerror="alert(\'pwn7c1\')">', '<svg onload="pwn7c1">',
                 '<div hx-get="/pwn7c1" hx-trigger="load">', '<div hx-get="/admin/users?x" hx-target="#pwn7c1">', '<button hx-on:click="pwn7c1">',
                 '<div data-hx-get="/pwn7c1" data-hx-trigger="load">', '<button data-hx-on:click="x">',
                 '<a href="javascript:alert(1)">x</a>', '<script>pwn7c1</script>', '<input autofocus onfocus=x>'):
        assert html_problems(f"<p>{made}</p>"), made
    escaped = '<p>&lt;img src=x onerror=alert(&#39;pwn7c1&#39;)&gt;</p><input value="&quot;&gt;&lt;svg pwn7c1">'
    assert html_problems(escaped) == []


@pytest.mark.parametrize("payload", HOSTILE, ids=[f"payload{i}" for i in range(len(HOSTILE))])
def test_typed_markup_is_shown_as_text_everywhere(app, payload):
    """Does markup, an htmx attribute, template syntax or a javascript:/data: link typed into any text field
    (program name, people's names, template labels and clauses, agreement answers, notes, meetings, progress,
    requests for help, share names) come back as text on every page, fragment and PDF, never as an element,
    an attribute, a link target or an evaluated template?"""
    planted = plant(app, payload)
    problems, pages_showing_it, pdf_texts = [], 0, {}
    for actor, client in planted["people"].items():
        for url in urls_of(app, planted):
            if url.endswith(".pdf") and actor != "mentor":
                continue  # the PDFs are the same for everyone who may have them; read once below
            # A file has no fragment (htmx asks only pages for one; tests/flows/test_files_and_htmx.py)
            fragments = actor in ("mentor", "program_admin") and not url.endswith(".pdf")
            variants = ({}, {"HX-Request": "true"}) if fragments else ({},)
            for headers in variants:
                response = client.get(url, headers=headers)
                assert response.status_code < 500, (actor, url)
                if response.mimetype == "application/pdf":
                    text = pdf_texts[url] = pdf_text(response.get_data())
                    assert "<Config" not in text and "loop" * 3 not in text, (actor, url)
                    continue
                if response.mimetype != "text/html":
                    continue
                html = response.get_data(as_text=True)
                problems += [f"{actor} {url} {headers}: {problem}" for problem in html_problems(html)]
                text = visible_text(html)
                pages_showing_it += payload in text
                if "{{" in payload or "{%" in payload:
                    assert "<Config" not in text and "looplooploop" not in text, (actor, url)
    assert problems == [], "\n".join(problems[:40])
    assert pages_showing_it >= 10, "the input should be shown, as text"
    for copy_name in ("pair-copy", "program-copy"):  # as the walk above read them (as the mentor, without htmx)
        text = pdf_texts[f"/agreements/{planted['agreement'].id}/versions/1/{copy_name}.pdf"]
        assert "<Config" not in text and "looplooploop" not in text
        if payload == "{{ 7*7 }}":
            assert "7*7" in text.replace(" ", "")


def assert_text_only(response, payload: str, where: str) -> None:
    assert response.status_code < 500, where
    html = response.get_data(as_text=True)
    assert html_problems(html) == [], (where, html_problems(html))
    from tests.hostile.html_check import parse
    parsed = parse(html)
    payload = payload.strip()  # surrounding spaces are trimmed from what people type
    shown = payload in "".join(parsed.text) or any(payload == attrs.get("value") for _, attrs in parsed.tags)
    assert shown, f"{where}: the input should be shown, as text or in its input box"


@pytest.mark.parametrize("payload", HOSTILE, ids=[f"payload{i}" for i in range(len(HOSTILE))])
def test_echoed_input_stays_text(app, payload):
    """Is hostile input shown as text where the portal echoes it back: CSV import previews, a declined
    signature's reason, a review's conclusion, and searches (notes, people, dashboard), hash checks and the
    sign-in and password-reset forms?"""
    from tests.factories import make_agreement, make_pair, make_program, make_role, make_version, set_state
    program = make_program()
    make_version(program)
    admin = make_user()
    make_role(admin, program)
    admin_client = client_for(app, admin)
    csv = f"mentor_email,mentor_name,mentee_email,mentee_name\nm@example.org,{payload},e@example.org,x\n"
    if '"' in payload or "," in payload:
        csv = csv.replace(payload, '"' + payload.replace('"', '""') + '"')
    response = admin_client.post(f"/programs/{program.id}/pairs/import", content_type="multipart/form-data",
                                 data={"csv_file": (io.BytesIO(csv.encode()), "pairs.csv")})
    assert_text_only(response, payload, "CSV preview")
    assert_text_only(admin_client.get(f"/programs/{program.id}/dashboard", query_string={"q": payload}), payload,
                     "dashboard search")
    response = admin_client.post(f"/programs/{program.id}/settings", data={
        "stall_days": "30", "retention_months": "", "time_zone": payload[:64]})
    assert response.status_code == 422
    assert_text_only(response, payload[:64], "time zone setting")
    pair = make_pair(program)
    agreement = make_agreement(pair)
    fill_in(agreement)
    mentor, mentee = client_for(app, pair.mentor), client_for(app, pair.mentee)
    assert mentor.post(f"/agreements/{agreement.id}/decline", data={"role": "mentor", "reason": payload}
                       ).status_code == 303
    assert_text_only(mentee.get(f"/agreements/{agreement.id}"), payload, "declined signature")
    assert_text_only(mentor.post(f"/pairs/{pair.id}/notes/search", data={"q": payload[:100]}), payload[:100],
                     "notes search")
    set_state(agreement, "in_review")
    response = fill_text_fields(mentor, f"/agreements/{agreement.id}/review", f"/agreements/{agreement.id}/review",
                                payload)
    assert response.status_code in (303, 422)
    if response.status_code == 422:
        assert_text_only(response, payload, "review form")
    else:
        assert_text_only(mentor.get(f"/agreements/{agreement.id}/review"), payload, "review")
    for response, where in ((mentor.post("/verify", data={"hash": payload}), "hash check"),):
        assert response.status_code == 422 and html_problems(response.get_data(as_text=True)) == [], where
    site = client_for(app, make_user(site_admin=True))
    assert_text_only(site.get("/admin/users", query_string={"q": payload[:100]}), payload[:100], "people search")
    anonymous = app.test_client()
    for url in ("/auth/sign-in", "/auth/forgot-password"):
        response = anonymous.post(url, data={"email": payload, "password": "x"})
        assert response.status_code in (422, 303) and html_problems(response.get_data(as_text=True)) == [], url


def text_fields_on_pages(app, planted: dict) -> set[tuple[str, str]]:
    """(endpoint the form posts to, name of a text input or textarea in it) on every page of the planted world,
    as each of its people; numbers in names (note-12-text) become N."""
    import re
    from html.parser import HTMLParser
    adapter = app.url_map.bind("localhost")
    found: set[tuple[str, str]] = set()

    class Finder(HTMLParser):
        action = None

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "form":
                self.action = (attrs.get("action") or self.page).partition("#")[0].partition("?")[0] \
                    if (attrs.get("method") or "get").lower() == "post" else None
            elif self.action and attrs.get("name") and (
                    tag == "textarea" or (tag == "input" and (attrs.get("type") or "") in TEXT_INPUT_TYPES)):
                endpoint = adapter.match(self.action, method="POST")[0]
                found.add((endpoint, re.sub(r"\d+", "N", attrs["name"])))

        def handle_endtag(self, tag):
            if tag == "form":
                self.action = None
    edit_pages = [f"/programs/{planted['program'].id}/templates/versions/{planted['version'].id}?edit=text"]
    for client in planted["people"].values():
        for url in urls_of(app, planted) + edit_pages:
            response = client.get(url)
            if response.mimetype == "text/html":
                finder = Finder()
                finder.page = url
                finder.feed(response.get_data(as_text=True))
    return found


# Every text field of every form, and how the suite types hostile input into it. A new text field anywhere
# fails test_every_text_field_is_covered until it is added here with a test that types into it.
TEXT_FIELDS = {
    ("admin.appoint_admin", "appoint-name"): "typed",
    ("programs.appoint_supervisor", "supervisor-name"): "typed",
    ("programs.new_pair", "mentor_name"): "typed", ("programs.new_pair", "mentee_name"): "typed",
    ("agreements.save_all", "*"): "typed",            # every text answer of every field type
    ("agreements.save_field", "*"): "typed",          # the same inputs, one field at a time
    ("notes.create_note", "text"): "typed", ("notes.edit_note", "note-N-text"): "typed (as create_note)",
    ("notes.propose_share", "share-N-name"): "typed",
    ("notes.search_notes", "q"): "echoed",
    ("lifecycle.log_meeting", "other_label"): "typed", ("lifecycle.log_meeting", "summary"): "typed",
    ("lifecycle.plan_meeting", "place"): "typed",
    ("dashboards.settings", "time_zone"): "echoed (a zone name: anything else is refused and shown back)",
    ("lifecycle.check_in", "*"): "typed",
    ("lifecycle.ask_for_help", "message"): "typed",
    ("lifecycle.review", "*"): "echoed",
    ("agreements.decline", "reason"): "echoed",
    ("agreements.sign", "printed_name"): "typed (must equal the account's name, which is typed)",
    ("agreements.verify", "hash"): "echoed",
    ("admin.program_list", "name"): "typed", ("admin.program_list", "code"): "a pattern of capitals and digits",
    ("admin.program_detail", "name"): "typed (as program_list)", ("admin.program_detail", "code"): "a pattern",
    ("programs.basics", "name"): "typed (as program_list: the same column)",
    ("programs.basics", "time_zone"): "echoed (as dashboards.settings)",
    ("auth.change_name", "name-name"): "typed (the names of the people planted)",
    ("builder.create_template", "new-name"): "typed (the imported template's name)",
    ("builder.edit_text", "*"): "typed (the imported template's title and intro)",
    ("builder.edit_section", "*"): "typed (the imported template's section titles)",
    ("builder.add_section", "*"): "typed (as edit_section)",
    ("builder.add_field", "*"): "typed (the imported template's labels and help)",
    ("builder.edit_field", "*"): "typed (the imported template's labels and help)",
}


def test_every_text_field_is_covered(app):
    """Is every text input and textarea of every form on every page in the table of fields the suite types
    hostile input into (so that a new text field cannot skip the markup check)?"""
    planted = plant(app, "Plain words")
    found = text_fields_on_pages(app, planted)
    missing = sorted((endpoint, name) for endpoint, name in found
                     if (endpoint, name) not in TEXT_FIELDS and (endpoint, "*") not in TEXT_FIELDS)
    assert missing == [], "add these text fields to TEXT_FIELDS, with a test that types into them"
    assert len(found) >= 10
