"""Progress on each goal and objective, and the check-in prompt at the cadence the pair agreed.

A goal's status (not started, in progress, achieved) is followed by supervisors and the program; the pair's
comment on it is pair-only, encrypted and bound to its row and pair (``goal_progress:<id>|pair:<pair id>``).
A check-in is one pass through every goal; the prompt comes back one agreed period after the last one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping

from sqlalchemy import func, select

from portal import crypto
from portal.domain import commitments
from portal.domain.agreements import AgreementStateError
from portal.domain.meetings import clean_text
from portal.domain.template_format import TemplateDefinition
from portal.extensions import db
from portal.models import Agreement, GoalProgress, ProgressCheckIn, User
from portal.models.lifecycle import GOAL_STATUSES
from portal.timeutil import utcnow, utctoday

STATUS_LABELS = {"not_started": "Not started", "in_progress": "In progress", "achieved": "Achieved"}
COMMENT_MAX = 2000
CHECK_IN_STATES = ("active",)


class ProgressInputError(ValueError):
    """Problems with a check-in, by form field name."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(" ".join(errors.values()))
        self.errors = errors


def _comment_aad(progress_id: int, pair_id: int) -> str:
    return f"goal_progress:{progress_id}|pair:{pair_id}"


crypto.register_encrypted_column(
    GoalProgress, "comment_ct", lambda row: _comment_aad(row.id, row.agreement.pair_id))


def status_input(item: commitments.GoalItem) -> str:
    return f"status-{item.ref}"


def comment_input(item: commitments.GoalItem) -> str:
    return f"comment-{item.ref}"


@dataclass
class ProgressItem:
    item: commitments.GoalItem
    status: str = "not_started"
    comment: str | None = None     # members only
    updated_by: str | None = None
    updated_at: datetime | None = None
    unreadable: bool = False
    error: str | None = None       # when a check-in was refused: shown next to this goal

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def progress_of(agreement: Agreement, definition: TemplateDefinition, values: Mapping[str, Any],
                include_comments: bool) -> list[ProgressItem]:
    """Every tracked goal with its status. Comments are decrypted only for members (`include_comments`)."""
    items = commitments.goal_items(definition, values)
    rows = {(row.field_key, row.item_index): (row, author) for row, author in db.session.execute(
        select(GoalProgress, User.name).outerjoin(User, User.id == GoalProgress.updated_by_id)
        .where(GoalProgress.agreement_id == agreement.id)).all()}
    out = []
    for item in items:
        found = rows.get((item.field_key, item.index))
        if found is None:
            out.append(ProgressItem(item))
            continue
        row, author = found
        progress = ProgressItem(item, row.status, None, author, row.updated_at)
        if include_comments and row.comment_ct is not None:
            try:
                progress.comment = crypto.decrypt(row.comment_ct, _comment_aad(row.id, agreement.pair_id))
            except crypto.DecryptionError:
                progress.unreadable = True
        out.append(progress)
    return out


def check_in(agreement: Agreement, definition: TemplateDefinition, values: Mapping[str, Any], actor: User,
             form: Mapping[str, Any]) -> list[ProgressItem]:
    """Store the status and comment of every goal in the submitted form, and record the check-in.
    Raises ProgressInputError (nothing stored) or AgreementStateError."""
    if agreement.state not in CHECK_IN_STATES:
        raise AgreementStateError({
            "draft": "Progress is tracked once the agreement is signed and active.",
            "signing": "Progress is tracked once the agreement is signed and active.",
            "in_review": "Your review has started: record each goal's outcome in the review instead.",
        }.get(agreement.state, "This agreement is closed and read-only."))
    current = progress_of(agreement, definition, values, include_comments=True)
    errors: dict[str, str] = {}
    wanted = []
    for progress in current:
        status = str(form.get(status_input(progress.item), progress.status))
        if status not in GOAL_STATUSES:
            errors[status_input(progress.item)] = "Choose one of the statuses."
        raw_comment = form.get(comment_input(progress.item))
        comment = progress.comment if raw_comment is None else clean_text(
            raw_comment, COMMENT_MAX, "The comment", errors, comment_input(progress.item))
        wanted.append((progress, status, comment or None))
    if errors:
        raise ProgressInputError(errors)
    now = utcnow()
    for progress, status, comment in wanted:
        if status == progress.status and comment == progress.comment:
            continue
        row = db.session.scalar(select(GoalProgress).where(
            GoalProgress.agreement_id == agreement.id, GoalProgress.field_key == progress.item.field_key,
            GoalProgress.item_index == progress.item.index))
        if row is None:
            row = GoalProgress(agreement_id=agreement.id, field_key=progress.item.field_key,
                               item_index=progress.item.index)
            db.session.add(row)
            db.session.flush()  # the id is part of the comment's associated data
        row.status, row.updated_by_id, row.updated_at = status, actor.id, now
        row.comment_ct = None if comment is None else crypto.encrypt(
            comment, _comment_aad(row.id, agreement.pair_id))
    db.session.add(ProgressCheckIn(agreement_id=agreement.id, user_id=actor.id, at=now))
    return current


# --- the check-in prompt ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckInStatus:
    due: bool
    due_on: date                 # when the next check-in is (or was) due
    last_at: datetime | None     # the last check-in by either member
    cadence: commitments.Cadence


def last_check_in(agreement: Agreement) -> datetime | None:
    return db.session.scalar(select(func.max(ProgressCheckIn.at)).where(ProgressCheckIn.agreement_id == agreement.id))


def last_check_ins(agreement_ids: list[int]) -> dict[int, datetime]:
    """The last check-in of each of these agreements (those without one are absent), in one query."""
    if not agreement_ids:
        return {}
    return dict(db.session.execute(
        select(ProgressCheckIn.agreement_id, func.max(ProgressCheckIn.at))
        .where(ProgressCheckIn.agreement_id.in_(agreement_ids)).group_by(ProgressCheckIn.agreement_id)).all())


_LOOK_IT_UP = object()


def check_in_status(agreement: Agreement, definition: TemplateDefinition, values: Mapping[str, Any],
                    today: date | None = None, last_at: datetime | None | object = _LOOK_IT_UP
                    ) -> CheckInStatus | None:
    """When the pair should next look at their progress: one agreed period after the last check-in (or
    after the term started). None when progress is not tracked (not active, or no goals to track).
    `last_at`: the last check-in when the caller already has it (see last_check_ins)."""
    if agreement.state not in CHECK_IN_STATES or not commitments.goal_items(definition, values):
        return None
    today = today or utctoday()
    chosen = commitments.cadence(definition, values)
    last = last_check_in(agreement) if last_at is _LOOK_IT_UP else last_at
    due_on = chosen.next_after(last.date()) if last else chosen.next_after(agreement.term_start)
    return CheckInStatus(due=today >= due_on, due_on=due_on, last_at=last, cadence=chosen)


def comments_for_export(agreement: Agreement) -> dict[tuple[str, int], crypto.Decrypted]:
    return {(row.field_key, row.item_index): crypto.decrypt_or_flag(row.comment_ct,
                                                                    _comment_aad(row.id, agreement.pair_id))
            for row in db.session.scalars(select(GoalProgress).where(GoalProgress.agreement_id == agreement.id))}
