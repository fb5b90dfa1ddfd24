"""What a program admin changes on a pair after creating it: its supervisors, its term, its template, and
removing it when it was created by mistake. Every change is audited; the pair is told by e-mail when its term
or template changes or it is removed (never with pair-only text).

Confidentiality: moving an agreement to another template keeps pair-only answers as they are stored (the
ciphertext is bound to the agreement, the field key and the pair, none of which changes), and tells the admin
only which pair-only fields would be cleared, by label, decided from the field definitions alone: never what
an answer says, nor whether there is one."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, exists, select

from portal import MAX_ID, audit, policy
from portal.domain import field_values, lifecycle
from portal.domain.agreements import (
    TERM_FIELD_KEY, _bump_change_seq, _store, _stored_value, encrypt_history, new_field_value, read_fields,
    record_event, save_field,
)
from portal.domain.lifecycle import mail_member, portal_link
from portal.domain.template_store import definition_of, published_versions
from portal.extensions import db
from portal.models import (
    Agreement, AgreementSignature, FieldValue, GoalProgress, Pair, PairSupervisor, Program, ProgramRole, SignedVersion,
    TemplateVersion, User,
)
from portal.timeutil import EARLIEST_DAY, day_in_reach, latest_day, shown_day, utcnow

SIGNED_REFUSAL = ("{what} is no longer possible: {names} signed this pair's agreement. Once anything is signed, the "
                  "pair changes it themselves (an amendment needs both signatures again).")


class PairChangeError(ValueError):
    """A change that is refused; the message is shown as it is (next to the field named, when one is)."""

    def __init__(self, message: str, field_name: str | None = None):
        super().__init__(message)
        self.field_name = field_name


# --- signed or not --------------------------------------------------------------------------------------------

def signers(pair: Pair) -> list[str]:
    """Who has signed any agreement of the pair (a standing signature, or a signed version): names."""
    agreement_ids = select(Agreement.id).where(Agreement.pair_id == pair.id)
    user_ids = set(db.session.scalars(select(AgreementSignature.user_id).where(
        AgreementSignature.agreement_id.in_(agreement_ids), AgreementSignature.outcome == "signed",
        AgreementSignature.cleared_at.is_(None))))
    if db.session.scalar(select(exists().where(SignedVersion.agreement_id.in_(agreement_ids)))) or any(
            agreement.state not in ("draft", "signing") for agreement in pair.agreements):
        user_ids |= set(pair.member_ids())
    people = [pair.mentor, pair.mentee]
    return [person.name for person in people if person.id in user_ids]


def ensure_nothing_signed(pair: Pair, what: str) -> None:
    names = signers(pair)
    if names:
        raise PairChangeError(SIGNED_REFUSAL.format(what=what, names=" and ".join(names)))


def current_agreement(pair: Pair) -> Agreement | None:
    return pair.agreements[-1] if pair.agreements else None


def _tell_members(pair: Pair, kind: str, subject: str, template: str, **context) -> None:
    for person in (pair.mentor, pair.mentee):
        mail_member(person, kind, subject, template, pair=pair, link=portal_link(f"/pairs/{pair.id}"), **context)


# --- supervisors -------------------------------------------------------------------------------------------

def assignable_supervisors(program: Program) -> list[User]:
    """People who hold the supervisor role in this program, by name."""
    return db.session.scalars(select(User).join(ProgramRole, ProgramRole.user_id == User.id).where(
        ProgramRole.program_id == program.id, ProgramRole.role == "supervisor").order_by(User.name, User.id)).all()


def supervisor_of_program(program: Program, user_id: int | None) -> User:
    person = next((p for p in assignable_supervisors(program) if p.id == user_id), None)
    if person is None:
        raise PairChangeError(f"Choose one of the supervisors of {program.name}.", "supervisor")
    return person


def assign_supervisor(actor: User, pair: Pair, supervisor: User) -> bool:
    """Assign; False when they already supervise the pair (nothing changes)."""
    if any(link.user_id == supervisor.id for link in pair.supervisor_links):
        return False
    pair.supervisor_links.append(PairSupervisor(user_id=supervisor.id))
    audit.record("pair.supervisor_assign", actor=actor, program_id=pair.program_id, pair_id=pair.id,
                 supervisor=supervisor.name, supervisor_id=supervisor.id)
    return True


def unassign_supervisor(actor: User, pair: Pair, supervisor: User) -> bool:
    """Unassign; False when they did not supervise the pair."""
    link = next((link for link in pair.supervisor_links if link.user_id == supervisor.id), None)
    if link is None:
        return False
    pair.supervisor_links.remove(link)
    audit.record("pair.supervisor_unassign", actor=actor, program_id=pair.program_id, pair_id=pair.id,
                 supervisor=supervisor.name, supervisor_id=supervisor.id)
    return True


def pairs_of_program(program: Program, pair_ids: list[int]) -> list[Pair]:
    """The live pairs of this program among `pair_ids` (ids of other programs are ignored: never reachable; so
    are numbers no id column holds, which the database would refuse)."""
    pair_ids = [pair_id for pair_id in pair_ids if 0 < pair_id <= MAX_ID]
    if not pair_ids:
        return []
    return db.session.scalars(select(Pair).where(Pair.program_id == program.id, Pair.id.in_(pair_ids),
                                                 Pair.archived_at.is_(None)).order_by(Pair.id)).all()


def change_supervisor_of_many(actor: User, program: Program, pair_ids: list[int], supervisor: User,
                              assign: bool) -> tuple[int, int]:
    """Assign (or unassign) one supervisor on many pairs: (changed, unchanged)."""
    chosen = pairs_of_program(program, pair_ids)
    if not chosen:
        raise PairChangeError("Select at least one pair.", "pair_ids")
    change = assign_supervisor if assign else unassign_supervisor
    changed = sum(1 for pair in chosen if change(actor, pair, supervisor))
    return changed, len(chosen) - changed


# --- the term ----------------------------------------------------------------------------------------------

def term_limits(agreement: Agreement) -> tuple[int, int]:
    term_field = definition_of(agreement.template_version).field(TERM_FIELD_KEY)
    if term_field is not None and term_field.type == "number":
        return term_field.option("min"), term_field.option("max")
    return 1, 120


def parse_term(agreement: Agreement, raw_start: str, raw_months: str) -> tuple[date, int]:
    errors = []
    try:
        term_start = date.fromisoformat((raw_start or "").strip())
    except ValueError:
        raise PairChangeError("Enter the first day of the term, for example 2026-03-02.", "term_start") from None
    if not day_in_reach(term_start):
        raise PairChangeError(f"The term must start between {shown_day(EARLIEST_DAY)} and "
                              f"{shown_day(latest_day())}.", "term_start")
    low, high = term_limits(agreement)
    raw_months = (raw_months or "").strip()
    months = int(raw_months) if raw_months.isascii() and raw_months.isdigit() and len(raw_months) < 6 else 0
    if not low <= months <= high:
        errors.append(f"Choose a term from {low} to {high} months.")
        raise PairChangeError(errors[0], "term_months")
    return term_start, months


def change_term(actor: User, pair: Pair, term_start: date, term_months: int) -> bool:
    """Change the current agreement's term while nothing is signed. False when it is already this term."""
    ensure_nothing_signed(pair, "Changing the term")
    agreement = current_agreement(pair)
    old = (agreement.term_start, agreement.term_months)
    if old == (term_start, term_months):
        return False
    definition = definition_of(agreement.template_version)
    term_field = definition.field(TERM_FIELD_KEY)
    if term_field is not None and term_field.type == "number" and term_months != agreement.term_months:
        stored = read_fields(agreement, definition, include_pair_only=False)[TERM_FIELD_KEY]
        save_field(agreement, definition, term_field, term_months, stored.version, actor)
    agreement.term_start, agreement.term_months = term_start, term_months
    _bump_change_seq(agreement)
    record_event(agreement, "term_changed", actor,
                 f"term {shown_day(term_start)}, {term_months} months (was {shown_day(old[0])}, {old[1]} months)")
    audit.record("pair.term_change", actor=actor, program_id=pair.program_id, pair_id=pair.id,
                 agreement_id=agreement.id, term_start=term_start.isoformat(), term_months=term_months,
                 was_start=old[0].isoformat(), was_months=old[1])
    db.session.flush()
    _tell_members(pair, "pair_term_changed", "The term of your mentorship was changed", "pair_term_changed.txt",
                  agreement=agreement)
    return True


