"""Every "who may see or do this" decision in the portal lives here.

Two layers, both deny-by-default:

* Route rules. Every view declares its rule with ``@access(...)``; ``enforce_route_rule`` runs before each
  request and refuses a view that declared none (and the authorization test fails on it).
* Object scope. Views load objects only through the ``*_for`` loaders and ``visible_*`` queries below, which
  are already limited to what the person may see, so a foreign id is a 404, never a 403 or a leak.
"""
from __future__ import annotations

from typing import Callable

from flask import abort, current_app, request
from flask_login import current_user
from sqlalchemy import Select, exists, or_, select

from portal.extensions import db
from portal.models import AgreementTemplate, Pair, PairSupervisor, Program, ProgramRole, TemplateVersion, User

PUBLIC = "public"            # anyone, signed in or not (sign-in page, static files, password links)
SIGNED_IN = "signed_in"      # any signed-in person; object loaders below narrow it further
SITE_ADMIN = "site_admin"    # site administrators only
ROUTE_RULES = (PUBLIC, SIGNED_IN, SITE_ADMIN)


class NotSignedIn(Exception):
    """Raised for an anonymous request to a route that needs a person; answered by the sign-in redirect."""


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
        abort(404)
    if rule == PUBLIC:
        return
    if not current_user.is_authenticated:
        raise NotSignedIn()
    if rule == SITE_ADMIN and not current_user.is_site_admin:
        abort(404)


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
        abort(404)
    return program


def program_for_site_admin(user: User, program_id: int) -> Program:
    if not user.is_site_admin:
        abort(404)
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
        abort(404)
    return template


def version_for_admin(user: User, version_id: int, program_id: int | None = None) -> TemplateVersion:
    query = (select(TemplateVersion).join(AgreementTemplate)
             .where(TemplateVersion.id == version_id, _administers_template_program(user)))
    if program_id is not None:
        query = query.where(AgreementTemplate.program_id == program_id)
    version = db.session.scalars(query).first()
    if version is None:
        abort(404)
    return version


# --- pairs --------------------------------------------------------------------------------------------------

MEMBER = "member"
SUPERVISOR = "supervisor"
PROGRAM_ADMIN = "program_admin"


def member_pairs(user: User) -> Select:
    """Pairs in which this person is the mentor or the mentee: the only people who see pair-only content."""
    return select(Pair).where(or_(Pair.mentor_id == user.id, Pair.mentee_id == user.id)).order_by(Pair.id)


def _supervises_pair(user: User):
    return exists().where(PairSupervisor.pair_id == Pair.id, PairSupervisor.user_id == user.id)


def _administers_pair_program(user: User):
    return exists().where(
        ProgramRole.program_id == Pair.program_id, ProgramRole.user_id == user.id, ProgramRole.role == "admin")


def supervised_pairs(user: User) -> Select:
    """Pairs this person is assigned to supervise."""
    return select(Pair).where(_supervises_pair(user)).order_by(Pair.id)


def followed_pairs(user: User) -> Select:
    """Pairs this person follows without being in them: as their supervisor or their program's admin."""
    return select(Pair).where(or_(_supervises_pair(user), _administers_pair_program(user))).order_by(Pair.id)


def visible_pairs(user: User) -> Select:
    return select(Pair).where(or_(
        Pair.mentor_id == user.id, Pair.mentee_id == user.id,
        _supervises_pair(user), _administers_pair_program(user))).order_by(Pair.id)


def pair_relation(user: User, pair: Pair) -> str | None:
    """How this person stands to a pair. Members outrank every other relation."""
    if user.id in pair.member_ids():
        return MEMBER
    if any(link.user_id == user.id for link in pair.supervisor_links):
        return SUPERVISOR
    if is_program_admin(user, pair.program_id):
        return PROGRAM_ADMIN
    return None


def pair_for_member(user: User, pair_id: int) -> Pair:
    pair = db.session.scalars(member_pairs(user).where(Pair.id == pair_id)).first()
    if pair is None:
        abort(404)
    return pair


def pair_for_viewer(user: User, pair_id: int) -> tuple[Pair, str]:
    """A pair this person may look at, with their relation to it (decides whether pair-only content shows)."""
    pair = db.session.scalars(visible_pairs(user).where(Pair.id == pair_id)).first()
    if pair is None:
        abort(404)
    return pair, pair_relation(user, pair)


def may_see_pair_only(user: User, pair: Pair) -> bool:
    """The confidentiality rule: only the two members. No admin bypass."""
    return user.is_authenticated and user.id in pair.member_ids()
