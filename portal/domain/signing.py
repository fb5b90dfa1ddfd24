"""Signing an agreement, declining to sign it, clearing signatures when the content changes, amendments, and
checking that what is stored still matches what was signed.

Lifecycle (DESIGN.md): draft -(first signature)-> signing -(second signature)-> active. Any change of content
while signed clears the signatures (back to draft). An active agreement can be reopened as a new revision
that both edit and sign again; each signed revision is kept as an immutable SignedVersion.

Every state change goes through `_lock`, which bumps the agreement's change number: that takes the agreement's
row lock (so a signature and an edit of the same agreement never interleave) and makes open editors refresh.

Confidentiality: decline reasons and the pair-only part of a signed version are encrypted; mails, events and
audit records carry names, roles and dates only. The program's retention purge deletes them (`forget_pair_only`):
the signed version keeps its program part, its hash and its signatures, and says when its pair-only part went.
"""
from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Integer, bindparam, exists, func, select, update

from portal import audit, crypto, rawsql
from portal.domain import agreements as agreement_rules
from portal.domain import signed_content
from portal.domain.accounts import AccountError, confirm_password
from portal.domain.field_values import missing_required
from portal.domain.template_format import Field, TemplateDefinition, substitute_placeholders
from portal.domain.template_store import definition_of
from portal.extensions import db
from portal.mail import queue_mail
from portal.models import (
    Agreement, AgreementEvent, AgreementSignature, FieldValue, SignedVersion, User,
)
from portal.timeutil import utcnow

SIGNABLE_STATES = agreement_rules.EDITABLE_STATES  # draft and signing
# Once active the content is fixed; what is stored must keep matching the signed version in these states.
SIGNED_STATES = ("active", "in_review", "closed")
ROLES = ("mentor", "mentee")
PRINTED_NAME_MAX = 120
DECLINE_REASON_MAX = 2000
USER_AGENT_MAX = 300
ADDRESS_MAX = 64
# Event kinds about signing, newest first decides what the page says about the signatures.
SIGNING_EVENTS = ("signed", "declined", "signatures_cleared", "activated", "amendment_started")


class SigningRefused(Exception):
    """The action is not possible now (wrong state, wrong person, incomplete agreement). Nothing changed;
    the message is shown as it is."""


