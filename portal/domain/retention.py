"""The pair's own copy of their data, and the program's retention rule that purges pair-only content.

Export: a member downloads everything of their pair as JSON, pair-only content included (it is theirs):
every agreement's values, meetings with summaries, progress with comments, reviews with conclusions. Other
areas add their own content by registering an exporter (the notes area adds notes):

    from portal.domain.retention import register_exporter
    register_exporter("notes", lambda pair: [...])          # JSON-ready, for the pair's members only

Purge: when a program keeps pair-only content for N months after closure (`Program.retention_months`),
`flask --app wsgi purge` blanks every pair-only ciphertext of agreements closed longer ago than that (live values
and their history, meeting summaries, progress comments, conclusions, the signed versions' pair-only part and
seal, decline reasons; the signatures, hashes and program parts of signed versions stay), but
never before both members were told 30 days ahead (the "retention" reminder) and could download it. Other
areas register a purger for their own pair-only content of a purged agreement:

    from portal.domain.retention import register_purger
    register_purger(lambda agreement: <number of rows blanked>)
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any, Callable

from sqlalchemy import String, cast, or_, select, update

from portal import audit, crypto
from portal.domain import commitments, meetings, planned_meetings, progress, signing
from portal.domain.agreements import history, read_fields
from portal.domain.lifecycle import CLOSURE_KIND_LABELS, CLOSURE_REASONS, chain_of, reviews_of
from portal.domain.reminders import RETENTION_NOTICE_DAYS, purge_date
from portal.domain.template_format import pair_only_keys
from portal.domain.template_store import definition_of
from portal.db_setup import forget_deleted_pages
from portal.extensions import db
from portal.models import (
    Agreement, AgreementEvent, FieldChange, FieldValue, GoalProgress, Meeting, Pair, PlannedMeeting, Program, ReviewEntry,
    SentReminder, User,
)
from portal.timeutil import utcnow, utctoday

EXPORT_FORMAT = "mentorship-pair-export"

Exporter = Callable[[Pair], Any]
Purger = Callable[[Agreement], int]
EXPORTERS: list[tuple[str, Exporter]] = []
PURGERS: list[Purger] = []


def register_exporter(name: str, exporter: Exporter) -> None:
    """Add a section `name` to every pair export; `exporter(pair)` returns JSON-ready data."""
    if any(existing == name for existing, _ in EXPORTERS):
        raise ValueError(f"an exporter named {name!r} is already registered")
    EXPORTERS.append((name, exporter))


def register_purger(purger: Purger) -> None:
    """Blank an area's own pair-only content of an agreement being purged; returns the rows changed."""
    PURGERS.append(purger)


# --- export -------------------------------------------------------------------------------------------------

def _person(user: User) -> dict:
    return {"name": user.name, "email": user.email}


def _when(value) -> str | None:
    return None if value is None else value.isoformat()


def _comment(comment: crypto.Decrypted | None) -> dict:
    """A goal's exported comment (None when the goal was never checked in)."""
    comment = comment or crypto.Decrypted(None)
    return {"comment": comment.text, **crypto.said_if_undecryptable(comment.unreadable)}


