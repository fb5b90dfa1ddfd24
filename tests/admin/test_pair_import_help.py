"""The pair CSV import helps the program admin get the file right: it names the templates it accepts, takes
the program by short code or name, warns about terms that have already ended, shows the people it already
knows by their names, and offers a sample file."""
from __future__ import annotations

import csv
import io

from portal.extensions import db
from portal.models import Pair
from tests.factories import make_program, make_role, make_user, make_version, act_as


def admin_with_templates(app, *shipped: str):
    program = make_program(code="WHP", name="Women's Health Mentoring")
    admin = make_user(name="Ada Admin")
    make_role(admin, program, "admin")
    versions = [make_version(program, name) for name in shipped]
    client = app.test_client()
    act_as(client, admin)
    return client, program, versions


def preview(client, program, text: str):
    return client.post(f"/programs/{program.id}/pairs/import",
                       data={"csv_file": (io.BytesIO(text.encode()), "pairs.csv")},
                       content_type="multipart/form-data")


def test_the_import_names_the_templates_it_accepts(app):
    """Does the upload page list the program's published templates by name, and does an unknown template's
    message name the ones the file may use?"""
    client, program, (whprms, ccmc) = admin_with_templates(app, "whprms", "ccmc")
    names = sorted([whprms.template.name, ccmc.template.name])
    page = client.get(f"/programs/{program.id}/pairs/import").get_data(as_text=True)
    for name in names:
        assert f"<code>{name}</code>" in page
    response = preview(client, program, "mentor_email,mentee_email,template\na@example.org,b@example.org,Other\n")
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert (f"Unknown template \u201cOther\u201d: use one of {names[0]}, {names[1]}.").replace("'", "&#39;") in text
    named = preview(client, program, f"mentor_email,mentee_email,template\na@example.org,b@example.org,"
                                     f"{whprms.template.name.upper()}\n")
    assert named.status_code == 200


def test_the_program_column_takes_the_short_code_or_the_name(app):
    """Are "whp" and "women's health mentoring" both this program, and is another name refused with a
    message giving the code and the name this import is for?"""
    client, program, _ = admin_with_templates(app, "whprms")
    ok = preview(client, program, "program,mentor_email,mentee_email\n"
                                  "whp,a@example.org,b@example.org\n"
                                  "women's health mentoring,c@example.org,d@example.org\n")
    assert ok.status_code == 200, ok.get_data(as_text=True)
    refused = preview(client, program, "program,mentor_email,mentee_email\nCCMC,a@example.org,b@example.org\n")
    assert refused.status_code == 422
    assert ("Unknown program \u201cCCMC\u201d: this import is for WHP (Women&#39;s Health Mentoring)."
            in refused.get_data(as_text=True))


def test_a_term_that_already_ended_is_warned_about_but_may_be_imported(app):
    """Does a row whose term (start plus the program's default length) has already ended get a warning that
    says when it ended, while the file can still be imported?"""
    client, program, _ = admin_with_templates(app, "whprms")
    response = preview(client, program, "mentor_email,mentee_email,term_start\n"
                                        "a@example.org,b@example.org,2020-01-15\n"
                                        "c@example.org,d@example.org,\n")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This term already ended on 14 April 2020 (3 months from 15 January 2020)." in page
    assert page.count("already ended") == 1
    assert "Import 2 pairs" in page


def test_people_the_portal_knows_are_shown_by_their_names(app):
    """Are an existing mentor and supervisor shown by the names they have in the portal, with their address,
    rather than by the file's spelling or the bare address?"""
    client, program, _ = admin_with_templates(app, "whprms")
    make_user(email="maria@example.org", name="Maria Mentor")
    supervisor = make_user(email="sam@example.org", name="Sam Supervisor")
    make_role(supervisor, program, "supervisor")
    page = preview(client, program, "mentor_email,mentor_name,mentee_email,mentee_name,supervisor_emails\n"
                                    "maria@example.org,M. Mentor,new@example.org,Nia New,sam@example.org\n"
                   ).get_data(as_text=True)
    assert ("Maria Mentor (maria@example.org) mentors Nia New, supervised by Sam Supervisor (sam@example.org); "
            "invites new@example.org") in page


def test_a_sample_file_can_be_downloaded_and_previews_cleanly(app):
    """Does the upload page link to a sample CSV with every column, the program's code and template, which
    previews without a problem when uploaded as it is?"""
    client, program, (version,) = admin_with_templates(app, "whprms")
    page = client.get(f"/programs/{program.id}/pairs/import").get_data(as_text=True)
    sample_url = f"/programs/{program.id}/pairs/import/sample.csv"
    assert f'href="{sample_url}"' in page
    response = client.get(sample_url)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="WHP-pairs-sample.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows and rows[0]["program"] == "WHP" and rows[0]["template"] == version.template.name
    assert preview(client, program, response.get_data(as_text=True)).status_code == 200
    assert db.session.scalar(db.select(db.func.count(Pair.id))) == 0
