"""The end of a mentorship's term and what follows: review, closure (completed, early, renewed), renewal
into a successor agreement, confirmation of renewed goals, and requests for outside help.

State rules (portal.policy decides *who*; this module decides *when*):

    active ──(term ended: either member; before: both members ask)──> in_review
    in_review ──(both reviews written)──> closed "completed"
    in_review ──(renew)──> closed "renewed" + a successor draft (predecessor_id)
    active / in_review ──(either member, without blame)──> closed "early"

Every transition bumps the agreement's change number so that open pages refresh, records an agreement
event and an audit event (ids and categories only), and tells the partner by e-mail. A closed agreement is
read-only for ever. Pair-only text (conclusions) is encrypted and bound to its row and pair.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Mapping

from flask import current_app
from sqlalchemy import delete, select

from portal import audit, crypto, policy
from portal.domain import commitments, field_values
from portal.domain.agreements import (
    TERM_FIELD_KEY, AgreementStateError, _bump_change_seq, read_fields, record_event, start_agreement, values_of,
)
from portal.domain.meetings import clean_text
from portal.domain.template_format import TemplateDefinition
from portal.domain.template_store import definition_of, latest_published
from portal.extensions import db
from portal.mail import queue_mail
from portal.models import (
    Agreement, FieldValue, GoalConfirmation, HelpRequest, Pair, ReviewEntry, ReviewRequest, TemplateVersion, User,
)
from portal.models.lifecycle import GOAL_OUTCOMES
from portal.timeutil import latest_day, shown_day, utcnow, utctoday

# Shown to the program; never free text, so that a reason cannot carry what the pair discussed.
CLOSURE_REASONS = {
    "goals_met_early": "Goals met early",
    "schedule": "Schedule or availability",
    "fit": "Not a good fit",
    "other": "Another reason",
}
CLOSURE_KIND_LABELS = {"completed": "Completed", "early": "Ended early", "renewed": "Renewed",
                       "removed": "Removed by the program"}
OUTCOME_LABELS = {"achieved": "Achieved", "partly": "Partly achieved", "not_achieved": "Not achieved"}
CONCLUSION_MAX = 4000
HELP_MESSAGE_MAX = 2000
RENEWAL_TERM_MAX = 60
NOT_CARRIED_CONFIDENTIAL = ("was confidential to the two of you; the new version shares this answer with the "
                            "program, so it was not copied")
REVIEWABLE_STATES = ("active",)
CLOSABLE_EARLY_STATES = ("active", "in_review")


class LifecycleInputError(ValueError):
    """What is wrong with a submitted form, by field name; nothing was changed."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(" ".join(errors.values()))
        self.errors = errors


def portal_link(path: str) -> str:
    return f"{current_app.config['PUBLIC_URL']}{path}"


def mail_member(person: User, kind: str, subject: str, template: str, **context) -> None:
    """Mail a member about their mentorship; a deactivated account gets nothing."""
    if not person.is_deactivated:
        queue_mail(person.email, kind, subject, template, person=person, **context)


def partner_of(pair: Pair, user: User) -> User:
    return pair.mentee if user.id == pair.mentor_id else pair.mentor


def _transition(agreement: Agreement, state: str, actor: User | None, event: str, detail: str = "") -> None:
    agreement.state = state
    _bump_change_seq(agreement)  # open editors and pages see the new state and refresh
    record_event(agreement, event, actor, detail)


def _ensure_not_closed(agreement: Agreement) -> None:
    if agreement.state == "closed":
        raise AgreementStateError("This agreement is closed and read-only.")


# --- review -------------------------------------------------------------------------------------------------

def term_has_ended(agreement: Agreement, today: date | None = None) -> bool:
    return (today or utctoday()) > agreement.term_end


def review_requests(agreement: Agreement) -> set[int]:
    return set(db.session.scalars(select(ReviewRequest.user_id).where(ReviewRequest.agreement_id == agreement.id)))


def review_requests_of(agreement_ids: list[int]) -> dict[int, set[int]]:
    """review_requests for several agreements in one query: agreement id -> ids of the members who asked."""
    asked: dict[int, set[int]] = {agreement_id: set() for agreement_id in agreement_ids}
    if agreement_ids:
        for agreement_id, user_id in db.session.execute(select(ReviewRequest.agreement_id, ReviewRequest.user_id)
                                                        .where(ReviewRequest.agreement_id.in_(agreement_ids))):
            asked[agreement_id].add(user_id)
    return asked


