"""Every "who may see or do this" decision in the portal lives here.

Two layers, both deny-by-default:

* Route rules. Every view declares its rule with ``@access(...)``; ``enforce_route_rule`` runs before each
  request and refuses a view that declared none (and the authorization test fails on it).
* Object scope. Views load objects only through the ``*_for`` loaders and ``visible_*`` queries below, which
  are already limited to what the person may see, so a foreign id is a 404, never a 403 or a leak.
"""
from __future__ import annotations

from typing import Callable, Mapping

from flask import current_app, request, session
from werkzeug.exceptions import NotFound
from flask_login import current_user
from sqlalchemy import Integer, Select, and_, bindparam, case, exists, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from portal import MAX_ID, rawsql
from portal.extensions import db
from portal.models import (
    Agreement, AgreementTemplate, Note, NoteShare, Pair, PairSupervisor, Program, ProgramRole, TemplateVersion, User,
)
from portal.timeutil import utcnow

PUBLIC = "public"            # anyone, signed in or not (sign-in page, static files, password links)
SIGNED_IN = "signed_in"      # any signed-in person; object loaders below narrow it further
SITE_ADMIN = "site_admin"    # site administrators only
# The view checks the session itself inside its one query (the editors' "anything changed?" poll, which
# must cost a single indexed query): no user is loaded before the view runs.
SESSION_IN_QUERY = "session_in_query"
ROUTE_RULES = (PUBLIC, SIGNED_IN, SITE_ADMIN, SESSION_IN_QUERY)


# The only mail that may carry an attachment: the program's signed copy, which leaves out every pair-only field.
# The pair's own copy is never mailed (members download it after signing in): pair-only text stays out of the
# outbox table, the mail servers and the mailboxes.
MAIL_ATTACHMENT_KINDS = frozenset({"signed_copy_program", "meeting_invitation"})
# Mails that carry the pair's own text (a planned meeting's place) and go to the pair's two members only: the
# sender neither logs their bodies nor keeps that text in the outbox once they are delivered.
MAIL_KINDS_WITH_PAIR_TEXT = frozenset({"meeting_invitation"})


def may_attach_to_mail(kind: str) -> bool:
    return kind in MAIL_ATTACHMENT_KINDS


def carries_pair_text(kind: str) -> bool:
    return kind in MAIL_KINDS_WITH_PAIR_TEXT


class NotSignedIn(Exception):
    """Raised for an anonymous request to a route that needs a person; answered by the sign-in redirect."""


class AccessDenied(NotFound):
    """A refusal by this module. Answered exactly like a missing page (a foreign id must look like a missing
    one), and recorded in the audit log."""


def deny() -> None:
    raise AccessDenied()


def access(rule: str) -> Callable:
    """Declare who may reach a view at all. Finer decisions happen in the loaders."""
    if rule not in ROUTE_RULES:
        raise ValueError(f"unknown access rule {rule!r}")

    def decorate(view):
        view.access_rule = rule
        return view

    return decorate


def route_rule(endpoint: str | None) -> str | None:
    if endpoint is None:
        return None
    if endpoint == "static":
        return PUBLIC
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access_rule", None)


def enforce_route_rule() -> None:
    """before_request hook: apply the route's declared rule."""
    if request.endpoint is None:  # 404/405 from routing: let the error handlers answer
        return
    rule = route_rule(request.endpoint)
    if rule is None:
        current_app.logger.error("route %s declares no access rule; refused", request.endpoint)
        deny()
    if rule in (PUBLIC, SESSION_IN_QUERY):
        return
    if not current_user.is_authenticated:
        raise NotSignedIn()
    if rule == SITE_ADMIN and not current_user.is_site_admin:
        deny()


# --- programs -----------------------------------------------------------------------------------------------

def _has_program_role(user: User, role: str):
    return exists().where(
        ProgramRole.program_id == Program.id, ProgramRole.user_id == user.id, ProgramRole.role == role)


def administered_programs(user: User) -> Select:
    """Programs whose templates, pairs and supervisors this person manages."""
    return select(Program).where(_has_program_role(user, "admin")).order_by(Program.name)


