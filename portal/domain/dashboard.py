"""The progress dashboard: every pair a person follows in one program, with state, term, signatures, last
activity, meetings held against committed, goal status counts and alerts; filters, search, sorting, pages,
and the same page as CSV. Reports below it show counts only, with groups smaller than three hidden.

Cost is fixed whatever the number of pairs: filtering, sorting, counting and paging happen in SQL (alerts are
SQL expressions over the pair's current agreement), and the page's 25 rows are completed with one more
query (their non-pair-only values, template versions and goal statuses). Nothing here reads a ciphertext.
Statements are built once per shape of request and sent as plain SQL (portal.rawsql); rows come back as
plain values, not ORM objects.
"""
from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from collections.abc import Mapping as MappingABC
from typing import Any, Iterator, Mapping
from urllib.parse import urlencode

from sqlalchemy import (
    Date, DateTime, Integer, String, and_, bindparam, case, cast, exists, func, literal, null, or_, select, union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from portal import rawsql
from portal.extensions import db
from portal.domain import commitments, meetings
from portal.domain.invitations import NOT_JOINED_DAYS
from portal.domain.lifecycle import CLOSURE_KIND_LABELS, CLOSURE_REASONS
from portal.domain.reminders import SIGNED_EVENT, TERM_ENDING_DAYS, signature_cutoff
from portal.domain.template_store import definition_from
from portal.models import (
    Agreement, AgreementEvent, AgreementTemplate, AgreementSignature, FieldValue, GoalProgress, HelpRequest, Meeting, Pair, PairSupervisor, Program,
    TemplateVersion, User,
)
from portal.models.accounts import search_key
from portal.models.lifecycle import GOAL_STATUSES
from portal.timeutil import utcnow, utctoday

PAGE_SIZE = 25
HELP_SHOWN = 10     # open requests for help listed on the dashboard, the ones waiting longest first
HELP_LISTED = 200   # the most listed when asked for every one
SMALL_GROUP = 3  # report groups with fewer members than this are not shown as a number
STATE_LABELS = {"draft": "Draft", "signing": "Signing", "active": "Active", "in_review": "In review",
                "closed": "Closed"}
ALERT_LABELS = {"ending_soon": "Ending soon", "review_due": "Review due", "stalled": "Stalled",
                "awaiting_signature": "Waiting for signature", "help_asked": "Help asked",
                "not_joined": "Not joined"}
# Alerts about the program's own work (answering requests for help, inviting people again): its admins only.
ADMIN_ALERTS = ("help_asked", "not_joined")
SORTS = ("mentor", "mentee", "state", "term_end", "activity", "meetings")
SORT_LABELS = {"mentor": "Mentor", "mentee": "Mentee", "state": "State", "term_end": "Term end",
               "activity": "Last activity", "meetings": "Meetings held"}
_URL_SAFE = "!$'()*,/:;?@"  # what Werkzeug's url_for leaves unquoted in a query string
GOAL_STATUS_LABELS = {"not_started": "not started", "in_progress": "in progress", "achieved": "achieved"}


@dataclass(frozen=True)
class DashboardScope:
    program: Program
    supervisor_id: int | None  # None: every pair of the program (its program admins)
    sees_help: bool            # requests for outside help go to the program admins, not to supervisors
    # Why pairs ended early (a category) is for the pair and the program's admins (portal.policy decides).
    sees_closure_reasons: bool = False

    @property
    def alerts(self) -> dict[str, str]:
        return {key: label for key, label in ALERT_LABELS.items() if self.sees_help or key not in ADMIN_ALERTS}


@dataclass
class DashboardQuery:
    state: str = ""
    alert: str = ""
    q: str = ""
    sort: str = "mentor"
    direction: str = "asc"
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, Any], scope: DashboardScope) -> DashboardQuery:
        """Read the filters from the query string; anything unknown falls back to the default."""
        page = str(args.get("page", "1"))
        return cls(
            state=args.get("state", "") if args.get("state", "") in STATE_LABELS else "",
            alert=args.get("alert", "") if args.get("alert", "") in scope.alerts else "",
            # Invisible characters dropped: a NUL would make PostgreSQL refuse the whole query.
            q="".join(ch for ch in str(args.get("q", "")) if ch.isprintable()).strip()[:100],
            sort=args.get("sort", "mentor") if args.get("sort") in SORTS else "mentor",
            direction="desc" if args.get("direction") == "desc" else "asc",
            page=int(page) if page.isascii() and page.isdigit() and 0 < int(page) < 1_000_000 else 1,
        )

    def args(self, **changes) -> dict[str, Any]:
        """Query-string arguments for a link to this view with some changes (empty ones left out)."""
        values = {"state": self.state, "alert": self.alert, "q": self.q, "sort": self.sort,
                  "direction": self.direction, "page": self.page, **changes}
        defaults = {"sort": "mentor", "direction": "asc", "page": 1}
        return {key: value for key, value in values.items() if value not in ("", None) and defaults.get(key) != value}

    def sorted_by(self, key: str) -> dict[str, Any]:
        """Arguments for a column heading's link: sort by it, or flip the direction when already sorted."""
        direction = "desc" if self.sort == key and self.direction == "asc" else "asc"
        return self.args(sort=key, direction=direction, page=1)

    @staticmethod
    def link(base: str, arguments: Mapping[str, Any]) -> str:
        """`base` (the view's address from url_for, computed once a page) with these arguments: the address
        url_for would build, without a url_for per link."""
        return f"{base}?{urlencode(list(arguments.items()), safe=_URL_SAFE)}" if arguments else base