def reviewers_of(agreement_ids: list[int]) -> dict[int, set[int]]:
    """Who has written a review, for several agreements in one query: agreement id -> member ids."""
    wrote: dict[int, set[int]] = {agreement_id: set() for agreement_id in agreement_ids}
    if agreement_ids:
        for agreement_id, user_id in db.session.execute(select(ReviewEntry.agreement_id, ReviewEntry.user_id)
                                                        .where(ReviewEntry.agreement_id.in_(agreement_ids))):
            wrote[agreement_id].add(user_id)
    return wrote


def request_review(agreement: Agreement, actor: User, today: date | None = None) -> bool:
    """Start the review. After the term either member starts it; before, it starts when both have asked.
    Returns True when the review has started, False when it now waits for the partner."""
    if agreement.state != "active":
        raise AgreementStateError({
            "draft": "The review comes at the end of an active agreement; this one is not signed yet.",
            "signing": "The review comes at the end of an active agreement; this one is not signed yet.",
            "in_review": "Your review has already started.",
        }.get(agreement.state, "This agreement is closed and read-only."))
    pair = agreement.pair
    if not term_has_ended(agreement, today):
        newly_asked = actor.id not in review_requests(agreement)
        if newly_asked:
            db.session.add(ReviewRequest(agreement_id=agreement.id, user_id=actor.id))
            db.session.flush()
        if review_requests(agreement) != set(pair.member_ids()):
            if newly_asked:  # a second click tells nobody twice
                partner = partner_of(pair, actor)
                mail_member(partner, "review_requested", "Your partner would like to start your review early",
                            "review_requested.txt", actor=actor, pair=pair,
                            link=portal_link(f"/pairs/{pair.id}#next-steps"))
                audit.record("agreement.review_requested", actor=actor, program_id=pair.program_id,
                             pair_id=pair.id, agreement_id=agreement.id)
            return False
    _transition(agreement, "in_review", actor, "review_started")
    audit.record("agreement.review_started", actor=actor, program_id=pair.program_id, pair_id=pair.id,
                 agreement_id=agreement.id)
    return True


def withdraw_review_request(agreement: Agreement, actor: User) -> bool:
    if agreement.state != "active":
        raise AgreementStateError("The review has already started or the agreement is not active.")
    result = db.session.execute(delete(ReviewRequest).where(
        ReviewRequest.agreement_id == agreement.id, ReviewRequest.user_id == actor.id))
    return result.rowcount == 1


def _conclusion_aad(entry_id: int, pair_id: int) -> str:
    return f"review:{entry_id}|pair:{pair_id}"


crypto.register_encrypted_column(
    ReviewEntry, "conclusion_ct", lambda row: _conclusion_aad(row.id, _pair_of_agreement(row.agreement_id)))


def _pair_of_agreement(agreement_id: int) -> int:
    return db.session.scalar(select(Agreement.pair_id).where(Agreement.id == agreement_id))


@dataclass
class ReviewView:
    user: User
    outcomes: dict[str, str]
    conclusion: str | None = None   # members only
    unreadable: bool = False
    updated_at: Any = None


def outcome_input(item: commitments.GoalItem) -> str:
    return f"outcome-{item.ref}"


def reviewed_agreement_ids(agreements: list[Agreement]) -> set[int]:
    """Which of these agreements have at least one member's review (one query, none for agreements that never
    reached the review)."""
    ids = [agreement.id for agreement in agreements if agreement.state in ("in_review", "closed")]
    if not ids:
        return set()
    return set(db.session.scalars(select(ReviewEntry.agreement_id).where(ReviewEntry.agreement_id.in_(ids))
                                  .distinct()))


def reviews_of(agreement: Agreement, include_conclusions: bool) -> dict[int, ReviewView]:
    """Each member's review by user id. Conclusions are decrypted only for members."""
    views = {}
    for entry in db.session.scalars(select(ReviewEntry).where(ReviewEntry.agreement_id == agreement.id)):
        view = ReviewView(entry.user, json.loads(entry.outcomes_json or "{}"), updated_at=entry.updated_at)
        if include_conclusions and entry.conclusion_ct is not None:
            try:
                view.conclusion = crypto.decrypt(entry.conclusion_ct, _conclusion_aad(entry.id, agreement.pair_id))
            except crypto.DecryptionError:
                view.unreadable = True
        views[entry.user_id] = view
    return views