def program_for_admin(user: User, program_id: int) -> Program:
    program = db.session.scalars(administered_programs(user).where(Program.id == program_id)).first()
    if program is None:
        deny()
    return program


def program_for_site_admin(user: User, program_id: int) -> Program:
    if not user.is_site_admin:
        deny()
    return db.get_or_404(Program, program_id)


def supervised_programs(user: User) -> Select:
    return select(Program).where(_has_program_role(user, "supervisor")).order_by(Program.name)


def is_program_admin(user: User, program_id: int) -> bool:
    return db.session.scalar(select(exists().where(
        ProgramRole.user_id == user.id, ProgramRole.program_id == program_id, ProgramRole.role == "admin")))


# --- agreement templates ------------------------------------------------------------------------------------
# Templates are managed by the admins of the program that owns them. The loaders take the program id of the URL
# too, so that a template of one program is never reachable under the address of another.

def _administers_template_program(user: User):
    return exists().where(ProgramRole.program_id == AgreementTemplate.program_id, ProgramRole.user_id == user.id,
                          ProgramRole.role == "admin")


def administered_templates(user: User) -> Select:
    """Templates of the programs this person administers."""
    return select(AgreementTemplate).where(_administers_template_program(user))


def template_for_admin(user: User, template_id: int, program_id: int | None = None) -> AgreementTemplate:
    query = administered_templates(user).where(AgreementTemplate.id == template_id)
    if program_id is not None:
        query = query.where(AgreementTemplate.program_id == program_id)
    template = db.session.scalars(query).first()
    if template is None:
        deny()
    return template


def version_for_admin(user: User, version_id: int, program_id: int | None = None) -> TemplateVersion:
    query = (select(TemplateVersion).join(AgreementTemplate)
             .where(TemplateVersion.id == version_id, _administers_template_program(user)))
    if program_id is not None:
        query = query.where(AgreementTemplate.program_id == program_id)
    version = db.session.scalars(query).first()
    if version is None:
        deny()
    return version


# --- pairs --------------------------------------------------------------------------------------------------

MEMBER = "member"
SUPERVISOR = "supervisor"
PROGRAM_ADMIN = "program_admin"


# A pair its program admin removed (created by mistake) is archived: nobody reaches it any more.
LIVE_PAIR = Pair.archived_at.is_(None)


def member_pairs(user: User) -> Select:
    """Pairs in which this person is the mentor or the mentee: the only people who see pair-only content."""
    return select(Pair).where(or_(Pair.mentor_id == user.id, Pair.mentee_id == user.id), LIVE_PAIR).order_by(Pair.id)


def _live_supervisor(user_id, pair_id, program_id):
    """The supervisor scope: an assignment to the pair AND a live supervisor role in the pair's program. A role
    that was revoked opens nothing, even where an assignment was left behind."""
    return and_(
        exists().where(PairSupervisor.pair_id == pair_id, PairSupervisor.user_id == user_id),
        exists().where(ProgramRole.program_id == program_id, ProgramRole.user_id == user_id,
                       ProgramRole.role == "supervisor"))


def _supervises_pair(user: User):
    return _live_supervisor(user.id, Pair.id, Pair.program_id)


def supervises(user: User, pair: Pair) -> bool:
    """Whether this person supervises this pair now (assigned, and still a supervisor of its program)."""
    return bool(db.session.scalar(select(_live_supervisor(user.id, pair.id, pair.program_id))))


def _administers_pair_program(user: User):
    return exists().where(
        ProgramRole.program_id == Pair.program_id, ProgramRole.user_id == user.id, ProgramRole.role == "admin")


def supervised_pairs(user: User) -> Select:
    """Pairs this person is assigned to supervise."""
    return select(Pair).where(_supervises_pair(user), LIVE_PAIR).order_by(Pair.id)


def followed_pairs(user: User) -> Select:
    """Pairs this person follows without being in them: as their supervisor or their program's admin."""
    return select(Pair).where(or_(_supervises_pair(user), _administers_pair_program(user)), LIVE_PAIR).order_by(Pair.id)


