"""Program admins create pairs one at a time or from CSV; each pair starts with a draft agreement."""
from __future__ import annotations

import io

from portal.domain.agreements import read_fields
from portal.domain.template_store import definition_of
from portal.extensions import db
from portal.models import Agreement, Pair, PairSupervisor, User
from tests.factories import make_pair, make_program, make_role, make_user, make_version, outbox, act_as


def admin_of_program(app, with_template=True):
    program = make_program(code="WHP", name="Women's Health Mentoring")
    admin = make_user()
    make_role(admin, program, "admin")
    version = make_version(program) if with_template else None
    client = app.test_client()
    act_as(client, admin)
    return client, program, version


def test_program_admin_creates_a_pair_and_its_draft_agreement(app):
    """Does creating a pair invite new people, assign the supervisor and start a draft with suggested values?"""
    client, program, version = admin_of_program(app)
    mentor = make_user(email="mentor@example.org")
    supervisor = make_user()
    make_role(supervisor, program, "supervisor")
    page = client.get(f"/programs/{program.id}/pairs/new").get_data(as_text=True)
    assert "WHPRMS Mentor Partnership Agreement (version 1)" in page
    response = client.post(f"/programs/{program.id}/pairs/new", data={
        "mentor_email": "mentor@example.org", "mentee_email": "New.Mentee@example.org",
        "mentee_name": "Nia New", "supervisors": [str(supervisor.id)], "template_version": str(version.id),
        "term_start": "2026-02-01"})
    assert response.status_code == 303, response.get_data(as_text=True)
    pair = db.session.scalar(db.select(Pair))
    assert pair.mentor_id == mentor.id and pair.mentee.email == "new.mentee@example.org"
    assert [link.user_id for link in pair.supervisor_links] == [supervisor.id]
    agreement = db.session.scalar(db.select(Agreement))
    assert agreement.state == "draft" and agreement.template_version_id == version.id
    assert str(agreement.term_start) == "2026-02-01" and agreement.term_months == 3
    values = read_fields(agreement, definition_of(version), include_pair_only=True)
    assert values["term_months"].value == 3  # "Three months is the suggested timeframe"
    assert len(outbox("invite", to="new.mentee@example.org")) == 1
    assert len(outbox("added", to="mentor@example.org")) == 1


def test_pair_mistakes_are_explained_and_nothing_is_created(app):
    """Are a bad address, the same person twice and a duplicate pair refused with a message, creating nothing?"""
    client, program, version = admin_of_program(app)
    cases = [
        ({"mentor_email": "not an address", "mentee_email": "b@example.org"}, "is not valid"),
        ({"mentor_email": "same@example.org", "mentee_email": "Same@example.org"}, "two different people"),
    ]
    for data, message in cases:
        response = client.post(f"/programs/{program.id}/pairs/new",
                               data={**data, "template_version": str(version.id)})
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Pair.id))) == 0
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1  # only the admin: no one was invited
    make_pair(program, make_user(email="m@example.org"), make_user(email="e@example.org"))
    response = client.post(f"/programs/{program.id}/pairs/new", data={
        "mentor_email": "m@example.org", "mentee_email": "e@example.org", "template_version": str(version.id)})
    assert response.status_code == 422 and "already a pair" in response.get_data(as_text=True)


def test_a_program_without_a_template_says_so(app):
    """Does the new-pair page tell the admin to publish a template first when there is none?"""
    client, program, _ = admin_of_program(app, with_template=False)
    page = client.get(f"/programs/{program.id}/pairs/new").get_data(as_text=True)
    assert "no published agreement template yet" in page
    response = client.post(f"/programs/{program.id}/pairs/new",
                           data={"mentor_email": "a@example.org", "mentee_email": "b@example.org"})
    assert response.status_code == 422 and "publish one first" in response.get_data(as_text=True)


def test_members_see_the_pair_on_their_home_page(app):
    """Do both members see the pair, its state and what is waiting for them on their home page?"""
    admin_client, program, version = admin_of_program(app)
    admin_client.post(f"/programs/{program.id}/pairs/new", data={
        "mentor_email": make_user(email="mm@example.org", name="Mo Mentor").email,
        "mentee_email": make_user(email="me@example.org", name="Em Mentee").email,
        "template_version": str(version.id)})
    for email, text in (("mm@example.org", "You mentor <strong>Em Mentee</strong>"),
                        ("me@example.org", "Your mentor is <strong>Mo Mentor</strong>")):
        client = app.test_client()
        act_as(client, email)
        page = client.get("/").get_data(as_text=True)
        assert text in page and "Fill in your agreement together." in page and "Open the agreement" in page


# --- CSV ----------------------------------------------------------------------------------------------------

def upload(client, program, text):
    return client.post(f"/programs/{program.id}/pairs/import",
                       data={"csv_file": (io.BytesIO(text.encode()), "pairs.csv")},
                       content_type="multipart/form-data")


