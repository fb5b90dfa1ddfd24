"""A proof that cannot be fooled: every PDF the portal issues carries the portal's PAdES signature, its SHA-256 is
recorded, and "Check a signed PDF" (signed in, or public without an account) says yes only for a file byte for
byte as issued."""
from __future__ import annotations

import base64
import hashlib
import io
import re
import zlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from portal import pdf_signing
from portal.domain.verification import MAX_UPLOAD_BYTES
from portal.extensions import db
from portal.models import IssuedFile
from tests.factories import delivered, fill_in, sign_as
from tests.signing.conftest import FULL_VALUES, PAIR_SECRET

YES = "Yes: this matches a signed agreement."
NO_FILE = "This file is not, byte for byte, a file the portal issued."
PUBLIC_YES = "Match: this file is exactly as the portal issued it."


def make_active(world):
    fill_in(world.agreement, FULL_VALUES)
    sign_as(world.fresh(), world.people["mentor"])
    sign_as(world.fresh(), world.people["mentee"])
    return world.fresh()


def download(world, copy: str) -> bytes:
    response = world.clients["mentor"].get(f"{world.url}/versions/1/{copy}-copy.pdf")
    assert response.status_code == 200
    return response.get_data()


def upload(client, data: bytes, url: str = "/verify"):
    return client.post(url, data={"pdf": (io.BytesIO(data), "agreement.pdf")}, content_type="multipart/form-data")


def portal_certificate(app):
    return app.extensions["pdf_signer"].identity.certificate


def outside_any_event_loop(function, *args):
    """Call `function` in a thread of its own: pyHanko runs its own asyncio loop, which cannot start in a thread
    where one is running (the browser tests' Playwright keeps one in the worker's main thread)."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(function, *args).result()


def validate(pdf: bytes, trusted: x509.Certificate):
    """pyHanko's own validation of every signature in `pdf`, trusting `trusted` alone (as a reader who was given
    the portal's certificate would)."""
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext
    root = asn1_x509.Certificate.load(trusted.public_bytes(serialization.Encoding.DER))
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    return [outside_any_event_loop(validate_pdf_signature, signature, ValidationContext(trust_roots=[root]))
            for signature in reader.embedded_signatures]


# --- ways to change a file ----------------------------------------------------------------------------------

_STREAM = re.compile(rb"/Filter\s*\[?\s*/FlateDecode\s*\]?[^>]*>>\s*stream\r?\n")


def _streams(pdf: bytes):
    """(start, end) of the raw data of every compressed stream, in file order."""
    for match in _STREAM.finditer(pdf):
        start = match.end()
        yield start, pdf.index(b"endstream", start)


_PAGE_STREAM = re.compile(rb"/Filter\s*\[\s*/ASCII85Decode\s*/FlateDecode\s*\][^>]*>>\s*stream\r?\n")


def change_a_digit_in_a_text_stream(pdf: bytes) -> bytes:
    """A page's content stream (reportlab writes them ASCII85 over Flate) decoded, one digit of its text changed,
    encoded again."""
    for match in _PAGE_STREAM.finditer(pdf):
        start = match.end()
        end = pdf.index(b"~>", start)
        content = zlib.decompress(base64.a85decode(pdf[start:end]))
        found = re.search(rb"BT .*?(\d)", content, re.DOTALL)
        if found and b" Tf" in content:
            digit = found.group(1)
            changed = content[:found.start(1)] + (b"9" if digit != b"9" else b"6") + content[found.end(1):]
            return pdf[:start] + base64.a85encode(zlib.compress(changed)) + pdf[end:]
    raise AssertionError("no text stream found")


def flip_a_byte_in_a_compressed_stream(pdf: bytes) -> bytes:
    start, end = next(_streams(pdf))
    middle = (start + end) // 2
    return pdf[:middle] + bytes([pdf[middle] ^ 0x01]) + pdf[middle + 1:]