# --- moving to another template ----------------------------------------------------------------------------

@dataclass
class MovePlan:
    version: TemplateVersion
    kept: list[str] = field(default_factory=list)      # labels of answers kept
    dropped: list[str] = field(default_factory=list)   # labels of answers dropped, with why (never the answer)
    keep_keys: set[str] = field(default_factory=set)


def _label(f) -> str:
    return f.label.replace("____", "\u2026")


def move_targets(pair: Pair) -> list[TemplateVersion]:
    """The program's published versions other than the one the agreement is on."""
    agreement = current_agreement(pair)
    program = db.session.get(Program, pair.program_id)
    return [v for v in published_versions(program) if agreement is None or v.id != agreement.template_version_id]


def target_version(pair: Pair, version_id: int | None) -> TemplateVersion:
    version = next((v for v in move_targets(pair) if v.id == version_id), None)
    if version is None:
        raise PairChangeError("Choose another published template of this program.", "version_id")
    return version


def _accepts_every_answer_of(old_field, new_field) -> bool:
    """Does `new_field` (of the same type) accept every answer `old_field` accepts? Decided from the two
    definitions alone, so that the answer itself is never looked at."""
    kind = old_field.type
    if kind in ("short_text", "long_text"):
        return new_field.option("max_length") >= old_field.option("max_length")
    if kind == "numbered_list":
        return (new_field.option("max_items") >= old_field.option("max_items")
                and new_field.option("max_length") >= old_field.option("max_length"))
    if kind == "number":
        return (new_field.option("min") <= old_field.option("min")
                and new_field.option("max") >= old_field.option("max"))
    if kind in ("choice", "meeting_modes"):
        old_keys = ({c.value for c in old_field.choices} if kind == "choice" else {m.key for m in old_field.modes})
        new_keys = ({c.value for c in new_field.choices} if kind == "choice" else {m.key for m in new_field.modes})
        return old_keys <= new_keys and (new_field.allow_other or not old_field.allow_other)
    return True  # a date: every field of the type accepts the same dates