class SigningFormError(Exception):
    """The form had problems; `errors` maps each input's name to the message shown next to it."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


# --- encrypted columns --------------------------------------------------------------------------------------

def _seal_aad(agreement_id: int, pair_id: int) -> str:
    return f"agreement_seal:{agreement_id}|pair:{pair_id}"


def _reason_aad(signature_id: int, pair_id: int) -> str:
    return f"signature:{signature_id}:decline_reason|pair:{pair_id}"


def _version_aad(version_id: int, pair_id: int) -> str:
    return f"signed_version:{version_id}|pair:{pair_id}"


crypto.register_encrypted_column(Agreement, "seal_ct", lambda row: _seal_aad(row.id, row.pair_id))
crypto.register_encrypted_column(
    AgreementSignature, "decline_reason_ct", lambda row: _reason_aad(row.id, row.agreement.pair_id))
crypto.register_encrypted_column(
    SignedVersion, "pair_only_ct", lambda row: _version_aad(row.id, row.agreement.pair_id))


# --- the content signed -------------------------------------------------------------------------------------

class UnreadableContent(Exception):
    """A stored pair-only value or the seal does not decrypt (altered, or its key is gone)."""


class UndecryptableContent(UnreadableContent):
    """It does not decrypt because its key is not configured: said as such, never as "changed"."""


def _unreadable(error: crypto.DecryptionError) -> UnreadableContent:
    return UndecryptableContent() if isinstance(error, crypto.KeyNotConfigured) else UnreadableContent()


def _refused_as_unreadable(error: UnreadableContent, then: str = "") -> SigningRefused:
    """Why signing (or declining) is refused when part of the agreement does not decrypt: a missing key is said
    as such, never as a possible alteration."""
    if isinstance(error, UndecryptableContent):
        said = "Part of this agreement cannot be decrypted with the portal's keys (ask the portal's administrators)."
    else:
        said = "Part of this agreement cannot be read (it may have been altered)."
    return SigningRefused(f"{said} {then}".strip())


class PairOnlyPurged(UnreadableContent):
    """The signed version's pair-only part (values and seal) was deleted by the program's retention purge."""


PURGED = b""  # a signed version's pair_only_ct once the retention purge deleted it


def pair_only_purged(version: SignedVersion) -> bool:
    return not version.pair_only_ct


def forget_pair_only(agreement: Agreement) -> int:
    """For the retention purge of a closed agreement: delete the pair-only part of every signed version (the
    pair-only values and the seal), the agreement's seal and every decline reason. The signature records, the
    hash and each version's program part stay, so that the signed version can still be shown, its program's
    copy made and its hash checked; the content can no longer be hashed again. Returns the rows changed."""
    count = 0
    for stmt in (
        update(SignedVersion).where(SignedVersion.agreement_id == agreement.id,
                                    func.length(SignedVersion.pair_only_ct) > 0).values(pair_only_ct=PURGED),
        update(Agreement).where(Agreement.id == agreement.id, Agreement.seal_ct.is_not(None)).values(seal_ct=None),
        update(AgreementSignature).where(AgreementSignature.agreement_id == agreement.id,
                                         AgreementSignature.decline_reason_ct.is_not(None))
        .values(decline_reason_ct=None),
    ):
        count += db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount
    return count


def _seal(agreement: Agreement, create: bool) -> str | None:
    if agreement.seal_ct is None:
        if not create:
            return None
        seal = secrets.token_hex(32)
        agreement.seal_ct = crypto.encrypt(seal, _seal_aad(agreement.id, agreement.pair_id))
        return seal
    try:
        return crypto.decrypt(agreement.seal_ct, _seal_aad(agreement.id, agreement.pair_id))
    except crypto.DecryptionError as error:
        raise _unreadable(error) from error


def _live_values(agreement: Agreement, definition: TemplateDefinition) -> dict[str, Any]:
    """Every stored value including pair-only ones. Used to hash and compare, never shown by this module."""
    stored = agreement_rules.read_fields(agreement, definition, include_pair_only=True)
    unreadable = [item for item in stored.values() if item.unreadable]
    if unreadable:
        raise UndecryptableContent() if all(item.key_missing for item in unreadable) else UnreadableContent()
    return agreement_rules.values_of(stored)


def _content(agreement: Agreement, definition: TemplateDefinition, values: Mapping[str, Any], seal: str) -> dict:
    pair, version = agreement.pair, agreement.template_version
    return signed_content.build_content(
        agreement_id=agreement.id, revision=agreement.revision,
        program=signed_content.ProgramFacts(pair.program.id, pair.program.code, pair.program.name,
                                            pair.program.return_email),
        template_version=signed_content.TemplateVersionFacts(version.id, version.number, version.template.name,
                                                             version.definition_json),
        definition=definition,
        parties=[signed_content.Party("mentor", pair.mentor.name, pair.mentor.email),
                 signed_content.Party("mentee", pair.mentee.name, pair.mentee.email)],
        term_start=agreement.term_start, term_months=agreement.term_months, values=values, seal=seal)


def acknowledgements(definition: TemplateDefinition) -> list[Field]:
    """The clauses each signer accepts with a checkbox when signing (e.g. CCMC's release)."""
    return [f for f in definition.fields if f.type == "acknowledgement"]


# --- who signed what ----------------------------------------------------------------------------------------

def _agreement_param():
    return bindparam("agreement_id", type_=Integer)


# Built once: the agreement page (and every autosave that finds signatures) runs these.
_CURRENT_ROWS = rawsql.Query(select(*rawsql.columns_of(AgreementSignature)).where(
    AgreementSignature.agreement_id == _agreement_param(),
    AgreementSignature.revision == bindparam("revision", type_=Integer),
    AgreementSignature.cleared_at.is_(None)).order_by(AgreementSignature.id))
_LATEST_SIGNING_EVENT = rawsql.Query(select(*rawsql.columns_of(AgreementEvent)).where(
    AgreementEvent.agreement_id == _agreement_param(), AgreementEvent.revision == bindparam("revision", type_=Integer),
    AgreementEvent.kind.in_(SIGNING_EVENTS)).order_by(AgreementEvent.id.desc()).limit(1))
_SIGNED_VERSIONS = rawsql.Query(select(*rawsql.columns_of(SignedVersion)).where(
    SignedVersion.agreement_id == _agreement_param()).order_by(SignedVersion.revision.desc()))
_STANDING_SIGNATURES = rawsql.Query(select(*rawsql.columns_of(AgreementSignature)).where(
    AgreementSignature.agreement_id == _agreement_param(), AgreementSignature.outcome == "signed",
    AgreementSignature.cleared_at.is_(None)).order_by(AgreementSignature.at))


def _current_rows(agreement: Agreement) -> list[AgreementSignature]:
    """The signatures and declines that count now: this revision's, not cleared."""
    return rawsql.objects(AgreementSignature, _CURRENT_ROWS,
                          {"agreement_id": agreement.id, "revision": agreement.revision})


def _own_role(agreement: Agreement, person: User, claimed_role: str | None) -> str:
    role = agreement.pair.role_of(person.id)
    if role is None:  # the loaders only hand members to this module; this is a second lock on the door
        raise SigningRefused("Only the mentor and the mentee of this pair can sign its agreement.")
    if claimed_role and claimed_role not in ROLES:
        raise SigningRefused("This form does not belong to a signature line of this agreement. Reload the page "
                             "and use the form on your own line. Nothing was signed.")
    if claimed_role and claimed_role != role:
        partner = agreement.pair.mentor if claimed_role == "mentor" else agreement.pair.mentee
        raise SigningRefused(
            f"You can only sign or decline on your own line. This form was for the {claimed_role}'s line "
            f"({partner.name}); you are signed in as the {role}. Nothing was signed.")
    return role


def _ensure_signable(agreement: Agreement, role: str, action: str = "sign") -> None:
    if agreement.state not in SIGNABLE_STATES:
        raise SigningRefused({
            "active": "This agreement is already signed by both of you and active. To change it, reopen it "
                      "for amendment; the signed version stays as it is.",
            "in_review": "This agreement is under review and can no longer be signed.",
            "closed": "This agreement is closed and can no longer be signed.",
        }.get(agreement.state, "This agreement cannot be signed now."))
    if any(row.role == role and row.outcome == "signed" for row in _current_rows(agreement)):
        raise SigningRefused("You have already signed this version. It becomes active when your partner signs; "
                             "any change to the content clears both signatures." if action == "sign" else
                             "You have already signed this version, so you cannot decline it. To change "
                             "something, edit the agreement: that clears both signatures.")


def _ensure_complete(agreement: Agreement, definition: TemplateDefinition, values: Mapping[str, Any],
                     placeholders: Mapping[str, str]) -> None:
    from portal.domain.lifecycle import goals_confirmed  # lifecycle builds on signing: imported when used
    if not goals_confirmed(agreement):
        raise SigningRefused("This agreement continues an earlier one: both of you confirm its goals first "
                             "(“I confirm these goals”), then sign.")
    missing = missing_required(definition, values)
    if missing:
        names = "; ".join(f"\u201c{substitute_placeholders(f.label, placeholders)[:80]}\u201d" for f in missing)
        raise SigningRefused(f"The agreement cannot be signed yet: fill in every required part first ({names}).")


def _lock(agreement: Agreement) -> None:
    """Serialise with every other change of this agreement and make open editors refresh; then read the
    agreement again, as another request may have changed it while this one was checking the form."""
    agreement_rules._bump_change_seq(agreement)
    # Everything read before the lock may be stale (field values included, which the hash is computed from):
    # expire it all, so that each object is read again, now that no other change can come in between.
    db.session.flush()
    db.session.expire_all()


def _placeholders(agreement: Agreement) -> dict[str, str]:
    pair = agreement.pair
    return {"program_name": pair.program.name, "return_address": pair.program.return_email,
            "mentor_name": pair.mentor.name, "mentee_name": pair.mentee.name,
            "term_months": str(agreement.term_months)}


# --- the forms ----------------------------------------------------------------------------------------------

@dataclass
class SignSubmission:
    """What the signing form sent. `seen` is the content number of the page the signer read."""
    role: str = ""
    printed_name: str = ""
    password: str = ""
    accepted: frozenset[str] = frozenset()
    seen: str = ""

    @classmethod
    def from_form(cls, form) -> SignSubmission:
        accepted = form.getlist("acknowledge") if hasattr(form, "getlist") else form.get("acknowledge", [])
        return cls(role=(form.get("role") or "").strip(), printed_name=form.get("printed_name") or "",
                   password=form.get("password") or "", accepted=frozenset(accepted),
                   seen=(form.get("seen") or "").strip())


def _clean_line(text: str, limit: int, what: str) -> str:
    text = " ".join((text or "").split())  # one line, single spaces
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise ValueError(f"{what} contains invisible control characters.")
    if len(text) > limit:
        raise ValueError(f"{what} is {len(text)} characters long; keep it to {limit}.")
    return text


def _form_errors(definition: TemplateDefinition, submission: SignSubmission) -> tuple[str, dict[str, str]]:
    errors: dict[str, str] = {}
    printed_name = ""
    try:
        printed_name = _clean_line(submission.printed_name, PRINTED_NAME_MAX, "Your printed name")
        if not printed_name:
            errors["printed_name"] = "Type your name as you want it printed on the agreement."
    except ValueError as error:
        errors["printed_name"] = str(error)
    for ack in acknowledgements(definition):
        if ack.key not in submission.accepted:
            errors[f"ack-{ack.key}"] = "Tick this box to accept the clause; the agreement cannot be signed without it."
    if not submission.password:
        errors["password"] = "Enter your password to confirm that it is you signing."
    return printed_name, errors


def content_token(agreement: Agreement, newest_change: int | None = None) -> str:
    """Names the content a page shows: the newest field change number. The signing form sends it back, so a
    signature is refused if the partner changed the content after the page was loaded. A page that has just
    read every field passes `newest_change` (the highest changed_seq among them) and saves the query."""
    if newest_change is None:
        newest_change = db.session.scalar(select(func.max(FieldValue.changed_seq)).where(
            FieldValue.agreement_id == agreement.id))
    return f"{agreement.revision}.{newest_change or 0}"


def _ensure_seen(agreement: Agreement, signer: User, seen: str) -> None:
    revision, _, seq = seen.partition(".")
    stale = SigningRefused("This signing form is out of date. Reload the page, read the agreement as it is now "
                           "and sign again. Nothing was signed.")
    if not re.fullmatch(r"[0-9]{1,9}\.[0-9]{1,10}", seen) or int(revision) != agreement.revision:
        raise stale
    changed_by_others = db.session.scalar(select(func.count(FieldValue.id)).where(
        FieldValue.agreement_id == agreement.id, FieldValue.changed_seq > int(seq),
        FieldValue.updated_by_id != signer.id))
    if changed_by_others:
        raise SigningRefused("Your partner changed the agreement after you opened this page. Read it again "
                             "as it is now, then sign. Nothing was signed.")


# --- signing ------------------------------------------------------------------------------------------------

@dataclass
class SignOutcome:
    activated: bool
    version: SignedVersion | None = None


def sign(agreement: Agreement, signer: User, submission: SignSubmission, address: str | None,
         user_agent: str | None) -> SignOutcome:
    """Sign the signer's own line of the agreement's current revision.

    Raises SigningRefused (state, person, completeness, stale page) or SigningFormError (printed name,
    password, acknowledgements); in both cases nothing about the agreement changed. A wrong password adds a
    sign-in failure to the throttle, which the caller keeps."""
    definition = definition_of(agreement.template_version)
    role = _own_role(agreement, signer, submission.role)
    _ensure_signable(agreement, role)
    try:
        _ensure_complete(agreement, definition, _live_values(agreement, definition), _placeholders(agreement))
    except UnreadableContent as error:
        raise _refused_as_unreadable(error, "Enter the marked answers again before signing.") from error
    printed_name, errors = _form_errors(definition, submission)
    if "password" not in errors:
        try:
            confirm_password(signer, submission.password, address)
        except AccountError as error:
            errors["password"] = str(error)
    if errors:
        raise SigningFormError(errors)

    _lock(agreement)
    _ensure_signable(agreement, role)
    _ensure_seen(agreement, signer, submission.seen)
    try:
        values = _live_values(agreement, definition)
        seal = _seal(agreement, create=True)
    except UnreadableContent as error:
        raise _refused_as_unreadable(error, "Enter the marked answers again before signing.") from error
    _ensure_complete(agreement, definition, values, _placeholders(agreement))
    content = _content(agreement, definition, values, seal)
    digest = signed_content.content_hash(content)

    rows = _current_rows(agreement)
    for row in rows:
        if row.role == role:  # the signer's own decline is superseded by their signature
            row.cleared_at = utcnow()
    partner_signature = next((row for row in rows if row.role != role and row.outcome == "signed"), None)
    if partner_signature is not None and partner_signature.content_hash != digest:
        # The content changed without passing through the editor (which would have cleared the signature):
        # the partner did not sign this content, so their signature cannot count for it.
        partner_signature.cleared_at = utcnow()
        agreement_rules.record_event(agreement, "signatures_cleared", None,
                                     f"{partner_signature.user.name}'s signature no longer matched the content")
        partner_signature = None
    signature = AgreementSignature(
        agreement_id=agreement.id, revision=agreement.revision, role=role, user_id=signer.id, outcome="signed",
        printed_name=printed_name, at=utcnow(), client_address=(address or "")[:ADDRESS_MAX] or None,
        user_agent=(user_agent or "")[:USER_AGENT_MAX] or None, template_version_id=agreement.template_version_id,
        content_hash=digest, acknowledgements_json=json.dumps(content["acknowledgements"], ensure_ascii=False))
    db.session.add(signature)
    agreement_rules.record_event(agreement, "signed", signer, f"{signer.name} signed as {role}")
    audit.record("agreement.signed", actor=signer, pair_id=agreement.pair_id, agreement_id=agreement.id,
                 revision=agreement.revision, role=role)

    db.session.flush()
    if partner_signature is None:
        agreement.state = "signing"
        partner = agreement.pair.mentee if role == "mentor" else agreement.pair.mentor
        _mail_member(partner, agreement, "partner_signed", f"{signer.name} signed your mentoring agreement",
                     signer=signer)
        return SignOutcome(activated=False)
    return SignOutcome(activated=True, version=_activate(agreement, definition, content, digest, signer))


def _activate(agreement: Agreement, definition: TemplateDefinition, content: dict, digest: str,
              last_signer: User) -> SignedVersion:
    """Both have signed: keep the signed version for ever, make the agreement active, send the copies."""
    public, private = signed_content.split_pair_only(content, [f.key for f in definition.fields if f.pair_only])
    version = SignedVersion(agreement_id=agreement.id, revision=agreement.revision,
                            program_id=agreement.pair.program_id, template_version_id=agreement.template_version_id,
                            content_hash=digest, content_json=json.dumps(public, sort_keys=True, ensure_ascii=False),
                            pair_only_ct=b"", signed_at=utcnow())
    db.session.add(version)
    db.session.flush()  # the id is part of the associated data
    version.pair_only_ct = crypto.encrypt(json.dumps(private, sort_keys=True, ensure_ascii=False),
                                          _version_aad(version.id, agreement.pair_id))
    agreement.state = "active"
    agreement_rules.record_event(agreement, "activated", last_signer,
                                 f"signed by both; revision {agreement.revision} is active")
    db.session.flush()
    _send_signed_copies(agreement, version)
    return version


def _send_signed_copies(agreement: Agreement, version: SignedVersion) -> None:
    """The program's copy (no pair-only field) goes to the program's return address as an attachment, rendered
    by the mail sender (portal.mail), so that the second signer does not wait for it. The members get a link
    to their own copy, which they download after signing in: the pair's copy holds pair-only answers, and a
    mail (its outbox row, the mail servers on its way, the mailbox) is no place for them."""
    pair, program = agreement.pair, agreement.pair.program
    title = f"{program.name}: signed agreement of {pair.mentor.name} and {pair.mentee.name}"
    queue_mail(program.return_email, "signed_copy_program", title[:200], "signed_copy_program.txt",
               program_copy_of=version, has_pdf=True, agreement=agreement, version=version, program=program,
               pair=pair)
    copy_link = f"{_link(agreement)}/versions/{version.revision}/pair-copy.pdf"
    for member in (pair.mentor, pair.mentee):
        queue_mail(member.email, "signed_copy_pair", "Your signed mentoring agreement",
                   "signed_copy_pair.txt", user=member, agreement=agreement, version=version, program=program,
                   pair=pair, link=_link(agreement), copy_link=copy_link)


def _link(agreement: Agreement) -> str:
    return f"{current_app.config['PUBLIC_URL']}/agreements/{agreement.id}"


def _mail_member(to: User, agreement: Agreement, kind: str, subject: str, **context) -> None:
    queue_mail(to.email, kind, subject, f"{kind}.txt", user=to, agreement=agreement,
               program=agreement.pair.program, link=_link(agreement), **context)


# --- declining ----------------------------------------------------------------------------------------------

def decline(agreement: Agreement, person: User, claimed_role: str | None, reason: str, address: str | None,
            user_agent: str | None) -> None:
    """Record that this member will not sign the current content, and why (only the partner reads why)."""
    role = _own_role(agreement, person, claimed_role)
    _ensure_signable(agreement, role, action="decline")
    reason = (reason or "").replace("\r\n", "\n").strip()
    if not reason:
        raise SigningFormError({"reason": "Say why you do not sign, so that your partner knows what to change."})
    if len(reason) > DECLINE_REASON_MAX:
        raise SigningFormError({"reason": f"Your reason is {len(reason):,} characters long; keep it to "
                                          f"{DECLINE_REASON_MAX:,}."})
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in reason):
        raise SigningFormError({"reason": "Your reason contains invisible control characters; remove them."})
    _lock(agreement)
    _ensure_signable(agreement, role, action="decline")
    try:
        definition = definition_of(agreement.template_version)
        digest = signed_content.content_hash(
            _content(agreement, definition, _live_values(agreement, definition), _seal(agreement, create=True)))
    except UnreadableContent as error:
        raise _refused_as_unreadable(error) from error
    for row in _current_rows(agreement):
        if row.role == role:  # a new reason replaces the earlier one
            row.cleared_at = utcnow()
    row = AgreementSignature(
        agreement_id=agreement.id, revision=agreement.revision, role=role, user_id=person.id, outcome="declined",
        at=utcnow(), client_address=(address or "")[:ADDRESS_MAX] or None,
        user_agent=(user_agent or "")[:USER_AGENT_MAX] or None, template_version_id=agreement.template_version_id,
        content_hash=digest, acknowledgements_json="[]")
    db.session.add(row)
    db.session.flush()  # the id is part of the associated data
    row.decline_reason_ct = crypto.encrypt(reason, _reason_aad(row.id, agreement.pair_id))
    agreement_rules.record_event(agreement, "declined", person, f"{person.name} declined to sign as {role}")
    audit.record("agreement.declined", actor=person, pair_id=agreement.pair_id, agreement_id=agreement.id,
                 revision=agreement.revision, role=role)
    partner = agreement.pair.mentee if role == "mentor" else agreement.pair.mentor
    _mail_member(partner, agreement, "partner_declined", f"{person.name} did not sign your mentoring agreement",
                 decliner=person)


