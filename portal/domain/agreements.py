"""Agreements: starting one from a template version, reading and saving field values without lost updates,
the history of every change, and who has the editor open.

Confidentiality: pair-only values are encrypted at rest, bound to their agreement, field and pair, and
`read_values` leaves them out entirely unless the reader is a member of the pair.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, NamedTuple

from sqlalchemy import DateTime, Integer, String, bindparam, delete, event, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from portal import crypto, rawsql
from portal.domain import field_values
from portal.domain.template_format import TERM_FIELD_KEY, Field, TemplateDefinition
from portal.domain.template_store import definition_of
from portal.extensions import db
from portal.models import (
    Agreement, AgreementEvent, EditorPresence, FieldChange, FieldValue, Pair, TemplateVersion, User,
)
from portal.timeutil import utcnow

EDITABLE_STATES = ("draft", "signing")
# TERM_FIELD_KEY (imported above, used from here by other modules): a number field with this key is the
# agreement's term in months (docs/template-format.md); it can never be pair-only (PROGRAM_NEEDED_FIELDS).
# An editor that has not checked in for this long is no longer "on the page". Open pages check in every 3 s
# (page.html), so one late check-in is forgiven, and a page that closed without saying so (its leave beacon
# lost) is gone from its partner's page within 10 s: at most 6 s here plus the partner's own 3 s interval.
PRESENCE_SECONDS = 6


class AgreementStateError(Exception):
    """An action the agreement's state does not allow; the message is shown as it is."""


# --- encryption of pair-only values -------------------------------------------------------------------------

def _value_aad(agreement_id: int, pair_id: int, key: str) -> str:
    return f"field:{agreement_id}:{key}|pair:{pair_id}"


def _change_aad(change_id: int, pair_id: int, which: str) -> str:
    return f"field_change:{change_id}:{which}|pair:{pair_id}"


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


crypto.register_encrypted_column(
    FieldValue, "value_ct", lambda row: _value_aad(row.agreement_id, row.agreement.pair.id, row.field_key))
crypto.register_encrypted_column(
    FieldChange, "old_ct", lambda row: _change_aad(row.id, _pair_id_of(row.agreement_id), "old"))
crypto.register_encrypted_column(
    FieldChange, "new_ct", lambda row: _change_aad(row.id, _pair_id_of(row.agreement_id), "new"))


def _pair_id_of(agreement_id: int) -> int:
    return db.session.scalar(select(Agreement.pair_id).where(Agreement.id == agreement_id))


def _stored_value(row: FieldValue, pair_id: int) -> Any:
    if row.value_ct is not None:
        return json.loads(crypto.decrypt(row.value_ct, _value_aad(row.agreement_id, pair_id, row.field_key)))
    return None if row.value_json is None else json.loads(row.value_json)


def new_field_value(agreement: Agreement, field: Field, pair_id: int, value: Any, now) -> FieldValue:
    """The first row of a field's answer in an agreement (encrypted when the field is pair-only)."""
    row = FieldValue(agreement_id=agreement.id, field_key=field.key, version=0, changed_seq=0)
    for column, stored in _store(row, field, pair_id, value).items():
        setattr(row, column, stored)
    if value is not None:
        row.updated_at = now
    return row


def _store(row: FieldValue, field: Field, pair_id: int, value: Any) -> dict:
    """Column values for storing `value` in `row` (encrypted when the field is pair-only)."""
    if field.pair_only:
        blob = None if value is None else crypto.encrypt(
            _dump(value), _value_aad(row.agreement_id, pair_id, field.key))
        return {"value_json": None, "value_ct": blob}
    return {"value_json": _dump(value), "value_ct": None}


# --- starting agreements ------------------------------------------------------------------------------------