@dataclass
class DashboardRow:
    pair_id: int
    agreement_id: int | None
    mentor: str
    mentee: str
    state: str | None
    term_start: date | None
    term_end: date | None
    signatures: int
    last_activity: datetime | None
    meetings_held: int
    meetings_target: int | None = None   # committed (or planned, see target_kind) for the term
    target_kind: str = ""                # "committed" or "planned"
    goals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GOAL_STATUSES, 0))
    alerts: list[str] = field(default_factory=list)
    help_since: datetime | None = None
    template_version: str = ""           # "WHPRMS Mentor Partnership Agreement, version 2"

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, "No agreement")

    # The table's cells as text, made here once rather than through several template expressions each.
    @property
    def term_start_shown(self) -> str:
        return self.term_start.strftime("%d %b %Y") if self.term_start else ""

    @property
    def term_end_shown(self) -> str:
        return self.term_end.strftime("%d %b %Y") if self.term_end else ""

    @property
    def activity_shown(self) -> str:
        return self.last_activity.strftime("%d %b %Y") if self.last_activity else ""

    @property
    def meetings_shown(self) -> str:
        """"4 of 12 planned", or "4" when there is nothing to count against."""
        if self.meetings_target is None:
            return str(self.meetings_held)
        return f"{self.meetings_held} of {self.meetings_target} {self.target_kind}"

    @property
    def goals_shown(self) -> str:
        goals = self.goals
        return f"{goals['not_started']} / {goals['in_progress']} / {goals['achieved']}"


@dataclass(frozen=True)
class ReportLine:
    label: str
    count: int

    @property
    def shown(self) -> str:
        """Counts only, and never one small enough to point at a person."""
        return f"fewer than {SMALL_GROUP}" if 0 < self.count < SMALL_GROUP else str(self.count)


@dataclass(frozen=True)
class ReportGroup:
    title: str
    lines: list[ReportLine]


@dataclass
class Dashboard:
    scope: DashboardScope
    query: DashboardQuery
    rows: list[DashboardRow]
    total: int
    pages: int
    reports: list[ReportGroup]
    help_requests: list[HelpLine]
    more_help: bool = False          # more requests are open than help_requests shows
    reports_counted_at: datetime | None = None


# --- the SQL ------------------------------------------------------------------------------------------------
# Every statement is built once per shape (who is looking, which filters are set, which sort) with bind
# parameters for the values, and sent as plain SQL through portal.rawsql: building them per request, and the
# ORM's execution and loading, cost far more than the database's work.

def _extreme(name: str, sqlite_name: str, result_type):
    """PostgreSQL's GREATEST or LEAST: on SQLite the multi-argument max() or min(), the same function under
    another name."""
    element = type(f"_{name.capitalize()}", (FunctionElement,),
                   {"type": result_type, "name": name, "inherit_cache": True})
    compiles(element)(lambda e, compiler, **kw: f"{name}({compiler.process(e.clauses, **kw)})")
    compiles(element, "sqlite")(lambda e, compiler, **kw: f"{sqlite_name}({compiler.process(e.clauses, **kw)})")
    return element


_Greatest = _extreme("greatest", "max", DateTime())
_Least = _extreme("least", "min", Integer())


def signature_count():
    """Signatures standing on the current agreement: signed (not declined), of its current revision, and not
    cleared by a later change."""
    return (select(func.count(AgreementSignature.id))
            .where(AgreementSignature.agreement_id == Agreement.id, AgreementSignature.revision == Agreement.revision,
                   AgreementSignature.outcome == "signed", AgreementSignature.cleared_at.is_(None))
            .scalar_subquery())