def paste_the_hashes_into_another_pdf(pdf: bytes, content_hash: str) -> bytes:
    """Another PDF (not the portal's) carrying the real file's SHA-256 and the agreement's marked content hash, in
    its metadata and its text."""
    from reportlab.pdfgen import canvas
    file_hash = hashlib.sha256(pdf).hexdigest()
    out = io.BytesIO()
    page = canvas.Canvas(out, pageCompression=0)
    page.setSubject(f"portal-sha256:{content_hash}")
    page.setKeywords(f"portal-sha256:{content_hash} sha256:{file_hash}")
    page.drawString(72, 720, f"SHA-256 {content_hash}")
    page.drawString(72, 700, f"File SHA-256 {file_hash}")
    page.save()
    return out.getvalue()


def sign_again_with_another_key(pdf: bytes) -> bytes:
    other = pdf_signing.PdfSigner(pdf_signing.new_identity("Someone Else"), field_name="AnotherSignature")
    return outside_any_event_loop(other.sign, pdf)


# --- the tests ----------------------------------------------------------------------------------------------

def test_every_issued_copy_carries_the_portals_signature_over_the_whole_file(app, world):
    """Do the pair's copy, the program's copy and the copy mailed to the program each carry a PAdES signature
    that pyHanko validates with the portal's certificate (intact, valid, trusted, covering the whole file)?"""
    make_active(world)
    [mail] = delivered("signed_copy_program")
    for pdf in (download(world, "pair"), download(world, "program"), mail.attachment):
        [status] = validate(pdf, portal_certificate(app))
        assert status.intact and status.valid and status.trusted, status.summary()
        assert status.coverage.name == "ENTIRE_FILE"
        assert status.signing_cert.dump() == portal_certificate(app).public_bytes(serialization.Encoding.DER)
        assert b"/ETSI.CAdES.detached" in pdf  # PAdES


def test_every_issued_file_is_recorded_by_its_hash_and_nothing_else(app, world):
    """Is every file handed out (two downloads, the mail attachment) recorded by the SHA-256 of its exact bytes,
    each download anew, with no content of the agreement?"""
    make_active(world)
    [mail] = delivered("signed_copy_program")
    files = [download(world, "pair"), download(world, "program"), download(world, "program"), mail.attachment]
    db.session.expire_all()
    rows = db.session.scalars(db.select(IssuedFile).order_by(IssuedFile.id)).all()
    assert sorted(row.sha256 for row in rows) == sorted(hashlib.sha256(pdf).hexdigest() for pdf in files)
    assert sorted(row.kind for row in rows) == ["pair_copy", "program_copy", "program_copy", "program_copy"]
    assert len(set(row.sha256 for row in rows)) == 4  # each download is a file of its own


def test_exact_copies_match_signed_in_and_without_an_account(app, world):
    """Does each exact copy get "yes" from the signed-in check, and "match" with only the program and the date
    from the public check, which needs no account and shows no name, value, hash or link?"""
    agreement = make_active(world)
    anonymous = app.test_client()
    for copy in ("pair", "program"):
        pdf = download(world, copy)
        page = upload(world.clients["outsider"], pdf).get_data(as_text=True)
        assert YES in page and "This file is exactly as the portal issued it" in page
        response = upload(anonymous, pdf, "/check-a-pdf")
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and PUBLIC_YES in page, page
        result = page.split('verify-result')[1].split("</div>")[0]
        assert "Program: Signing Program" in result and "Signed on " in result
        for secret in (PAIR_SECRET, "Onwards together", "Maya Mentor", "Eli Mentee", world.people["mentor"].email,
                       hashlib.sha256(pdf).hexdigest(), f"/agreements/{agreement.id}"):
            assert secret not in page, secret


@pytest.mark.parametrize("tamper", ["changed digit in a text stream", "flipped byte in a compressed stream",
                                    "hash pasted into another PDF", "signed again with another key"])