def save_review(agreement: Agreement, definition: TemplateDefinition, values: Mapping[str, Any], actor: User,
                form: Mapping[str, Any]) -> ReviewEntry:
    """Store the actor's review: an outcome for every goal and a learning conclusion (both required)."""
    if agreement.state != "in_review":
        raise AgreementStateError("Reviews are written once the review has started, and not after closing.")
    errors: dict[str, str] = {}
    outcomes = {}
    for item in commitments.goal_items(definition, values):
        chosen = str(form.get(outcome_input(item), "") or "")
        if chosen not in GOAL_OUTCOMES:
            errors[outcome_input(item)] = f"Choose how far \u201c{item.label}\u201d was achieved."
        outcomes[item.ref] = chosen
    conclusion = clean_text(form.get("conclusion"), CONCLUSION_MAX, "Your learning conclusion", errors, "conclusion")
    if not conclusion and "conclusion" not in errors:
        errors["conclusion"] = "Write your learning conclusion: what you take away from this mentorship."
    if errors:
        raise LifecycleInputError(errors)
    entry = db.session.scalar(select(ReviewEntry).where(
        ReviewEntry.agreement_id == agreement.id, ReviewEntry.user_id == actor.id))
    if entry is None:
        entry = ReviewEntry(agreement_id=agreement.id, user_id=actor.id)
        db.session.add(entry)
        db.session.flush()
    entry.outcomes_json = json.dumps(outcomes, sort_keys=True)
    entry.conclusion_ct = crypto.encrypt(conclusion, _conclusion_aad(entry.id, agreement.pair_id))
    entry.updated_at = utcnow()
    return entry


def missing_reviews(agreement: Agreement, definition: TemplateDefinition, values: Mapping[str, Any]) -> list[User]:
    """Members whose review is not written (or misses an outcome for a goal)."""
    refs = {item.ref for item in commitments.goal_items(definition, values)}
    entries = {entry.user_id: entry for entry in db.session.scalars(
        select(ReviewEntry).where(ReviewEntry.agreement_id == agreement.id))}
    missing = []
    for person in (agreement.pair.mentor, agreement.pair.mentee):
        entry = entries.get(person.id)
        if entry is None or entry.conclusion_ct is None or not refs <= set(json.loads(entry.outcomes_json or "{}")):
            missing.append(person)
    return missing


def _ensure_reviewed(agreement: Agreement, definition: TemplateDefinition, values: Mapping[str, Any],
                     what: str) -> None:
    # Both forms say so: review, evaluate progress, reach a learning conclusion; then complete or continue.
    missing = missing_reviews(agreement, definition, values)
    if missing:
        names = " and ".join(person.name for person in missing)
        raise AgreementStateError(f"Waiting for the review of {names}. Each of you writes a learning conclusion "
                                  f"and marks each goal's outcome before the agreement is {what}.")


# --- closing ------------------------------------------------------------------------------------------------

def _close(agreement: Agreement, actor: User, kind: str, reason: str | None = None, detail: str = "") -> None:
    agreement.closed_at = utcnow()
    agreement.closure_kind = kind
    agreement.closure_reason = reason
    agreement.closed_by_id = actor.id
    db.session.execute(delete(ReviewRequest).where(ReviewRequest.agreement_id == agreement.id))
    _transition(agreement, "closed", actor, f"closed_{kind}", detail)
    audit.record("agreement.closed", actor=actor, program_id=agreement.pair.program_id,
                 pair_id=agreement.pair_id, agreement_id=agreement.id, kind=kind, reason=reason)


def _tell_partner_of_closure(agreement: Agreement, actor: User) -> None:
    pair = agreement.pair
    partner = partner_of(pair, actor)
    subject = {"completed": "Your mentorship agreement is complete",
               "early": "Your mentorship has been ended",
               "renewed": "Your mentorship continues with a new agreement"}[agreement.closure_kind]
    mail_member(partner, f"closed_{agreement.closure_kind}", subject, "agreement_closed.txt",
                actor=actor, pair=pair, agreement=agreement, link=portal_link(f"/pairs/{pair.id}"))