def _sees_pair(user: User):
    """The condition on a Pair row that this person may look at it (member, supervisor or program admin)."""
    return or_(Pair.mentor_id == user.id, Pair.mentee_id == user.id,
               _supervises_pair(user), _administers_pair_program(user))


def visible_pairs(user: User) -> Select:
    return select(Pair).where(_sees_pair(user), LIVE_PAIR).order_by(Pair.id)


def pair_relation(user: User, pair: Pair) -> str | None:
    """How this person stands to a pair. Members outrank every other relation."""
    if user.id in pair.member_ids():
        return MEMBER
    if supervises(user, pair):
        return SUPERVISOR
    if is_program_admin(user, pair.program_id):
        return PROGRAM_ADMIN
    return None


def _member_pair_statement():
    """A pair of which the person is the mentor or the mentee (as member_pairs), with its program and both
    members: every column of the four rows, so that each can be adopted into the session."""
    mentor, mentee = aliased(User), aliased(User)
    return (select(*rawsql.columns_of(Pair), *rawsql.columns_of(Program), *rawsql.columns_of(mentor),
                   *rawsql.columns_of(mentee))
            .join_from(Pair, Program, Program.id == Pair.program_id)
            .join(mentor, mentor.id == Pair.mentor_id).join(mentee, mentee.id == Pair.mentee_id)
            .where(Pair.id == bindparam("pair_id", type_=Integer), LIVE_PAIR,
                   or_(Pair.mentor_id == bindparam("user_id", type_=Integer),
                       Pair.mentee_id == bindparam("user_id", type_=Integer))))


_MEMBER_PAIR = rawsql.Query(_member_pair_statement())


def _hold(*links) -> None:
    """Set relationships of adopted objects as a joined load would: as loaded (nothing to flush), and holding
    the objects (the session keeps unchanged objects only weakly)."""
    for instance, name, value in links:
        set_committed_value(instance, name, value)


def pair_for_member(user: User, pair_id: int) -> Pair:
    """The pair if this person is its mentor or mentee (404 otherwise), with its program and both members.

    Every notebook request and the pair's own actions start here: the four rows are read as one plain
    statement and adopted into the session as the ORM would have loaded them (portal.rawsql), so that
    `pair.program`, `pair.mentor` and `pair.mentee` need no further statement."""
    row = rawsql.first(_MEMBER_PAIR, {"pair_id": pair_id, "user_id": user.id}) if abs(pair_id) < 2**31 else None
    if row is None:
        deny()
    pair, program, mentor, mentee = rawsql.adopt_row(row, (Pair, Program, User, User))
    _hold((pair, "program", program), (pair, "mentor", mentor), (pair, "mentee", mentee))
    return pair


def pair_for_viewer(user: User, pair_id: int) -> tuple[Pair, str]:
    """A pair this person may look at, with their relation to it (decides whether pair-only content shows)."""
    pair = db.session.scalars(visible_pairs(user).where(Pair.id == pair_id)).first()
    if pair is None:
        deny()
    return pair, pair_relation(user, pair)


def pair_for_program_admin(user: User, program_id: int, pair_id: int) -> Pair:
    """A live pair of a program this person administers, under that program's address (404 otherwise): what a
    program admin changes after creating it (supervisors, term, template, removal)."""
    program = program_for_admin(user, program_id)
    pair = db.session.scalar(select(Pair).where(Pair.id == pair_id, Pair.program_id == program.id, LIVE_PAIR)) \
        if abs(pair_id) <= MAX_ID else None
    if pair is None:
        deny()
    return pair


def may_see_pair_only(user: User, pair: Pair) -> bool:
    """The confidentiality rule: only the two members. No admin bypass."""
    return user.is_authenticated and user.id in pair.member_ids()


def may_carry_value(from_pair_only: bool, to_pair_only: bool) -> bool:
    """May a stored value move into another field (renewal, a move to another template version, any copy of
    values between versions)? Its confidentiality never loosens by itself: a pair-only value goes only into a
    field that is pair-only too. Loosening needs both members' explicit, separate consent, which no copy has."""
    return to_pair_only or not from_pair_only