def add_months(start: date, months: int) -> date:
    """The same day of the month `months` later, or that month's last day when it is shorter."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    for day in (start.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def last_day_of_term(term_start: date, term_months: int) -> date:
    return add_months(term_start, term_months) - timedelta(days=1)


def term_end(agreement: Agreement) -> date:
    return last_day_of_term(agreement.term_start, agreement.term_months)


@event.listens_for(Agreement, "before_insert")
@event.listens_for(Agreement, "before_update")
def _keep_term_end(_mapper, _connection, agreement: Agreement) -> None:
    # Agreement.term_end is stored for SQL filters and sorting; it follows the term whatever changed it.
    if agreement.term_start is not None and agreement.term_months is not None:
        agreement.term_end = term_end(agreement)


def start_agreement(pair: Pair, version: TemplateVersion, term_start: date, term_months: int,
                    actor: User | None, predecessor: Agreement | None = None,
                    carried: dict[str, Any] | None = None) -> Agreement:
    """A new draft agreement for the pair, pinned to `version`, every field at its suggested value
    (or carried over from `carried`, e.g. a renewal)."""
    if version.state != "published":
        raise AgreementStateError("Agreements can only start from a published template version.")
    definition = definition_of(version)
    term_field = definition.field(TERM_FIELD_KEY)
    if term_field is not None and term_field.type == "number" and not (carried or {}).get(TERM_FIELD_KEY):
        suggested = term_field.option("suggested")
        if suggested is not None:
            term_months = suggested
        elif term_field.option("min") <= term_months <= term_field.option("max"):
            carried = {**(carried or {}), TERM_FIELD_KEY: term_months}
    agreement = Agreement(pair_id=pair.id, template_version_id=version.id, state="draft", revision=1,
                          term_start=term_start, term_months=term_months,
                          predecessor_id=getattr(predecessor, "id", None))
    db.session.add(agreement)
    db.session.flush()
    now = utcnow()
    for field in definition.fields:
        if not field.stores_value:
            continue
        value = (carried or {}).get(field.key, field_values.initial_value(field))
        db.session.add(new_field_value(agreement, field, pair.id, value, now))
    record_event(agreement, "created", actor, f"from template version {version.number}")
    return agreement


def record_event(agreement: Agreement, kind: str, actor: User | None, detail: str = "") -> AgreementEvent:
    event = AgreementEvent(agreement_id=agreement.id, kind=kind, revision=agreement.revision,
                           actor_id=getattr(actor, "id", None), detail=detail[:500])
    db.session.add(event)
    return event


# --- reading ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoredField:
    value: Any
    version: int
    updated_by: str | None
    updated_at: Any
    unreadable: bool = False  # the ciphertext did not decrypt (tampered, or its key is gone)
    changed_seq: int = 0      # the agreement's change number at this field's last change
    key_missing: bool = False  # unreadable because its key id is not configured (not evidence of tampering)


class _ReadRow(NamedTuple):
    agreement_id: int
    field_key: str
    value_json: str | None
    value_ct: bytes | None
    version: int
    changed_seq: int
    updated_at: Any
    author: str | None


# Built once: every agreement page reads its fields this way (see portal/rawsql.py).
_FIELDS_OF_AGREEMENT = rawsql.Query(
    select(*(getattr(FieldValue, name) for name in _ReadRow._fields[:-1]), User.name)
    .outerjoin(User, User.id == FieldValue.updated_by_id)
    .where(FieldValue.agreement_id == bindparam("agreement_id", type_=Integer)))


def read_fields(agreement: Agreement, definition: TemplateDefinition, include_pair_only: bool
                ) -> dict[str, StoredField]:
    """Every stored field of the agreement in one query. Pair-only fields are absent unless the reader is a
    member (`include_pair_only`): not blanked, absent."""
    hidden = {field.key for field in definition.fields if field.pair_only} if not include_pair_only else set()
    fields = {}
    for found in rawsql.rows(_FIELDS_OF_AGREEMENT, {"agreement_id": agreement.id}):
        row = _ReadRow(*found)
        if row.field_key in hidden:
            continue  # a pair-only value is not even decrypted for anyone outside the pair
        key_missing = False
        try:
            value, unreadable = _stored_value(row, agreement.pair_id), False
        except crypto.DecryptionError as error:
            value, unreadable, key_missing = None, True, isinstance(error, crypto.KeyNotConfigured)
        fields[row.field_key] = StoredField(value, row.version, row.author, row.updated_at, unreadable,
                                            row.changed_seq, key_missing)
    return fields


def program_values_of(agreement_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The values that are not pair-only, for several agreements in one query: agreement id -> key -> value.
    Pair-only values are stored encrypted only (value_json stays empty), so none is read here."""
    values: dict[int, dict[str, Any]] = {agreement_id: {} for agreement_id in agreement_ids}
    if agreement_ids:
        for agreement_id, key, value_json in db.session.execute(
                select(FieldValue.agreement_id, FieldValue.field_key, FieldValue.value_json)
                .where(FieldValue.agreement_id.in_(agreement_ids), FieldValue.value_json.is_not(None))):
            values[agreement_id][key] = json.loads(value_json)
    return values