def read_decline_reason(row: AgreementSignature, pair_id: int) -> crypto.Decrypted:
    """The reason of a decline as read, for the pair's own page only."""
    return crypto.decrypt_or_flag(row.decline_reason_ct, _reason_aad(row.id, pair_id))


def decline_reason(row: AgreementSignature, pair_id: int) -> str | None:
    """The reason of a decline, for the pair's own page only. None if it cannot be read."""
    return read_decline_reason(row, pair_id).text


# --- content changes clear signatures -----------------------------------------------------------------------

# Built once (every autosave asks it): the agreement's state and revision as locked, and whether any signature
# or decline of that revision still counts.
_LOCKED_SIGNING_STATE = rawsql.Query(
    select(Agreement.state, Agreement.revision,
           exists().where(AgreementSignature.agreement_id == Agreement.id,
                          AgreementSignature.revision == Agreement.revision,
                          AgreementSignature.cleared_at.is_(None)))
    .where(Agreement.id == bindparam("agreement_id", type_=Integer)))


def content_changing(agreement: Agreement, actor: User, field: Field) -> None:
    """Called by agreements.save_field, with the agreement locked, just before a field's value changes.

    Signatures were given for the content as it was: they are cleared (state back to draft), both members are
    told on the page and by e-mail, and the event is recorded. Declines were about the old content too: they
    are cleared, so that the member can look again."""
    # The caller checked the state before it took the lock; a second signature may have made the agreement
    # active in between (PostgreSQL reads committed data statement by statement). Check again under the lock:
    # the usual answer (same state, nothing signed) costs one small read; anything else reloads the agreement.
    state, revision, anything_signed = rawsql.first(_LOCKED_SIGNING_STATE, {"agreement_id": agreement.id})
    if state == agreement.state and revision == agreement.revision and not anything_signed:
        agreement_rules.ensure_editable(agreement)
        return
    db.session.refresh(agreement)
    agreement_rules.ensure_editable(agreement)
    rows = _current_rows(agreement)
    if not rows:
        return
    now = utcnow()
    for row in rows:
        row.cleared_at = now
    signers = [row for row in rows if row.outcome == "signed"]
    decliners = [row for row in rows if row.outcome == "declined"]
    if decliners:
        agreement_rules.record_event(agreement, "decline_cleared", actor,
                                     f"{actor.name} changed the agreement after "
                                     f"{', '.join(row.user.name for row in decliners)} declined")
    if not signers:
        return
    agreement.state = "draft"
    signer_names = " and ".join(row.user.name for row in signers)
    agreement_rules.record_event(agreement, "signatures_cleared", actor,
                                 f"{actor.name} changed the agreement after {signer_names} signed")
    audit.record("agreement.signatures_cleared", actor=actor, pair_id=agreement.pair_id,
                 agreement_id=agreement.id, revision=agreement.revision)
    # The field is named only when the program may see it: a pair-only label stays out of every mail.
    changed = None if field.pair_only else substitute_placeholders(field.label, _placeholders(agreement))[:120]
    for member in (agreement.pair.mentor, agreement.pair.mentee):
        _mail_member(member, agreement, "signatures_cleared", "Signatures cleared: your agreement was changed",
                     actor=actor, signer_names=signer_names, changed=changed)


