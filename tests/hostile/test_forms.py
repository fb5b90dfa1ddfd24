"""Bad input posted to the forms, through HTTP with CSRF on: fields a form does not take (state, ids, roles),
numbers that are not ASCII digits, oversized text, NUL bytes, invalid UTF-8, right-to-left overrides and
10,000-item lists. Each gets a clear answer, changes nothing it should not, and is never a 500."""
from __future__ import annotations

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Agreement, AgreementSignature, HelpRequest, Meeting, Note, Pair, Program, User
from tests.factories import (
    make_agreement, make_pair, make_program, make_role, make_signed_agreement, make_user, act_as,
)
from tests.hostile.payloads import BIDI_NAME, NUL_TEXT

# Fields no form of the portal takes from a person: they are set by the portal's own rules.
STATE_FIELDS = {"state": "active", "signed_at": "2026-01-01T00:00:00", "program_id": "999", "pair_id": "999",
                "role": "admin", "site_admin": "1", "is_site_admin": "true", "mentor_id": "1", "mentee_id": "1",
                "version_id": "999", "template_version_id": "999", "revision": "7", "author_id": "1",
                "created_by_id": "1", "resolved_at": "2026-01-01", "session_generation": "0",
                "password_hash": "x", "email": "taken@example.org", "id": "999", "agreement_id": "999"}


def member(app, user):
    client = app.test_client()
    act_as(client, user)
    return client


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_state_fields_posted_into_forms_are_ignored(app):
    """Can a member make their draft active, move it to another pair or template, make themselves a site
    admin, or put a note, meeting or request for help on another pair, by adding fields to a form? (No.)"""
    program, other = make_program(), make_program()
    pair, other_pair = make_pair(program), make_pair(other)
    agreement = make_agreement(pair)
    mentor = pair.mentor
    client = member(app, mentor)
    extra = {**STATE_FIELDS, "pair_id": str(other_pair.id), "program_id": str(other.id)}
    answer = "Our goal, typed honestly."
    assert client.post(f"/agreements/{agreement.id}", data={**extra, "v-goal": "0", "f-goal": answer}
                       ).status_code in (303, 422)
    assert client.post("/auth/account/name", data={**extra, "name-name": "New Name"}).status_code == 303
    assert client.post(f"/pairs/{pair.id}/notes", data={**extra, "text": "A note."}).status_code == 303
    assert client.post(f"/pairs/{pair.id}/help", data={**extra, "message": "Please call us."}).status_code == 303
    db.session.expire_all()
    agreement = db.session.get(Agreement, agreement.id)
    assert agreement.state == "draft" and agreement.pair_id == pair.id and agreement.revision == 1
    assert count(AgreementSignature) == 0
    user = db.session.get(User, mentor.id)
    assert user.name == "New Name" and not user.is_site_admin and user.email == mentor.email
    assert db.session.scalar(select(Note.pair_id)) == pair.id
    help_request = db.session.scalar(select(HelpRequest))
    assert help_request.pair_id == pair.id and help_request.resolved_at is None
    assert db.session.get(Pair, other_pair.id).program_id == other.id


def test_program_admin_cannot_steer_a_new_pair_into_another_program(app):
    """Does a pair created by a program admin land in their own program, whatever program id the form carries?"""
    program, other = make_program(), make_program()
    admin = make_user()
    make_role(admin, program)
    from tests.factories import make_version
    version = make_version(program)
    client = member(app, admin)
    response = client.post(f"/programs/{program.id}/pairs/new", data={
        **STATE_FIELDS, "program_id": str(other.id), "mentor_email": "a@example.org", "mentee_email": "b@example.org",
        "template_version": str(version.id)})
    assert response.status_code == 303
    assert db.session.scalar(select(Pair.program_id)) == program.id
    assert db.session.scalar(select(func.count()).select_from(Pair).where(Pair.program_id == other.id)) == 0


def test_signing_as_the_partner_is_refused(app):
    """Can the mentor sign in the mentee's place by posting role=mentee? (No: nothing is signed.)"""
    pair = make_pair(make_program())
    agreement = make_agreement(pair)
    from tests.factories import fill_in
    fill_in(agreement)
    client = member(app, pair.mentor)
    response = client.post(f"/agreements/{agreement.id}/sign", data={
        "role": "mentee", "printed_name": pair.mentee.name, "password": "correct horse battery", "seen": "1.0"})
    assert response.status_code in (403, 409, 422)
    assert count(AgreementSignature) == 0


