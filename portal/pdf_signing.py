"""The portal's own PDF signature (PAdES, with pyHanko) on every PDF it issues.

The signing key and certificate come from the environment in production (PEM files, or a PKCS#12 bundle; see
README "Your own signing certificate"); without them a key and a self-signed certificate are generated once
into instance/ (atomically, so that parallel workers agree) and reused, like SECRET_KEY and the data keys.
Rotation: `flask --app wsgi rotate-pdf-signing-key` retires the generated pair into instance/pdf_signing_retired/
and makes a new one (configured ones are rotated by configuring the new files). Files issued before stay
verifiable: the portal checks an upload by the SHA-256 it recorded when it issued the file, which no key
change touches; the retired certificates are kept to hand to anyone who checks an old copy's signature.

Signing runs on the portal's own bytes (the renderer's output), inside the render's child process, never on
an upload.
"""
from __future__ import annotations

import io
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

SIGNATURE_FIELD = "PortalSignature"
KEY_FILE = "pdf_signing_key.pem"
CERT_FILE = "pdf_signing_cert.pem"
RETIRED_DIR = "pdf_signing_retired"
CERT_YEARS = 10
SIGNATURE_BYTES = 16_384  # room for the CMS signature: certificate chain and signature (ours: ~1.5 KB)


class SigningConfigError(RuntimeError):
    """The configured signing key or certificate cannot be used; the message says which setting."""


@dataclass(frozen=True)
class SigningIdentity:
    key_pem: bytes       # PKCS#8, unencrypted (read once at start, kept in memory like the data keys)
    cert_pem: bytes      # the signing certificate
    chain_pem: tuple[bytes, ...] = ()  # intermediate certificates, if the configured bundle has them

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)


def common_name(public_url: str) -> str:
    """The generated certificate's subject: the portal's address, so that a reader sees whose signature it is."""
    host = public_url.split("://", 1)[-1].split("/", 1)[0]
    return f"Mentorship Agreement Portal {host}"[:64]


def _write_once(path: Path, data: bytes) -> None:
    """Create `path` with `data` unless another process did first (then theirs is kept)."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o600)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def new_identity(common_name: str) -> SigningIdentity:
    """A fresh EC P-256 key and a self-signed certificate for signing documents."""
    return _self_signed(ec.generate_private_key(ec.SECP256R1()), common_name)


def _self_signed(key, common_name: str) -> SigningIdentity:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Mentorship Agreement Portal")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365 * CERT_YEARS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return SigningIdentity(key_pem=key_pem, cert_pem=cert.public_bytes(serialization.Encoding.PEM))


def instance_identity(instance_dir: Path, common_name: str) -> SigningIdentity:
    """The generated key and certificate in `instance_dir`, made on first use."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = instance_dir / KEY_FILE, instance_dir / CERT_FILE
    if not (key_path.exists() and cert_path.exists()):
        with _GENERATE_LOCK:
            if not key_path.exists():
                fresh = new_identity(common_name)
                _write_once(key_path, fresh.key_pem)
                if key_path.read_bytes() == fresh.key_pem:  # ours won: its certificate goes with it
                    cert_path.unlink(missing_ok=True)
                    _write_once(cert_path, fresh.cert_pem)
            _wait_for(cert_path)
            if not cert_path.exists():  # the process that made the key stopped before its certificate
                key = serialization.load_pem_private_key(key_path.read_bytes(), None)
                _write_once(cert_path, _self_signed(key, common_name).cert_pem)
    return _checked(key_path.read_bytes(), cert_path.read_bytes(), (), "the generated pair in instance/")


_GENERATE_LOCK = threading.Lock()


def _wait_for(path: Path, seconds: float = 5.0) -> None:
    """Another worker that won the key's race writes the certificate a moment later."""
    import time
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def rotate_instance_identity(instance_dir: Path, common_name: str) -> SigningIdentity:
    """Retire the generated pair (kept under RETIRED_DIR with the time it was retired) and make a new one."""
    retired = instance_dir / RETIRED_DIR
    retired.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for name in (KEY_FILE, CERT_FILE):
        path = instance_dir / name
        if path.exists():
            path.rename(retired / f"{stamp}-{name}")
    return instance_identity(instance_dir, common_name)


