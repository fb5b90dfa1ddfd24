"""The progress dashboard: every pair a person follows in one program, with state, term, signatures, last
activity, meetings held against committed, goal status counts and alerts; filters, search, sorting, pages,
and the same page as CSV. Reports below it show counts only, with groups smaller than three hidden.

Cost is fixed whatever the number of pairs: filtering, sorting, counting and paging happen in SQL (alerts are
SQL expressions over the pair's current agreement), and the page's 25 rows are completed with three more
queries (their non-pair-only values, template versions and goal statuses). Nothing here reads a ciphertext.
"""
from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Mapping

from sqlalchemy import and_, case, exists, func, null, or_, select
from sqlalchemy.orm import aliased, joinedload

from portal.domain import commitments
from portal.domain.lifecycle import CLOSURE_KIND_LABELS, CLOSURE_REASONS
from portal.domain.reminders import SIGNED_EVENT, TERM_ENDING_DAYS, signature_cutoff
from portal.domain.template_store import definition_of
from portal.extensions import db
from portal.models import (
    Agreement, AgreementEvent, AgreementSignature, FieldValue, GoalProgress, HelpRequest, Meeting, Pair, PairSupervisor, Program,
    TemplateVersion, User,
)
from portal.models.lifecycle import GOAL_STATUSES
from portal.timeutil import utcnow, utctoday

PAGE_SIZE = 25
HELP_SHOWN = 10     # open requests for help listed on the dashboard, the ones waiting longest first
HELP_LISTED = 200   # the most listed when asked for every one
SMALL_GROUP = 3  # report groups with fewer members than this are not shown as a number
STATE_LABELS = {"draft": "Draft", "signing": "Signing", "active": "Active", "in_review": "In review",
                "closed": "Closed"}
ALERT_LABELS = {"ending_soon": "Ending soon", "review_due": "Review due", "stalled": "Stalled",
                "awaiting_signature": "Waiting for signature", "help_asked": "Help asked"}
SORTS = ("mentor", "mentee", "state", "term_end", "activity", "meetings")
SORT_LABELS = {"mentor": "Mentor", "mentee": "Mentee", "state": "State", "term_end": "Term end",
               "activity": "Last activity", "meetings": "Meetings held"}
GOAL_STATUS_LABELS = {"not_started": "not started", "in_progress": "in progress", "achieved": "achieved"}


@dataclass(frozen=True)
class DashboardScope:
    program: Program
    supervisor_id: int | None  # None: every pair of the program (its program admins)
    sees_help: bool            # requests for outside help go to the program admins, not to supervisors

    @property
    def alerts(self) -> dict[str, str]:
        return {key: label for key, label in ALERT_LABELS.items() if self.sees_help or key != "help_asked"}


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

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, "No agreement")


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
    help_requests: list[HelpRequest]
    more_help: bool = False          # more requests are open than help_requests shows
    reports_counted_at: datetime | None = None


# --- the SQL ------------------------------------------------------------------------------------------------

def _greatest(*expressions):
    # PostgreSQL's GREATEST; SQLite's multi-argument max() is the same function under another name.
    name = db.session.get_bind().dialect.name
    return func.greatest(*expressions) if name == "postgresql" else func.max(*expressions)


def signature_count():
    """Signatures standing on the current agreement: signed (not declined), of its current revision, and not
    cleared by a later change."""
    return (select(func.count(AgreementSignature.id))
            .where(AgreementSignature.agreement_id == Agreement.id, AgreementSignature.revision == Agreement.revision,
                   AgreementSignature.outcome == "signed", AgreementSignature.cleared_at.is_(None))
            .scalar_subquery())