# --- amendments ---------------------------------------------------------------------------------------------

def reopen(agreement: Agreement, person: User) -> None:
    """Start an amendment of an active agreement: a new revision, back in draft, that both edit and sign
    again. The signed revision stays as it is (its SignedVersion) and its PDFs remain available."""
    _own_role(agreement, person, None)
    _lock(agreement)
    if agreement.state != "active":
        raise SigningRefused({
            "draft": "This agreement is not signed yet, so there is nothing to amend: edit it directly.",
            "signing": "This agreement is being signed; edit it directly (that clears the signatures).",
        }.get(agreement.state, "Only an active agreement can be reopened for amendment."))
    agreement.revision += 1
    agreement.state = "draft"
    agreement_rules.record_event(agreement, "amendment_started", person,
                                 f"{person.name} reopened the agreement for amendment "
                                 f"(revision {agreement.revision - 1} stays signed)")
    audit.record("agreement.amendment_started", actor=person, pair_id=agreement.pair_id,
                 agreement_id=agreement.id, revision=agreement.revision)
    partner = agreement.pair.mentee if person.id == agreement.pair.mentor_id else agreement.pair.mentor
    _mail_member(partner, agreement, "amendment_started", f"{person.name} reopened your agreement for amendment",
                 actor=person)


# --- signed versions ----------------------------------------------------------------------------------------

