"""What the pair page and the agreement page show about the mentorship's life, for a given person: plain
data objects that templates render. Members get pair-only content (summaries, comments, conclusions);
anyone else gets progress only, and pair-only content is never even decrypted for them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Integer, bindparam, select

from portal import policy, rawsql
from portal.domain import commitments, lifecycle
from portal.domain import meetings as meeting_rules
from portal.domain import planned_meetings
from portal.domain import progress as progress_rules
from portal.domain.agreements import program_values_of, read_fields, values_of
from portal.domain.reminders import purge_date
from portal.domain.template_format import TemplateDefinition
from portal.domain.template_store import definition_of
from portal.extensions import db
from portal.models import Agreement, Pair, User
from portal.timeutil import utctoday

RECENT_MEETINGS = 50


@dataclass
class PairLife:
    pair: Pair
    viewer: User
    relation: str
    chain: list[Agreement]
    today: date
    current: Agreement | None = None
    definition: TemplateDefinition | None = None
    values: dict[str, Any] = field(default_factory=dict)
    tally: meeting_rules.MeetingTally | None = None
    meetings: list[meeting_rules.MeetingView] = field(default_factory=list)
    planned: list[planned_meetings.PlannedView] = field(default_factory=list)  # members only (places)
    modes: list[commitments.MeetingMode] = field(default_factory=list)
    progress: list[progress_rules.ProgressItem] = field(default_factory=list)
    check_in: progress_rules.CheckInStatus | None = None
    review_requests: set[int] = field(default_factory=set)
    reviews: dict[int, lifecycle.ReviewView] = field(default_factory=dict)
    missing_reviews: list[User] = field(default_factory=list)
    reviewed_ids: set[int] = field(default_factory=set)  # members: the agreements whose reviews they can reread
    open_help: list = field(default_factory=list)
    sees_closure_reason: bool = False
    # A refused form, shown again with what was typed and a message next to each field.
    meeting_input: meeting_rules.MeetingInput = field(default_factory=meeting_rules.MeetingInput)
    meeting_errors: dict[str, str] = field(default_factory=dict)
    progress_errors: dict[str, str] = field(default_factory=dict)
    plan_input: planned_meetings.PlanInput = field(default_factory=planned_meetings.PlanInput)
    plan_errors: dict[str, str] = field(default_factory=dict)
    notice: str | None = None

    @property
    def is_member(self) -> bool:
        return self.relation == policy.MEMBER

    @property
    def state(self) -> str | None:
        return self.current.state if self.current else None

    @property
    def partner(self) -> User | None:
        return lifecycle.partner_of(self.pair, self.viewer) if self.is_member else None

    @property
    def term_ended(self) -> bool:
        return self.current is not None and lifecycle.term_has_ended(self.current, self.today)

    @property
    def can_log_meetings(self) -> bool:
        return self.is_member and self.state in meeting_rules.LOGGABLE_STATES

    @property
    def can_check_in(self) -> bool:
        return self.is_member and self.state in progress_rules.CHECK_IN_STATES and bool(self.progress)

    @property
    def i_asked_for_review(self) -> bool:
        return self.viewer.id in self.review_requests

    @property
    def partner_asked_for_review(self) -> bool:
        return self.is_member and self.partner.id in self.review_requests

    @property
    def can_end_early(self) -> bool:
        return self.is_member and self.state in lifecycle.CLOSABLE_EARLY_STATES

    @property
    def can_ask_for_help(self) -> bool:
        return self.is_member and lifecycle.help_is_open(self.current)

    @property
    def reviews_done(self) -> bool:
        return self.state == "in_review" and not self.missing_reviews

    @property
    def my_review(self) -> lifecycle.ReviewView | None:
        return self.reviews.get(self.viewer.id)

    @property
    def goal_items(self) -> list[commitments.GoalItem]:
        return [item.item for item in self.progress]

    @property
    def purge_on(self) -> date | None:
        """When the program's retention rule will remove this closed agreement's pair-only content."""
        current, months = self.current, self.pair.program.retention_months
        if current is None or current.state != "closed" or current.purged_at or months is None \
                or current.closed_at is None:
            return None
        return purge_date(current, months)

    @property
    def closure_reason_label(self) -> str | None:
        if not self.sees_closure_reason or self.current is None:
            return None
        return lifecycle.CLOSURE_REASONS.get(self.current.closure_reason)

    def outcome_of(self, user: User, item: commitments.GoalItem) -> str | None:
        review = self.reviews.get(user.id)
        return lifecycle.OUTCOME_LABELS.get(review.outcomes.get(item.ref)) if review else None


def pair_life(pair: Pair, viewer: User, relation: str, today: date | None = None) -> PairLife:
    is_member = relation == policy.MEMBER
    chain = lifecycle.chain_of(pair)
    life = PairLife(pair, viewer, relation, chain, today or utctoday(),
                    sees_closure_reason=policy.may_see_closure_reason(viewer, pair))
    if not chain:
        return life
    life.current = current = chain[-1]
    life.definition = definition = definition_of(current.template_version)
    # Pair-only values are not needed here and are left unread even for members.
    life.values = values_of(read_fields(current, definition, include_pair_only=False))
    life.tally = meeting_rules.tally(current, definition, life.values)
    life.meetings = meeting_rules.meetings_of(current, definition, include_summaries=is_member, limit=RECENT_MEETINGS)
    life.modes = commitments.meeting_modes(definition)
    life.progress = progress_rules.progress_of(current, definition, life.values, include_comments=is_member)
    if is_member:
        life.planned = planned_meetings.upcoming(current)
        life.check_in = progress_rules.check_in_status(current, definition, life.values, life.today)
        life.review_requests = lifecycle.review_requests(current)
        life.open_help = lifecycle.open_help_requests(pair)
        life.reviewed_ids = lifecycle.reviewed_agreement_ids(chain)
    if current.state in ("in_review", "closed"):
        life.reviews = lifecycle.reviews_of(current, include_conclusions=is_member)
        life.missing_reviews = lifecycle.missing_reviews(current, definition, life.values)
    return life


# --- the agreement page -------------------------------------------------------------------------------------

@dataclass
class AgreementLife:
    """The lifecycle banner of one agreement: closure, the chain, and (renewals) the goals' confirmations."""
    agreement: Agreement
    is_member: bool
    sees_closure_reason: bool
    predecessor: Agreement | None = None
    successor: Agreement | None = None
    confirmations: dict[int, bool] = field(default_factory=dict)

    @property
    def needs_goal_confirmation(self) -> bool:
        return lifecycle.needs_goal_confirmation(self.agreement) and self.agreement.state in ("draft", "signing")

    @property
    def goals_confirmed(self) -> bool:
        return all(self.confirmations.get(member) for member in self.agreement.pair.member_ids())

    @property
    def closure_reason_label(self) -> str | None:
        return lifecycle.CLOSURE_REASONS.get(self.agreement.closure_reason) if self.sees_closure_reason else None

    def confirmed_by(self, user: User) -> bool:
        return bool(self.confirmations.get(user.id))

    def lapsed_for(self, user: User) -> bool:
        """Confirmed once, but the goals changed since."""
        return self.confirmations.get(user.id) is False