@dataclass
class _Sql:
    """The expressions the list, its filters and the reports share."""
    today: date
    now: datetime
    scope: DashboardScope

    def __post_init__(self) -> None:
        self.mentor, self.mentee = aliased(User), aliased(User)
        # The pair's current agreement: its newest, found per pair through the index on agreement.pair_id (a
        # grouped subquery over the whole table would cost as much as every program's agreements together).
        newest = aliased(Agreement)
        self.current_id = (select(func.max(newest.id)).where(newest.pair_id == Pair.id)
                           .correlate(Pair).scalar_subquery())
        of_agreement = Meeting.agreement_id == Agreement.id
        self.held = select(func.count(Meeting.id)).where(of_agreement).scalar_subquery()
        last_met = select(func.max(Meeting.held_on)).where(of_agreement).scalar_subquery()
        last_logged = select(func.max(Meeting.created_at)).where(of_agreement).scalar_subquery()
        last_progress = (select(func.max(GoalProgress.updated_at))
                         .where(GoalProgress.agreement_id == Agreement.id).scalar_subquery())
        self.last_activity = _greatest(Agreement.updated_at, func.coalesce(last_logged, Agreement.updated_at),
                                       func.coalesce(last_progress, Agreement.updated_at))
        self.signatures = signature_count()
        last_signed = (select(func.max(AgreementEvent.at)).where(
            AgreementEvent.agreement_id == Agreement.id, AgreementEvent.kind == SIGNED_EVENT).scalar_subquery())
        self.help_since = (select(func.min(HelpRequest.at)).where(
            HelpRequest.pair_id == Pair.id, HelpRequest.resolved_at.is_(None)).scalar_subquery())
        stall_cutoff = self.today - timedelta(days=self.scope.program.stall_days)
        self.alerts = {
            "ending_soon": and_(Agreement.state == "active", Agreement.term_end >= self.today,
                                Agreement.term_end <= self.today + timedelta(days=TERM_ENDING_DAYS)),
            "review_due": and_(Agreement.state == "active", Agreement.term_end < self.today),
            "stalled": and_(Agreement.state == "active",
                            func.coalesce(last_met, Agreement.term_start) <= stall_cutoff),
            "awaiting_signature": and_(Agreement.state == "signing",
                                       func.coalesce(last_signed, Agreement.updated_at) < signature_cutoff(self.today)),
            "help_asked": exists().where(HelpRequest.pair_id == Pair.id, HelpRequest.resolved_at.is_(None)),
        }
        if not self.scope.sees_help:
            del self.alerts["help_asked"]

    def base(self, *columns, mentor: bool = True, mentee: bool = True, agreement: bool = True):
        """Pairs in scope joined to their people and current agreement. Statements over every pair of the
        program leave out the joins they do not need: each costs a lookup per pair (1,000 in a large program)."""
        stmt = select(*columns).select_from(Pair)
        if mentor:
            stmt = stmt.join(self.mentor, self.mentor.id == Pair.mentor_id)
        if mentee:
            stmt = stmt.join(self.mentee, self.mentee.id == Pair.mentee_id)
        if agreement:
            stmt = stmt.outerjoin(Agreement, Agreement.id == self.current_id)
        stmt = stmt.where(Pair.program_id == self.scope.program.id)
        if self.scope.supervisor_id is not None:
            stmt = stmt.where(exists().where(PairSupervisor.pair_id == Pair.id,
                                             PairSupervisor.user_id == self.scope.supervisor_id))
        return stmt

    def filtered(self, stmt, query: DashboardQuery):
        if query.state:
            stmt = stmt.where(Agreement.state == query.state)
        if query.alert:
            stmt = stmt.where(self.alerts[query.alert])
        if query.q:
            pattern = "%" + query.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(or_(self.mentor.name.ilike(pattern, escape="\\"),
                                  self.mentee.name.ilike(pattern, escape="\\")))
        return stmt

    @staticmethod
    def joins_for(query: DashboardQuery, sorting: bool) -> dict[str, bool]:
        """Which joins the query's filters (and its sort, when `sorting`) need."""
        return {"mentor": bool(query.q) or (sorting and query.sort == "mentor"),
                "mentee": bool(query.q) or (sorting and query.sort == "mentee"),
                "agreement": bool(query.state or query.alert) or (sorting and query.sort not in ("mentor", "mentee"))}

    def order(self, query: DashboardQuery):
        column = {"mentor": func.lower(self.mentor.name), "mentee": func.lower(self.mentee.name),
                  "state": Agreement.state, "term_end": Agreement.term_end, "activity": self.last_activity,
                  "meetings": self.held}[query.sort]
        return [column.desc() if query.direction == "desc" else column.asc(), Pair.id.asc()]


