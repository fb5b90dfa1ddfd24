"""Encryption at rest for pair-only content (notes, pair-only field values, summaries, reflections).

AES-256-GCM with associated data that names the row the ciphertext belongs to (for example
``note:12|pair:3``), so a ciphertext copied onto another row fails to decrypt. Keys come from configuration
(``DATA_KEYS``), never from the database; each ciphertext starts with its key id so that keys can be rotated
(``flask rotate-keys``) while the portal keeps serving: old ciphertexts stay readable as long as their key is
listed, and new ones use the first key.

Blob layout: 1 byte key-id length | key id (ASCII) | 12-byte nonce | ciphertext with 16-byte tag.
"""
from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from typing import Callable, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy import select

NONCE_BYTES = 12


class KeyConfigError(ValueError):
    """DATA_KEYS is missing or malformed."""


class DecryptionError(Exception):
    """The ciphertext does not belong to this row, was altered, or its key is no longer configured."""


class KeyNotConfigured(DecryptionError):
    """The ciphertext's key id is not in DATA_KEYS: a key matter, not evidence that anything was altered (the
    keys that are listed were checked at start-up, portal/key_check.py)."""


class Keyring:
    def __init__(self, spec: str) -> None:
        self.keys: dict[str, AESGCM] = {}
        self.current_id: str | None = None
        for part in (spec or "").split(","):
            part = part.strip()
            if not part:
                continue
            key_id, sep, encoded = part.partition(":")
            if not sep or not key_id or len(key_id) > 32 or not key_id.isascii():
                raise KeyConfigError("DATA_KEYS entries look like kid:base64key")
            try:
                raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except (binascii.Error, ValueError) as error:
                raise KeyConfigError(f"DATA_KEYS key {key_id!r} is not base64") from error
            if len(raw) != 32:
                raise KeyConfigError(f"DATA_KEYS key {key_id!r} must be 32 bytes (256 bits)")
            if key_id in self.keys:
                raise KeyConfigError(f"DATA_KEYS lists key id {key_id!r} twice")
            self.keys[key_id] = AESGCM(raw)
            self.current_id = self.current_id or key_id
        if self.current_id is None:
            raise KeyConfigError("DATA_KEYS holds no key")

    def encrypt(self, plaintext: str, aad: str, key_id: str | None = None) -> bytes:
        """Encrypt under `key_id` (default: the current key, the first listed)."""
        key_id = key_id or self.current_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self.keys[key_id].encrypt(nonce, plaintext.encode("utf-8"), aad.encode("utf-8"))
        return key_prefix(key_id) + nonce + sealed

    def decrypt(self, blob: bytes, aad: str) -> str:
        key_id = key_id_of(blob)
        key = self.keys.get(key_id)
        if key is None:
            raise KeyNotConfigured(f"key {key_id!r} is not configured")
        start = 1 + len(key_id)
        nonce, sealed = blob[start:start + NONCE_BYTES], blob[start + NONCE_BYTES:]
        try:
            return key.decrypt(nonce, sealed, aad.encode("utf-8")).decode("utf-8")
        except InvalidTag as error:
            raise DecryptionError("ciphertext does not match its row") from error


def key_prefix(key_id: str) -> bytes:
    """How every ciphertext under `key_id` begins."""
    return bytes([len(key_id)]) + key_id.encode("ascii")


def key_id_of(blob: bytes) -> str:
    blob = bytes(blob)
    if not blob or len(blob) < 1 + blob[0] + NONCE_BYTES + 16:
        raise DecryptionError("not a ciphertext")
    return blob[1:1 + blob[0]].decode("ascii", errors="replace")


def keyring() -> Keyring:
    """The app's keyring, parsed once per app."""
    ring = current_app.extensions.get("portal_keyring")
    if ring is None or ring[0] != current_app.config["DATA_KEYS"]:
        ring = (current_app.config["DATA_KEYS"], Keyring(current_app.config["DATA_KEYS"]))
        current_app.extensions["portal_keyring"] = ring
    return ring[1]


UNDECRYPTABLE_TEXT = "This text cannot be decrypted with the portal's keys."


class Decrypted(NamedTuple):
    """A stored text as read: `text` is None when there is none (never written, or purged) or when it does not
    decrypt, and then `unreadable` says so."""
    text: str | None
    unreadable: bool = False


def decrypt_or_flag(blob: bytes | None, aad: str) -> Decrypted:
    """Decrypt for display or export, where a text that does not decrypt is said, not raised."""
    if blob is None:
        return Decrypted(None)
    try:
        return Decrypted(decrypt(blob, aad))
    except DecryptionError:
        return Decrypted(None, unreadable=True)


def said_if_undecryptable(unreadable: bool) -> dict:
    """What an exported entry adds when its text did not decrypt: said in words, not left as a silent null
    (never any part of the ciphertext or its key id)."""
    return {"cannot_be_decrypted": UNDECRYPTABLE_TEXT} if unreadable else {}


def key_is_missing(blob: bytes) -> bool:
    """Is `blob` a ciphertext under a key id that DATA_KEYS does not list? (Why it does not decrypt, told
    without decrypting it again.)"""
    try:
        return key_id_of(blob) not in keyring().keys
    except DecryptionError:
        return False


def encrypt(plaintext: str, aad: str) -> bytes:
    return keyring().encrypt(plaintext, aad)


def decrypt(blob: bytes, aad: str) -> str:
    return keyring().decrypt(bytes(blob), aad)


# --- rotation -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EncryptedColumn:
    """One column holding ciphertexts, and how to compute a row's associated data."""
    model: type
    attribute: str
    aad: Callable[[object], str]


ENCRYPTED_COLUMNS: list[EncryptedColumn] = []


def register_encrypted_column(model: type, attribute: str, aad: Callable[[object], str]) -> None:
    """Each area registers its encrypted columns here so that `flask rotate-keys` re-encrypts all of them."""
    ENCRYPTED_COLUMNS.append(EncryptedColumn(model, attribute, aad))


def rotate_all(session, batch_size: int = 200) -> dict[str, int]:
    """Re-encrypt every ciphertext not under the current key, in small committed batches, so that the
    portal keeps serving (each batch holds its write lock briefly). Returns counts per column."""
    ring = keyring()
    counts: dict[str, int] = {}
    for column in ENCRYPTED_COLUMNS:
        name = f"{column.model.__tablename__}.{column.attribute}"
        counts[name] = 0
        last_id = 0
        while True:
            rows = session.scalars(select(column.model).where(column.model.id > last_id)
                                   .order_by(column.model.id).limit(batch_size)).all()
            if not rows:
                break
            for row in rows:
                last_id = row.id
                blob = getattr(row, column.attribute)
                if not blob or key_id_of(blob) == ring.current_id:  # empty: deleted by the retention purge
                    continue
                aad = column.aad(row)
                setattr(row, column.attribute, ring.encrypt(ring.decrypt(bytes(blob), aad), aad))
                counts[name] += 1
            session.commit()
    return counts