def close_completed(agreement: Agreement, definition: TemplateDefinition, values: Mapping[str, Any],
                    actor: User) -> None:
    """Close a reviewed agreement as completed (both reviews written)."""
    if agreement.state != "in_review":
        raise AgreementStateError({
            "active": "Start your review first: the agreement is completed once both of you have reviewed it.",
            "closed": "This agreement is already closed.",
        }.get(agreement.state, "Only an agreement under review can be completed."))
    _ensure_reviewed(agreement, definition, values, "completed")
    _close(agreement, actor, "completed")
    _tell_partner_of_closure(agreement, actor)


def end_early(agreement: Agreement, actor: User, reason: str | None) -> None:
    """End the mentorship without blame. The reason is an optional category the program sees."""
    if agreement.state not in CLOSABLE_EARLY_STATES:
        raise AgreementStateError({
            "draft": "This agreement is not signed yet, so there is nothing to end.",
            "signing": "This agreement is not signed yet, so there is nothing to end.",
        }.get(agreement.state, "This agreement is already closed."))
    if reason in ("", None):
        reason = None
    elif reason not in CLOSURE_REASONS:
        raise LifecycleInputError({"reason": "Choose one of the reasons listed, or none."})
    _close(agreement, actor, "early", reason)
    _tell_partner_of_closure(agreement, actor)


def close_removed(agreement: Agreement, actor: User) -> None:
    """Close the unsigned agreement of a pair its program admin removed, so that the program's retention rule
    purges its pair-only content like that of any closed mentorship (the pair is told by the removal's mail)."""
    _ensure_not_closed(agreement)
    _close(agreement, actor, "removed")


# --- renewal ------------------------------------------------------------------------------------------------

@dataclass
class CarryPlan:
    """What a renewal onto `version` keeps: values carried over by key, and what cannot be carried."""
    version: TemplateVersion
    carried: dict[str, Any]
    not_carried: list[str] = field(default_factory=list)  # labels, with why
    is_newer: bool = False


def renewal_versions(agreement: Agreement) -> list[TemplateVersion]:
    """The agreement's own template version, and the template's newest published version when newer."""
    own = agreement.template_version
    newest = latest_published(own.template)
    return [own] + ([newest] if newest is not None and newest.number > own.number else [])


def carry_plan(agreement: Agreement, version: TemplateVersion) -> CarryPlan:
    """Carry every filled-in value to the field of the same key and type in `version`; list the rest.
    Only members call this: pair-only values are carried too (into the pair's own new agreement), but only
    into a field that is pair-only as well (`policy.may_carry_value`): a version that shares the field with
    the program does not get the answer, and the pair is told why."""
    old_definition, new_definition = definition_of(agreement.template_version), definition_of(version)
    old_values = values_of(read_fields(agreement, old_definition, include_pair_only=True))
    plan = CarryPlan(version, {}, is_newer=version.id != agreement.template_version_id)
    for old_field in old_definition.fields:
        value = old_values.get(old_field.key)
        if not old_field.stores_value or field_values.is_empty(value) or old_field.key == TERM_FIELD_KEY:
            continue
        label = old_field.label.replace("____", "\u2026")
        new_field = new_definition.field(old_field.key)
        if new_field is None or not new_field.stores_value:
            plan.not_carried.append(f"{label} (no longer in the agreement)")
            continue
        if new_field.type != old_field.type:
            plan.not_carried.append(f"{label} (now asked differently; fill it in again)")
            continue
        if not policy.may_carry_value(old_field.pair_only, new_field.pair_only):
            plan.not_carried.append(f"{label} ({NOT_CARRIED_CONFIDENTIAL})")
            continue
        try:
            plan.carried[new_field.key] = field_values.validate(new_field, value)
        except field_values.FieldValueError as error:
            plan.not_carried.append(f"{label} ({error})")
    return plan


@dataclass
class RenewalChoice:
    version_id: int
    term_start: date
    term_months: int


def default_renewal(agreement: Agreement, today: date | None = None) -> RenewalChoice:
    """A new term of the same length, on the same version, starting the day after the old one ends, or today
    when the pair reviewed before the end of its term (renewing closes the old agreement now, so waiting for
    its end date would leave the pair without an agreement until then)."""
    term_start = min(agreement.term_end + timedelta(days=1), today or utctoday())
    return RenewalChoice(agreement.template_version_id, term_start, agreement.term_months)


def _plain_number(raw: str) -> bool:
    """ASCII digits only, and few enough for any column: "\u00b2".isdigit() is True but int() refuses it."""
    return re.fullmatch(r"[0-9]{1,18}", raw) is not None


