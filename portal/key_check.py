"""The data keys are checked when the portal starts: a key listed under an id that is not the key that id
stood for, or data left under an id DATA_KEYS no longer lists, stops the start with the key id named. Without
the check, a wrong key starts a portal that can read nothing pair-only (and would make every signed agreement
look altered).

Each key id gets a known text encrypted under it (table data_key_check) the first time a start lists it: from
then on the key must decrypt it. When a key id is first seen and data already exists under it (an installation
older than the check), one stored ciphertext is tried instead. A key id that has a check but is no longer
listed must have no data left (`flask rotate-keys` moves it all to the current key); its check is then deleted.

Cost per start: one query, plus a few when a key id is new or removed (those happen once per rotation).
"""
from __future__ import annotations

import logging

from sqlalchemy import delete, func, literal, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.types import LargeBinary

from portal import crypto
from portal.models import DataKeyCheck

log = logging.getLogger(__name__)

CHECK_TEXT = "Mentorship Agreement Portal data key check"


class KeyCheckError(RuntimeError):
    """A listed data key is not the key its id stood for, or data exists under a key id not listed."""


def _check_aad(key_id: str) -> str:
    return f"data_key_check:{key_id}"


def _opens(ring: crypto.Keyring, blob: bytes, aad: str) -> bool:
    try:
        ring.decrypt(bytes(blob), aad)
    except crypto.DecryptionError:
        return False
    return True


def _stored_sample(session, key_id: str):
    """One stored ciphertext under `key_id` as (column, row), or None when no data is under it."""
    prefix = literal(crypto.key_prefix(key_id), LargeBinary)
    for column in crypto.ENCRYPTED_COLUMNS:
        attribute = getattr(column.model, column.attribute)
        row = session.scalars(select(column.model).where(func.substr(attribute, 1, len(crypto.key_prefix(key_id)))
                                                         == prefix).limit(1)).first()
        if row is not None:
            return column, row
    return None


def _problems(ring: crypto.Keyring, session) -> list[str]:
    checks = dict(session.execute(select(DataKeyCheck.key_id, DataKeyCheck.check_ct)).all())
    problems = []
    for key_id in ring.keys:
        if key_id in checks:
            if not _opens(ring, checks[key_id], _check_aad(key_id)):
                problems.append(f"DATA_KEYS key id {key_id!r} does not decrypt its check value: it is not the key "
                                f"that data under {key_id!r} was encrypted with")
            continue
        sample = _stored_sample(session, key_id)
        if sample is not None and not _opens(ring, getattr(sample[1], sample[0].attribute), sample[0].aad(sample[1])):
            problems.append(f"DATA_KEYS key id {key_id!r} does not decrypt the data stored under {key_id!r}")
            continue
        write_check(session, ring, key_id)
    for key_id in sorted(checks.keys() - ring.keys.keys()):
        if _stored_sample(session, key_id) is not None:
            problems.append(f"data is encrypted under key id {key_id!r}, which DATA_KEYS does not list: list "
                            f"that key again (`flask rotate-keys` moves data to the current key)")
        else:
            session.execute(delete(DataKeyCheck).where(DataKeyCheck.key_id == key_id))  # retired: no data left
    return problems


def mismatched_keys(ring: crypto.Keyring, session) -> list[str]:
    """The listed key ids that do not decrypt their recorded check value (read only: /readyz asks this)."""
    checks = session.execute(select(DataKeyCheck.key_id, DataKeyCheck.check_ct)
                             .where(DataKeyCheck.key_id.in_(list(ring.keys)))).all()
    return sorted(key_id for key_id, check in checks if not _opens(ring, check, _check_aad(key_id)))


def write_check(session, ring: crypto.Keyring, key_id: str) -> None:
    """Record `key_id`'s check value unless it has one (flushed; the caller commits)."""
    if session.get(DataKeyCheck, key_id) is None:
        session.add(DataKeyCheck(key_id=key_id, check_ct=ring.encrypt(CHECK_TEXT, _check_aad(key_id), key_id)))
        session.flush()


def check_data_keys(ring: crypto.Keyring, session, quiet: bool = False) -> bool:
    """Raise KeyCheckError naming every key id that fails; record the checks of key ids seen the first time.
    True once checked; False when a database without the table (before `flask db upgrade`) or out of reach could
    not be asked: the start goes on (the portal recovers from a database outage without a restart), and the
    worker checks before its first request reaches the database (portal/__init__.py), `quiet`ly: that request's
    own failure is its one log line."""
    for attempt in range(2):
        try:
            problems = _problems(ring, session)
            if problems:
                session.rollback()
                raise KeyCheckError("The data keys do not match the database: " + "; ".join(problems) + ".")
            session.commit()
            return True
        except IntegrityError:
            session.rollback()  # another worker starting at the same moment wrote the same check: read theirs
            if attempt:
                raise
        except SQLAlchemyError as error:
            session.rollback()
            if not quiet:
                log.warning("data keys not checked yet: the database is out of reach or not migrated yet (%s)",
                            type(error).__name__)
            return False
    return False
