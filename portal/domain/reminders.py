"""Reminders, sent by `flask --app wsgi send-reminders` (run daily from cron).

Each reminder is about one situation, named by a unique key (kind, agreement and what identifies the
situation, e.g. the term end date). The key is stored in `sent_reminder` in the same transaction that queues
the mails, so a second run (or two overlapping runs) sends nothing twice, and a changed situation (a new term
end after an amendment) is a new reminder.

Reminders carry names, dates and links only: never pair-only text.

Kinds:
  term_ending        the term ends within 14 days                     -> both members
  review_due         the term has ended and the agreement is active   -> both members
  signature_waiting  in "signing" for 7+ days                         -> the member who has not signed
  stalled            no meeting for the program's stall_days          -> both members (again each period)
  retention          pair-only content will be purged in 30 days      -> both members
  meeting_tomorrow   a planned meeting is tomorrow (program's zone)  -> both members (never its place)
(A share awaiting approval is left to the notes area, which owns shares.)
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError

from portal.domain.agreements import add_months
from portal.domain.lifecycle import mail_member, portal_link
from portal.domain.meetings import held_this_term
from portal.extensions import db
from portal.models import Agreement, AgreementEvent, AgreementSignature, Meeting, Pair, Program, SentReminder, User
from portal.timeutil import utctoday

TERM_ENDING_DAYS = 14
SIGNATURE_WAITING_DAYS = 7
RETENTION_NOTICE_DAYS = 30
SIGNED_EVENT = "signed"  # the signing area records one AgreementEvent of this kind per signature


@dataclass(frozen=True)
class Reminder:
    key: str
    kind: str
    agreement: Agreement
    recipients: list[User]
    subject: str
    template: str
    context: dict


def _send_once(reminder: Reminder) -> bool:
    """Record the reminder's key and queue its mails in one savepoint; an existing key sends nothing."""
    if db.session.scalar(select(exists().where(SentReminder.key == reminder.key))):
        return False
    try:
        with db.session.begin_nested():
            db.session.add(SentReminder(key=reminder.key, kind=reminder.kind, agreement_id=reminder.agreement.id))
            db.session.flush()
            pair = reminder.agreement.pair
            for person in reminder.recipients:
                mail_member(person, f"reminder_{reminder.kind}", reminder.subject, reminder.template,
                            pair=pair, agreement=reminder.agreement, link=portal_link(f"/pairs/{pair.id}"),
                            **reminder.context)
    except IntegrityError:  # another run recorded it first
        return False
    return True


def _both(agreement: Agreement) -> list[User]:
    return [agreement.pair.mentor, agreement.pair.mentee]


def _agreements(*conditions):
    return db.session.scalars(select(Agreement).join(Pair).where(*conditions, Pair.archived_at.is_(None))
                              .order_by(Agreement.id)).all()


def term_ending(today: date) -> list[Reminder]:
    return [Reminder(f"term_ending:{a.id}:{a.term_end.isoformat()}", "term_ending", a, _both(a),
                     "Your mentorship term ends soon", "reminder_term_ending.txt",
                     {"days_left": (a.term_end - today).days})
            for a in _agreements(Agreement.state == "active", Agreement.term_end >= today,
                                 Agreement.term_end <= today + timedelta(days=TERM_ENDING_DAYS))]


def review_due(today: date) -> list[Reminder]:
    return [Reminder(f"review_due:{a.id}:{a.term_end.isoformat()}", "review_due", a, _both(a),
                     "Your mentorship term has ended: time to review", "reminder_review_due.txt", {})
            for a in _agreements(Agreement.state == "active", Agreement.term_end < today)]


def signature_waiting_since(agreement: Agreement) -> datetime:
    """When the agreement started waiting for its second signature: the latest "signed" event (the first
    signature of the current round; any edit clears signatures), or, without one, when it last changed."""
    latest = db.session.scalar(select(func.max(AgreementEvent.at)).where(
        AgreementEvent.agreement_id == agreement.id, AgreementEvent.kind == SIGNED_EVENT))
    return latest or agreement.updated_at


def unsigned_members(agreement: Agreement, since: datetime) -> list[User]:
    """Members without a standing signature on the agreement's current revision."""
    signed = set(db.session.scalars(select(AgreementSignature.user_id).where(
        AgreementSignature.agreement_id == agreement.id, AgreementSignature.revision == agreement.revision,
        AgreementSignature.outcome == "signed", AgreementSignature.cleared_at.is_(None))))
    return [person for person in _both(agreement) if person.id not in signed] or _both(agreement)


def signature_cutoff(today: date) -> datetime:
    """Waiting since before this moment = waiting for 7 days or more (counted in days, as people do)."""
    return datetime.combine(today, datetime.min.time()) - timedelta(days=SIGNATURE_WAITING_DAYS - 1)


def signature_waiting(today: date) -> list[Reminder]:
    reminders = []
    cutoff = signature_cutoff(today)
    for agreement in _agreements(Agreement.state == "signing"):
        since = signature_waiting_since(agreement)
        if since >= cutoff:
            continue
        reminders.append(Reminder(
            f"signature_waiting:{agreement.id}:{agreement.revision}:{since.isoformat()}", "signature_waiting",
            agreement, unsigned_members(agreement, since), "Your mentorship agreement is waiting for your signature",
            "reminder_signature_waiting.txt", {"since": since.date()}))
    return reminders