def signed_versions(agreement: Agreement) -> list[SignedVersion]:
    return rawsql.objects(SignedVersion, _SIGNED_VERSIONS, {"agreement_id": agreement.id})


def signed_version(agreement: Agreement, revision: int) -> SignedVersion | None:
    return db.session.scalar(select(SignedVersion).where(SignedVersion.agreement_id == agreement.id,
                                                         SignedVersion.revision == revision))


def version_signatures(version: SignedVersion) -> list[AgreementSignature]:
    """The two signatures that made this version active."""
    return db.session.scalars(select(AgreementSignature).where(
        AgreementSignature.agreement_id == version.agreement_id, AgreementSignature.revision == version.revision,
        AgreementSignature.outcome == "signed", AgreementSignature.cleared_at.is_(None))
        .order_by(AgreementSignature.at)).all()


def version_events(version: SignedVersion) -> list[AgreementEvent]:
    return db.session.scalars(select(AgreementEvent).where(
        AgreementEvent.agreement_id == version.agreement_id, AgreementEvent.revision == version.revision)
        .order_by(AgreementEvent.at, AgreementEvent.id)).all()


def public_content(version: SignedVersion) -> dict:
    """The program's part of a signed version: everything but the pair-only values and the seal."""
    return json.loads(version.content_json)


