"""A pair's confidential notebook and the two-key sharing of one note with one named person.

Rules (the views only parse, call these, and render; nothing here touches the request):

* Note text is encrypted before it reaches the database, bound to its row (``Note.aad``); it is decrypted
  only for the two members, or for a recipient through ``policy.share_for_recipient``.
* Searching decrypts in Python (the database holds ciphertext only) and is bounded: it looks at the newest
  ``SEARCH_SCAN_LIMIT`` notes and returns at most ``SEARCH_MAX_RESULTS``.
* A share needs both members: one proposes, the OTHER approves with their password. Either may withdraw at
  any time. Changing a note ends its open shares, because consent was given for the text as it was.
* Audit records and e-mails carry ids, names and dates, never note text.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app
from markupsafe import Markup
from sqlalchemy import Integer, bindparam, func, select, update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from portal import audit, crypto, policy, ratelimit, rawsql
from portal.domain import accounts
from portal.domain.note_markup import render_note
from portal.extensions import db
from portal.mail import queue_mail
from portal.models import Note, NoteShare, Pair, User
from portal.models.notes import OPEN_SHARE_STATES, ShareRules, note_aad
from portal.timeutil import YEARS_AHEAD, latest_day, utcnow

log = logging.getLogger(__name__)

NOTE_MAX_CHARS = 20_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
PAGE_SIZE = 20  # a page of the notebook stays well under the 100 KB page budget (issue #10)
SEARCH_QUERY_MAX = 100
SEARCH_MAX_TERMS = 10
SEARCH_SCAN_LIMIT = 2_000   # newest notes decrypted per search: keeps one search's cost bounded
SEARCH_MAX_RESULTS = 50
SEARCH_BATCH = 200
# Each proposal e-mails the other member: a cap keeps a runaway or hostile session from flooding them.
SHARE_PROPOSALS_PER_HOUR = 20


class NoteError(Exception):
    """A refusal whose message can be shown as it is (it never holds note text). `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class FieldProblems(Exception):
    """Input that cannot be accepted: field name -> message, shown next to each field. Nothing was changed."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems


class StaleNote(Exception):
    """The note changed (or was deleted) after the person opened it; nothing was changed."""


class RecipientChanged(NoteError):
    """The address the share names now leads to another person than the approval form showed."""


class PasswordRefused(Exception):
    """The re-entered password was wrong, or too many attempts were made. The failure is recorded for
    throttling, so the caller must COMMIT (not roll back) before answering."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- reading ------------------------------------------------------------------------------------------------

def decrypt_note(note: Note) -> str | None:
    """The note's text, or None when its ciphertext does not belong to this row, was altered, or its key is no
    longer configured. Never raises: a damaged note must not break the page it is on."""
    try:
        return crypto.decrypt(note.body, note.aad)
    except crypto.DecryptionError as error:
        log.warning("note %s cannot be decrypted: %s", note.id, error)
        return None


def _view(note: Note, shares: list) -> NoteView:
    text = decrypt_note(note)
    return NoteView(note, text, shares, key_missing=text is None and crypto.key_is_missing(note.body))


@dataclass(frozen=True)
class ShareStatus:
    """How a share reads to one member of the pair, and what that member may do with it."""
    key: str  # awaiting | active | expired | declined | withdrawn | ended_by_edit
    text: str
    can_approve: bool = False
    can_decline: bool = False
    can_withdraw: bool = False

    @property
    def label(self) -> str:
        return SHARE_LABELS[self.key]


SHARE_LABELS = {"awaiting": "Waiting for approval", "active": "Shared", "expired": "Expired",
                "declined": "Declined", "withdrawn": "Withdrawn", "ended_by_edit": "Ended"}


@dataclass
class NoteView:
    note: Note
    text: str | None  # None: cannot be read
    shares: list[tuple[NoteShare, ShareStatus]] = field(default_factory=list)
    key_missing: bool = False  # cannot be read because its key is not configured (not evidence of damage)

    @property
    def readable(self) -> bool:
        return self.text is not None

    @property
    def html(self) -> Markup:
        return render_note(self.text) if self.text is not None else Markup("")

    @property
    def has_open_shares(self) -> bool:
        """Shared or proposed for sharing: editing or deleting the note ends that."""
        return any(status.key in ("awaiting", "active") for _share, status in self.shares)


def note_view(note: Note, viewer: User, now: datetime | None = None) -> NoteView:
    now = now or utcnow()
    return _view(note, [(share, share_status(share, viewer, now)) for share in note.shares])


def recipient_view(share: NoteShare) -> NoteView:
    """What the recipient reads: the note's text only, never the pair's sharing trail (other recipients)."""
    return _view(share.note, [])


def last_readable_day(share: NoteShare) -> date | None:
    """The last day the recipient can read the note (expires_at is the start of the following day, UTC)."""
    if share.expires_at is None:
        return None
    return (share.expires_at - timedelta(microseconds=1)).date()


def _day(moment: datetime | date) -> str:
    return f"{moment.day} {moment:%B %Y}"


def _who(user: User | None, viewer: User) -> str:
    if user is None:
        return "someone"
    return "you" if user.id == viewer.id else user.name


def other_member(pair: Pair, user: User) -> User:
    return pair.mentee if user.id == pair.mentor_id else pair.mentor


def share_status(share: NoteShare, viewer: User, now: datetime) -> ShareStatus:
    until = (f"readable until the end of {_day(last_readable_day(share))} (UTC)" if share.expires_at
             else "readable until one of you withdraws it")
    recipient = share.recipient_label
    if share.state == "declined":
        return ShareStatus("declined", f"Not shared with {recipient}: declined by "
                           f"{_who(share.decided_by, viewer)} on {_day(share.decided_at)}.")
    if share.state == "withdrawn":
        who = _who(share.withdrawn_by, viewer)
        if share.ended_by_edit:
            return ShareStatus("ended_by_edit", f"No longer shared with {recipient}: the share ended on "
                               f"{_day(share.withdrawn_at)} when {who} changed the note. Share it again if you "
                               "both agree to share the new text.")
        if share.withdrawn_by is None:  # ended by the portal: see end_shares_of_recipient
            return ShareStatus("withdrawn", f"No longer shared with {recipient}: the share ended on "
                               f"{_day(share.withdrawn_at)} when their account was deactivated. Share it again if "
                               "you both still agree.")
        return ShareStatus("withdrawn", f"No longer shared with {recipient}: withdrawn by {who} on "
                           f"{_day(share.withdrawn_at)}.")
    if share.is_expired(now):
        if share.state == "approved":
            return ShareStatus("expired", f"No longer shared with {recipient}: expired at the end of "
                               f"{_day(last_readable_day(share))}.")
        return ShareStatus("expired", f"Not shared with {recipient}: the proposal expired at the end of "
                           f"{_day(last_readable_day(share))} before it was approved.")
    if share.state == "approved":
        return ShareStatus("active", f"Shared with {recipient} since {_day(share.decided_at)}: proposed by "
                           f"{_who(share.proposed_by, viewer)}, agreed by {_who(share.decided_by, viewer)}; "
                           f"{until}.", can_withdraw=True)
    proposer_is_viewer = share.proposed_by_id == viewer.id
    if proposer_is_viewer:
        pair = share.note.pair
        text = (f"Waiting for {other_member(pair, viewer).name} to approve sharing with {recipient} "
                f"(proposed by you on {_day(share.proposed_at)}; {until}). Nothing is shared until then.")
    else:
        text = (f"{share.proposed_by.name} proposed on {_day(share.proposed_at)} to share this note with "
                f"{recipient}, {until}. Nothing is shared unless you approve.")
    return ShareStatus("awaiting", text, can_approve=not proposer_is_viewer, can_decline=not proposer_is_viewer,
                       can_withdraw=proposer_is_viewer)


# --- writing ------------------------------------------------------------------------------------------------

def _normalize_text(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip("\n").rstrip()


def text_problem(text: str) -> str | None:
    if not text.strip():
        return "Write something first: the note is empty."
    if len(text) > NOTE_MAX_CHARS:
        return f"Keep a note under {NOTE_MAX_CHARS:,} characters; this one has {len(text):,}."
    if _CONTROL.search(text):
        # NUL and other invisible control characters (tabs and line breaks are fine), as in every other text.
        return "The note contains invisible control characters; remove them and try again."
    return None


def _facts(note: Note) -> dict:
    return {"program_id": note.pair.program_id, "pair_id": note.pair_id, "note_id": note.id}


def create_note(author: User, pair: Pair, text: str | None) -> Note:
    text = _normalize_text(text)
    problem = text_problem(text)
    if problem:
        raise FieldProblems({"text": problem})
    # The associated data names the row, so the id must exist before encrypting: flush a placeholder first.
    # The placeholder never reaches a commit (the ciphertext replaces it in the same transaction).
    note = Note(pair_id=pair.id, author_id=author.id, body=b"", version=1)
    db.session.add(note)
    db.session.flush()
    note.body = crypto.encrypt(text, note.aad)
    db.session.flush()
    audit.record("note.create", actor=author, **_facts(note))
    return note


def _end_open_shares(note: Note, by: User, now: datetime, reason: str) -> list[NoteShare]:
    """End every proposed or approved share of this note; returns the ones that were open."""
    ended = []
    for share in list(note.shares):
        if share.is_open(now) and _transition(share, OPEN_SHARE_STATES, now, state="withdrawn",
                                               withdrawn_by_id=by.id, withdrawn_at=now,
                                               ended_by_edit=(reason == "note_changed")):
            audit.record("note_share.withdraw", actor=by, share_id=share.id, reason=reason, **_facts(note))
            ended.append(share)
    return ended


def edit_note(editor: User, note: Note, text: str | None, seen_version: int | None,
              now: datetime | None = None) -> list[NoteShare]:
    """Replace the note's text. Refused with StaleNote when it changed since `seen_version` was read (the
    caller shows the new version and keeps the person's text). Returns the shares that the change ended."""
    now = now or utcnow()
    text = _normalize_text(text)
    problem = text_problem(text)
    if problem:
        raise FieldProblems({"text": problem})
    if seen_version != note.version:
        raise StaleNote()
    if text == decrypt_note(note):
        return []  # nothing changed: keep the version and the shares
    ended = _end_open_shares(note, editor, now, reason="note_changed")
    note.body = crypto.encrypt(text, note.aad)
    note.version = seen_version + 1
    note.updated_at = now
    note.updated_by_id = editor.id
    try:
        db.session.flush()  # UPDATE ... WHERE version = seen_version (see Note.__mapper_args__)
    except StaleDataError as error:
        raise StaleNote() from error
    audit.record("note.update", actor=editor, version=note.version, **_facts(note))
    return ended


def delete_note(member: User, note: Note, seen_version: int | None, now: datetime | None = None) -> None:
    """Delete the note and, with it, its shares (a recipient loses access at once). Refused with StaleNote
    when the note changed since the person last saw it, so nobody deletes text they have not read."""
    now = now or utcnow()
    if seen_version != note.version:
        raise StaleNote()
    _end_open_shares(note, member, now, reason="note_deleted")
    audit.record("note.delete", actor=member, **_facts(note))
    db.session.delete(note)
    try:
        db.session.flush()
    except StaleDataError as error:
        raise StaleNote() from error


# --- listing and searching ----------------------------------------------------------------------------------

@dataclass
class Notebook:
    views: list[NoteView]
    page: int = 1
    has_older: bool = False
    query: str = ""
    search_was_cut: bool = False  # the search stopped at SEARCH_SCAN_LIMIT notes or SEARCH_MAX_RESULTS matches

    @property
    def is_search(self) -> bool:
        return bool(self.query)


def _with_details():
    # The people of a note and of its shares come joined to the rows that name them: a page of notes costs
    # two queries (notes, then their shares) whatever it shows.
    shares = selectinload(Note.shares)
    return (joinedload(Note.author), joinedload(Note.updated_by), selectinload(Note.pair),
            shares.joinedload(NoteShare.recipient), shares.joinedload(NoteShare.proposed_by),
            shares.joinedload(NoteShare.decided_by), shares.joinedload(NoteShare.withdrawn_by))


def _newest_first(pair: Pair):
    return select(Note).where(Note.pair_id == pair.id).order_by(Note.created_at.desc(), Note.id.desc())


# The notebook page is read as plain rows (portal.rawsql), not loaded as ORM objects: it is the heaviest page a
# pair opens, and loading 20 notes with their people and shares through the ORM cost more than rendering them.
# The rows become ListedNote and ListedShare, which answer the same attributes as Note and NoteShare for what
# the notebook shows (the templates and share_status take either). Changes go through the ORM objects that
# policy.note_for_member and policy.share_for_member load.

@dataclass(frozen=True, slots=True)
class Person:
    id: int
    name: str


def _person(person_id: int | None, name: str | None) -> Person | None:
    return None if person_id is None else Person(person_id, name)


@dataclass(slots=True)
class ListedNote:
    id: int
    pair_id: int
    pair: Pair
    body: bytes
    version: int
    created_at: datetime
    updated_at: datetime | None
    author: Person
    updated_by: Person | None
    shares: list[ListedShare] = field(default_factory=list)

    @property
    def aad(self) -> str:
        return note_aad(self)


@dataclass(slots=True)
class ListedShare(ShareRules):
    id: int
    note: ListedNote
    recipient_email: str
    recipient_name: str
    recipient: Person | None
    state: str
    proposed_by_id: int
    proposed_by: Person
    proposed_at: datetime
    expires_at: datetime | None
    decided_by: Person | None
    decided_at: datetime | None
    withdrawn_by: Person | None
    withdrawn_at: datetime | None
    ended_by_edit: bool


def _notebook_statements() -> tuple[rawsql.Query, rawsql.Query]:
    note, share, users = Note.__table__, NoteShare.__table__, User.__table__
    author, editor = users.alias("author"), users.alias("editor")
    notes = (select(note.c.id, note.c.body, note.c.version, note.c.created_at, note.c.updated_at,
                    author.c.id.label("author_id"), author.c.name.label("author_name"),
                    editor.c.id.label("editor_id"), editor.c.name.label("editor_name"))
             .join_from(note, author, author.c.id == note.c.author_id)
             .outerjoin(editor, editor.c.id == note.c.updated_by_id)
             .where(note.c.pair_id == bindparam("pair_id", type_=Integer))
             .order_by(note.c.created_at.desc(), note.c.id.desc())
             .limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer)))
    recipient, proposer = users.alias("recipient"), users.alias("proposer")
    decider, withdrawer = users.alias("decider"), users.alias("withdrawer")
    shares = (select(share.c.id, share.c.note_id, share.c.recipient_email, share.c.recipient_name,
                     recipient.c.id.label("recipient_id"), recipient.c.name.label("recipient_user_name"),
                     share.c.state, proposer.c.id.label("proposer_id"), proposer.c.name.label("proposer_name"),
                     share.c.proposed_at, share.c.expires_at,
                     decider.c.id.label("decider_id"), decider.c.name.label("decider_name"), share.c.decided_at,
                     withdrawer.c.id.label("withdrawer_id"), withdrawer.c.name.label("withdrawer_name"),
                     share.c.withdrawn_at, share.c.ended_by_edit)
              .join_from(share, proposer, proposer.c.id == share.c.proposed_by_id)
              .outerjoin(recipient, recipient.c.id == share.c.recipient_id)
              .outerjoin(decider, decider.c.id == share.c.decided_by_id)
              .outerjoin(withdrawer, withdrawer.c.id == share.c.withdrawn_by_id)
              .where(share.c.note_id.in_(bindparam("note_ids", expanding=True)))
              .order_by(share.c.id.desc()))  # as Note.shares: newest first
    return rawsql.Query(notes), rawsql.Query(shares)


_NOTEBOOK_NOTES, _NOTEBOOK_SHARES = _notebook_statements()


def _listed_notes(pair: Pair, offset: int, limit: int) -> tuple[list[ListedNote], bool]:
    """Up to `limit` of the pair's notes from `offset`, with their people and shares, and whether older ones
    follow: two statements whatever the page holds."""
    notes = [ListedNote(note_id, pair.id, pair, body, version, created_at, updated_at,
                        Person(author_id, author_name), _person(editor_id, editor_name))
             for note_id, body, version, created_at, updated_at, author_id, author_name, editor_id, editor_name
             in rawsql.rows(_NOTEBOOK_NOTES, {"pair_id": pair.id, "limit": limit + 1, "offset": offset})]
    has_older = len(notes) > limit
    notes = notes[:limit]
    if notes:
        by_id = {note.id: note for note in notes}
        for (share_id, note_id, email, name, recipient_id, recipient_name, state, proposer_id, proposer_name,
             proposed_at, expires_at, decider_id, decider_name, decided_at, withdrawer_id, withdrawer_name,
             withdrawn_at, ended_by_edit) in rawsql.rows(_NOTEBOOK_SHARES, {"note_ids": list(by_id)}):
            note = by_id[note_id]
            note.shares.append(ListedShare(
                share_id, note, email, name, _person(recipient_id, recipient_name), state, proposer_id,
                Person(proposer_id, proposer_name), proposed_at, expires_at, _person(decider_id, decider_name),
                decided_at, _person(withdrawer_id, withdrawer_name), withdrawn_at, bool(ended_by_edit)))
    return notes, has_older


def notebook(pair: Pair, viewer: User, page: int = 1) -> Notebook:
    """One page of the pair's notes, newest first."""
    page = max(1, page)
    notes, has_older = _listed_notes(pair, (page - 1) * PAGE_SIZE, PAGE_SIZE)
    now = utcnow()
    return Notebook([note_view(note, viewer, now) for note in notes], page=page, has_older=has_older)


def clean_query(query: str | None) -> str:
    return " ".join((query or "").split())[:SEARCH_QUERY_MAX]


def search(pair: Pair, viewer: User, query: str | None) -> Notebook:
    """Notes containing every word of the query (case-insensitive), newest first.

    The database holds ciphertext only, so the search decrypts in Python; it reads at most the newest
    SEARCH_SCAN_LIMIT notes, in batches, and stops at SEARCH_MAX_RESULTS matches."""
    query = clean_query(query)
    if not query:
        return notebook(pair, viewer)
    terms = [term.casefold() for term in query.split()[:SEARCH_MAX_TERMS]]
    matching_ids: list[int] = []
    scanned = 0
    cut = False
    while scanned < SEARCH_SCAN_LIMIT and not cut:
        batch = db.session.scalars(_newest_first(pair).offset(scanned)
                                   .limit(min(SEARCH_BATCH, SEARCH_SCAN_LIMIT - scanned))).all()
        for note in batch:
            text = decrypt_note(note)
            if text is not None and all(term in text.casefold() for term in terms):
                matching_ids.append(note.id)
                if len(matching_ids) == SEARCH_MAX_RESULTS:
                    cut = True
                    break
        scanned += len(batch)
        if len(batch) < SEARCH_BATCH:
            break
    if scanned >= SEARCH_SCAN_LIMIT:
        cut = cut or db.session.scalar(select(func.count(Note.id)).where(Note.pair_id == pair.id)) > scanned
    notes = db.session.scalars(select(Note).where(Note.id.in_(matching_ids)).options(*_with_details())
                               .order_by(Note.created_at.desc(), Note.id.desc())).all() if matching_ids else []
    now = utcnow()
    return Notebook([note_view(note, viewer, now) for note in notes], query=query, search_was_cut=cut)


# --- sharing ------------------------------------------------------------------------------------------------

def _transition(share: NoteShare, from_states: tuple[str, ...], now: datetime, **values) -> bool:
    """Move a share to a new state only if it is still in one of `from_states` and not expired, in one
    conditional UPDATE: two members acting at the same moment (approve vs withdraw) cannot both win."""
    result = db.session.execute(
        update(NoteShare).where(NoteShare.id == share.id, NoteShare.state.in_(from_states),
                                (NoteShare.expires_at.is_(None)) | (NoteShare.expires_at > now))
        .values(**values).execution_options(synchronize_session=False))
    db.session.refresh(share)
    return result.rowcount == 1


def _link(path: str) -> str:
    # Mails are built here, outside any request, so links are built from PUBLIC_URL like accounts.link_for.
    return f"{current_app.config['PUBLIC_URL']}{path}"


def _share_facts(share: NoteShare) -> dict:
    return {"share_id": share.id, **_facts(share.note)}


def expiry_moment(expires_on: date | None) -> datetime | None:
    """A chosen last day becomes the start of the following day (UTC): readable through the whole day."""
    return datetime.combine(expires_on + timedelta(days=1), time.min) if expires_on else None


def propose_share(proposer: User, note: Note, email: str | None, name: str | None, expires_on: date | None,
                  today: date | None = None) -> NoteShare:
    """Propose sharing this note with one person. Nothing is visible to them until the other member
    approves; the other member is told by e-mail."""
    today = today or utcnow().date()
    now = utcnow()
    pair = note.pair
    email = accounts.normalize_email(email or "")
    problems: dict[str, str] = {}
    if not accounts.is_valid_email(email):
        problems["email"] = "Enter the e-mail address of the person to share with, such as name@example.org."
    elif email in (pair.mentor.email, pair.mentee.email):
        problems["email"] = "That is a member of your pair: both of you already see every note."
    else:
        existing = accounts.user_by_email(email)
        if existing is not None and existing.is_deactivated:
            problems["email"] = "That account is deactivated, so its owner could not read the note."
        elif any(share.recipient_email == email and share.is_open(now) for share in note.shares):
            problems["email"] = ("This note is already shared with that person, or waiting for approval. "
                                 "Withdraw that share first if you want to change it.")
    if expires_on is not None and expires_on < today:
        # Dates are UTC days (the portal has no per-person time zone): say which day "today" is.
        problems["expires_on"] = (f"Choose today ({_day(today)}, UTC) or a later date, or leave it empty to "
                                  "share until withdrawn.")
    elif expires_on is not None and expires_on > latest_day(today):
        problems["expires_on"] = (f"Choose a day no later than {_day(latest_day(today))} ({YEARS_AHEAD} years "
                                  "ahead), or leave it empty to share until withdrawn.")
    if problems:
        raise FieldProblems(problems)
    if decrypt_note(note) is None:
        raise NoteError("This note cannot be read, so it cannot be shared.")
    if not ratelimit.take("note_share:proposer", str(proposer.id), SHARE_PROPOSALS_PER_HOUR, 60):
        raise NoteError(f"You have proposed {SHARE_PROPOSALS_PER_HOUR} shares in the last hour, the most the "
                        "portal allows. Wait a while, then try again.", status=429)
    share = NoteShare(note=note, recipient_email=email, recipient_name=accounts.clean_display_name(name),
                      proposed_by_id=proposer.id, proposed_at=now, expires_at=expiry_moment(expires_on),
                      state="proposed")
    db.session.add(share)
    db.session.flush()
    # Who the pair proposed to share with is pair-only until both approve: the audit log records that a
    # proposal was made, not to whom (the approval records the recipient's account).
    audit.record("note_share.propose", actor=proposer,
                 expires_at=share.expires_at.isoformat() if share.expires_at else None, **_share_facts(share))
    approver = other_member(pair, proposer)
    queue_mail(approver.email, "note_share_proposed", "A note share is waiting for your approval",
               "note_share_proposed.txt", approver=approver, proposer=proposer, share=share,
               last_day=last_readable_day(share), program=pair.program,
               link=_link(f"/pairs/{pair.id}/shares/{share.id}/approve"))
    return share


@dataclass(frozen=True)
class RecipientPreview:
    """Who approving a share lets read the note, as the approving member is shown it before the password."""
    name: str               # the account's own name, or the name the proposer typed for a newcomer
    email: str
    has_account: bool       # False: they will be invited to make one
    deactivated: bool = False
    user_id: int | None = None

    @property
    def key(self) -> str:
        """What the approval form remembers of whom it showed, to notice a change before approving."""
        return f"account:{self.user_id}" if self.has_account else "new"


def recipient_preview(share: NoteShare) -> RecipientPreview:
    """The person approval would bind the share to now: the account that holds the address (whose owner proved
    it, by an invitation link or an address confirmation link), or a newcomer who will be invited there. An
    address someone has only asked for, without following its link, is not theirs."""
    person = share.recipient or accounts.user_by_email(share.recipient_email)
    if person is None or person.password_hash is None:
        name = share.recipient_name or (person.name if person is not None else "")
        return RecipientPreview(name, share.recipient_email, has_account=False,
                                deactivated=person is not None and person.is_deactivated)
    return RecipientPreview(person.name, person.email if share.recipient else share.recipient_email,
                            has_account=True, deactivated=person.is_deactivated, user_id=person.id)


def approval_problem(approver: User, share: NoteShare, now: datetime | None = None) -> NoteError | None:
    """Why this person cannot approve this share now, or None. Checked before asking for the password."""
    now = now or utcnow()
    if share.state == "proposed" and share.is_expired(now):
        return NoteError("This proposal expired before it was approved. Propose it again if you both still "
                         "want to share the note.")
    if share.state == "approved":
        return NoteError(f"This share was already approved by {_who(share.decided_by, approver)} on "
                         f"{_day(share.decided_at)}.")
    if share.state == "declined":
        return NoteError("This proposal was declined, so it can no longer be approved. Propose it again if "
                         "you both want to share the note.")
    if share.state == "withdrawn":
        return NoteError("This share was withdrawn, so it can no longer be approved. Propose it again if you "
                         "both want to share the note.")
    if approver.id == share.proposed_by_id:
        other = other_member(share.note.pair, approver)
        return NoteError(f"You proposed this share, so {other.name} has to approve it: sharing needs both of "
                         "you.", status=403)
    return None


def _confirm_password(user: User, password: str | None, address: str | None) -> None:
    """Re-entering the password proves the approval comes from the person, not from a borrowed session.
    Wrong passwords count towards the same throttle as sign-in (in the database, across workers)."""
    if accounts.is_throttled(user.email, address):
        raise PasswordRefused(accounts.throttled_message())
    if not password:
        raise PasswordRefused("Enter your password to approve.")  # a slip, not a guess: not counted
    if not accounts.verify_password(user, password):
        accounts.record_wrong_password(user.email, address)
        raise PasswordRefused("That is not your password. Enter the password you sign in with.")


def approve_share(approver: User, share: NoteShare, password: str | None, address: str | None,
                  now: datetime | None = None, shown_recipient: str | None = None) -> NoteShare:
    """The second key: the other member approves with their password. The recipient's account is fixed now
    (invited if they have none), and they are told by e-mail. `shown_recipient` is the RecipientPreview.key the
    approval form showed: if the address leads to someone else by now, nothing is approved (RecipientChanged)."""
    now = now or utcnow()
    problem = approval_problem(approver, share, now)
    if problem:
        raise problem
    # None: a caller with no form (the demo, the factories). From the form, an empty value means the request
    # did not come from a form that showed the recipient: nobody approves without having been shown whom.
    if shown_recipient is not None and shown_recipient != recipient_preview(share).key:
        raise RecipientChanged("Who this share would go to has changed since the form was shown. Read who it is "
                               "now, then approve again if you still agree." if shown_recipient else
                               "Read who the note would be shared with, then approve if you agree.", status=409)
    try:
        _confirm_password(approver, password, address)
    except PasswordRefused:
        if password:
            audit.record("note_share.approve_refused", actor=approver, reason="password", **_share_facts(share))
        raise
    pair = share.note.pair
    recipient = accounts.user_by_email(share.recipient_email)
    if recipient is not None and recipient.is_deactivated:
        raise NoteError("The recipient's account has been deactivated, so they could not read the note. "
                        "Decline this proposal instead.")
    if recipient is None or recipient.password_hash is None:
        try:
            recipient = accounts.invite(
                share.recipient_email, share.recipient_name, approver,
                reason=f"the reader of a note that {pair.mentor.name} and {pair.mentee.name} agreed to share "
                       "with you")
        except accounts.AccountError as error:
            raise NoteError(str(error)) from error
    if not _transition(share, ("proposed",), now, state="approved", decided_by_id=approver.id, decided_at=now,
                       recipient_id=recipient.id):
        raise approval_problem(approver, share, now) or NoteError("This share changed in the meantime.")
    audit.record("note_share.approve", actor=approver, recipient_id=recipient.id, **_share_facts(share))
    queue_mail(recipient.email, "note_shared", f"{pair.mentor.name} and {pair.mentee.name} shared a note with you",
               "note_shared.txt", recipient=recipient, share=share, pair=pair, approver=approver,
               last_day=last_readable_day(share), link=_link(f"/shared/{share.id}"),
               invited=recipient.password_hash is None)
    _tell_proposer(share, approver, approved=True)
    return share


def decline_share(member: User, share: NoteShare, now: datetime | None = None) -> NoteShare:
    """The other member says no. The proposer withdraws instead of declining their own proposal."""
    now = now or utcnow()
    problem = approval_problem(member, share, now)
    if problem and member.id == share.proposed_by_id and share.state == "proposed":
        problem = NoteError("You proposed this share: withdraw it instead if you no longer want it.", status=403)
    if problem:
        raise problem
    if not _transition(share, ("proposed",), now, state="declined", decided_by_id=member.id, decided_at=now):
        raise approval_problem(member, share, now) or NoteError("This share changed in the meantime.")
    audit.record("note_share.decline", actor=member, **_share_facts(share))
    _tell_proposer(share, member, approved=False)
    return share


def _tell_proposer(share: NoteShare, decider: User, approved: bool) -> None:
    proposer = share.proposed_by
    pair = share.note.pair
    subject = "Your note share was approved" if approved else "Your note share was declined"
    queue_mail(proposer.email, "note_share_decided", subject, "note_share_decided.txt", proposer=proposer,
               decider=decider, share=share, approved=approved,
               link=_link(f"/pairs/{pair.id}/notes/{share.note_id}"))


def withdraw_share(member: User, share: NoteShare, now: datetime | None = None) -> bool:
    """Either member ends a proposed or approved share, effective on the recipient's next request. Returns
    False (and changes nothing) when the share had already ended, so a repeated click is harmless."""
    now = now or utcnow()
    if not share.is_open(now):
        return False
    if not _transition(share, OPEN_SHARE_STATES, now, state="withdrawn", withdrawn_by_id=member.id,
                       withdrawn_at=now):
        return False
    audit.record("note_share.withdraw", actor=member, reason="member", **_share_facts(share))
    return True


def end_shares_of_recipient(recipient: User, by: User, now: datetime | None = None) -> list[NoteShare]:
    """The recipient's account is deactivated: every approved share naming them ends now, so that a later
    reactivation gives back the account and not the notes (the pair would have to agree again). Both members
    are told, without the note's text. The share is ended by the portal (no member withdrew it: withdrawn_by
    stays empty). Proposals not yet approved stay as they are: they open nothing, approval is refused while
    the account is deactivated, and who they name is the pair's business, not the audit log's."""
    now = now or utcnow()
    ended = []
    shares = db.session.scalars(select(NoteShare).where(
        NoteShare.recipient_id == recipient.id, NoteShare.state == "approved").order_by(NoteShare.id)).all()
    for share in shares:
        if not share.is_open(now) or not _transition(share, ("approved",), now, state="withdrawn",
                                                     withdrawn_by_id=None, withdrawn_at=now):
            continue
        audit.record("note_share.withdraw", actor=by, reason="recipient_deactivated", recipient_id=recipient.id,
                     **_share_facts(share))
        pair = share.note.pair
        for member in (pair.mentor, pair.mentee):
            queue_mail(member.email, "note_share_ended", "A shared note is no longer shared",
                       "note_share_ended.txt", member=member, share=share, day=_day(now),
                       link=_link(f"/pairs/{pair.id}/notes/{share.note_id}"))
        ended.append(share)
    return ended


def awaiting_approval_counts(user: User) -> dict[int, int]:
    """Per pair of this person: proposals by the other member that still wait for this person's answer."""
    now = utcnow()
    rows = db.session.execute(
        select(Note.pair_id, func.count(NoteShare.id))
        .join(NoteShare, NoteShare.note_id == Note.id)
        .where(Note.id.in_(policy.member_notes(user).with_only_columns(Note.id)),
               NoteShare.state == "proposed", NoteShare.proposed_by_id != user.id,
               (NoteShare.expires_at.is_(None)) | (NoteShare.expires_at > now))
        .group_by(Note.pair_id)).all()
    return dict(rows)


# --- retention: the pair's data export and the purge after closure -----------------------------------------

def _export_notes(pair: Pair) -> list[dict]:
    """Every note of the pair, for the pair's own JSON export (decrypted: only members can ask for it)."""
    rows = db.session.scalars(select(Note).where(Note.pair_id == pair.id).order_by(Note.id)).all()
    exported = []
    for note in rows:
        text = decrypt_note(note)
        exported.append({"author": note.author.name, "written_at": note.created_at, "edited_at": note.updated_at,
                         "text": text, **crypto.said_if_undecryptable(text is None)})
    return exported


def _purge_notes(agreement) -> int:
    """The notebook belongs to the pair, not to one agreement: it goes when the pair's newest agreement (the
    end of the mentorship, renewals included) is purged."""
    from portal.models import Agreement
    newest = db.session.scalar(select(func.max(Agreement.id)).where(Agreement.pair_id == agreement.pair_id))
    if newest != agreement.id:
        return 0
    notes = db.session.scalars(select(Note).where(Note.pair_id == agreement.pair_id)).all()
    for note in notes:
        db.session.delete(note)  # its shares go with it
    return len(notes)


def notebook_purged_at(pair: Pair):
    """When the retention purge deleted the notebook with the pair's newest (closed) agreement, if it did. A note
    written since is deleted by the next run of the purge (the retention period has passed and both members were
    told); the notebook says so."""
    from portal.models import Agreement
    newest = db.session.execute(select(Agreement.state, Agreement.purged_at).where(Agreement.pair_id == pair.id)
                                .order_by(Agreement.id.desc()).limit(1)).first()
    return newest.purged_at if newest is not None and newest.state == "closed" else None


def _register_with_retention() -> None:
    from portal.domain import retention
    if not any(name == "notes" for name, _ in retention.EXPORTERS):
        retention.register_exporter("notes", _export_notes)
        retention.register_purger(_purge_notes)


_register_with_retention()