def may_see_closure_reason(user: User, pair: Pair) -> bool:
    """Why a pair ended early (a category, never text) is for the pair and its program admins; supervisors
    follow progress and see only that it ended."""
    return user.is_authenticated and (user.id in pair.member_ids() or is_program_admin(user, pair.program_id))


def may_see_help_requests(user: User, program_id: int) -> bool:
    """Requests for outside intervention go to the program: its admins see who asked and when."""
    return user.is_authenticated and is_program_admin(user, program_id)


# --- agreements ---------------------------------------------------------------------------------------------

def _agreement_with_pair_statement(condition, *extra) -> rawsql.Query:
    """Built once: an agreement with its pair, program, both people and template version in one plain read
    (every agreement page, its autosave and its poll start here), limited by `condition` on the pair row and
    the signed-in person's id (bind parameter ``user_id``)."""
    mentor, mentee = aliased(User), aliased(User)
    models = (Agreement, Pair, Program, mentor, mentee, TemplateVersion)
    columns = [column for model in models for column in rawsql.columns_of(model)]
    statement = (select(*columns, *extra).select_from(Agreement)
                 .join(Pair, Pair.id == Agreement.pair_id).join(Program, Program.id == Pair.program_id)
                 .join(mentor, mentor.id == Pair.mentor_id).join(mentee, mentee.id == Pair.mentee_id)
                 .join(TemplateVersion, TemplateVersion.id == Agreement.template_version_id)
                 .where(Agreement.id == bindparam("agreement_id", type_=Integer), condition, LIVE_PAIR))
    return rawsql.Query(statement)


def _signed_in_id():
    return bindparam("user_id", type_=Integer)


_AGREEMENT_FOR_MEMBER = _agreement_with_pair_statement(
    or_(Pair.mentor_id == _signed_in_id(), Pair.mentee_id == _signed_in_id()))
# The condition is on the joined pair row, not "pair in (every visible pair)": that subquery made the database
# walk every pair of the portal on each agreement page.
_VIEWER_IS_MEMBER = or_(Pair.mentor_id == _signed_in_id(), Pair.mentee_id == _signed_in_id())
_VIEWER_SUPERVISES = _live_supervisor(_signed_in_id(), Pair.id, Pair.program_id)
_VIEWER_ADMINISTERS = exists().where(ProgramRole.program_id == Pair.program_id, ProgramRole.user_id == _signed_in_id(),
                                     ProgramRole.role == "admin")
# The relation comes with the row (members outrank every other relation, as in pair_relation).
_AGREEMENT_FOR_VIEWER = _agreement_with_pair_statement(
    or_(_VIEWER_IS_MEMBER, _VIEWER_SUPERVISES, _VIEWER_ADMINISTERS),
    case((_VIEWER_IS_MEMBER, MEMBER), (_VIEWER_SUPERVISES, SUPERVISOR), else_=PROGRAM_ADMIN).label("relation"))
_AGREEMENT_MODELS = (Agreement, Pair, Program, User, User, TemplateVersion)


def _load_agreement(query: rawsql.Query, user: User, agreement_id: int, with_row: bool = False):
    """The agreement as the ORM would have loaded it, with its pair, program, people and template version in
    the session (their relationships resolve from it without another query); a 404 when the row is not there."""
    if not (isinstance(agreement_id, int) and 0 < agreement_id <= MAX_ID) or not user.is_authenticated:
        deny()
    row = rawsql.first(query, {"agreement_id": agreement_id, "user_id": user.id})
    if row is None:
        deny()
    agreement, pair, program, mentor, mentee, version = rawsql.adopt_row(row, _AGREEMENT_MODELS)
    _hold((agreement, "pair", pair), (agreement, "template_version", version), (pair, "program", program),
          (pair, "mentor", mentor), (pair, "mentee", mentee))
    return (agreement, row) if with_row else agreement


def agreement_for_viewer(user: User, agreement_id: int) -> tuple[Agreement, str]:
    """An agreement of a pair this person may look at, with their relation to the pair."""
    agreement, row = _load_agreement(_AGREEMENT_FOR_VIEWER, user, agreement_id, with_row=True)
    return agreement, row[-1]