def full_content(version: SignedVersion, pair_id: int) -> dict:
    """The whole signed content, pair-only values included: for the pair's own copy and for checking. Raises
    PairOnlyPurged once the retention purge deleted the pair-only part."""
    if pair_only_purged(version):
        raise PairOnlyPurged()
    try:
        private = json.loads(crypto.decrypt(version.pair_only_ct, _version_aad(version.id, pair_id)))
    except crypto.DecryptionError as error:
        raise _unreadable(error) from error
    return signed_content.merge_pair_only(public_content(version), private)


def version_is_intact(version: SignedVersion, pair_id: int) -> bool:
    """Does the stored signed version still hash to the hash that was signed? Once its pair-only part was
    purged it cannot be hashed again: then only whether its signatures are for its hash."""
    return version_check(version, pair_id) == "intact"


def version_check(version: SignedVersion, pair_id: int) -> str:
    """"intact", "altered" (it no longer hashes to what was signed, or its ciphertext does not belong to it) or
    "undecryptable" (its key id is not configured, so it cannot be hashed)."""
    if pair_only_purged(version):
        return "intact" if _signatures_match(version) else "altered"
    try:
        content = full_content(version, pair_id)
    except UndecryptableContent:
        return "undecryptable"
    except UnreadableContent:
        return "altered"
    try:
        return "intact" if signed_content.content_hash(content) == version.content_hash else "altered"
    except (ValueError, KeyError):
        return "altered"