def test_numbers_in_other_scripts_are_refused_cleanly(app):
    """Is a superscript or Arabic-Indic digit (which Python calls a digit but cannot read as a number) in a
    form's hidden version, the signing form's content token or the renewal form answered with a message,
    never a 500?"""
    pair = make_pair(make_program())
    agreement = make_agreement(pair)
    client = member(app, pair.mentor)
    response = client.post(f"/agreements/{agreement.id}/fields/goal", data={"v-goal": "\u00b2", "f-goal": "x"})
    assert response.status_code == 422 and "out of date" in response.get_data(as_text=True)
    response = client.post(f"/agreements/{agreement.id}/sign", data={
        "role": "mentor", "printed_name": pair.mentor.name, "password": "correct horse battery",
        "seen": "\u00b2.\u00b2"})
    assert response.status_code in (409, 422) and count(AgreementSignature) == 0
    for name in ("version_id", "term_months"):
        response = client.post(f"/agreements/{agreement.id}/renew", data={name: "\u00b2"})
        assert response.status_code in (303, 422), name
    assert db.session.scalar(select(func.count()).select_from(Agreement)) == 1


def test_oversized_text_is_refused_with_a_message_and_nothing_stored(app):
    """Is a note, an agreement answer, a meeting summary, a request for help or a name longer than allowed
    refused with a message that says the limit, storing nothing?"""
    pair = make_pair(make_program())
    agreement = make_signed_agreement(pair)
    client = member(app, pair.mentor)
    huge = "x" * 100_000
    cases = [
        (f"/pairs/{pair.id}/notes", {"text": huge}),
        (f"/agreements/{agreement.id}/meetings", {"held_on": "2026-01-20", "mode": "face_to_face",
                                                   "minutes": "30", "summary": huge}),
        (f"/pairs/{pair.id}/help", {"message": huge}),
        ("/auth/account/name", {"name-name": huge[:500]}),
    ]
    for url, data in cases:
        response = client.post(url, data=data)
        assert response.status_code == 422, url
        assert "characters" in response.get_data(as_text=True), url
    assert count(Note) == count(HelpRequest) == 0 and count(Meeting) == 0
    assert db.session.get(User, pair.mentor_id).name != "x" * 500


def test_nul_bytes_and_control_characters_are_refused(app):
    """Is text with a NUL byte (which PostgreSQL cannot store) refused with a message in notes, meetings,
    requests for help, names and program names, never a 500?"""
    pair = make_pair(make_program())
    agreement = make_signed_agreement(pair)
    client = member(app, pair.mentor)
    for url, data in [(f"/pairs/{pair.id}/notes", {"text": NUL_TEXT}),
                      (f"/agreements/{agreement.id}/meetings", {"held_on": "2026-01-20", "mode": "face_to_face",
                                                                 "minutes": "30", "summary": NUL_TEXT}),
                      (f"/pairs/{pair.id}/help", {"message": NUL_TEXT}),
                      ("/auth/account/name", {"name-name": NUL_TEXT})]:
        response = client.post(url, data=data)
        assert response.status_code == 422, url
    assert count(Note) == count(HelpRequest) == count(Meeting) == 0
    site = member(app, make_user(site_admin=True))
    response = site.post("/admin/programs", data={"name": NUL_TEXT, "code": "NUL", "return_email": "a@example.org",
                                                  "default_term_months": "3"})
    assert response.status_code == 422 and count(Program) == 1


def test_invalid_utf8_in_bodies_and_query_strings_is_handled(app):
    """Does a form body or query string that is not valid UTF-8 get a normal answer (never a 500), with
    nothing stored that the person did not type?"""
    pair = make_pair(make_program())
    client = member(app, pair.mentor)
    token = client.fetch_csrf_token()
    response = client.post(f"/pairs/{pair.id}/notes", data=b"csrf_token=" + token.encode() + b"&text=caf%C3%A9%FF%FE",
                           content_type="application/x-www-form-urlencoded", headers={"X-CSRFToken": token})
    assert response.status_code in (303, 422)
    for url in (f"/pairs/{pair.id}/notes?page=%FF%FE", "/?q=%C3%28", f"/programs/{pair.program_id}/dashboard?q=%FF"):
        assert client.get(url).status_code in (200, 404), url