def agreement_for_member(user: User, agreement_id: int) -> Agreement:
    """An agreement of the person's own pair (the only people who edit it or see its pair-only content)."""
    return _load_agreement(_AGREEMENT_FOR_MEMBER, user, agreement_id)


# --- the mentorship's life ----------------------------------------------------------------------------------

def _dashboard_roles_statement() -> Select:
    """Built once: the program and whether the person is one of its admins or supervisors, in one read."""
    program_id, user_id = bindparam("program_id", type_=Integer), bindparam("user_id", type_=Integer)

    def holds(role: str):
        return exists().where(ProgramRole.user_id == user_id, ProgramRole.program_id == Program.id,
                              ProgramRole.role == role).label(f"is_{role}")

    return select(*rawsql.columns_of(Program), holds("admin"), holds("supervisor")).where(Program.id == program_id)


_DASHBOARD_ROLES = rawsql.Query(_dashboard_roles_statement())
_PROGRAM_NAMES = tuple(column.key for column in Program.__table__.columns)


def program_dashboard_scope(user: User, program_id: int):
    """The progress dashboard of a program: its admins see every pair (and requests for help), its
    supervisors the pairs assigned to them; anyone else gets a 404."""
    from portal.domain.dashboard import DashboardScope
    found = rawsql.first(_DASHBOARD_ROLES, {"program_id": program_id, "user_id": user.id})
    if found is None:
        deny()
    *columns, admin, supervisor = found
    if not (admin or supervisor):
        deny()
    program = rawsql.adopt(Program, dict(zip(_PROGRAM_NAMES, columns)))
    if admin:
        return DashboardScope(program, supervisor_id=None, sees_help=True, sees_closure_reasons=True)
    # Reports obey the pages' rule (may_see_closure_reason): a supervisor learns that pairs ended early, not why.
    return DashboardScope(program, supervisor_id=user.id, sees_help=False, sees_closure_reasons=False)


def help_request_for_admin(user: User, program_id: int, request_id: int):
    """A request for help made to a program this person administers."""
    from portal.models import HelpRequest
    program = program_for_admin(user, program_id)
    request_ = db.session.scalar(select(HelpRequest).join(Pair, Pair.id == HelpRequest.pair_id).where(
        HelpRequest.id == request_id, Pair.program_id == program.id))
    if request_ is None:
        deny()
    return program, request_


def may_rename_on_appointment(actor: User, person: User, program_id: int) -> bool:
    """Whether appointing `person` in this program may change their account's name (the name shows everywhere
    they are). The site admin may rename anyone; a program admin only someone who belongs to no other program
    (no role, no pair there), is no site admin, and is either in this program already or still only invited
    (never set a password): otherwise one program could rename another's people."""
    if actor.is_site_admin:
        return True
    if person.is_site_admin:
        return False
    in_pair = or_(Pair.mentor_id == person.id, Pair.mentee_id == person.id)
    programs_of_person = set(db.session.scalars(
        select(ProgramRole.program_id).where(ProgramRole.user_id == person.id)
        .union(select(Pair.program_id).where(in_pair))))
    if programs_of_person - {program_id}:
        return False
    return program_id in programs_of_person or person.password_hash is None


def may_see_name_before_appointment(actor: User, person: User, program_id: int) -> bool:
    """Whether the appointment's question may print the account's name: to the site admin, and to a program
    admin once the person is in their program (they see them there anyway)."""
    if actor.is_site_admin:
        return True
    return bool(db.session.scalar(select(
        exists().where(ProgramRole.user_id == person.id, ProgramRole.program_id == program_id)
        | exists().where(or_(Pair.mentor_id == person.id, Pair.mentee_id == person.id), LIVE_PAIR,
                         Pair.program_id == program_id))))