def configured_identity(env: dict) -> SigningIdentity | None:
    """The key and certificate the environment names, or None when it names none.

    PDF_SIGNING_PKCS12 (a .p12/.pfx file) with PDF_SIGNING_PKCS12_PASSWORD, or PDF_SIGNING_CERT and
    PDF_SIGNING_KEY (PEM files; PDF_SIGNING_KEY_PASSWORD if the key is encrypted; a certificate file may hold
    the chain after the signing certificate)."""
    p12_path = env.get("PDF_SIGNING_PKCS12")
    cert_path, key_path = env.get("PDF_SIGNING_CERT"), env.get("PDF_SIGNING_KEY")
    if p12_path:
        password = env.get("PDF_SIGNING_PKCS12_PASSWORD")
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(
                Path(p12_path).read_bytes(), password.encode() if password else None)
        except (OSError, ValueError) as error:
            raise SigningConfigError(f"PDF_SIGNING_PKCS12 cannot be read: {type(error).__name__}") from None
        if key is None or cert is None:
            raise SigningConfigError("PDF_SIGNING_PKCS12 must hold a private key and its certificate")
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        chain = tuple(c.public_bytes(serialization.Encoding.PEM) for c in extra or ())
        return _checked(key_pem, cert.public_bytes(serialization.Encoding.PEM), chain, "PDF_SIGNING_PKCS12")
    if cert_path or key_path:
        if not (cert_path and key_path):
            raise SigningConfigError("set both PDF_SIGNING_CERT and PDF_SIGNING_KEY (or PDF_SIGNING_PKCS12)")
        password = env.get("PDF_SIGNING_KEY_PASSWORD")
        try:
            key = serialization.load_pem_private_key(Path(key_path).read_bytes(),
                                                     password.encode() if password else None)
            certs = x509.load_pem_x509_certificates(Path(cert_path).read_bytes())
        except (OSError, ValueError, TypeError) as error:
            raise SigningConfigError(f"PDF_SIGNING_CERT/PDF_SIGNING_KEY cannot be read: "
                                     f"{type(error).__name__}") from None
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        return _checked(key_pem, certs[0].public_bytes(serialization.Encoding.PEM),
                        tuple(c.public_bytes(serialization.Encoding.PEM) for c in certs[1:]), "PDF_SIGNING_CERT")
    return None


def _checked(key_pem: bytes, cert_pem: bytes, chain: tuple[bytes, ...], where: str) -> SigningIdentity:
    key = serialization.load_pem_private_key(key_pem, None)
    cert = x509.load_pem_x509_certificate(cert_pem)
    if key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) \
            != cert.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo):
        raise SigningConfigError(f"{where}: the private key does not belong to the certificate")
    return SigningIdentity(key_pem=key_pem, cert_pem=cert_pem, chain_pem=chain)


class PdfSigner:
    """Signs PDFs with one identity. Built once per app; pyHanko's signer objects are made on first use (in
    the process that renders, the fork's child inherits them)."""

    def __init__(self, identity: SigningIdentity, reason: str = "Issued by the Mentorship Agreement Portal",
                 field_name: str = SIGNATURE_FIELD):
        self.identity = identity
        self.reason = reason
        self.field_name = field_name
        self._signer = None

    def _pyhanko_signer(self):
        if self._signer is None:
            from asn1crypto import keys as asn1_keys
            from asn1crypto import x509 as asn1_x509
            from pyhanko.sign import signers
            from pyhanko_certvalidator.registry import SimpleCertificateStore
            key = asn1_keys.PrivateKeyInfo.load(serialization.load_pem_private_key(
                self.identity.key_pem, None).private_bytes(serialization.Encoding.DER,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
            cert = asn1_x509.Certificate.load(self.identity.certificate.public_bytes(serialization.Encoding.DER))
            chain = [asn1_x509.Certificate.load(x509.load_pem_x509_certificate(pem).public_bytes(
                serialization.Encoding.DER)) for pem in self.identity.chain_pem]
            self._signer = signers.SimpleSigner(signing_cert=cert, signing_key=key,
                                                cert_registry=SimpleCertificateStore.from_certs([cert, *chain]))
        return self._signer

    def warm(self) -> None:
        """Load pyHanko and the key now (before a render forks), so that no render pays for it."""
        self._pyhanko_signer()
        import pyhanko.pdf_utils.incremental_writer  # noqa: F401
        import pyhanko.sign.signers.pdf_signer  # noqa: F401

    def sign(self, pdf: bytes) -> bytes:
        """`pdf` (the portal's own output) with a PAdES signature over all of it, as an incremental update."""
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers
        from pyhanko.sign.fields import SigSeedSubFilter
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        meta = signers.PdfSignatureMetadata(field_name=self.field_name, subfilter=SigSeedSubFilter.PADES,
                                            md_algorithm="sha256", reason=self.reason)
        out = signers.PdfSigner(meta, signer=self._pyhanko_signer(),
                                new_field_spec=fields.SigFieldSpec(self.field_name)).sign_pdf(
            writer, bytes_reserved=SIGNATURE_BYTES)  # a size given: pyHanko would otherwise sign twice to measure
        return out.getvalue()