def values_of(fields: dict[str, StoredField]) -> dict[str, Any]:
    return {key: stored.value for key, stored in fields.items()}


# --- saving -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SaveResult:
    saved: bool
    version: int
    conflict: bool = False
    theirs: Any = None          # on conflict: the value now stored (the partner's)
    theirs_by: str | None = None
    theirs_at: Any = None


def ensure_editable(agreement: Agreement) -> None:
    if agreement.state not in EDITABLE_STATES:
        raise AgreementStateError({
            "active": "This agreement is signed and active, so it is read-only. Start an amendment to change it.",
            "in_review": "This agreement is under review and can no longer be edited.",
            "closed": "This agreement is closed and read-only.",
        }.get(agreement.state, "This agreement cannot be edited now."))


class _StoredRow(NamedTuple):
    """A field's stored row as the save reads it (plain SQL: the save never needs it as an ORM object)."""
    id: int
    agreement_id: int
    field_key: str
    value_json: str | None
    value_ct: bytes | None
    version: int
    updated_by_id: int | None
    updated_at: Any


def _param(name: str, column):
    return bindparam(name, type_=column.type)


# Built once: an autosave runs these for every keystroke pause of every open editor (see portal/rawsql.py).
_STORED_ROW = rawsql.Query(select(*(getattr(FieldValue, name) for name in _StoredRow._fields)).where(
    FieldValue.agreement_id == _param("agreement_id", FieldValue.agreement_id),
    FieldValue.field_key == _param("field_key", FieldValue.field_key)))
_BUMP_CHANGE_SEQ = rawsql.Query(
    update(Agreement).where(Agreement.id == _param("agreement_id", Agreement.id))
    .values(change_seq=Agreement.change_seq + 1, updated_at=_param("now", Agreement.updated_at))
    .returning(Agreement.change_seq))
_STORE_VALUE = rawsql.Query(
    update(FieldValue).where(FieldValue.id == _param("row_id", FieldValue.id),
                             FieldValue.version == _param("base_version", FieldValue.version))
    .values(version=FieldValue.version + 1, changed_seq=_param("seq", FieldValue.changed_seq),
            updated_by_id=_param("actor_id", FieldValue.updated_by_id), updated_at=_param("now", FieldValue.updated_at),
            value_json=_param("value_json", FieldValue.value_json), value_ct=_param("value_ct", FieldValue.value_ct)))
_RECORD_PROGRAM_CHANGE = rawsql.Query(FieldChange.__table__.insert().values(
    agreement_id=bindparam("agreement_id", type_=Integer), field_key=bindparam("field_key", type_=String),
    version=bindparam("version", type_=Integer), user_id=bindparam("user_id", type_=Integer),
    old_json=_param("old_json", FieldChange.old_json), new_json=_param("new_json", FieldChange.new_json),
    at=bindparam("at", type_=DateTime)))


def _bump_change_seq(agreement: Agreement) -> int:
    # Taking the agreement's row first serialises saves of one agreement (PostgreSQL row lock; SQLite write
    # transactions are serialised by BEGIN IMMEDIATE), so the compare-and-set below is sound.
    now = utcnow()
    seq = rawsql.write_returning(_BUMP_CHANGE_SEQ, {"agreement_id": agreement.id, "now": now})[0]
    # The loaded agreement says what the row now holds, without being marked as changed.
    set_committed_value(agreement, "change_seq", seq)
    set_committed_value(agreement, "updated_at", now)
    return seq