def _signatures_match(version: SignedVersion) -> bool:
    return all(row.content_hash == version.content_hash for row in version_signatures(version))


# --- does what is stored still match what was signed? -------------------------------------------------------

class IntegrityProblem(str):
    """What the agreement page says when stored content and signatures disagree; `heading` leads the notice."""
    heading = "Content does not match its signature."


class UndecryptableProblem(IntegrityProblem):
    """The stored content cannot be decrypted: a key matter, not evidence that anything was changed."""
    heading = "Content cannot be decrypted."


UNDECRYPTABLE_TEXT = crypto.UNDECRYPTABLE_TEXT
UNDECRYPTABLE_MESSAGE = UndecryptableProblem(
    UNDECRYPTABLE_TEXT + " Whether it still matches its signature cannot be checked until the key it was "
    "encrypted with is configured again; ask the portal's administrators.")
TAMPERED_MESSAGE = IntegrityProblem("The stored content of this agreement no longer matches what was signed: it was changed "
                    "outside the portal after signing. The signed version is shown and verified from its own "
                    "record; ask the program's administrators to look into it.")
VERSION_TAMPERED_MESSAGE = IntegrityProblem("The portal's stored copy of a signed version no longer matches its signature hash: "
                            "it was changed outside the portal after signing.")


def integrity_problem(agreement: Agreement) -> str | None:
    """A message when the stored content no longer matches its signatures, otherwise None.

    Active (and later) agreements: the signed version must still hash to its hash, its signatures must be
    for that hash, and the live values must equal the signed ones. Agreements being signed: the current
    content must still hash to what the first signer signed. (A change made through the portal clears the
    signatures; only a change made around it can cause a mismatch.) The answer is yes/no: nothing
    confidential is shown, so it is computed for every viewer."""
    if agreement.state in SIGNED_STATES:
        version = signed_version(agreement, agreement.revision)
        if version is None:
            return None
        if pair_only_purged(version):  # the retention purge: the live pair-only values went with it
            return None if _signatures_match(version) else VERSION_TAMPERED_MESSAGE
        try:
            signed = full_content(version, agreement.pair_id)
        except UndecryptableContent:
            return UNDECRYPTABLE_MESSAGE
        except UnreadableContent:
            return VERSION_TAMPERED_MESSAGE
        if signed_content.content_hash(signed) != version.content_hash:
            return VERSION_TAMPERED_MESSAGE
        if any(row.content_hash != version.content_hash for row in version_signatures(version)):
            return VERSION_TAMPERED_MESSAGE
        definition = definition_of(agreement.template_version)
        try:
            live = _live_values(agreement, definition)
        except UndecryptableContent:
            return UNDECRYPTABLE_MESSAGE
        except UnreadableContent:
            return TAMPERED_MESSAGE
        live_term = {"start": agreement.term_start.isoformat(), "months": agreement.term_months}
        if (live != signed["fields"] or live_term != signed["term"]
                or agreement.template_version_id != signed["template_version"]["id"]):
            return TAMPERED_MESSAGE
        return None
    if agreement.state == "signing":
        signatures = [row for row in _current_rows(agreement) if row.outcome == "signed"]
        if not signatures:
            return None
        definition = definition_of(agreement.template_version)
        try:
            digest = signed_content.content_hash(
                _content(agreement, definition, _live_values(agreement, definition), _seal(agreement, create=False)
                         or ""))
        except UndecryptableContent:
            return UNDECRYPTABLE_MESSAGE
        except UnreadableContent:
            return TAMPERED_MESSAGE
        if any(row.content_hash != digest for row in signatures):
            return TAMPERED_MESSAGE
    return None