def parse_renewal(agreement: Agreement, form: Mapping[str, Any]) -> RenewalChoice:
    errors: dict[str, str] = {}
    default = default_renewal(agreement)
    versions = {version.id: version for version in renewal_versions(agreement)}
    raw_version = str(form.get("version_id", default.version_id))
    version_id = int(raw_version) if _plain_number(raw_version) and int(raw_version) in versions else None
    if version_id is None:
        errors["version_id"] = "Choose which version of the agreement to continue with."
    term_start = default.term_start
    try:
        term_start = date.fromisoformat(str(form.get("term_start", default.term_start.isoformat())).strip())
    except ValueError:
        errors["term_start"] = "Enter the first day of the new term, for example 2026-06-01."
    raw_months = str(form.get("term_months", default.term_months)).strip()
    term_months = int(raw_months) if _plain_number(raw_months) else 0
    if version_id is not None and "term_start" not in errors:
        term_field = definition_of(versions[version_id]).field(TERM_FIELD_KEY)
        low, high = (term_field.option("min"), term_field.option("max")) if term_field is not None \
            and term_field.type == "number" else (1, RENEWAL_TERM_MAX)
        if not low <= term_months <= high:
            errors["term_months"] = f"Choose a term from {low} to {high} months."
        if term_start <= agreement.term_start:
            errors["term_start"] = "The new term must start after the previous one started."
        elif term_start > latest_day():
            errors["term_start"] = f"The new term must start no later than {shown_day(latest_day())}."
    if errors:
        raise LifecycleInputError(errors)
    return RenewalChoice(version_id, term_start, term_months)


def renew(agreement: Agreement, actor: User, choice: RenewalChoice) -> tuple[Agreement, CarryPlan]:
    """Continue the mentorship: a successor draft pre-filled from this agreement, whose goals both members
    confirm (or change) and which both sign again; this agreement closes as "renewed"."""
    if agreement.state != "in_review":
        raise AgreementStateError({
            "active": "Start your review first: a mentorship is renewed after reviewing the term that ends.",
            "closed": ("This agreement ended early and cannot be renewed. A program admin can start a new agreement "
                       "for you." if agreement.closure_kind == "early" else
                       "This agreement is closed and cannot be renewed."),
        }.get(agreement.state, "Only an agreement under review can be renewed."))
    old_definition = definition_of(agreement.template_version)
    old_values = values_of(read_fields(agreement, old_definition, include_pair_only=False))
    _ensure_reviewed(agreement, old_definition, old_values, "renewed")
    version = db.session.get(TemplateVersion, choice.version_id)
    if version is None or version.id not in {v.id for v in renewal_versions(agreement)}:
        raise LifecycleInputError({"version_id": "Choose which version of the agreement to continue with."})
    plan = carry_plan(agreement, version)
    carried = {**plan.carried, TERM_FIELD_KEY: choice.term_months}
    successor = start_agreement(agreement.pair, version, choice.term_start, choice.term_months, actor,
                                predecessor=agreement, carried=carried)
    db.session.flush()
    record_event(successor, "renewal_of", actor, f"continues agreement {agreement.id}")
    _close(agreement, actor, "renewed", detail=f"continued by agreement {successor.id}")
    audit.record("agreement.renewed", actor=actor, program_id=agreement.pair.program_id, pair_id=agreement.pair_id,
                 agreement_id=agreement.id, successor_id=successor.id, template_version=version.number)
    _tell_partner_of_closure(agreement, actor)
    return successor, plan


def chain_of(pair: Pair) -> list[Agreement]:
    """The pair's agreements oldest first; each renewal names its predecessor."""
    return db.session.scalars(select(Agreement).where(Agreement.pair_id == pair.id).order_by(Agreement.id)).all()


def successor_of(agreement: Agreement) -> Agreement | None:
    return db.session.scalar(select(Agreement).where(Agreement.predecessor_id == agreement.id))


# --- confirming renewed goals -------------------------------------------------------------------------------

def goals_state(agreement: Agreement) -> str:
    """The goal fields' versions ("goals:2,objectives:0"): changes whenever any goal changes, holds no text."""
    definition = definition_of(agreement.template_version)
    keys = [f.key for f in commitments.goal_fields(definition, include_pair_only=True)]
    versions = dict(db.session.execute(select(FieldValue.field_key, FieldValue.version).where(
        FieldValue.agreement_id == agreement.id, FieldValue.field_key.in_(keys))).all())
    return ",".join(f"{key}:{versions.get(key, 0)}" for key in keys)[:500]


