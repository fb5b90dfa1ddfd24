"""Programs and per-program roles: creating programs, appointing program admins and supervisors."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from portal import audit, policy
from portal.domain.accounts import (
    AccountError, clean_display_name, invite, is_valid_email, normalize_email, user_by_email,
)
from portal.domain.program_settings import is_time_zone
from portal.extensions import db
from portal.models import Pair, PairSupervisor, Program, ProgramRole, User

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,19}$")
ROLE_NAMES = {"admin": "program admin", "supervisor": "supervisor"}


def program_problems(name: str, code: str, return_email: str, term_months: int | None,
                     program: Program | None = None) -> dict[str, str]:
    """Field name -> message for everything wrong with these program settings (empty when all is well)."""
    problems: dict[str, str] = {}
    if not name.strip():
        problems["name"] = "Give the program a name."
    elif len(name) > 160:
        problems["name"] = "Keep the name under 160 characters."
    elif any(not ch.isprintable() for ch in name):
        # NUL (which PostgreSQL cannot store), line breaks, right-to-left overrides and other format controls
        problems["name"] = "The name contains invisible control characters; type it again without them."
    elif _name_taken(name, program):
        problems["name"] = "Another program already has this name: choose one that tells them apart."
    if not CODE_PATTERN.match(code):
        problems["code"] = "Use 2 to 20 capital letters, digits, - or _, such as WHPRMS."
    else:
        clash = db.session.scalar(select(Program).where(func.upper(Program.code) == code))
        if clash is not None and clash is not program:
            problems["code"] = f"The code {code} is already used by another program."
    if not is_valid_email(normalize_email(return_email)):
        problems["return_email"] = "Enter the e-mail address that receives the program's copy of agreements."
    if term_months is None or not 1 <= term_months <= 60:
        problems["default_term_months"] = "Choose a term between 1 and 60 months."
    return problems


def save_program(actor: User, name: str, code: str, return_email: str, term_months: int,
                 program: Program | None = None) -> Program:
    code = code.strip().upper()
    problems = program_problems(name, code, return_email, term_months, program)
    if problems:
        raise AccountError(" ".join(problems.values()))
    creating = program is None
    if creating:
        program = Program()
        db.session.add(program)
    program.name = name.strip()
    program.code = code
    program.return_email = normalize_email(return_email)
    program.default_term_months = term_months
    db.session.flush()
    audit.record("program.create" if creating else "program.update", actor=actor, program_id=program.id,
                 code=program.code)
    return program


def _name_taken(name: str, program: Program | None) -> bool:
    """Whether another program has this name, ignoring case (compared here: SQL's lower() folds ASCII only on
    SQLite; the programs are few)."""
    wanted = name.strip().casefold()
    return any(other_name.strip().casefold() == wanted for other_id, other_name in db.session.execute(
        select(Program.id, Program.name)) if program is None or other_id != program.id)


def basics_problems(program: Program, name: str, return_email: str, term_months: int | None,
                    time_zone: str) -> dict[str, str]:
    """What is wrong with a program admin's edit of their program's basics (the code is the site admin's)."""
    problems = program_problems(name, program.code, return_email, term_months, program)
    problems.pop("code", None)
    if not is_time_zone((time_zone or "").strip()):
        problems["time_zone"] = "Enter a time zone by its name, for example Europe/Berlin, America/New_York or UTC."
    return problems


def save_basics(actor: User, program: Program, name: str, return_email: str, term_months: int,
                time_zone: str) -> None:
    """Store the program's name, return-copy address, default term and time zone, or raise AccountError."""
    problems = basics_problems(program, name, return_email, term_months, time_zone)
    if problems:
        raise AccountError(" ".join(problems.values()))
    program.name = name.strip()
    program.return_email = normalize_email(return_email)
    program.default_term_months = term_months
    program.time_zone = time_zone.strip()
    db.session.flush()
    audit.record("program.update", actor=actor, program_id=program.id, code=program.code,
                 default_term_months=term_months, time_zone=program.time_zone)


def role_holders(program: Program, role: str) -> list[ProgramRole]:
    return db.session.scalars(
        select(ProgramRole).join(User).where(ProgramRole.program_id == program.id, ProgramRole.role == role)
        .order_by(User.name)).all()


class AppointmentNeedsChoice(AccountError):
    """The person is already appointed or their account has another name: nothing was changed, and the admin
    chooses. `choices` are what the form offers: "update" (change the name, and appoint if not yet), "keep"
    (appoint, keeping the account's name)."""

    def __init__(self, message: str, choices: tuple[str, ...], old_name: str | None, new_name: str):
        super().__init__(message)
        self.choices, self.old_name, self.new_name = choices, old_name, new_name


def appoint(actor: User, program: Program, role: str, email: str, name: str, choice: str = "") -> ProgramRole:
    """Give someone a role in a program, inviting them first if they have no account.

    Someone who has the role already, or whose account has another name than the one typed, is neither
    appointed nor renamed silently: AppointmentNeedsChoice says what would change, and `choice` ("update" or
    "keep") on the next request carries out what the admin chose."""
    if role not in ROLE_NAMES:
        raise AccountError("Unknown role.")
    role_name = ROLE_NAMES[role]
    person = user_by_email(email)
    existing = None if person is None else db.session.scalar(select(ProgramRole).where(
        ProgramRole.user_id == person.id, ProgramRole.program_id == program.id, ProgramRole.role == role))
    if person is not None and person.is_deactivated:
        raise AccountError("This account is deactivated. A site administrator can reactivate it.")
    new_name = clean_display_name(name)
    renaming = person is not None and bool(new_name) and new_name != person.name
    if renaming and not policy.may_rename_on_appointment(actor, person, program.id):
        # Someone of another program (or a site admin): appointed under their own name, never renamed.
        renaming, choice = False, "keep"
    if existing is not None and not renaming:
        kept = " The name stays as their account has it." if new_name and new_name != person.name else ""
        raise AccountError(f"{person.name} is already a {role_name} of {program.name}.{kept}")
    if renaming and (choice not in ("update", "keep") or (existing is not None and choice == "keep")):
        if existing is not None:
            raise AppointmentNeedsChoice(
                f"{person.name} is already a {role_name} of {program.name}. Nothing was changed.",
                ("update",), person.name, new_name)
        if policy.may_see_name_before_appointment(actor, person, program.id):
            raise AppointmentNeedsChoice(
                f"{person.email} already has an account, under the name \u201c{person.name}\u201d. Nothing was "
                "changed yet: choose which name to keep.", ("update", "keep"), person.name, new_name)
        raise AppointmentNeedsChoice(
            "An account exists for this address, under another name. Nothing was changed yet: choose which name "
            "to keep.", ("update", "keep"), None, new_name)
    if renaming and choice == "update":
        old_name, person.name = person.name, new_name
        audit.record("account.renamed_on_appointment", actor=actor, program_id=program.id, user_id=person.id,
                     role=role, old_name=old_name, new_name=new_name)
    if existing is not None:
        db.session.flush()
        return existing
    user = invite(email, name, actor, reason=f"{role_name} of {program.name}")
    program_role = ProgramRole(user=user, program_id=program.id, role=role)
    db.session.add(program_role)
    db.session.flush()
    audit.record("role.grant", actor=actor, program_id=program.id, user_id=user.id, role=role)
    return program_role


def revoke(actor: User, program: Program, role_id: int, allowed_roles=tuple(ROLE_NAMES)) -> None:
    """Remove a role. Program admins may remove supervisors only; site admins any role."""
    program_role = db.session.scalar(select(ProgramRole).where(
        ProgramRole.id == role_id, ProgramRole.program_id == program.id, ProgramRole.role.in_(allowed_roles)))
    if program_role is None:
        raise AccountError("That role no longer exists.")
    if program_role.role == "admin" and len(role_holders(program, "admin")) == 1 and not actor.is_site_admin:
        raise AccountError("A program needs at least one program admin; appoint another one first.")
    end_role(actor, program_role)


def end_role(actor: User, program_role: ProgramRole) -> None:
    """Remove a role and everything it opened: a supervisor's assignments to the program's pairs go with the
    role (a program admin's access is the role itself). Audited, each removed assignment too."""
    audit.record("role.revoke", actor=actor, program_id=program_role.program_id, user_id=program_role.user_id,
                 role=program_role.role)
    if program_role.role == "supervisor":
        links = db.session.scalars(select(PairSupervisor).join(Pair, Pair.id == PairSupervisor.pair_id).where(
            PairSupervisor.user_id == program_role.user_id, Pair.program_id == program_role.program_id)
            .order_by(PairSupervisor.id)).all()
        for link in links:
            audit.record("pair.supervisor_removed", actor=actor, program_id=program_role.program_id,
                         pair_id=link.pair_id, user_id=link.user_id)
            db.session.delete(link)
    db.session.delete(program_role)
    db.session.flush()


def end_all_roles(actor: User, user: User) -> None:
    """Remove every program role of this person, with what each opened (deactivation)."""
    for program_role in db.session.scalars(select(ProgramRole).where(ProgramRole.user_id == user.id)
                                           .order_by(ProgramRole.id)).all():
        end_role(actor, program_role)