# --- what the agreement page shows about signing ------------------------------------------------------------

@dataclass
class SignerLine:
    """One line of the signature block: who, and whether they signed, declined or not yet."""
    role: str
    person: User
    signed: AgreementSignature | None = None
    declined: AgreementSignature | None = None
    decline_reason: str | None = None  # filled in for members only
    decline_reason_unreadable: bool = False


@dataclass
class VersionSummary:
    version: SignedVersion
    signatures: list[AgreementSignature]
    intact: bool
    purged_at: datetime | None = None  # when the retention purge deleted its pair-only part
    undecryptable: bool = False  # its pair-only part does not decrypt with the configured keys


def _summary(agreement: Agreement, version: SignedVersion, signatures: list[AgreementSignature]) -> VersionSummary:
    purged = pair_only_purged(version)
    check = version_check(version, agreement.pair_id)
    return VersionSummary(version, signatures, check == "intact",
                          purged_at=(agreement.purged_at or utcnow()) if purged else None,
                          undecryptable=check == "undecryptable")


@dataclass
class SigningStatus:
    state: str
    is_member: bool
    my_role: str | None
    lines: dict[str, SignerLine]
    acknowledgements: list[Field] = field(default_factory=list)
    token: str = ""
    cleared_event: AgreementEvent | None = None   # the latest "signatures cleared", while it is news
    integrity_problem: str | None = None
    versions: list[VersionSummary] = field(default_factory=list)

    @property
    def my_line(self) -> SignerLine | None:
        return self.lines.get(self.my_role) if self.my_role else None

    @property
    def partner_line(self) -> SignerLine | None:
        if not self.my_role:
            return None
        return self.lines["mentee" if self.my_role == "mentor" else "mentor"]

    @property
    def signable(self) -> bool:
        return self.is_member and self.state in SIGNABLE_STATES

    @property
    def i_signed(self) -> bool:
        return bool(self.my_line and self.my_line.signed)

    @property
    def can_reopen(self) -> bool:
        return self.is_member and self.state == "active"

    @property
    def signed_by(self) -> list[SignerLine]:
        return [line for line in self.lines.values() if line.signed]


def signing_status(agreement: Agreement, viewer: User, is_member: bool,
                   definition: TemplateDefinition, newest_change: int | None = None) -> SigningStatus:
    """What the agreement page shows about signatures for this viewer (a fixed number of queries).
    `newest_change`: see content_token."""
    pair = agreement.pair
    my_role = pair.role_of(viewer.id) if is_member else None
    lines = {"mentor": SignerLine("mentor", pair.mentor), "mentee": SignerLine("mentee", pair.mentee)}
    for row in _current_rows(agreement):
        line = lines.get(row.role)
        if line is None:
            continue
        if row.outcome == "signed":
            line.signed = row
        else:
            line.declined = row
            if is_member:  # the confidentiality rule: only the pair reads why
                line.decline_reason, line.decline_reason_unreadable = read_decline_reason(row, agreement.pair_id)
    status = SigningStatus(state=agreement.state, is_member=is_member, my_role=my_role, lines=lines,
                           acknowledgements=acknowledgements(definition))
    if status.signable:
        status.token = content_token(agreement, newest_change)
        latest = rawsql.objects(AgreementEvent, _LATEST_SIGNING_EVENT,
                                {"agreement_id": agreement.id, "revision": agreement.revision})
        if latest and latest[0].kind == "signatures_cleared":
            status.cleared_event = latest[0]
    status.integrity_problem = integrity_problem(agreement)
    versions = signed_versions(agreement)
    if versions:
        signatures = rawsql.objects(AgreementSignature, _STANDING_SIGNATURES, {"agreement_id": agreement.id})
        for version in versions:
            status.versions.append(_summary(
                agreement, version, [row for row in signatures if row.revision == version.revision]))
    return status


def version_status(agreement: Agreement, version: SignedVersion, is_member: bool, viewer: User) -> SigningStatus:
    """The signature block of one signed version (its two signatures, frozen)."""
    pair = agreement.pair
    lines = {"mentor": SignerLine("mentor", pair.mentor), "mentee": SignerLine("mentee", pair.mentee)}
    signatures = version_signatures(version)
    for row in signatures:
        if row.role in lines:
            lines[row.role].signed = row
    status = SigningStatus(state="active", is_member=is_member,
                           my_role=pair.role_of(viewer.id) if is_member else None, lines=lines)
    status.versions = [_summary(agreement, version, signatures)]
    return status


def pair_integrity(agreements: list[Agreement]) -> dict[int, str]:
    """For the pair's page: agreement id -> problem, for every listed agreement whose content no longer
    matches its signatures."""
    problems = {}
    for agreement in agreements:
        if agreement.state in SIGNED_STATES or agreement.state == "signing":
            problem = integrity_problem(agreement)
            if problem:
                problems[agreement.id] = problem
    return problems