def save_field(agreement: Agreement, definition: TemplateDefinition, field: Field, value: Any,
               base_version: int, actor: User) -> SaveResult:
    """Store one field's new value if it is still at `base_version`; otherwise report a conflict and change
    nothing. A value equal to what is stored is a no-op (no conflict, no history)."""
    ensure_editable(agreement)
    value = field_values.validate(field, value)
    rawsql.begin()  # the write transaction (SQLite: the write lock) first: the reads below are under it
    found = rawsql.first(_STORED_ROW, {"agreement_id": agreement.id, "field_key": field.key})
    if found is None:
        raise LookupError(f"agreement {agreement.id} has no stored row for field {field.key!r}")
    row = _StoredRow(*found)
    current = _stored_value(row, agreement.pair_id)
    if current == value:
        return SaveResult(saved=False, version=row.version)
    if row.version != base_version:
        author = db.session.get(User, row.updated_by_id) if row.updated_by_id else None
        return SaveResult(saved=False, version=row.version, conflict=True, theirs=current,
                          theirs_by=getattr(author, "name", None), theirs_at=row.updated_at)
    seq = _bump_change_seq(agreement)
    # Signatures and declines were given for the content as it is now: the signing module clears them (state
    # back to draft, both members told) before it changes. After the lock above, so that a signature given at
    # the same moment is either already stored, and cleared here, or waits for this save to finish.
    from portal.domain import signing  # signing builds on this module
    signing.content_changing(agreement, actor, field)
    now = utcnow()
    touched = rawsql.execute(_STORE_VALUE, {"row_id": row.id, "base_version": base_version, "seq": seq,
                                            "actor_id": actor.id, "now": now,
                                            **_store(row, field, agreement.pair_id, value)})
    if touched != 1:  # changed between our read and our write: let the caller show the conflict
        db.session.rollback()
        raise ConcurrentSave()
    loaded = db.session.identity_map.get(db.session.identity_key(FieldValue, (row.id,)))
    if loaded is not None:
        db.session.expire(loaded)  # an ORM copy read earlier in this request is out of date now
    if field.key == TERM_FIELD_KEY and field.type == "number" and value is not None:
        agreement.term_months = value
    _record_change(agreement, field, base_version + 1, current, value, actor)
    return SaveResult(saved=True, version=base_version + 1)


class ConcurrentSave(Exception):
    """Another save won the race; the caller retries, which then reports the conflict."""


def _record_change(agreement: Agreement, field: Field, version: int, old: Any, new: Any, actor: User) -> None:
    if not field.pair_only:
        rawsql.execute(_RECORD_PROGRAM_CHANGE, {
            "agreement_id": agreement.id, "field_key": field.key, "version": version, "user_id": actor.id,
            "old_json": _dump(old), "new_json": _dump(new), "at": utcnow()})
        return
    change = FieldChange(agreement_id=agreement.id, field_key=field.key, version=version, user_id=actor.id)
    db.session.add(change)
    db.session.flush()  # the id is part of the associated data
    change.old_ct = None if old is None else crypto.encrypt(_dump(old), _change_aad(change.id, agreement.pair_id, "old"))
    change.new_ct = None if new is None else crypto.encrypt(_dump(new), _change_aad(change.id, agreement.pair_id, "new"))


def encrypt_history(agreement: Agreement, field_keys: list[str]) -> int:
    """Encrypt the plaintext history of these fields as pair-only history is stored (a template change made
    them pair-only); returns the rows changed."""
    if not field_keys:
        return 0
    changes = db.session.scalars(select(FieldChange).where(
        FieldChange.agreement_id == agreement.id, FieldChange.field_key.in_(field_keys),
        or_(FieldChange.old_json.is_not(None), FieldChange.new_json.is_not(None)))).all()
    for change in changes:
        if change.old_json is not None:
            change.old_ct = crypto.encrypt(change.old_json, _change_aad(change.id, agreement.pair_id, "old"))
        if change.new_json is not None:
            change.new_ct = crypto.encrypt(change.new_json, _change_aad(change.id, agreement.pair_id, "new"))
        change.old_json = change.new_json = None
    return len(changes)