def test_any_changed_byte_gives_no_match_with_a_plain_explanation(app, world, tamper):
    """Does a copy with one digit of a text stream changed, one byte of a compressed stream flipped, the hashes
    pasted into another PDF, or a signature added with another key get "No match" and why, signed in and from
    the public check?"""
    agreement = make_active(world)
    pdf = download(world, "pair")
    version_hash = db.session.scalar(db.select(IssuedFile)).signed_version.content_hash
    changed = {
        "changed digit in a text stream": lambda: change_a_digit_in_a_text_stream(pdf),
        "flipped byte in a compressed stream": lambda: flip_a_byte_in_a_compressed_stream(pdf),
        "hash pasted into another PDF": lambda: paste_the_hashes_into_another_pdf(pdf, version_hash),
        "signed again with another key": lambda: sign_again_with_another_key(pdf),
    }[tamper]()
    assert changed != pdf and changed.startswith(b"%PDF-")
    page = upload(world.clients["mentor"], changed).get_data(as_text=True)
    assert "No match." in page and NO_FILE in page and "Yes:" not in page
    assert "saved again by another program" in page
    public = upload(app.test_client(), changed, "/check-a-pdf").get_data(as_text=True)
    assert "No match." in public and "Match:" not in public and "Signing Program" not in public
    assert agreement.id  # the agreement itself is untouched: the exact copy still matches
    assert YES in upload(world.clients["mentor"], pdf).get_data(as_text=True)


def test_a_copy_signed_again_with_another_key_does_not_validate_as_the_portals(app, world):
    """Does pyHanko, trusting only the portal's certificate, reject the signature another key added to a
    copy (while the portal's own signature in it still covers only the file as issued)?"""
    make_active(world)
    resigned = sign_again_with_another_key(download(world, "program"))
    ours, theirs = validate(resigned, portal_certificate(app))
    assert ours.intact and ours.trusted and ours.coverage.name != "ENTIRE_FILE"
    assert not theirs.trusted


def test_the_public_check_is_limited_per_client_address(app, world):
    """After the hour's allowance of checks from one address, is the next one refused with a 429 page saying
    so (whatever the file), while another address may still check?"""
    make_active(world)
    pdf = download(world, "program")
    app.config["PUBLIC_CHECKS_PER_HOUR"] = 3
    client = app.test_client()
    here = {"REMOTE_ADDR": "198.51.100.7"}
    for _ in range(3):
        response = client.post("/check-a-pdf", data={"pdf": (io.BytesIO(pdf), "a.pdf")},
                               content_type="multipart/form-data", environ_overrides=here)
        assert response.status_code == 200 and PUBLIC_YES in response.get_data(as_text=True)
    refused = client.post("/check-a-pdf", data={"pdf": (io.BytesIO(pdf), "a.pdf")},
                          content_type="multipart/form-data", environ_overrides=here)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 429 and "checked 3 files in the last hour" in page
    assert "Match" not in page and "Signing Program" not in page
    other = app.test_client().post("/check-a-pdf", data={"pdf": (io.BytesIO(pdf), "a.pdf")},
                                   content_type="multipart/form-data",
                                   environ_overrides={"REMOTE_ADDR": "203.0.113.9"})
    assert other.status_code == 200 and PUBLIC_YES in other.get_data(as_text=True)


def test_the_public_check_bounds_what_it_takes(app):
    """Is an empty form, a file that is not a PDF and one over the size bound refused with a message, without
    an account?"""
    client = app.test_client()
    for data, words in ((b"", "Choose a PDF"), (b"GIF89a", "not a PDF"),
                        (b"%PDF-1.4\n" + b"0" * MAX_UPLOAD_BYTES, "larger than")):
        response = upload(client, data, "/check-a-pdf") if data else client.post("/check-a-pdf", data={})
        assert response.status_code == 422 and words in response.get_data(as_text=True)


# --- the signing key ----------------------------------------------------------------------------------------