def _why_not_kept(old_field, new_field) -> str | None:
    """Why no answer of `old_field` can move to `new_field`, from the definitions alone (None: every one can)."""
    if new_field is None or not new_field.stores_value:
        return "not in the new template"
    if new_field.type != old_field.type:
        return "asked differently in the new template"
    if not policy.may_carry_value(old_field.pair_only, new_field.pair_only):
        return "confidential to the pair, shared with the program in the new template"
    if not _accepts_every_answer_of(old_field, new_field):
        return "the new template accepts fewer answers"
    return None


def move_plan(pair: Pair, version: TemplateVersion) -> MovePlan:
    """Which answers a move keeps (same key and type, confidentiality not loosened, still a valid answer) and
    which it drops, by label.

    A field that is pair-only in either template is decided from the two field definitions alone, and named
    whether or not the pair answered it: the admin chooses the target templates, so anything that depended on
    a confidential answer (is it valid there? is there one?) would let them read it by trying templates. Pair-only
    values are not even read here. Shared answers, which the admin reads anyway, are checked by their value."""
    agreement = current_agreement(pair)
    old_definition, new_definition = definition_of(agreement.template_version), definition_of(version)
    shared = read_fields(agreement, old_definition, include_pair_only=False)
    plan = MovePlan(version)
    for old_field in old_definition.fields:
        if not old_field.stores_value or old_field.key == TERM_FIELD_KEY:
            continue
        new_field = new_definition.field(old_field.key)
        confidential = old_field.pair_only or (new_field is not None and new_field.pair_only)
        current = shared.get(old_field.key)
        if not confidential and (current is None or current.unreadable or field_values.is_empty(current.value)):
            continue
        label = _label(old_field)
        why = _why_not_kept(old_field, new_field)
        if why is None and not confidential:
            try:
                field_values.validate(new_field, current.value)
            except field_values.FieldValueError:
                why = "not a valid answer in the new template"
        if why is None:
            plan.kept.append(label)
            plan.keep_keys.add(old_field.key)
        elif confidential:
            plan.dropped.append(f"{label} (a confidential answer, if any, will be cleared: {why})")
        else:
            plan.dropped.append(f"{label} ({why})")
    return plan