# --- history ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HistoryEntry:
    field: Field
    version: int
    old: Any
    new: Any
    by: str | None
    at: Any
    unreadable: bool = False


def history(agreement: Agreement, definition: TemplateDefinition, field_key: str | None = None,
            limit: int = 500) -> list[HistoryEntry]:
    """Changes newest first, for the whole agreement or one field. Only members may call this for an agreement
    with pair-only fields (it decrypts them)."""
    stmt = (select(FieldChange, User.name).outerjoin(User, User.id == FieldChange.user_id)
            .where(FieldChange.agreement_id == agreement.id).order_by(FieldChange.id.desc()).limit(limit))
    if field_key is not None:
        stmt = stmt.where(FieldChange.field_key == field_key)
    entries = []
    for change, author in db.session.execute(stmt).all():
        field = definition.field(change.field_key)
        if field is None:
            continue
        try:
            # By what was stored: a term saved while its stored version still marked it pair-only is encrypted.
            if field.pair_only or change.old_ct is not None or change.new_ct is not None:
                old = None if change.old_ct is None else json.loads(crypto.decrypt(
                    change.old_ct, _change_aad(change.id, agreement.pair_id, "old")))
                new = None if change.new_ct is None else json.loads(crypto.decrypt(
                    change.new_ct, _change_aad(change.id, agreement.pair_id, "new")))
            else:
                old = None if change.old_json is None else json.loads(change.old_json)
                new = None if change.new_json is None else json.loads(change.new_json)
            entries.append(HistoryEntry(field, change.version, old, new, author, change.at))
        except crypto.DecryptionError:
            entries.append(HistoryEntry(field, change.version, None, None, author, change.at, unreadable=True))
    return entries


# --- live updates and presence ------------------------------------------------------------------------------

def _changed_since_statement(excluding: bool) -> rawsql.Query:
    statement = select(FieldValue.field_key).where(
        FieldValue.agreement_id == bindparam("agreement_id", type_=Integer),
        FieldValue.changed_seq > bindparam("seq", type_=Integer))
    if excluding:
        statement = statement.where(FieldValue.updated_by_id != bindparam("user_id", type_=Integer))
    return rawsql.Query(statement)


# Built once: the partner's poll asks it after every change.
_CHANGED_SINCE = {False: _changed_since_statement(False), True: _changed_since_statement(True)}


def changed_since(agreement: Agreement, seq: int, exclude_user_id: int | None = None) -> list[str]:
    """Keys of the fields changed after change number `seq` (by someone other than `exclude_user_id`)."""
    excluding = exclude_user_id is not None
    found = rawsql.rows(_CHANGED_SINCE[excluding], {"agreement_id": agreement.id, "seq": seq,
                                                    **({"user_id": exclude_user_id} if excluding else {})})
    return [key for (key,) in found]


def touch_presence(agreement: Agreement, user: User) -> None:
    now = utcnow()
    updated = db.session.execute(update(EditorPresence).where(
        EditorPresence.agreement_id == agreement.id, EditorPresence.user_id == user.id).values(seen_at=now))
    if updated.rowcount == 0:
        db.session.add(EditorPresence(agreement_id=agreement.id, user_id=user.id, seen_at=now))


def leave(agreement: Agreement, user: User) -> None:
    """The person's page closed (or moved on): they are no longer on it, without waiting for the timeout."""
    db.session.execute(delete(EditorPresence).where(
        EditorPresence.agreement_id == agreement.id, EditorPresence.user_id == user.id))


# Built once: every open editor asks it every few seconds.
_PRESENT_PEOPLE = rawsql.Query(
    select(*rawsql.columns_of(User)).join(EditorPresence, EditorPresence.user_id == User.id)
    .where(EditorPresence.agreement_id == bindparam("agreement_id", type_=Integer),
           EditorPresence.seen_at >= bindparam("since", type_=DateTime)).order_by(User.name))


def present_people(agreement: Agreement) -> list[User]:
    since = utcnow() - timedelta(seconds=PRESENCE_SECONDS)
    return rawsql.objects(User, _PRESENT_PEOPLE, {"agreement_id": agreement.id, "since": since})