def test_the_generated_key_is_made_once_and_rotation_keeps_old_files_verifiable(app, world, tmp_path):
    """Is the generated key and certificate made once into the instance folder and reused, does rotation retire
    them (kept) and make new ones, and does a copy issued before the rotation still match?"""
    first = pdf_signing.instance_identity(tmp_path, "Portal test")
    assert pdf_signing.instance_identity(tmp_path, "Portal test") == first
    assert oct((tmp_path / pdf_signing.KEY_FILE).stat().st_mode & 0o777) == "0o600"
    make_active(world)
    before = download(world, "program")
    second = pdf_signing.rotate_instance_identity(tmp_path, "Portal test")
    assert second.cert_pem != first.cert_pem and second.key_pem != first.key_pem
    assert sorted(p.name.split("-", 1)[1] for p in (tmp_path / pdf_signing.RETIRED_DIR).iterdir()) == [
        pdf_signing.CERT_FILE, pdf_signing.KEY_FILE]
    app.extensions["pdf_signer"] = pdf_signing.PdfSigner(second)
    after = download(world, "program")
    [status] = validate(after, second.certificate)
    assert status.trusted and status.intact
    for pdf in (before, after):
        assert YES in upload(world.clients["outsider"], pdf).get_data(as_text=True)


def test_an_organisations_certificate_is_used_from_pem_files_or_pkcs12(tmp_path):
    """Does the portal take its signing certificate and key from PEM files or a PKCS#12 bundle (with their
    passwords), and refuse a key that does not belong to the certificate?"""
    organisation = pdf_signing.new_identity("Example Org CA-issued")
    key = serialization.load_pem_private_key(organisation.key_pem, None)
    (tmp_path / "cert.pem").write_bytes(organisation.cert_pem)
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret")))
    pem = pdf_signing.configured_identity({"PDF_SIGNING_CERT": str(tmp_path / "cert.pem"),
                                           "PDF_SIGNING_KEY": str(tmp_path / "key.pem"),
                                           "PDF_SIGNING_KEY_PASSWORD": "s3cret"})
    assert pem.cert_pem == organisation.cert_pem
    (tmp_path / "bundle.p12").write_bytes(pkcs12.serialize_key_and_certificates(
        b"portal", key, organisation.certificate, None, serialization.BestAvailableEncryption(b"p12pass")))
    bundle = pdf_signing.configured_identity({"PDF_SIGNING_PKCS12": str(tmp_path / "bundle.p12"),
                                              "PDF_SIGNING_PKCS12_PASSWORD": "p12pass"})
    assert bundle.cert_pem == organisation.cert_pem
    assert pdf_signing.configured_identity({}) is None
    (tmp_path / "other.pem").write_bytes(pdf_signing.new_identity("Other").key_pem)
    with pytest.raises(pdf_signing.SigningConfigError, match="does not belong"):
        pdf_signing.configured_identity({"PDF_SIGNING_CERT": str(tmp_path / "cert.pem"),
                                         "PDF_SIGNING_KEY": str(tmp_path / "other.pem")})
    with pytest.raises(pdf_signing.SigningConfigError, match="both"):
        pdf_signing.configured_identity({"PDF_SIGNING_CERT": str(tmp_path / "cert.pem")})


def test_the_rotation_command_retires_the_generated_key_and_is_audited(app, runner):
    """Does `flask rotate-pdf-signing-key` make a new generated certificate, keep the old one retired, and
    record the rotation in the audit log (without any key material)?"""
    from portal.config import INSTANCE_DIR
    from portal.models import AuditEvent
    before = (INSTANCE_DIR / pdf_signing.CERT_FILE).read_bytes()
    result = runner.invoke(args=["rotate-pdf-signing-key"])
    assert result.exit_code == 0 and "New PDF signing certificate" in result.output, result.output
    after = (INSTANCE_DIR / pdf_signing.CERT_FILE).read_bytes()
    assert after != before
    assert before in [path.read_bytes() for path in (INSTANCE_DIR / pdf_signing.RETIRED_DIR).iterdir()]
    [event] = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "pdf_signing_key.rotated")).all()
    assert "PRIVATE KEY" not in (event.detail or "")


def test_a_generated_key_left_without_its_certificate_gets_one(tmp_path):
    """If a worker stopped between writing the generated key and its certificate, does the next start make a
    certificate for that key (rather than failing, or replacing the key)?"""
    first = pdf_signing.instance_identity(tmp_path, "Portal test")
    (tmp_path / pdf_signing.CERT_FILE).unlink()
    again = pdf_signing.instance_identity(tmp_path, "Portal test")
    assert again.key_pem == first.key_pem and again.cert_pem != first.cert_pem
