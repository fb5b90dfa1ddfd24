"""Verification and tamper detection: a PDF or a hash is checked against the signed versions (yes/no, program,
date, nothing else), and content changed in the database after signing is detected where the agreement shows."""
from __future__ import annotations

import io

from sqlalchemy import text

from portal.domain import agreement_pdf, signing
from portal.domain.verification import MAX_UPLOAD_BYTES
from portal.extensions import db
from portal.models import SignedVersion
from tests.factories import fill_in, sign_as
from tests.signing.conftest import FULL_VALUES, PAIR_SECRET

MISMATCH = "no longer matches what was signed"


def make_active(world):
    fill_in(world.agreement, FULL_VALUES)
    sign_as(world.fresh(), world.people["mentor"])
    sign_as(world.fresh(), world.people["mentee"])
    agreement = world.fresh()
    return agreement, signing.signed_version(agreement, 1)


def upload(client, data: bytes, name: str = "agreement.pdf"):
    return client.post("/verify", data={"pdf": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_an_uploaded_copy_is_recognised(world):
    """Does uploading the pair's or the program's copy say yes, with the program and the date?"""
    agreement, version = make_active(world)
    for copy in ("pair", "program"):
        pdf = world.clients["mentor"].get(f"{world.url}/versions/1/{copy}-copy.pdf").get_data()
        page = upload(world.clients["mentee"], pdf).get_data(as_text=True)
        assert "Yes: this matches a signed agreement." in page
        assert "Program: Signing Program" in page and version.signed_at.strftime("%d %B %Y") in page
        assert f"/agreements/{agreement.id}/versions/1" in page  # members may open it


def test_a_pasted_hash_is_recognised_however_it_was_copied(world):
    """Does a hash pasted in groups, in capitals or with its marker match, and an unknown one say no match?"""
    _, version = make_active(world)
    digest = version.content_hash
    for pasted in (digest, digest.upper(), " ".join(digest[i:i + 16] for i in range(0, 64, 16)),
                   f"portal-sha256:{digest}\n"):
        response = world.clients["outsider"].post("/verify", data={"hash": pasted})
        assert response.status_code == 200 and "Yes: this matches" in response.get_data(as_text=True), pasted
    unknown = world.clients["outsider"].post("/verify", data={"hash": "ab" * 32}).get_data(as_text=True)
    assert "No match." in unknown and "Yes:" not in unknown
    bad = world.clients["outsider"].post("/verify", data={"hash": "not a hash"})
    assert bad.status_code == 422 and "64-character hash" in bad.get_data(as_text=True)


def test_verifying_reveals_only_yes_no_program_and_date(world):
    """Does a supervisor (or anyone signed in) who verifies a pair's PDF learn only yes/no, program and date:
    no names, no e-mail addresses, no values, and no link unless they may open the agreement anyway?"""
    agreement, version = make_active(world)
    pdf = world.clients["mentor"].get(f"{world.url}/versions/1/pair-copy.pdf").get_data()
    for who in ("supervisor", "outsider"):
        page = upload(world.clients[who], pdf).get_data(as_text=True)
        result = page.split('class="flash flash-success verify-result"')[1].split("</div>")[0]
        assert "Yes: this matches a signed agreement." in result and "Signing Program" in result
        for secret in (PAIR_SECRET, "Onwards together", "Maya Mentor", "Eli Mentee",
                       world.people["mentor"].email, world.people["mentee"].email):
            assert secret not in page, (who, secret)
        assert (f"/agreements/{agreement.id}/versions/1" in page) == (who == "supervisor")


def test_uploads_are_checked_for_type_size_and_marker(world):
    """Is a file that is not a PDF, an empty form and an oversized file each refused with a message saying what
    to do instead, and a PDF the portal never issued (with or without a hash marker in it) answered no match?"""
    client = world.clients["outsider"]
    not_pdf = upload(client, b"GIF89a not a pdf at all", "picture.pdf")
    assert not_pdf.status_code == 422 and "not a PDF" in not_pdf.get_data(as_text=True)
    from portal.pdf import render_pdf
    foreign = upload(client, render_pdf("<p>Some other PDF</p>"))  # never issued: no match, and why
    assert foreign.status_code == 200 and "No match." in foreign.get_data(as_text=True)
    assert "not, byte for byte, a file the portal issued" in foreign.get_data(as_text=True)
    nothing = client.post("/verify", data={})
    assert nothing.status_code == 422 and "Choose a PDF file" in nothing.get_data(as_text=True)
    huge = upload(client, b"%PDF-1.4\n" + b"0" * MAX_UPLOAD_BYTES)
    assert huge.status_code == 422 and "larger than" in huge.get_data(as_text=True)
    forged = upload(client, b"%PDF-1.4\n/Subject (portal-sha256:" + b"cd" * 32 + b")")
    assert forged.status_code == 200 and "No match." in forged.get_data(as_text=True)


def test_content_changed_in_the_database_after_signing_is_detected(world):
    """After a field value is changed directly in the database, do the agreement page and the pair page say the
    content no longer matches its signature (to members and followers), while verification by hash still
    identifies the signed version?"""
    agreement, version = make_active(world)
    assert MISMATCH not in world.clients["mentor"].get(world.url).get_data(as_text=True)
    db.session.execute(text("UPDATE field_value SET value_json = :v WHERE agreement_id = :a AND field_key = 'motto'"),
                       {"v": '"Quietly changed"', "a": agreement.id})
    db.session.commit()
    for who in ("mentor", "mentee", "supervisor", "admin"):
        page = world.clients[who].get(world.url).get_data(as_text=True)
        assert MISMATCH in page and "Content does not match its signature" in page, who
        pair_page = world.clients[who].get(f"/pairs/{agreement.pair_id}").get_data(as_text=True)
        assert MISMATCH in pair_page, who
    # The signed version kept its own record: it still verifies, and still shows what was signed.
    result = world.clients["supervisor"].post("/verify", data={"hash": version.content_hash}).get_data(as_text=True)
    assert "Yes: this matches a signed agreement." in result
    signed_page = world.clients["mentor"].get(f"{world.url}/versions/1").get_data(as_text=True)
    assert "Onwards together" in signed_page and "Quietly changed" not in signed_page


def test_a_changed_pair_only_value_is_detected_too(world):
    """Is a pair-only value swapped in the database (a ciphertext moved from another row) detected as well?"""
    agreement, _ = make_active(world)
    db.session.execute(text("UPDATE field_value SET value_ct = (SELECT value_ct FROM field_value f2 WHERE "
                            "f2.agreement_id = :a AND f2.field_key = 'topics') WHERE agreement_id = :a AND "
                            "field_key = 'secret'"), {"a": agreement.id})
    db.session.commit()
    assert MISMATCH in world.clients["admin"].get(world.url).get_data(as_text=True)


def test_an_altered_signed_version_is_detected(world):
    """If the stored signed version itself is changed, do the agreement page and the verification say that the
    stored copy no longer matches its hash?"""
    agreement, version = make_active(world)
    row = db.session.get(SignedVersion, version.id)
    row.content_json = row.content_json.replace("Onwards together", "Backwards apart")
    db.session.commit()
    page = world.clients["mentor"].get(world.url).get_data(as_text=True)
    assert "stored copy of a signed version no longer matches" in page
    assert "The stored copy no longer matches this hash." in page
    result = world.clients["mentor"].post("/verify", data={"hash": version.content_hash}).get_data(as_text=True)
    assert "stored copy of it no longer matches the hash" in result and "Yes: this matches" not in result


def test_a_change_around_the_editor_during_signing_voids_the_first_signature(world):
    """If content changes in the database after the first signature, does the page say so, and does the second
    signature clear the stale first one instead of activating?"""
    fill_in(world.agreement, FULL_VALUES)
    sign_as(world.fresh(), world.people["mentor"])
    db.session.execute(text("UPDATE field_value SET value_json = :v WHERE agreement_id = :a AND field_key = 'story'"),
                       {"v": '"Rewritten behind the portal"', "a": world.agreement.id})
    db.session.commit()
    assert MISMATCH in world.clients["mentee"].get(world.url).get_data(as_text=True)
    outcome = sign_as(world.fresh(), world.people["mentee"])
    agreement = world.fresh()
    assert not outcome.activated and agreement.state == "signing"
    lines = signing.signing_status(agreement, world.people["mentor"], True,
                                   agreement_pdf.definition_of(agreement.template_version)).lines
    assert lines["mentor"].signed is None and lines["mentee"].signed is not None
    assert signing.integrity_problem(agreement) is None