def _agreement_export(agreement: Agreement) -> dict:
    definition = definition_of(agreement.template_version)
    stored = read_fields(agreement, definition, include_pair_only=True)
    values = {key: s.value for key, s in stored.items()}
    fields = [{"key": f.key, "label": f.label, "type": f.type, "pair_only": f.pair_only,
               "value": values.get(f.key),
               **crypto.said_if_undecryptable(f.key in stored and stored[f.key].unreadable)}
              for f in definition.fields if f.stores_value]
    summaries = meetings.summaries_for_export(agreement)
    meeting_rows = db.session.scalars(select(Meeting).where(Meeting.agreement_id == agreement.id)
                                      .order_by(Meeting.held_on, Meeting.id)).all()
    comments = progress.comments_for_export(agreement)
    progress_items = progress.progress_of(agreement, definition, values, include_comments=False)
    reviews = reviews_of(agreement, include_conclusions=True)
    events = db.session.scalars(select(AgreementEvent).where(AgreementEvent.agreement_id == agreement.id)
                                .order_by(AgreementEvent.id)).all()
    return {
        "id": agreement.id,
        "template": agreement.template_version.template.name,
        "template_version": agreement.template_version.number,
        "state": agreement.state,
        "revision": agreement.revision,
        "term_start": agreement.term_start.isoformat(),
        "term_end": agreement.term_end.isoformat(),
        "term_months": agreement.term_months,
        "predecessor_id": agreement.predecessor_id,
        "closed_at": _when(agreement.closed_at),
        "closure": CLOSURE_KIND_LABELS.get(agreement.closure_kind),
        "closure_reason": CLOSURE_REASONS.get(agreement.closure_reason),
        "pair_only_content_purged_at": _when(agreement.purged_at),
        "fields": fields,
        "history": [{"field": entry.field.key, "version": entry.version, "old": entry.old, "new": entry.new,
                     "by": entry.by, "at": _when(entry.at), **crypto.said_if_undecryptable(entry.unreadable)}
                    for entry in history(agreement, definition, limit=5000)],
        "meetings": [{"held_on": m.held_on.isoformat(),
                      "mode": commitments.mode_label(definition, m.mode, m.other_label),
                      "minutes": m.minutes, "summary": summaries[m.id].text,
                      **crypto.said_if_undecryptable(summaries[m.id].unreadable)} for m in meeting_rows],
        "planned_meetings": planned_meetings.for_export(agreement),
        "progress": [{"goal": item.item.label, "text": item.item.text, "status": item.status_label,
                      **_comment(comments.get((item.item.field_key, item.item.index)))} for item in progress_items],
        "reviews": [{"by": view.user.name, "outcomes": view.outcomes, "conclusion": view.conclusion,
                     "updated_at": _when(view.updated_at), **crypto.said_if_undecryptable(view.unreadable)}
                    for view in reviews.values()],
        "events": [{"kind": e.kind, "at": _when(e.at), "detail": e.detail} for e in events],
    }


def export_pair(pair: Pair) -> dict:
    """Everything of the pair, for its members only (the route loads the pair through the member loader)."""
    data = {
        "format": EXPORT_FORMAT,
        "format_version": 1,
        "exported_at": _when(utcnow()),
        "program": {"name": pair.program.name, "code": pair.program.code},
        "mentor": _person(pair.mentor),
        "mentee": _person(pair.mentee),
        "agreements": [_agreement_export(agreement) for agreement in chain_of(pair)],
    }
    for name, exporter in EXPORTERS:
        data[name] = exporter(pair)
    return data


def export_json(pair: Pair) -> str:
    return json.dumps(export_pair(pair), ensure_ascii=False, indent=2, default=str)


# --- purge --------------------------------------------------------------------------------------------------

def due_for_purge(today: date | None = None) -> list[Agreement]:
    """Closed agreements past their program's retention whose members were told at least 30 days ago, and those
    of pairs their program removed (created by mistake), whose members cannot reach them to be told."""
    today = today or utctoday()
    noticed_before = utcnow() - timedelta(days=RETENTION_NOTICE_DAYS)
    rows = db.session.execute(
        select(Agreement, Program.retention_months, SentReminder.sent_at, Pair.archived_at)
        .join(Pair, Pair.id == Agreement.pair_id).join(Program, Program.id == Pair.program_id)
        .outerjoin(SentReminder, SentReminder.key == "retention:" + cast(Agreement.id, String))
        .where(Agreement.state == "closed", Agreement.purged_at.is_(None), Agreement.closed_at.is_not(None),
               Program.retention_months.is_not(None)).order_by(Agreement.id)).all()
    return [agreement for agreement, months, noticed_at, removed_at in rows
            if purge_date(agreement, months) <= today
            and (removed_at is not None or (noticed_at is not None and noticed_at <= noticed_before))]