# Facts of audit entries that are pair-only: shown to nobody on the audit pages. Rows written before the rule
# (a proposal's recipient address, until 2026-12) stay in the table as written, since the hash chain covers
# them, and are redacted when shown.
PAIR_ONLY_AUDIT_FACTS = {("note_share.propose", "recipient")}
REDACTED_AUDIT_FACT = "not shown (pair-only until the share is approved)"


# Facts for the pair and the program's admins only (may_see_closure_reason): a site admin reading the log of a
# program they do not administer sees that a pair ended early, not why.
PROGRAM_ADMIN_AUDIT_FACTS = {("agreement.closed", "reason")}
PROGRAM_ADMINS_ONLY_FACT = "not shown (for the pair and the program's admins)"


def may_see_audit_fact(action: str, key: str) -> bool:
    """Whether a fact of an audit entry may be shown to those who read the audit log (staff)."""
    return (action, key) not in PAIR_ONLY_AUDIT_FACTS


def audit_fact_shown(action: str, key: str, value, program_id: int | None, administered: frozenset[int]) -> str:
    """A fact of an audit entry as this reader may see it; `administered` holds the programs they administer."""
    if not may_see_audit_fact(action, key):
        return REDACTED_AUDIT_FACT
    if (action, key) in PROGRAM_ADMIN_AUDIT_FACTS and value is not None and program_id not in administered:
        return PROGRAM_ADMINS_ONLY_FACT
    return "" if value is None else str(value)


def administered_program_ids(user: User) -> frozenset[int]:
    """The ids of the programs this person is an admin of (a site admin is not, by that alone)."""
    return frozenset(db.session.scalars(select(ProgramRole.program_id).where(
        ProgramRole.user_id == user.id, ProgramRole.role == "admin")))


def audit_scope(user: User, program_id: int | None) -> Program | None:
    """Whose audit log this person may read: one program's (its admins, or a site admin), or everyone's
    (`program_id` None: site admins only)."""
    if program_id is None:
        if not user.is_site_admin:
            deny()
        return None
    if user.is_site_admin:
        return db.get_or_404(Program, program_id)
    return program_for_admin(user, program_id)


def program_settings_editor(user: User, program_id: int) -> Program:
    """The program whose reminder and retention settings this person may change (its admins, site admins)."""
    if user.is_site_admin:
        return db.get_or_404(Program, program_id)
    return program_for_admin(user, program_id)


def session_identity(data: Mapping | None = None) -> tuple[int, int] | None:
    """(user id, session generation) from the signed session cookie (or its decoded `data`), without a query."""
    user_id, _, generation = str((session if data is None else data).get("_user_id", "")).partition(":")
    if user_id.isascii() and user_id.isdigit() and generation.isascii() and generation.isdigit():
        return int(user_id), int(generation)
    return None


def _member_change_seq_statement() -> Select:
    """Built once: the poll runs it every two seconds per open editor, and building a statement (and its cache
    key) costs more than running it."""
    user_id, generation = bindparam("user_id", type_=Integer), bindparam("generation", type_=Integer)
    return (select(Agreement.change_seq).join(Pair, Pair.id == Agreement.pair_id)
            .join(User, User.id == user_id)
            .where(Agreement.id == bindparam("agreement_id", type_=Integer),
                   or_(Pair.mentor_id == user_id, Pair.mentee_id == user_id), LIVE_PAIR,
                   User.session_generation == generation, User.is_deactivated.is_(False),
                   User.password_hash.is_not(None)))


_MEMBER_CHANGE_SEQ = rawsql.Query(_member_change_seq_statement())


POLL_CHECKED = "portal.poll.checked"  # WSGI environ key: (agreement id, (user id, generation), change number)


def member_change_seq(agreement_id: int) -> tuple[int, int] | None:
    """For the editors' poll: (change_seq, user id) of an agreement whose pair includes the signed-in person,
    checking the session generation and the account in the same single query. None if any check fails."""
    identity = session_identity()
    if identity is None:
        return None
    # The poll's WSGI shortcut (portal/poll_shortcut.py) ran this very check a moment ago, for the same
    # agreement and session, and found a change: its answer is reused rather than asked again.
    checked = request.environ.get(POLL_CHECKED)
    if checked is not None and checked[:2] == (agreement_id, identity):
        seq = checked[2]
    else:
        seq = change_seq_for_member(agreement_id, *identity)
    return (seq, identity[0]) if seq is not None else None


