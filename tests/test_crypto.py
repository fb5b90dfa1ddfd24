"""Encryption at rest: bound to its row, keyed from configuration, rotatable."""
from __future__ import annotations

import base64

import pytest

from portal.crypto import DecryptionError, KeyConfigError, Keyring, key_id_of


def key(byte: int) -> str:
    return base64.urlsafe_b64encode(bytes([byte]) * 32).decode()


def test_round_trip_and_binding_to_the_row():
    """Does a ciphertext decrypt for its own row only (copied onto another row it fails)?"""
    ring = Keyring(f"k1:{key(1)}")
    blob = ring.encrypt("a confidential note", "note:1|pair:1")
    assert b"confidential" not in blob
    assert ring.decrypt(blob, "note:1|pair:1") == "a confidential note"
    with pytest.raises(DecryptionError):
        ring.decrypt(blob, "note:2|pair:1")


def test_each_ciphertext_records_its_key_and_old_keys_still_read():
    """After a new key is put first, are old ciphertexts still readable and new ones under the new key?"""
    old = Keyring(f"k1:{key(1)}")
    blob = old.encrypt("text", "aad")
    new = Keyring(f"k2:{key(2)},k1:{key(1)}")
    assert key_id_of(blob) == "k1" and new.decrypt(blob, "aad") == "text"
    assert key_id_of(new.encrypt("text", "aad")) == "k2"
    with pytest.raises(DecryptionError):
        Keyring(f"k2:{key(2)}").decrypt(blob, "aad")


def test_tampered_ciphertext_is_refused():
    """Is a single flipped bit detected?"""
    ring = Keyring(f"k1:{key(1)}")
    blob = bytearray(ring.encrypt("text", "aad"))
    blob[-1] ^= 1
    with pytest.raises(DecryptionError):
        ring.decrypt(bytes(blob), "aad")


@pytest.mark.parametrize("spec", ["", "nokey", "k1:not-base64!!", f"k1:{base64.b64encode(b'short').decode()}",
                                  f"k1:{key(1)},k1:{key(2)}"])
def test_bad_key_configuration_is_refused(spec):
    """Is a missing, short, malformed or duplicated key refused at start-up with a clear message?"""
    with pytest.raises(KeyConfigError):
        Keyring(spec)