def purged_before() -> list[Agreement]:
    """Closed agreements whose pair-only content an earlier run purged. Pair-only content can appear again after
    that: the pair keeps its notebook after closure, so a note written after the purge is pair-only content of
    a mentorship whose retention period has passed and whose members were told. Every run purges it again."""
    return db.session.scalars(select(Agreement).where(Agreement.state == "closed", Agreement.purged_at.is_not(None))
                              .order_by(Agreement.id)).all()


def _purge_content(agreement: Agreement) -> int:
    """Blank every pair-only ciphertext of the agreement that is not blank yet; returns the rows changed (0 when
    there was nothing left to purge)."""
    definition = definition_of(agreement.template_version)
    hidden = list(pair_only_keys(definition))
    count = 0
    for stmt in (
        update(FieldValue).where(FieldValue.agreement_id == agreement.id, FieldValue.value_ct.is_not(None))
        .values(value_ct=None),
        update(FieldChange).where(FieldChange.agreement_id == agreement.id, FieldChange.field_key.in_(hidden),
                                  or_(FieldChange.old_ct.is_not(None), FieldChange.new_ct.is_not(None)))
        .values(old_ct=None, new_ct=None),
        update(Meeting).where(Meeting.agreement_id == agreement.id, Meeting.summary_ct.is_not(None))
        .values(summary_ct=None),
        update(PlannedMeeting).where(PlannedMeeting.agreement_id == agreement.id, PlannedMeeting.place_ct.is_not(None))
        .values(place_ct=None),
        update(GoalProgress).where(GoalProgress.agreement_id == agreement.id, GoalProgress.comment_ct.is_not(None))
        .values(comment_ct=None),
        update(ReviewEntry).where(ReviewEntry.agreement_id == agreement.id, ReviewEntry.conclusion_ct.is_not(None))
        .values(conclusion_ct=None),
    ):
        count += db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount
    count += signing.forget_pair_only(agreement)  # signed versions' pair-only part and seal, decline reasons
    for purger in PURGERS:
        count += purger(agreement)
    return count


def _record_purge(agreement: Agreement, count: int, again: bool) -> None:
    audit.record("agreement.pair_content_purged", program_id=agreement.pair.program_id, pair_id=agreement.pair_id,
                 agreement_id=agreement.id, rows=count, **({"written_after_earlier_purge": True} if again else {}))


def purge_agreement(agreement: Agreement) -> int:
    """Blank every pair-only ciphertext of the agreement; returns the number of rows changed. The agreement keeps
    the date of its first purge (the pages name it); a later purge of content written since is audited."""
    if agreement.state != "closed":
        raise ValueError("only closed agreements are purged")
    again = agreement.purged_at is not None
    count = _purge_content(agreement)
    if not again:
        agreement.purged_at = utcnow()
    _record_purge(agreement, count, again)
    return count


def purge_expired(today: date | None = None) -> list[tuple[int, int]]:
    """Purge every agreement due, and the pair-only content written since an earlier purge of a closed agreement
    (a note in the notebook of a purged pair: deleted by the next run, see `purged_before`); one transaction
    each. Returns (agreement id, rows changed) pairs, for the agreements where something was deleted or due."""
    done = []
    earlier = purged_before()
    for agreement in due_for_purge(today):
        done.append((agreement.id, purge_agreement(agreement)))
        db.session.commit()
    for agreement in earlier:
        # A closed agreement's own content is read-only: only what outlives it (the pair's notebook, through the
        # registered purgers) can be written after its purge, so that is all a later run looks at.
        count = sum(purger(agreement) for purger in PURGERS)
        if count:
            _record_purge(agreement, count, again=True)
            done.append((agreement.id, count))
        db.session.commit()
    if done:
        forget_deleted_pages()
    return done