_MENTOR, _MENTEE = aliased(User, name="mentor"), aliased(User, name="mentee")
_NEWER = aliased(Agreement, name="newer")
_PROGRAM = bindparam("program_id", type_=Integer)
_SUPERVISOR = bindparam("supervisor_id", type_=Integer)
_TODAY = bindparam("today", type_=Date)
_ENDING_BY = bindparam("ending_by", type_=Date)
_STALL_CUTOFF = bindparam("stall_cutoff", type_=Date)
_SIGNING_CUTOFF = bindparam("signing_cutoff", type_=DateTime)
_JOIN_CUTOFF = bindparam("join_cutoff", type_=DateTime)
_INVITED = aliased(User, name="invited")
_STATE = bindparam("state", type_=String)
_PATTERN = bindparam("pattern", type_=String)
_OF_AGREEMENT = Meeting.agreement_id == Agreement.id
_HELD = select(func.count(Meeting.id)).where(
    _OF_AGREEMENT, meetings.held_this_term(Agreement.term_start)).scalar_subquery()
# A meeting before the term does not count as held this term, so neither does it end a stall (else a new pair
# that met once before its term would look stalled from its first day).
_LAST_MET = select(func.max(Meeting.held_on)).where(
    _OF_AGREEMENT, meetings.held_this_term(Agreement.term_start)).scalar_subquery()
_LAST_LOGGED = select(func.max(Meeting.created_at)).where(_OF_AGREEMENT).scalar_subquery()
_LAST_PROGRESS = (select(func.max(GoalProgress.updated_at))
                  .where(GoalProgress.agreement_id == Agreement.id).scalar_subquery())
_LAST_ACTIVITY = _Greatest(Agreement.updated_at, func.coalesce(_LAST_LOGGED, Agreement.updated_at),
                           func.coalesce(_LAST_PROGRESS, Agreement.updated_at))
_LAST_SIGNED = (select(func.max(AgreementEvent.at)).where(
    AgreementEvent.agreement_id == Agreement.id, AgreementEvent.kind == SIGNED_EVENT).scalar_subquery())
_HELP_SINCE = (select(func.min(HelpRequest.at)).where(
    HelpRequest.pair_id == Pair.id, HelpRequest.resolved_at.is_(None)).scalar_subquery())
_ALERTS = {
    "ending_soon": and_(Agreement.state == "active", Agreement.term_end >= _TODAY, Agreement.term_end <= _ENDING_BY),
    "review_due": and_(Agreement.state == "active", Agreement.term_end < _TODAY),
    "stalled": and_(Agreement.state == "active", func.coalesce(_LAST_MET, Agreement.term_start) <= _STALL_CUTOFF),
    "awaiting_signature": and_(Agreement.state == "signing",
                               func.coalesce(_LAST_SIGNED, Agreement.updated_at) < _SIGNING_CUTOFF),
    "help_asked": exists().where(HelpRequest.pair_id == Pair.id, HelpRequest.resolved_at.is_(None)),
    # A member who never set a password has not joined (portal.domain.invitations.NOT_JOINED_DAYS).
    "not_joined": and_(Pair.created_at < _JOIN_CUTOFF, exists().where(
        _INVITED.id.in_((Pair.mentor_id, Pair.mentee_id)), _INVITED.password_hash.is_(None))),
}
# Names sort on the pair's own copy of them, which an index on the program keeps in order.
_ORDER = {"mentor": Pair.mentor_sort_name, "mentee": Pair.mentee_sort_name, "state": Agreement.state,
          "term_end": Agreement.term_end, "activity": _LAST_ACTIVITY, "meetings": _HELD}


def _alerts_of(scope: DashboardScope) -> dict[str, Any]:
    return {key: expression for key, expression in _ALERTS.items() if scope.sees_help or key not in ADMIN_ALERTS}


def _base(*columns, supervised: bool, mentor: bool = True, mentee: bool = True, agreement: bool = True,
          scoped: bool = True):
    """Pairs in scope joined to their people and current agreement (the pair's newest, found through the index
    on agreement.pair_id). Statements over every pair of the program leave out the joins they do not need.
    `scoped` False: the caller limits the pairs itself, to ids chosen by a scoped statement."""
    stmt = select(*columns).select_from(Pair)
    if mentor:
        stmt = stmt.join(_MENTOR, _MENTOR.id == Pair.mentor_id)
    if mentee:
        stmt = stmt.join(_MENTEE, _MENTEE.id == Pair.mentee_id)
    if agreement:
        stmt = stmt.outerjoin(Agreement, and_(Agreement.pair_id == Pair.id, ~exists().where(
            _NEWER.pair_id == Pair.id, _NEWER.id > Agreement.id)))
    if not scoped:
        return stmt
    stmt = stmt.where(Pair.program_id == _PROGRAM, Pair.archived_at.is_(None))  # removed pairs count nowhere
    if supervised:
        stmt = stmt.where(exists().where(PairSupervisor.pair_id == Pair.id, PairSupervisor.user_id == _SUPERVISOR))
    return stmt