# --- a submitted form ---------------------------------------------------------------------------------------

@dataclass
class FieldOutcome:
    field: Field
    submitted: Any = None
    saved: bool = False
    error: str | None = None
    conflict: SaveResult | None = None
    version: int = 0
    # What the person's page showed: the version and the digest of that version's value (None: not sent).
    base_version: int = 0
    base_digest: str | None = None
    untouched: bool = False     # the answer came back as the page showed it: neither saved nor a conflict

    @property
    def digest(self) -> str:
        """The digest of what the person's inputs now hold (their page's new base after a save)."""
        return field_values.fingerprint(self.field, self.submitted)


def _version_number(raw: Any) -> int | None:
    if raw is None or not re.fullmatch(r"[0-9]{1,18}", str(raw)):  # ASCII: "\u00b2".isdigit() is True
        return None
    return int(raw)


def save_submission(agreement: Agreement, definition: TemplateDefinition, form, actor: User,
                    only: str | None = None, skip: str | None = None) -> dict[str, FieldOutcome]:
    """Save every field of a submitted agreement form (or just `only`), each on its own: a bad or stale field
    does not stop the others. Returns what happened to each field that was submitted.

    A field counts as changed only if what is submitted differs from what the person's page showed (its
    `b-<key>` digest): an untouched field is neither written nor a conflict, however old the page. A changed
    field is written only over the version the page showed (`v-<key>`), otherwise it is a conflict; after a
    conflict was shown, `resolve=mine` with `only` writes over the partner's version the person was shown
    (`cv-<key>`), and over nothing newer."""
    ensure_editable(agreement)
    outcomes: dict[str, FieldOutcome] = {}
    replacing = only is not None and form.get("resolve") == "mine"
    for field in definition.fields:
        if not field.stores_value or (only is not None and field.key != only) or field.key == skip:
            continue
        raw_version = form.get(f"v-{field.key}")
        if raw_version is None:
            continue  # the field was not part of this submission
        outcome = FieldOutcome(field=field)
        outcomes[field.key] = outcome
        base_version = _version_number(raw_version)
        if base_version is None:
            # Nothing says what the page showed: what was typed stays in the inputs, based on no version, so
            # that saving it again shows the stored answer beside it rather than writing over it.
            outcome.error = "This form is out of date. Reload the page and try again."
            outcome.submitted = _raw_submission(field, form)
            continue
        outcome.base_version, outcome.version = base_version, base_version
        outcome.base_digest = form.get(f"b-{field.key}") or None
        if replacing:  # the person chose their version over the partner's they were shown
            shown = _version_number(form.get(f"cv-{field.key}"))
            base_version = base_version if shown is None else shown
        try:
            outcome.submitted = field_values.parse_form(field, form)
            if (not replacing and outcome.base_digest is not None
                    and field_values.fingerprint(field, outcome.submitted) == outcome.base_digest):
                outcome.untouched = True
                continue
            for attempt in range(2):  # a lost race is retried once, and then shows as a conflict
                try:
                    result = save_field(agreement, definition, field, outcome.submitted, base_version, actor)
                    break
                except ConcurrentSave:
                    if attempt:
                        raise
        except field_values.FieldValueError as error:
            outcome.error = str(error)
            outcome.submitted = _raw_submission(field, form)
            continue
        outcome.saved, outcome.version = result.saved, result.version
        if result.conflict:
            outcome.conflict = result
    return outcomes


def _raw_submission(field: Field, form) -> Any:
    """What the person typed, to put back into the inputs when it could not be stored (nothing is lost)."""
    name = field_values.input_name(field)
    if field.type == "numbered_list":
        return list(form.getlist(name)) if hasattr(form, "getlist") else form.get(name)
    if field.type == "choice":
        return {"option": form.get(name, ""), "other_text": form.get(f"{name}-other", "")}
    if field.type == "meeting_modes":
        counts = {mode.key: form.get(f"{name}-{mode.key}", "") for mode in field.modes}
        counts["other"] = form.get(f"{name}-other", "")
        return {"counts": counts, "other_label": form.get(f"{name}-other_label", "")}
    return form.get(name, "")