def test_a_name_with_a_right_to_left_override_is_refused_or_cleaned(app):
    """Can someone make their name read backwards around it (U+202E)? Typing it is refused with a message;
    a name given in an invitation or a note share has the invisible characters dropped."""
    pair = make_pair(make_program())
    client = member(app, pair.mentor)
    response = client.post("/auth/account/name", data={"name-name": BIDI_NAME})
    assert response.status_code == 422 and "invisible" in response.get_data(as_text=True)
    assert "\u202e" not in db.session.get(User, pair.mentor_id).name
    admin = make_user()
    make_role(admin, db.session.get(Program, pair.program_id))
    admin_client = member(app, admin)
    assert admin_client.post(f"/programs/{pair.program_id}/supervisors", data={
        "supervisor-email": "new.sup@example.org", "supervisor-name": BIDI_NAME}).status_code == 303
    invited = db.session.scalar(select(User).where(User.email == "new.sup@example.org"))
    assert invited.name == "Eve gnp.exe"


def test_ten_thousand_items_in_a_list_field_are_refused(app):
    """Is a numbered list (three objectives at most) posted with 10,000 items refused with a message, storing
    nothing, and the same for 10,000 supervisor ids on the new pair form?"""
    pair = make_pair(make_program())
    agreement = make_agreement(pair)
    client = member(app, pair.mentor)
    data = {"v-objectives": "0", "f-objectives": [f"objective {i}" for i in range(10_000)]}
    response = client.post(f"/agreements/{agreement.id}/fields/objectives", data=data)
    assert response.status_code == 422
    from portal.models import FieldValue
    assert count(FieldValue) == 0 or db.session.scalar(select(FieldValue.value_json).where(
        FieldValue.field_key == "objectives")) in (None, "null")
    admin = make_user()
    program = db.session.get(Program, pair.program_id)
    make_role(admin, program)
    admin_client = member(app, admin)
    response = admin_client.post(f"/programs/{program.id}/pairs/new", data={
        "mentor_email": "m@example.org", "mentee_email": "n@example.org",
        "supervisors": [str(i) for i in range(10_000)]})
    assert response.status_code == 303  # ids that are no supervisor of the program are ignored
    from portal.models import PairSupervisor
    assert count(Pair) == 2 and count(PairSupervisor) == 0


# An address with a NUL byte: PostgreSQL cannot even compare it (psycopg raises DataError), so it must be refused
# as an invalid address before any query.
NUL_ADDRESS = "rcpt\x00.secret@example.org"


def test_a_nul_byte_in_a_share_recipient_is_refused_next_to_the_field(app):
    """Is a note share to an address holding a NUL byte refused with 422 and the address error next to the
    field, with nothing stored or mailed (it was a 500 on PostgreSQL)?"""
    from portal.models import NoteShare, OutboxMail
    from tests.factories import make_note
    pair = make_pair(make_program())
    note = make_note(pair)
    client = member(app, pair.mentor)
    response = client.post(f"/pairs/{pair.id}/notes/{note.id}/share", data={f"share-{note.id}-email": NUL_ADDRESS})
    assert response.status_code == 422
    assert "Enter the e-mail address of the person to share with" in response.get_data(as_text=True)
    assert count(NoteShare) == 0 and count(OutboxMail) == 0