def _filtered(stmt, state: bool, alert: str, q: bool, supervised: bool):
    if state:
        stmt = stmt.where(Agreement.state == _STATE)
    if alert:
        stmt = stmt.where(_ALERTS[alert])
    if q:
        # Both sides folded (search_key): LIKE then ignores case and accents on every database. Addresses
        # only for the program's admins: supervisors are never shown them, so cannot probe for them either.
        keys = [_MENTOR.search_name, _MENTEE.search_name]
        if not supervised:
            keys += [_MENTOR.search_email, _MENTEE.search_email]
        stmt = stmt.where(or_(*[key.like(_PATTERN, escape="\\") for key in keys]))
    return stmt


def _joins(state: bool, alert: str, q: bool, sort: str | None) -> dict[str, bool]:
    """Which joins the filters (and the sort, when given) need."""
    return {"mentor": q, "mentee": q,
            "agreement": state or bool(alert) or sort not in (None, "mentor", "mentee")}


_statements: dict[tuple, rawsql.Query] = {}


def _page_statements(scope: DashboardScope, query: DashboardQuery) -> rawsql.Query:
    """The page's rows for this shape of request (built on its first use), each with the count of every
    matching pair; a page past the end is the last page."""
    shape = (scope.supervisor_id is not None, scope.sees_help, bool(query.state), query.alert, bool(query.q),
             query.sort, query.direction)
    found = _statements.get(shape)
    if found is not None:
        return found
    supervised, sees_help, state, alert, q, sort, direction = shape
    # Counted once in the statement (an uncorrelated subquery), not per row.
    total = _filtered(_base(func.count(Pair.id), supervised=supervised, **_joins(state, alert, q, None)),
                      state, alert, q, supervised).correlate(None).scalar_subquery()
    # Past the end: the last page's offset (0 when nothing matches: -1 // 25 is 0 in SQL's integer division).
    offset = _Least(bindparam("offset", type_=Integer), (total - 1) // PAGE_SIZE * PAGE_SIZE)
    column = _ORDER[sort]
    order = [column.desc() if direction == "desc" else column.asc(), Pair.id.asc()]
    # The page's pairs first, sorted on the sort key alone; then the columns, each a subquery, for those 25
    # only. In one statement the database would work out every column for every pair of the program before
    # sorting them, so that a page cost as much as the whole program.
    page_ids = (_filtered(_base(Pair.id, supervised=supervised, **_joins(state, alert, q, sort)), state, alert, q,
                          supervised)
                .order_by(*order).limit(PAGE_SIZE).offset(offset)
                .correlate(None).scalar_subquery())
    rows = _base(total.label("total"), *_row_columns(sees_help), supervised=supervised, scoped=False)
    # Limited to the page's ids alone (chosen in scope): with the scope repeated here, PostgreSQL's plan read
    # every pair of the program again to match them against the 25.
    found = _statements[shape] = rawsql.Query(rows.where(Pair.id.in_(page_ids)).order_by(*order))
    return found


def search_pattern(q: str) -> str:
    """A LIKE pattern for the search `q`, folded as the people's search keys are, its wildcards taken literally."""
    folded = search_key(q)
    return "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


_ROW_WIDTH = 12  # the columns _row_columns gives before the alerts


def _row_columns(sees_help: bool) -> list:
    """A row's columns (_rows_of reads them in this order), its alert flags last."""
    alerts = [case((expression, 1), else_=0).label(f"alert_{key}")
              for key, expression in _ALERTS.items() if sees_help or key not in ADMIN_ALERTS]
    return [Pair.id, Agreement.id, _MENTOR.name, _MENTEE.name, Agreement.state, Agreement.term_start,
            Agreement.term_end, Agreement.template_version_id, signature_count().label("signatures"),
            _LAST_ACTIVITY.label("last_activity"), _HELD.label("held"),
            (_HELP_SINCE if sees_help else null()).label("help_since"), *alerts]


def _params(scope: DashboardScope, today: date) -> dict[str, Any]:
    return {"program_id": scope.program.id, "supervisor_id": scope.supervisor_id, "today": today,
            "ending_by": today + timedelta(days=TERM_ENDING_DAYS),
            "stall_cutoff": today - timedelta(days=scope.program.stall_days),
            "signing_cutoff": signature_cutoff(today),
            "join_cutoff": datetime.combine(today, datetime.min.time()) - timedelta(days=NOT_JOINED_DAYS)}


def _filter_params(scope: DashboardScope, query: DashboardQuery, today: date) -> dict[str, Any]:
    params = _params(scope, today)
    if query.state:
        params["state"] = query.state
    if query.q:
        params["pattern"] = search_pattern(query.q)
    return params


def _rows_of(found, alert_keys: tuple[str, ...]) -> tuple[list[DashboardRow], dict[int, int]]:
    """Rows from the row statements' records (_row_columns first), and each agreement's template version."""
    rows, version_of = [], {}
    for record in found:
        (pair_id, agreement_id, mentor, mentee, state, term_start, term_end, version_id, signatures, activity,
         held, help_since, *flags) = record[:_ROW_WIDTH + len(alert_keys)]
        rows.append(DashboardRow(pair_id, agreement_id, mentor, mentee, state, term_start, term_end,
                                 signatures or 0, activity, held or 0, help_since=help_since,
                                 alerts=[key for key, flag in zip(alert_keys, flags) if flag]))
        if agreement_id is not None:
            version_of[agreement_id] = version_id
    return rows, version_of


def dashboard(scope: DashboardScope, query: DashboardQuery, today: date | None = None,
              now: datetime | None = None, reports_max_age: float = 0, all_help: bool = False) -> Dashboard:
    """The page's rows, its reports (counted again when older than `reports_max_age` seconds) and the open
    requests for help (the HELP_SHOWN waiting longest, or every one with `all_help`)."""
    today = today or utctoday()
    params = _filter_params(scope, query, today)
    params["offset"] = (query.page - 1) * PAGE_SIZE
    found = rawsql.rows(_page_statements(scope, query), params)
    total = found[0][0] if found else 0  # no row: no pair matches (a page past the end is the last page)
    pages = max(1, -(-total // PAGE_SIZE))
    query.page = min(query.page, pages)
    rows, version_of = _rows_of([record[1:] for record in found], tuple(_alerts_of(scope)))
    _complete_rows(rows, version_of)
    help_requests, more_help = [], False
    if scope.sees_help:
        help_requests = _open_help_requests(scope, HELP_LISTED if all_help else HELP_SHOWN + 1)
        more_help = not all_help and len(help_requests) > HELP_SHOWN
        del help_requests[HELP_SHOWN if more_help else len(help_requests):]
    counted_at, reports = _cached_reports(scope, today, now or utcnow(), params, reports_max_age)
    return Dashboard(scope, query, rows, total, pages, reports, help_requests, more_help, counted_at)


_IDS = bindparam("ids", expanding=True)
_VALUE, _STATUS, _VERSION = 0, 1, 2
# What completes the page's rows, in one statement: the agreements' values (value_json is never set for
# pair-only fields), their goal statuses, and their template versions (the number in the index column). Each
# row: (kind, id, key, index, text).
_COMPLETION = rawsql.Query(union_all(
    select(literal(_VALUE), FieldValue.agreement_id, FieldValue.field_key, cast(null(), Integer),
           FieldValue.value_json)
    .where(FieldValue.agreement_id.in_(_IDS), FieldValue.value_json.is_not(None)),
    select(literal(_STATUS), GoalProgress.agreement_id, GoalProgress.field_key, GoalProgress.item_index,
           GoalProgress.status).where(GoalProgress.agreement_id.in_(_IDS)),
    select(literal(_VERSION), TemplateVersion.id, TemplateVersion.state, TemplateVersion.number,
           TemplateVersion.definition_json)
    .where(TemplateVersion.id.in_(bindparam("version_ids", expanding=True)))))


class _JsonValues(MappingABC):
    """An agreement's values by field key, each parsed from its JSON when first read: the page needs only the
    few fields that say the meetings committed, the cadence and the goals."""

    __slots__ = ("raw", "parsed")

    def __init__(self) -> None:
        self.raw: dict[str, str] = {}
        self.parsed: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        try:
            return self.parsed[key]
        except KeyError:
            value = self.parsed[key] = json.loads(self.raw[key])
            return value

    def __iter__(self):
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)


def _bucket(length: int) -> int:
    """The power of two at or above `length`: lists padded to it (_padded) compile to a few statements only,
    not one per length (a CSV's batches hold up to CSV_BATCH agreements)."""
    return 1 << max(0, length - 1).bit_length()


def _complete_rows(rows: list[DashboardRow], version_of: dict[int, int], engine=None) -> None:
    """Meeting targets and goal counts for the page's rows: one query, whatever the page holds."""
    ids = list(version_of)
    if not ids:
        return
    version_ids = sorted(set(version_of.values()))
    values: dict[int, _JsonValues] = {agreement_id: _JsonValues() for agreement_id in ids}
    statuses: dict[int, dict[tuple[str, int], str]] = {agreement_id: {} for agreement_id in ids}
    versions, numbers = {}, {}
    for kind, of_id, key, index, text in rawsql.rows(
            _COMPLETION, {"ids": _padded(ids, _bucket(len(ids))),
                          "version_ids": _padded(version_ids, _bucket(len(version_ids)))}, engine):
        if kind == _VALUE:
            values[of_id].raw[key] = text
        elif kind == _STATUS:
            statuses[of_id][(key, index)] = text
        else:
            versions[of_id] = definition_from(of_id, key, text)
            numbers[of_id] = index
    for row in rows:
        if row.agreement_id is None:
            continue
        definition = versions[version_of[row.agreement_id]]
        row.template_version = f"{definition.name}, version {numbers[version_of[row.agreement_id]]}"
        agreement_values = values[row.agreement_id]
        commitment = commitments.committed_meetings(definition, agreement_values)
        if commitment is not None:
            row.meetings_target, row.target_kind = commitment.total, "committed"
        else:
            row.meetings_target = commitments.planned_count(row.term_start, row.term_end, definition,
                                                            agreement_values)
            row.target_kind = "planned"
        for item in commitments.goal_items(definition, agreement_values):
            row.goals[statuses[row.agreement_id].get((item.field_key, item.index), "not_started")] += 1


@dataclass(frozen=True)
class HelpLine:
    """One open request for outside help, as the dashboard lists it (the member's message to the program is
    written for the program: it is never pair-only text)."""
    id: int
    pair_id: int
    at: datetime
    message: str
    asked_by_name: str
    asked_by_email: str
    mentor: str
    mentee: str


_ASKED_BY = aliased(User, name="asked_by")
_WAITING = aliased(HelpRequest, name="waiting")
_WAITING_PAIR = aliased(Pair, name="waiting_pair")
# The requests waiting longest first, then their people for those few only: joined before the limit, the
# people of every pair of the program would be looked up (SQLite's plan) before the open requests are found.
_OPEN_HELP = rawsql.Query(
    select(HelpRequest.id, HelpRequest.pair_id, HelpRequest.at, HelpRequest.message, _ASKED_BY.name,
           _ASKED_BY.email, _MENTOR.name, _MENTEE.name)
    .select_from(HelpRequest).join(Pair, Pair.id == HelpRequest.pair_id)
    .join(_ASKED_BY, _ASKED_BY.id == HelpRequest.requested_by_id)
    .join(_MENTOR, _MENTOR.id == Pair.mentor_id).join(_MENTEE, _MENTEE.id == Pair.mentee_id)
    .where(HelpRequest.id.in_(
        select(_WAITING.id).join(_WAITING_PAIR, _WAITING_PAIR.id == _WAITING.pair_id)
        .where(_WAITING_PAIR.program_id == _PROGRAM, _WAITING.resolved_at.is_(None))
        .order_by(_WAITING.at, _WAITING.id).limit(bindparam("limit", type_=Integer))))
    .order_by(HelpRequest.at, HelpRequest.id))


def _open_help_requests(scope: DashboardScope, limit: int) -> list[HelpLine]:
    """The open requests waiting longest, with who asked and the pair's two people, in one statement."""
    return [HelpLine(*row) for row in rawsql.rows(_OPEN_HELP, {"program_id": scope.program.id, "limit": limit})]


# Reports counted for a scope: {(program, supervisor, sees help, day): (monotonic time, UTC time, reports)}.
# Per process; each gunicorn worker keeps its own.
_report_cache: dict[tuple, tuple[float, datetime, list[ReportGroup]]] = {}
_REPORT_CACHE_SIZE = 500


def _cached_reports(scope: DashboardScope, today: date, now: datetime, params: Mapping[str, Any],
                    max_age: float) -> tuple[datetime, list[ReportGroup]]:
    """The reports and when they were counted. Counting them reads every pair in scope (1,000 in a large
    program), so a page reuses counts up to `max_age` seconds old; the page says when they were counted.
    Counts only, never a name, and kept per scope: a supervisor is never shown an admin's counts."""
    key = (scope.program.id, scope.supervisor_id, scope.sees_help, scope.sees_closure_reasons, today)
    found = _report_cache.get(key)
    clock = time.monotonic()
    if max_age > 0 and found is not None and clock - found[0] <= max_age:
        return found[1], found[2]
    reports = _reports(scope, params)
    if max_age > 0:
        if len(_report_cache) >= _REPORT_CACHE_SIZE:
            _report_cache.clear()
        _report_cache[key] = (clock, now, reports)
    return now, reports


def _report_statements_for(supervised: bool, sees_help: bool) -> tuple[rawsql.Query, ...]:
    everyone = {"mentor": False, "mentee": False, "supervised": supervised}  # counts: no names needed
    alerts = [expression for key, expression in _ALERTS.items() if sees_help or key not in ADMIN_ALERTS]
    in_scope = _base(Pair.id, **everyone, agreement=False).scalar_subquery()
    current_in_scope = _base(Agreement.id, **everyone).where(Agreement.id.is_not(None)).scalar_subquery()
    return tuple(rawsql.Query(statement) for statement in (
        _base(Agreement.state, func.count(Pair.id), **everyone).group_by(Agreement.state),
        _base(*[func.coalesce(func.sum(case((expression, 1), else_=0)), 0) for expression in alerts], **everyone),
        select(Agreement.closure_kind, Agreement.closure_reason, func.count(Agreement.id))
        .where(Agreement.state == "closed", Agreement.pair_id.in_(in_scope))
        .group_by(Agreement.closure_kind, Agreement.closure_reason),
        select(GoalProgress.status, func.count(GoalProgress.id))
        .where(GoalProgress.agreement_id.in_(current_in_scope)).group_by(GoalProgress.status)))


_REPORT_STATEMENTS = {(supervised, sees_help): _report_statements_for(supervised, sees_help)
                      for supervised in (False, True) for sees_help in (False, True)}


def _reports(scope: DashboardScope, params: Mapping[str, Any]) -> list[ReportGroup]:
    """Counts over every pair in scope (not only the filtered page), four queries."""
    by_state_sql, alerts_sql, closures_sql, goals_sql = _REPORT_STATEMENTS[
        (scope.supervisor_id is not None, scope.sees_help)]
    by_state = dict(rawsql.rows(by_state_sql, params))
    states = ReportGroup("Pairs by state",
                         [ReportLine(label, by_state.get(key, 0)) for key, label in STATE_LABELS.items()])
    sums = rawsql.first(alerts_sql, params)
    alerts = ReportGroup("Alerts", [ReportLine(ALERT_LABELS[key], int(count))
                                    for key, count in zip(_alerts_of(scope), sums)])
    closure_counts: dict[str, int] = {}
    for kind, reason, count in rawsql.rows(closures_sql, params):
        label = CLOSURE_KIND_LABELS.get(kind, "Closed")
        if kind == "early" and scope.sees_closure_reasons:
            label += f": {CLOSURE_REASONS[reason].lower()}" if reason in CLOSURE_REASONS else ": no reason given"
        closure_counts[label] = closure_counts.get(label, 0) + count
    ended = ReportGroup("How agreements ended", _named_groups(closure_counts))
    goal_rows = dict(rawsql.rows(goals_sql, params))
    goals = ReportGroup("Goals of current agreements", [
        ReportLine("marked in progress", goal_rows.get("in_progress", 0)),
        ReportLine("marked achieved", goal_rows.get("achieved", 0))])
    return [states, alerts, ended, goals]


OTHER_GROUPS = "Other endings"


def _named_groups(counts: Mapping[str, int]) -> list[ReportLine]:
    """Report lines for groups that exist only when they have members (the ways agreements ended): a group of
    fewer than SMALL_GROUP is not named, since its name alone would say that one or two pairs are in it; such
    groups are counted together under OTHER_GROUPS (itself shown as "fewer than 3" when small)."""
    named = [ReportLine(label, count) for label, count in sorted(counts.items()) if count >= SMALL_GROUP]
    others = sum(count for count in counts.values() if 0 < count < SMALL_GROUP)
    return named + [ReportLine(OTHER_GROUPS, others)] if others else named


# --- CSV ----------------------------------------------------------------------------------------------------
# The whole filtered list, however long: the matching pairs' ids in the table's order (one statement), then
# their rows CSV_BATCH at a time (three statements a batch), each batch written out before the next is read.

CSV_BATCH = 500
_PAIR_IDS = bindparam("pair_ids", expanding=True)
_list_statements: dict[tuple, rawsql.Query] = {}
_TEMPLATE = aliased(AgreementTemplate, name="template")
_VERSION_OF = aliased(TemplateVersion, name="version_of")
# Per (supervised, sees_help): the rows of a batch, with their template and, for the program's admins, the
# members' addresses (supervisors are never shown addresses).
_CSV_ROWS = {
    (supervised, sees_help): rawsql.Query(
        _base(*_row_columns(sees_help), _TEMPLATE.name, _VERSION_OF.number,
              *((_MENTOR.email, _MENTEE.email) if sees_help else (null(), null())),
              supervised=supervised, scoped=False)
        .outerjoin(_VERSION_OF, _VERSION_OF.id == Agreement.template_version_id)
        .outerjoin(_TEMPLATE, _TEMPLATE.id == _VERSION_OF.template_id)
        .where(Pair.id.in_(_PAIR_IDS)))
    for supervised in (False, True) for sees_help in (False, True)}
_SUPERVISOR_NAMES = rawsql.Query(
    select(PairSupervisor.pair_id, User.name).join(User, User.id == PairSupervisor.user_id)
    .where(PairSupervisor.pair_id.in_(_PAIR_IDS)).order_by(PairSupervisor.pair_id, User.name))


def _list_statement(scope: DashboardScope, query: DashboardQuery) -> rawsql.Query:
    """Every matching pair's id, in the table's order."""
    supervised = scope.supervisor_id is not None
    shape = (supervised, bool(query.state), query.alert, bool(query.q), query.sort, query.direction)
    found = _list_statements.get(shape)
    if found is None:
        _, state, alert, q, sort, direction = shape
        column = _ORDER[sort]
        found = _list_statements[shape] = rawsql.Query(
            _filtered(_base(Pair.id, supervised=supervised, **_joins(state, alert, q, sort)), state, alert, q,
                      supervised)
            .order_by(column.desc() if direction == "desc" else column.asc(), Pair.id.asc()))
    return found


def _padded(ids: list[int], size: int) -> list[int]:
    """`ids` repeated at the end up to `size`: every batch then has one length, so one compiled statement
    (portal.rawsql compiles one per length of a list)."""
    return ids + [ids[-1]] * (size - len(ids))


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell starting like a formula would run in a spreadsheet (CSV injection): make it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_filename(scope: DashboardScope, query: DashboardQuery) -> str:
    parts = [scope.program.code, "pairs", query.state, query.alert.replace("_", "-"), "search" if query.q else ""]
    return "-".join(part for part in parts if part) + ".csv"


def csv_lines(scope: DashboardScope, query: DashboardQuery, today: date | None = None) -> Iterator[str]:
    """Every pair matching the filters (all pages), in the table's order, as CSV lines: names, for the
    program's admins addresses and supervisors, template and version, state, term, signatures, activity,
    meetings and goal counts, alerts. Counts and states only: no agreement text, so no pair-only value.

    The ids are read now, while the request lasts; the rows are read as the response is sent, on the engine
    alone (the request's session and objects are gone by then)."""
    params = _filter_params(scope, query, today or utctoday())
    ids = [pair_id for (pair_id,) in rawsql.rows(_list_statement(scope, query), params)]
    return _csv_batches(scope.supervisor_id is not None, scope.sees_help, tuple(_alerts_of(scope)), params, ids,
                        db.engine)


def _csv_batches(supervised: bool, admin: bool, alert_keys: tuple[str, ...], params: Mapping[str, Any],
                 ids: list[int], engine) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def line(cells: list) -> str:
        out.seek(0)
        out.truncate()
        writer.writerow([_cell(cell) for cell in cells])
        return out.getvalue()

    headings = ["Mentor", "Mentee"]
    if admin:
        headings += ["Mentor e-mail", "Mentee e-mail", "Supervisors"]
    headings += ["Template", "Template version", "State", "Term start", "Term end", "Signatures",
                 "Last activity (UTC)", "Meetings held", "Meetings agreed or planned", "Goals not started",
                 "Goals in progress", "Goals achieved", "Alerts"]
    if admin:
        headings.append("Help asked on")
    yield "\ufeff" + line(headings)  # the BOM: spreadsheets then read the file as UTF-8
    rows_statement = _CSV_ROWS[(supervised, admin)]
    width = _ROW_WIDTH + len(alert_keys)
    for start in range(0, len(ids), CSV_BATCH):
        batch = ids[start:start + CSV_BATCH]
        batch_params = {**params, "pair_ids": _padded(batch, CSV_BATCH)}
        found = {record[0]: record for record in rawsql.rows(rows_statement, batch_params, engine)}
        records = [found[pair_id] for pair_id in batch if pair_id in found]  # a pair removed meanwhile: left out
        rows, version_of = _rows_of(records, alert_keys)
        _complete_rows(rows, version_of, engine)
        supervisors: dict[int, list[str]] = {}
        if admin:
            for pair_id, name in rawsql.rows(_SUPERVISOR_NAMES, {"pair_ids": batch_params["pair_ids"]}, engine):
                supervisors.setdefault(pair_id, []).append(name)
        chunk = []
        for row, record in zip(rows, records):
            template_name, template_number, mentor_email, mentee_email = record[width:width + 4]
            cells = [row.mentor, row.mentee]
            if admin:
                cells += [mentor_email, mentee_email, "; ".join(supervisors.get(row.pair_id, []))]
            cells += [template_name, template_number, row.state_label, row.term_start, row.term_end,
                      row.signatures, row.last_activity.strftime("%Y-%m-%d %H:%M") if row.last_activity else "",
                      row.meetings_held,
                      "" if row.meetings_target is None else f"{row.meetings_target} {row.target_kind}",
                      row.goals["not_started"], row.goals["in_progress"], row.goals["achieved"],
                      "; ".join(ALERT_LABELS[key] for key in row.alerts)]
            if admin:
                cells.append(row.help_since.strftime("%Y-%m-%d %H:%M") if row.help_since else "")
            chunk.append(line(cells))
        yield "".join(chunk)