def goal_confirmations(agreement: Agreement) -> dict[int, bool]:
    """Member id -> whether their confirmation still holds (the goals have not changed since)."""
    state = goals_state(agreement)
    return {row.user_id: row.goals_state == state for row in db.session.scalars(
        select(GoalConfirmation).where(GoalConfirmation.agreement_id == agreement.id))}


def needs_goal_confirmation(agreement: Agreement) -> bool:
    return agreement.predecessor_id is not None


def goals_confirmed(agreement: Agreement) -> bool:
    """For the signing code (issue 5): may this agreement be signed as far as its goals go? A renewal's
    goals must be confirmed by both members as they stand now; a first agreement's goals are agreed by
    signing it."""
    if not needs_goal_confirmation(agreement):
        return True
    confirmations = goal_confirmations(agreement)
    return all(confirmations.get(member_id) for member_id in agreement.pair.member_ids())


def confirm_goals(agreement: Agreement, actor: User) -> None:
    if agreement.state not in ("draft", "signing"):
        raise AgreementStateError("Goals are confirmed while the new agreement is being prepared.")
    if not needs_goal_confirmation(agreement):
        raise AgreementStateError("This agreement's goals are agreed by signing it.")
    state = goals_state(agreement)  # read before adding a row, so that autoflush never sees it half-filled
    row = db.session.get(GoalConfirmation, (agreement.id, actor.id))
    if row is None:
        db.session.add(GoalConfirmation(agreement_id=agreement.id, user_id=actor.id, goals_state=state, at=utcnow()))
    else:
        row.goals_state, row.at = state, utcnow()
    _bump_change_seq(agreement)
    record_event(agreement, "goals_confirmed", actor)
    audit.record("agreement.goals_confirmed", actor=actor, program_id=agreement.pair.program_id,
                 pair_id=agreement.pair_id, agreement_id=agreement.id)


# --- outside help -------------------------------------------------------------------------------------------

def help_is_open(agreement: Agreement | None) -> bool:
    """May the pair still ask the program for outside intervention? Not once its mentorship is closed: there
    is nothing left for the program to step in on (a pair without an agreement yet may ask)."""
    return agreement is None or agreement.state != "closed"


def ask_for_help(pair: Pair, agreement: Agreement | None, actor: User, message: str) -> HelpRequest:
    """Tell the program that a member asks for outside intervention. Only what the member wrote to the
    program (on a form that says it is not confidential) goes with it. Refused once the mentorship is closed
    (`help_is_open`)."""
    if not help_is_open(agreement):
        raise AgreementStateError(f"This mentorship is closed, so there is nothing for the program to step in "
                                  f"on. To reach {pair.program.name}, write to {pair.program.return_email}.")
    errors: dict[str, str] = {}
    message = clean_text(message, HELP_MESSAGE_MAX, "Your message to the program", errors, "message")
    if errors:
        raise LifecycleInputError(errors)
    request = HelpRequest(pair_id=pair.id, agreement_id=getattr(agreement, "id", None), requested_by_id=actor.id,
                          message=message)
    db.session.add(request)
    db.session.flush()
    program = pair.program
    queue_mail(program.return_email, "help_requested", f"{program.code}: a mentorship pair asks for help",
               "help_requested.txt", actor=actor, pair=pair, program=program, message=message,
               link=portal_link(f"/programs/{program.id}/dashboard?alert=help_asked"))
    audit.record("help.requested", actor=actor, program_id=pair.program_id, pair_id=pair.id, request_id=request.id)
    return request


def resolve_help(request: HelpRequest, actor: User) -> bool:
    if request.resolved_at is not None:
        return False
    request.resolved_at, request.resolved_by_id = utcnow(), actor.id
    audit.record("help.resolved", actor=actor, program_id=request.pair.program_id, pair_id=request.pair_id,
                 request_id=request.id)
    return True


def open_help_requests(pair: Pair) -> list[HelpRequest]:
    return db.session.scalars(select(HelpRequest).where(
        HelpRequest.pair_id == pair.id, HelpRequest.resolved_at.is_(None)).order_by(HelpRequest.at)).all()