def test_a_nul_byte_in_any_address_field_is_refused_never_a_500(app):
    """Is an address holding a NUL byte refused (422, nothing created or mailed) at sign-in, forgotten
    password, appointing an admin or a supervisor, a new pair, a CSV import and an address change?"""
    import io

    from portal.models import AccountToken, OutboxMail, ProgramRole
    from tests.factories import PASSWORD, make_version
    program = make_program()
    make_version(program)
    program_admin = make_user()
    make_role(program_admin, program, "admin")
    users_before = count(User)

    anonymous = app.test_client()
    response = anonymous.post("/auth/sign-in", data={"email": NUL_ADDRESS, "password": PASSWORD})
    assert response.status_code == 422, "sign-in"
    response = anonymous.post("/auth/forgot-password", data={"email": NUL_ADDRESS})
    assert response.status_code == 422, "forgot password"

    site = member(app, make_user(site_admin=True))
    response = site.post(f"/admin/programs/{program.id}/admins",
                         data={"appoint-email": NUL_ADDRESS, "appoint-name": "Nul"})
    assert response.status_code == 422, "appoint admin"
    admin = member(app, program_admin)
    response = admin.post(f"/programs/{program.id}/supervisors",
                          data={"supervisor-email": NUL_ADDRESS, "supervisor-name": "Nul"})
    assert response.status_code == 422, "appoint supervisor"
    for field in ("mentor_email", "mentee_email"):
        data = {"mentor_email": "mo@example.org", "mentee_email": "me@example.org", field: NUL_ADDRESS}
        response = admin.post(f"/programs/{program.id}/pairs/new", data=data)
        assert response.status_code == 422, field
    for row in (f"{NUL_ADDRESS},me@example.org,", f"mo@example.org,{NUL_ADDRESS},",
                f"mo@example.org,me@example.org,{NUL_ADDRESS}"):
        csv_text = "mentor_email,mentee_email,supervisor_emails\n" + row + "\n"
        response = admin.post(f"/programs/{program.id}/pairs/import",
                              data={"csv_file": (io.BytesIO(csv_text.encode()), "pairs.csv")},
                              content_type="multipart/form-data")
        assert response.status_code == 422, row
        assert "\x00" not in response.get_data(as_text=True), row

    response = admin.post("/auth/account/email", data={"email-email": NUL_ADDRESS,
                                                       "email-current_password": PASSWORD})
    assert response.status_code == 422, "address change"

    assert count(User) == users_before + 1  # the site admin made above, no one else
    assert count(Pair) == 0 and count(AccountToken) == 0 and count(OutboxMail) == 0
    assert db.session.scalar(select(func.count()).select_from(ProgramRole)) == 1


# Form fields that carry an id (a choice among the program's pairs, supervisors, templates), with what else each
# form needs; every bad id is driven through each of them.
ID_FIELDS = (
    ("/programs/{program}/pairs/supervisors", "pair_ids", {"supervisor": "{supervisor}", "change": "assign"}),
    ("/programs/{program}/pairs/supervisors", "supervisor", {"pair_ids": "{pair}", "change": "assign"}),
    ("/programs/{program}/pairs/{pair}/supervisors", "supervisor", {}),
    ("/programs/{program}/pairs/{pair}/template", "version_id", {}),
    ("/programs/{program}/templates/default", "default-template", {}),
    ("/programs/{program}/pairs/new", "template_version", {"mentor_email": "m@example.org",
                                                           "mentee_email": "e@example.org"}),
    ("/programs/{program}/pairs/new", "supervisors", {"mentor_email": "m@example.org",
                                                      "mentee_email": "e@example.org"}),
)


def test_bad_ids_in_form_fields_are_answered_never_a_500(app):
    """Is a negative, huge, non-ASCII or non-numeric id in any id-valued form field (the pairs ticked on the
    dashboard, the supervisor, the template) answered with a message or a redirect, and never a 500?"""
    from urllib.parse import unquote

    from tests.factories import make_version
    from tests.hostile.payloads import BAD_IDS
    program = make_program()
    pair = make_pair(program)
    make_agreement(pair, make_version(program))
    admin, supervisor = make_user(), make_user()
    make_role(admin, program, "admin")
    make_role(supervisor, program, "supervisor")
    client = member(app, admin)
    ids = {"program": program.id, "pair": pair.id, "supervisor": supervisor.id}
    for url, field, extra in ID_FIELDS:
        for bad in {unquote(bad) for bad in BAD_IDS} | {"99999999999999999999"}:
            data = {name: value.format(**ids) for name, value in extra.items()}
            response = client.post(url.format(**ids), data={**data, field: bad})
            assert response.status_code in (303, 422), (url, field, bad, response.status_code)