def move_to_template(actor: User, pair: Pair, version: TemplateVersion) -> MovePlan:
    """Rebuild the agreement on `version`: kept answers stay as stored (pair-only ones encrypted as they are),
    dropped ones are removed, new fields start at their suggested value."""
    ensure_nothing_signed(pair, "Moving to another template")
    agreement = current_agreement(pair)
    plan = move_plan(pair, version)
    old_version = agreement.template_version
    old_definition, new_definition = definition_of(old_version), definition_of(version)
    rows = {row.field_key: row for row in db.session.scalars(
        select(FieldValue).where(FieldValue.agreement_id == agreement.id))}
    now = utcnow()
    term_field = new_definition.field(TERM_FIELD_KEY)
    for key, row in rows.items():
        new_field = new_definition.field(key)
        old_field = old_definition.field(key)
        if key in plan.keep_keys:
            if new_field.pair_only and not old_field.pair_only:  # tightened: the answer is encrypted from now on
                value = _stored_value(row, pair.id)
                for column, stored in _store(row, new_field, pair.id, value).items():
                    setattr(row, column, stored)
            continue
        if key == TERM_FIELD_KEY and term_field is not None and term_field.type == "number":
            continue
        db.session.delete(row)
    db.session.flush()
    for new_field in new_definition.fields:
        if not new_field.stores_value or (new_field.key in plan.keep_keys and new_field.key in rows):
            continue
        if new_field.key == TERM_FIELD_KEY and new_field.key in rows and new_field.type == "number":
            continue
        value = field_values.initial_value(new_field)
        if new_field.key == TERM_FIELD_KEY and new_field.type == "number":
            low, high = new_field.option("min"), new_field.option("max")
            value = agreement.term_months if low <= agreement.term_months <= high else new_field.option("suggested")
            if value is not None:
                agreement.term_months = value
        db.session.add(new_field_value(agreement, new_field, pair.id, value, now))
    # A question the new template makes pair-only keeps no plaintext in its history either.
    encrypt_history(agreement, [f.key for f in new_definition.fields if f.stores_value and f.pair_only])
    dropped_keys = [key for key in rows if key not in plan.keep_keys and key != TERM_FIELD_KEY]
    if dropped_keys:
        db.session.execute(delete(GoalProgress).where(GoalProgress.agreement_id == agreement.id,
                                                      GoalProgress.field_key.in_(dropped_keys)))
    agreement.template_version_id = version.id
    agreement.template_version = version
    _bump_change_seq(agreement)
    record_event(agreement, "template_changed", actor,
                 f"moved from {old_version.template.name} version {old_version.number} to "
                 f"{version.template.name} version {version.number}")
    audit.record("pair.template_change", actor=actor, program_id=pair.program_id, pair_id=pair.id,
                 agreement_id=agreement.id, was=f"{old_version.template.name} version {old_version.number}",
                 now=f"{version.template.name} version {version.number}", dropped=", ".join(plan.dropped) or "none")
    db.session.flush()
    _tell_members(pair, "pair_template_changed", "Your agreement moved to another template",
                  "pair_template_changed.txt", version=version, dropped=plan.dropped)
    return plan


# --- removing a pair created by mistake --------------------------------------------------------------------

def remove_pair(actor: User, pair: Pair) -> None:
    """Archive the pair: gone from lists, counts, reminders and exports, kept in the database and the audit log.
    Its unsigned agreement is closed, so that the program's retention rule purges its pair-only content."""
    ensure_nothing_signed(pair, "Removing the pair")
    agreement = current_agreement(pair)
    if agreement is not None and agreement.state != "closed":
        lifecycle.close_removed(agreement, actor)
    pair.archived_at = utcnow()
    pair.archived_by_id = actor.id
    audit.record("pair.remove", actor=actor, program_id=pair.program_id, pair_id=pair.id,
                 mentor=pair.mentor.name, mentee=pair.mentee.name)
    _tell_members(pair, "pair_removed", "Your mentorship pairing was withdrawn", "pair_removed.txt")