def stalled(today: date) -> list[Reminder]:
    # Meetings before the term do not count as held this term (see portal.domain.meetings.held_this_term).
    last_meeting = (select(Meeting.agreement_id, func.max(Meeting.held_on).label("held_on"))
                    .join(Agreement, Agreement.id == Meeting.agreement_id)
                    .where(held_this_term(Agreement.term_start))
                    .group_by(Meeting.agreement_id).subquery())
    rows = db.session.execute(
        select(Agreement, Program.stall_days, last_meeting.c.held_on).join(Pair, Pair.id == Agreement.pair_id)
        .join(Program, Program.id == Pair.program_id)
        .outerjoin(last_meeting, last_meeting.c.agreement_id == Agreement.id)
        .where(Agreement.state == "active", Agreement.term_start <= today).order_by(Agreement.id)).all()
    reminders = []
    for agreement, stall_days, held_on in rows:
        since = held_on or agreement.term_start
        idle = (today - since).days
        if idle < stall_days:
            continue
        period = idle // stall_days  # one reminder per stall period, not one a day
        reminders.append(Reminder(
            f"stalled:{agreement.id}:{since.isoformat()}:{period}", "stalled", agreement, _both(agreement),
            "No mentoring meeting logged for a while", "reminder_stalled.txt",
            {"since": since, "had_meeting": held_on is not None, "idle_days": idle}))
    return reminders


def purge_date(agreement: Agreement, retention_months: int) -> date:
    return add_months(agreement.closed_at.date(), retention_months)


def retention(today: date) -> list[Reminder]:
    rows = db.session.execute(
        select(Agreement, Program.retention_months).join(Pair, Pair.id == Agreement.pair_id)
        .join(Program, Program.id == Pair.program_id)
        .where(Agreement.state == "closed", Agreement.purged_at.is_(None), Agreement.closed_at.is_not(None),
               Program.retention_months.is_not(None), Pair.archived_at.is_(None)).order_by(Agreement.id)).all()
    reminders = []  # a removed pair's members cannot reach it: no notice with a link they could not follow
    for agreement, months in rows:
        when = purge_date(agreement, months)
        if today < when - timedelta(days=RETENTION_NOTICE_DAYS):
            continue
        # The purge waits for the notice (portal.domain.retention), so the date named is never in the past.
        reminders.append(Reminder(
            f"retention:{agreement.id}", "retention", agreement, _both(agreement),
            "Download your mentorship's confidential content before it is deleted", "reminder_retention.txt",
            {"purge_on": max(when, today + timedelta(days=RETENTION_NOTICE_DAYS)), "months": months,
             "export_link": portal_link(f"/pairs/{agreement.pair_id}/export.json")}))
    return reminders


SHARE_WAITING_DAYS = 2


def share_waiting(today: date) -> list[Reminder]:
    """A note share proposed two days ago or more and still waiting for the other member's approval. The mail
    names who proposed it, never the note's text or the recipient."""
    from portal.models import Note, NoteShare
    cutoff = datetime.combine(today, datetime.min.time()) - timedelta(days=SHARE_WAITING_DAYS - 1)
    shares = db.session.scalars(select(NoteShare).join(Note, Note.id == NoteShare.note_id).where(
        NoteShare.state == "proposed", NoteShare.proposed_at < cutoff).order_by(NoteShare.id)).all()
    reminders = []
    for share in shares:
        pair = share.note.pair
        if not pair.agreements or pair.archived_at is not None:
            continue
        other = pair.mentee if share.proposed_by_id == pair.mentor_id else pair.mentor
        proposer = pair.mentor if other is pair.mentee else pair.mentee
        reminders.append(Reminder(f"share_waiting:{share.id}", "share_waiting", pair.agreements[-1], [other],
                                  "A note share is waiting for your approval", "reminder_share_waiting.txt",
                                  {"proposer": proposer, "proposed_at": share.proposed_at}))
    return reminders


def meeting_tomorrow(today: date | None) -> list[Reminder]:
    """A meeting planned for tomorrow in its program's time zone (`today`: that day for every program; None:
    each program's own date now, which west of UTC can still be yesterday's UTC date). The key names the
    meeting and its start, so a run that finds it again sends nothing and nothing is sent twice."""
    from portal.domain.planned_meetings import due_tomorrow
    return [Reminder(f"meeting_tomorrow:{meeting.id}:{meeting.starts_at.isoformat()}", "meeting_tomorrow",
                     meeting.agreement, _both(meeting.agreement), "Your mentoring meeting is tomorrow",
                     "reminder_meeting_tomorrow.txt",
                     {"starts": starts, "time_zone": meeting.agreement.pair.program.time_zone,
                      "minutes": meeting.minutes})
            for meeting, starts in due_tomorrow(today) if meeting.agreement.pair.archived_at is None]


FINDERS: dict[str, Callable[[date], list[Reminder]]] = {  # meeting_tomorrow is also called with None
    "term_ending": term_ending, "review_due": review_due, "signature_waiting": signature_waiting,
    "stalled": stalled, "retention": retention, "share_waiting": share_waiting,
    "meeting_tomorrow": meeting_tomorrow,
}


def send_reminders(today: date | None = None) -> dict[str, int]:
    """Queue every reminder due today that was not sent before. Returns how many were sent, by kind."""
    run_day = today or utctoday()
    sent = dict.fromkeys(FINDERS, 0)
    for kind, finder in FINDERS.items():
        for reminder in (finder(run_day) if finder is not meeting_tomorrow else meeting_tomorrow(today)):
            if _send_once(reminder):
                sent[kind] += 1
        db.session.commit()
    return sent


def reminder_sent_at(key: str) -> datetime | None:
    return db.session.scalar(select(SentReminder.sent_at).where(SentReminder.key == key))