def test_csv_preview_shows_every_row_and_writes_nothing(app):
    """Does the preview say, row by row, what will happen or what is wrong, without creating anything?"""
    client, program, _ = admin_of_program(app)
    make_pair(program, make_user(email="m1@example.org"), make_user(email="e1@example.org"))
    csv_text = (
        "program,mentor_email,mentor_name,mentee_email,mentee_name\n"
        "WHP,ok.mentor@example.org,Olga,ok.mentee@example.org,Omar\n"
        "NOPE,a@example.org,,b@example.org,\n"
        "WHP,bad-address,,c@example.org,\n"
        "WHP,same@example.org,,same@example.org,\n"
        "WHP,m1@example.org,,e1@example.org,\n"
        "WHP,ok.mentor@example.org,,ok.mentee@example.org,\n"
    )
    response = upload(client, program, csv_text)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Olga mentors Omar" in page and "invites ok.mentor@example.org, ok.mentee@example.org" in page
    assert "Unknown program \u201cNOPE\u201d" in page
    assert "\u201cbad-address\u201d is not valid" in page
    assert "two different people" in page
    assert "already a pair in this program" in page
    assert "appears earlier in this file" in page
    assert "5 of 6 rows have problems" in page and "Import 6 pairs" not in page
    assert db.session.scalar(db.select(db.func.count(Pair.id))) == 1
    assert outbox() == []
    single = upload(client, program, "mentor_email,mentee_email\nnew.mentor@example.org,\n").get_data(as_text=True)
    assert "The row has problems." in single and "The mentee&#39;s e-mail address is missing." in single
    assert "new.mentor@example.org mentors (no mentee)" in single


def test_csv_import_creates_every_pair_after_confirmation(app):
    """After a clean preview, does confirming create all pairs with their supervisors and agreements?"""
    client, program, _ = admin_of_program(app)
    supervisor = make_user(email="sup@example.org")
    make_role(supervisor, program, "supervisor")
    csv_text = ("mentor_email,mentee_email,supervisor_emails,term_start\n"
                "a1@example.org,b1@example.org,sup@example.org,2026-03-01\n"
                "a2@example.org,b2@example.org,,\n")
    preview = upload(client, program, csv_text)
    assert preview.status_code == 200 and "Import 2 pairs" in preview.get_data(as_text=True)
    assert "All 2 rows can be imported." in preview.get_data(as_text=True)
    single = upload(client, program, csv_text.rsplit("a2@", 1)[0])
    assert "The row can be imported." in single.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Pair.id))) == 0
    response = client.post(f"/programs/{program.id}/pairs/import/confirm", data={"csv_text": csv_text})
    assert response.status_code == 303
    assert db.session.scalar(db.select(db.func.count(Pair.id))) == 2
    assert db.session.scalar(db.select(db.func.count(Agreement.id))) == 2
    assert db.session.scalar(db.select(db.func.count(PairSupervisor.id))) == 1
    assert len(outbox("invite")) == 4


def test_csv_import_is_all_or_nothing(app):
    """If one row has become invalid between preview and confirmation, is nothing imported at all?"""
    client, program, _ = admin_of_program(app)
    csv_text = ("mentor_email,mentee_email\n"
                "a1@example.org,b1@example.org\n"
                "a2@example.org,b2@example.org\n")
    assert upload(client, program, csv_text).status_code == 200
    make_pair(program, make_user(email="a2@example.org"), make_user(email="b2@example.org"))  # meanwhile
    response = client.post(f"/programs/{program.id}/pairs/import/confirm", data={"csv_text": csv_text})
    assert response.status_code == 422
    assert "Nothing" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Pair.id))) == 1
    assert db.session.scalar(db.select(User).where(User.email == "a1@example.org")) is None


def test_malformed_csv_files_are_refused_clearly(app):
    """Are a missing column, an unknown column, a non-UTF-8 file and an empty file refused with a message?"""
    client, program, _ = admin_of_program(app)
    cases = [
        ("mentor_email,name\nx@example.org,Y\n", "missing: mentee_email"),
        ("mentor_email,mentee_email,shoe_size\na@example.org,b@example.org,9\n", "Unknown columns: shoe_size"),
        ("mentor_email,mentee_email\n", "no pairs in it"),
    ]
    for text, message in cases:
        response = upload(client, program, text)
        assert response.status_code == 422 and message in response.get_data(as_text=True), message
    response = client.post(f"/programs/{program.id}/pairs/import",
                           data={"csv_file": (io.BytesIO("mentor_email\n\xe9".encode("latin-1")), "x.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "not UTF-8" in response.get_data(as_text=True)
    response = client.post(f"/programs/{program.id}/pairs/import",
                           data={"csv_file": (io.BytesIO(b"x" * 300_000), "big.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "largest accepted" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Pair.id))) == 0