# Built once: every agreement page asks it.
_SUCCESSOR = rawsql.Query(select(*rawsql.columns_of(Agreement))
                          .where(Agreement.predecessor_id == bindparam("agreement_id", type_=Integer)).limit(1))


def agreement_life(agreement: Agreement, viewer: User | None, is_member: bool) -> AgreementLife:
    sees_reason = viewer is not None and policy.may_see_closure_reason(viewer, agreement.pair)
    life = AgreementLife(agreement, is_member, sees_closure_reason=sees_reason)
    if agreement.predecessor_id is not None:
        life.predecessor = db.session.get(Agreement, agreement.predecessor_id)
    successor = rawsql.objects(Agreement, _SUCCESSOR, {"agreement_id": agreement.id})
    life.successor = successor[0] if successor else None
    if is_member and life.needs_goal_confirmation:
        life.confirmations = lifecycle.goal_confirmations(agreement)
    return life


# --- the home page ------------------------------------------------------------------------------------------

def member_prompts(pairs: list[Pair], viewer: User, today: date | None = None) -> dict[int, list[str]]:
    """What is waiting for a member in each of their pairs (check-in due, review, partner's request).
    What it reads for the active and in-review agreements is read for all pairs at once (a fixed number of
    queries however many pairs the person is in)."""
    today = today or utctoday()
    currents = {pair.id: pair.agreements[-1] for pair in pairs if pair.agreements}
    active = [agreement.id for agreement in currents.values() if agreement.state == "active"]
    values = program_values_of(active)
    last_check_ins = progress_rules.last_check_ins(active)
    asked = lifecycle.review_requests_of(active)
    reviewers = lifecycle.reviewers_of([a.id for a in currents.values() if a.state == "in_review"])
    prompts: dict[int, list[str]] = {}
    for pair in pairs:
        current = currents.get(pair.id)
        if current is None:
            continue
        found = []
        if current.state == "active":
            definition = definition_of(current.template_version)
            status = progress_rules.check_in_status(current, definition, values[current.id], today,
                                                    last_at=last_check_ins.get(current.id))
            if status and status.due:
                found.append("A progress check-in is due.")
            if lifecycle.term_has_ended(current, today):
                found.append("The term has ended: time to review it together.")
            elif lifecycle.partner_of(pair, viewer).id in asked[current.id]:
                found.append("Your partner would like to start the review early.")
        elif current.state == "in_review" and viewer.id not in reviewers[current.id]:
            found.append("Write your review of the mentorship.")
        elif current.state in ("draft", "signing") and lifecycle.needs_goal_confirmation(current) \
                and not lifecycle.goal_confirmations(current).get(viewer.id):
            found.append("Confirm the goals of your new agreement.")
        if found:
            prompts[pair.id] = found
    return prompts