def dashboard(scope: DashboardScope, query: DashboardQuery, today: date | None = None,
              now: datetime | None = None, reports_max_age: float = 0, all_help: bool = False) -> Dashboard:
    """The page's rows, its reports (counted again when older than `reports_max_age` seconds) and the open
    requests for help (the HELP_SHOWN waiting longest, or every one with `all_help`)."""
    sql = _Sql(today or utctoday(), now or utcnow(), scope)
    total = db.session.scalar(sql.filtered(sql.base(func.count(Pair.id), **sql.joins_for(query, False)), query)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    query.page = min(query.page, pages)
    alert_columns = [case((expression, 1), else_=0).label(f"alert_{key}") for key, expression in sql.alerts.items()]
    # The page's pairs first, sorted on the sort key alone; then the columns, each a subquery, for those 25
    # only. In one statement the database would work out every column for every pair of the program before
    # sorting them, so that a page cost as much as the whole program.
    page_ids = (sql.filtered(sql.base(Pair.id, **sql.joins_for(query, True)), query).order_by(*sql.order(query))
                .limit(PAGE_SIZE).offset((query.page - 1) * PAGE_SIZE).correlate(None).scalar_subquery())
    stmt = sql.base(
        Pair.id, Agreement.id, sql.mentor.name, sql.mentee.name, Agreement.state, Agreement.term_start,
        Agreement.term_end, Agreement.template_version_id, sql.signatures, sql.last_activity, sql.held,
        sql.help_since if scope.sees_help else null(), *alert_columns)
    stmt = stmt.where(Pair.id.in_(page_ids)).order_by(*sql.order(query))
    rows, version_of = [], {}
    for record in db.session.execute(stmt).all():
        (pair_id, agreement_id, mentor, mentee, state, term_start, term_end, version_id, signatures, activity,
         held, help_since, *flags) = record
        rows.append(DashboardRow(pair_id, agreement_id, mentor, mentee, state, term_start, term_end,
                                 signatures or 0, activity, held or 0, help_since=help_since,
                                 alerts=[key for key, flag in zip(sql.alerts, flags) if flag]))
        if agreement_id is not None:
            version_of[agreement_id] = version_id
    _complete_rows(rows, version_of)
    help_requests, more_help = [], False
    if scope.sees_help:
        help_requests = _open_help_requests(scope, HELP_LISTED if all_help else HELP_SHOWN + 1)
        more_help = not all_help and len(help_requests) > HELP_SHOWN
        del help_requests[HELP_SHOWN if more_help else len(help_requests):]
    counted_at, reports = _cached_reports(sql, reports_max_age)
    return Dashboard(scope, query, rows, total, pages, reports, help_requests, more_help, counted_at)


def _complete_rows(rows: list[DashboardRow], version_of: dict[int, int]) -> None:
    """Meeting targets and goal counts for the page's rows: three queries, whatever the page holds."""
    ids = list(version_of)
    values: dict[int, dict[str, Any]] = {agreement_id: {} for agreement_id in ids}
    for agreement_id, key, value_json in db.session.execute(
            select(FieldValue.agreement_id, FieldValue.field_key, FieldValue.value_json)
            .where(FieldValue.agreement_id.in_(ids), FieldValue.value_json.is_not(None))).all():
        values[agreement_id][key] = json.loads(value_json)  # value_json is never set for pair-only fields
    versions = {version.id: version for version in db.session.scalars(
        select(TemplateVersion).where(TemplateVersion.id.in_(set(version_of.values()))))}
    statuses: dict[int, dict[tuple[str, int], str]] = {agreement_id: {} for agreement_id in ids}
    for agreement_id, key, index, status in db.session.execute(
            select(GoalProgress.agreement_id, GoalProgress.field_key, GoalProgress.item_index, GoalProgress.status)
            .where(GoalProgress.agreement_id.in_(ids))).all():
        statuses[agreement_id][(key, index)] = status
    for row in rows:
        if row.agreement_id is None:
            continue
        definition = definition_of(versions[version_of[row.agreement_id]])
        agreement_values = values[row.agreement_id]
        commitment = commitments.committed_meetings(definition, agreement_values)
        if commitment is not None:
            row.meetings_target, row.target_kind = commitment.total, "committed"
        else:
            planned = commitments.planned_for_term(row.term_start, row.term_end, definition, agreement_values)
            row.meetings_target, row.target_kind = len(planned.dates), "planned"
        for item in commitments.goal_items(definition, agreement_values):
            row.goals[statuses[row.agreement_id].get((item.field_key, item.index), "not_started")] += 1


def _open_help_requests(scope: DashboardScope, limit: int) -> list[HelpRequest]:
    """The open requests waiting longest, with who asked and the pair's two people, in one statement."""
    return db.session.scalars(
        select(HelpRequest).join(Pair, Pair.id == HelpRequest.pair_id)
        .options(joinedload(HelpRequest.requested_by),
                 joinedload(HelpRequest.pair).joinedload(Pair.mentor),
                 joinedload(HelpRequest.pair).joinedload(Pair.mentee))
        .where(Pair.program_id == scope.program.id, HelpRequest.resolved_at.is_(None))
        .order_by(HelpRequest.at, HelpRequest.id).limit(limit)).all()


# Reports counted for a scope: {(program, supervisor, sees help, day): (monotonic time, UTC time, reports)}.
# Per process; each gunicorn worker keeps its own.
_report_cache: dict[tuple, tuple[float, datetime, list[ReportGroup]]] = {}
_REPORT_CACHE_SIZE = 500


def _cached_reports(sql: _Sql, max_age: float) -> tuple[datetime, list[ReportGroup]]:
    """The reports and when they were counted. Counting them reads every pair in scope (1,000 in a large
    program), so a page reuses counts up to `max_age` seconds old; the page says when they were counted.
    Counts only, never a name, and kept per scope: a supervisor is never shown an admin's counts."""
    key = (sql.scope.program.id, sql.scope.supervisor_id, sql.scope.sees_help, sql.today)
    found = _report_cache.get(key)
    clock = time.monotonic()
    if max_age > 0 and found is not None and clock - found[0] <= max_age:
        return found[1], found[2]
    reports = _reports(sql)
    if max_age > 0:
        if len(_report_cache) >= _REPORT_CACHE_SIZE:
            _report_cache.clear()
        _report_cache[key] = (clock, sql.now, reports)
    return sql.now, reports


def _reports(sql: _Sql) -> list[ReportGroup]:
    """Counts over every pair in scope (not only the filtered page), four queries."""
    everyone = {"mentor": False, "mentee": False}  # counts: the people's names are not needed
    by_state = dict(db.session.execute(sql.base(Agreement.state, func.count(Pair.id), **everyone)
                                       .group_by(Agreement.state)).all())
    states = ReportGroup("Pairs by state",
                         [ReportLine(label, by_state.get(key, 0)) for key, label in STATE_LABELS.items()])
    sums = db.session.execute(sql.base(*[func.coalesce(func.sum(case((expression, 1), else_=0)), 0)
                                         for expression in sql.alerts.values()], **everyone)).one()
    alerts = ReportGroup("Alerts", [ReportLine(ALERT_LABELS[key], int(count)) for key, count in zip(sql.alerts, sums)])
    in_scope = sql.base(Pair.id, **everyone, agreement=False).scalar_subquery()
    closures = db.session.execute(
        select(Agreement.closure_kind, Agreement.closure_reason, func.count(Agreement.id))
        .where(Agreement.state == "closed", Agreement.pair_id.in_(in_scope))
        .group_by(Agreement.closure_kind, Agreement.closure_reason)).all()
    closure_counts: dict[str, int] = {}
    for kind, reason, count in closures:
        label = CLOSURE_KIND_LABELS.get(kind, "Closed")
        if kind == "early":
            label += f": {CLOSURE_REASONS[reason].lower()}" if reason in CLOSURE_REASONS else ": no reason given"
        closure_counts[label] = closure_counts.get(label, 0) + count
    ended = ReportGroup("How agreements ended",
                        [ReportLine(label, count) for label, count in sorted(closure_counts.items())])
    current_in_scope = sql.base(Agreement.id, **everyone).where(Agreement.id.is_not(None)).scalar_subquery()
    goal_rows = dict(db.session.execute(
        select(GoalProgress.status, func.count(GoalProgress.id))
        .where(GoalProgress.agreement_id.in_(current_in_scope)).group_by(GoalProgress.status)).all())
    goals = ReportGroup("Goals of current agreements", [
        ReportLine("marked in progress", goal_rows.get("in_progress", 0)),
        ReportLine("marked achieved", goal_rows.get("achieved", 0))])
    return [states, alerts, ended, goals]


# --- CSV ----------------------------------------------------------------------------------------------------

def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell starting like a formula would run in a spreadsheet (CSV injection): make it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_text(board: Dashboard) -> str:
    """The rows on screen, with the same columns as the table."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    headings = ["Mentor", "Mentee", "State", "Term start", "Term end", "Signatures", "Last activity (UTC)",
                "Meetings held", "Meetings agreed or planned", "Goals not started", "Goals in progress",
                "Goals achieved", "Alerts"]
    if board.scope.sees_help:
        headings.append("Help asked on")
    writer.writerow(headings)
    for row in board.rows:
        cells = [row.mentor, row.mentee, row.state_label, row.term_start, row.term_end, row.signatures,
                 row.last_activity.strftime("%Y-%m-%d %H:%M") if row.last_activity else "", row.meetings_held,
                 "" if row.meetings_target is None else f"{row.meetings_target} {row.target_kind}",
                 row.goals["not_started"], row.goals["in_progress"], row.goals["achieved"],
                 "; ".join(ALERT_LABELS[key] for key in row.alerts)]
        if board.scope.sees_help:
            cells.append(row.help_since.strftime("%Y-%m-%d %H:%M") if row.help_since else "")
        writer.writerow([_cell(cell) for cell in cells])
    return out.getvalue()