def change_seq_for_member(agreement_id: int, user_id: int, generation: int, engine=None) -> int | None:
    """The agreement's change number if `user_id` is a member of its pair and the session's generation is the
    account's current one (signed out everywhere, deactivated, or without a password: None)."""
    # Straight on a pooled connection rather than through the ORM session: nothing is loaded into the session,
    # and the session's (and a Connection's) transaction bookkeeping costs more than this one indexed read.
    return rawsql.scalar(_MEMBER_CHANGE_SEQ, {"agreement_id": agreement_id, "user_id": user_id,
                                             "generation": generation}, engine)


# --- notes and note shares ----------------------------------------------------------------------------------
# Notes are pair-only: the two members, and nobody else, whatever their role. The one exception is a single
# note that both members agreed to share with one named person (share_for_recipient).

def _is_member_of_note_pair(user: User):
    return exists().where(Pair.id == Note.pair_id, or_(Pair.mentor_id == user.id, Pair.mentee_id == user.id))


def member_notes(user: User) -> Select:
    """Notes of the pairs this person is a member of."""
    return select(Note).where(_is_member_of_note_pair(user))


def find_note_for_member(user: User, pair_id: int, note_id: int) -> Note | None:
    """The note if it belongs to this pair and the person is a member of it; None otherwise (for example when
    the other member has just deleted it, so that the view can keep what was being typed)."""
    return db.session.scalars(member_notes(user).where(Note.id == note_id, Note.pair_id == pair_id)).first()


def note_for_member(user: User, pair_id: int, note_id: int) -> Note:
    note = find_note_for_member(user, pair_id, note_id)
    if note is None:
        deny()
    return note


def share_for_member(user: User, pair_id: int, share_id: int) -> NoteShare:
    """A share of one of this pair's notes, for either member (in any state: the pair sees the whole trail)."""
    share = db.session.scalars(
        select(NoteShare).join(Note, Note.id == NoteShare.note_id)
        .where(NoteShare.id == share_id, Note.pair_id == pair_id, _is_member_of_note_pair(user))).first()
    if share is None:
        deny()
    return share


def shares_for_recipient(user: User) -> Select:
    """Shares this person may read right now: approved, not withdrawn, not expired, naming them.

    Evaluated afresh on every request (nothing cached), so a withdrawal or an expiry takes effect at once."""
    return select(NoteShare).where(
        NoteShare.recipient_id == user.id,
        NoteShare.state == "approved",
        NoteShare.withdrawn_at.is_(None),
        or_(NoteShare.expires_at.is_(None), NoteShare.expires_at > utcnow()),
    ).order_by(NoteShare.decided_at.desc(), NoteShare.id.desc())


def share_for_recipient(user: User, share_id: int) -> NoteShare:
    share = db.session.scalars(shares_for_recipient(user).where(NoteShare.id == share_id)).first()
    if share is None:
        deny()
    return share


# --- signed copies and verification -------------------------------------------------------------------------

PAIR_COPY = "pair"          # every field, pair-only ones included
PROGRAM_COPY = "program"    # pair-only fields left out entirely


def agreement_copy_for(user: User, agreement_id: int, copy: str) -> Agreement:
    """An agreement whose signed copy of this kind the person may download: the pair's copy holds pair-only
    content, so only the two members get it; the program's copy goes to anyone who follows the pair."""
    if copy == PAIR_COPY:
        return agreement_for_member(user, agreement_id)
    if copy == PROGRAM_COPY:
        return agreement_for_viewer(user, agreement_id)[0]
    deny()


def may_view_agreement(user: User, agreement_id: int) -> bool:
    """Whether the verification page may link to the agreement a hash belongs to: only for people who could
    open it anyway (verifying a PDF must not become a way to find agreements)."""
    return db.session.scalar(select(exists().where(
        Agreement.id == agreement_id, Agreement.pair_id == Pair.id, _sees_pair(user))))
