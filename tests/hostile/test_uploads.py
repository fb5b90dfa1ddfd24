"""Uploads: the CSV of pairs, a template file and a PDF to verify. Too large, the wrong type or malformed:
each gets a clear message (or the friendly 413 page), nothing is half-imported, never a 500."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from portal.domain.pairs import CSV_MAX_BYTES, CSV_MAX_ROWS
from portal.domain.template_format import MAX_FILE_BYTES
from portal.domain.verification import MAX_UPLOAD_BYTES
from portal.extensions import db
from portal.models import AgreementTemplate, Pair, TemplateVersion
from tests.factories import make_program, make_role, make_user, make_version, act_as

HEADER = "mentor_email,mentor_name,mentee_email,mentee_name\n"
ROW = "m{n}@example.org,Mentor {n},e{n}@example.org,Mentee {n}\n"
# (file name, content, words the answer must contain)
BAD_CSV = {
    "spreadsheet": ("pairs.xlsx", b"PK\x03\x04" + b"\x00" * 200, "CSV UTF-8"),
    "binary named csv": ("pairs.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "not UTF-8"),
    "nul bytes": ("pairs.csv", (HEADER + "a@example.org,\x00,b@example.org,B\n").encode(), "NUL"),
    "wrong columns": ("pairs.csv", b"name,email\nAnn,ann@example.org\n", "missing"),
    "semicolons": ("pairs.csv", HEADER.replace(",", ";").encode() + b"a@example.org;A;b@example.org;B\n", "missing"),
    "unclosed quote": ("pairs.csv", (HEADER + 'a@example.org,"Ann,b@example.org,B\n').encode(), "problem"),
    "too many values": ("pairs.csv", (HEADER + "a@example.org,A,b@example.org,B,extra\n").encode(), "more values"),
    "empty": ("pairs.csv", b"", "missing"),
    "10,000 rows": ("pairs.csv", (HEADER + "".join(ROW.format(n=n) for n in range(10_000))).encode()[:CSV_MAX_BYTES],
                    f"more than {CSV_MAX_ROWS} rows"),
    "too large": ("pairs.csv", (HEADER + "x" * (CSV_MAX_BYTES + 10)).encode(), "largest accepted"),
}
BAD_TEMPLATE = {
    "wrong type": ("template.txt", b"{}", ".json"),
    "not json": ("template.json", b"this is not json", "not valid JSON"),
    "binary": ("template.json", bytes(range(256)), "not valid UTF-8"),
    "nested 10,000 deep": ("template.json", b"[" * 10_000 + b"]" * 10_000, "not valid"),
    "nested objects": ("template.json", b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "not valid"),
    "huge number": ("template.json", b'{"format_version": 1' + b"0" * 5000 + b"}", "not valid"),
    "infinity": ("template.json", b'{"format": "mentorship-agreement-template", "format_version": 1e999}',
                 "nothing was imported"),
    "NaN": ("template.json", b'{"format_version": NaN}', "not valid"),
    "wrong types": ("template.json", json.dumps({"format": "mentorship-agreement-template", "format_version": 1,
                                                 "name": ["a"], "sections": {"x": 1}}).encode(), "name must be text"),
    "a list": ("template.json", b"[1, 2, 3]", "one JSON object"),
    "too large": ("template.json", b" " * (MAX_FILE_BYTES + 10) + b"{}", "too large"),
}

BAD_PDF = [
    ("agreement.pdf", b"GIF89a" + b"\x00" * 100, "not a PDF"),
    ("agreement.pdf", b"%PDF-1.4\n" + b"0" * MAX_UPLOAD_BYTES, "larger than"),
    ("agreement.pdf", b"junk before the header %PDF-1.4\n%%EOF\n", "not a PDF"),
    ("agreement.pdf", b"", "Choose a PDF"),
]


@pytest.fixture
def admin_client(app):
    program = make_program()
    make_version(program)  # one published template
    admin = make_user()
    make_role(admin, program)
    client = app.test_client()
    act_as(client, admin)
    client.program = program
    return client


def upload(client, url: str, field: str, name: str, content: bytes, **extra):
    return client.post(url, data={field: (io.BytesIO(content), name), **extra}, content_type="multipart/form-data")


@pytest.mark.parametrize("case", sorted(BAD_CSV))
def test_a_bad_csv_of_pairs_gets_a_clear_message_and_imports_nothing(app, admin_client, case):
    """Is a spreadsheet, a binary file, a CSV with NUL bytes, the wrong columns, semicolons, an unclosed quote,
    extra values, no content, 10,000 rows or too many bytes answered with a message saying what is wrong,
    importing nothing?"""
    name, content, words = BAD_CSV[case]
    response = upload(admin_client, f"/programs/{admin_client.program.id}/pairs/import", "csv_file", name, content)
    assert response.status_code == 422
    assert words.lower() in response.get_data(as_text=True).lower()
    assert db.session.scalar(select(func.count()).select_from(Pair)) == 0


def test_a_csv_with_a_byte_order_mark_and_one_bad_row_imports_nothing(app, admin_client):
    """Does a CSV saved with a byte order mark read fine, and does one bad row among good ones stop the whole
    import, even when the confirmation is posted anyway?"""
    url = f"/programs/{admin_client.program.id}/pairs/import"
    good = ("\ufeff" + HEADER + ROW.format(n=1) + ROW.format(n=2)).encode()
    response = upload(admin_client, url, "csv_file", "pairs.csv", good)
    assert response.status_code == 200 and "Mentor 1" in response.get_data(as_text=True)
    bad = HEADER + ROW.format(n=1) + "not-an-address,X,e2@example.org,Y\n"
    response = admin_client.post(f"{url}/confirm", data={"csv_text": bad})
    assert response.status_code == 422 and "nothing was imported" in response.get_data(as_text=True).lower()
    assert db.session.scalar(select(func.count()).select_from(Pair)) == 0


def test_an_upload_over_the_request_limit_gets_the_friendly_413(app, admin_client):
    """Is a file larger than the whole request limit answered with the friendly "too large" page, for the
    CSV, the template file and the PDF to verify?"""
    big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    program_id = admin_client.program.id
    for url, field, name in ((f"/programs/{program_id}/pairs/import", "csv_file", "pairs.csv"),
                             (f"/programs/{program_id}/templates/import", "import-file", "t.json"),
                             ("/verify", "pdf", "agreement.pdf")):
        response = upload(admin_client, url, field, name, big)
        assert response.status_code == 413, url
        assert "larger than the portal accepts" in response.get_data(as_text=True)


@pytest.mark.parametrize("case", sorted(BAD_TEMPLATE))
def test_a_bad_template_file_gets_a_clear_message_and_imports_nothing(app, admin_client, case):
    """Is a template file of the wrong type, not JSON, binary, nested 10,000 levels deep, with a number of
    5,000 digits, Infinity or NaN, fields of the wrong types, a list, or too large answered with a message,
    importing nothing?"""
    name, content, words = BAD_TEMPLATE[case]
    before = db.session.scalar(select(func.count()).select_from(TemplateVersion))
    response = upload(admin_client, f"/programs/{admin_client.program.id}/templates/import", "import-file", name,
                      content, **{"import-target": "new"})
    assert response.status_code == 422
    assert words.lower() in response.get_data(as_text=True).lower()
    assert db.session.scalar(select(func.count()).select_from(TemplateVersion)) == before
    assert db.session.scalar(select(func.count()).select_from(AgreementTemplate)) == 1


@pytest.mark.parametrize("name, content, words", BAD_PDF)
def test_a_bad_pdf_to_verify_gets_a_clear_message(app, admin_client, name, content, words):
    """Is a file that is not a PDF (or does not start as one), too large, or empty answered with a message saying
    so?"""
    response = upload(admin_client, "/verify", "pdf", name, content)
    assert response.status_code == 422
    assert words.lower() in response.get_data(as_text=True).lower()
