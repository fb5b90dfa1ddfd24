"""Creating pairs: one at a time, or many from a CSV file with a preview and an all-or-nothing import."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import or_, select

from portal import audit
from portal.domain import accounts
from portal.domain.agreements import last_day_of_term, start_agreement
from portal.domain.template_store import default_version, published_versions
from portal.extensions import db
from portal.models import Pair, PairSupervisor, Program, ProgramRole, TemplateVersion, User
from portal.timeutil import EARLIEST_DAY, day_in_reach, latest_day, shown_day, utctoday

CSV_MAX_BYTES = 256 * 1024
CSV_MAX_ROWS = 1000
CSV_COLUMNS = ("program", "mentor_email", "mentor_name", "mentee_email", "mentee_name", "supervisor_emails",
               "term_start", "template")
CSV_REQUIRED = ("mentor_email", "mentee_email")


class PairError(ValueError):
    """A pair that cannot be created; the message is shown as it is."""


@dataclass
class PairRequest:
    mentor_email: str
    mentee_email: str
    mentor_name: str = ""
    mentee_name: str = ""
    supervisor_emails: list[str] = field(default_factory=list)
    term_start: date | None = None
    template_version_id: int | None = None


def _person(email: str, name: str, actor: User, reason: str) -> User:
    return accounts.invite(email, name, actor, reason=reason)


def existing_pair(program: Program, mentor_email: str, mentee_email: str) -> Pair | None:
    mentor = accounts.user_by_email(mentor_email)
    mentee = accounts.user_by_email(mentee_email)
    if mentor is None or mentee is None:
        return None
    # A pair whose mentorship closed may be paired again (a new pair row, its own agreement); a removed
    # (archived) pair is no pair at all.
    candidates = db.session.scalars(select(Pair).where(
        Pair.program_id == program.id, Pair.mentor_id == mentor.id, Pair.mentee_id == mentee.id,
        Pair.archived_at.is_(None)).order_by(Pair.id)).all()
    return next((pair for pair in candidates
                 if not pair.agreements or pair.agreements[-1].state != "closed"), None)


def supervisor_problem(program: Program, email: str) -> str | None:
    user = accounts.user_by_email(email)
    if user is None or not db.session.scalar(select(ProgramRole.id).where(
            ProgramRole.program_id == program.id, ProgramRole.user_id == user.id,
            ProgramRole.role == "supervisor")):
        return f"{email} is not a supervisor of {program.code}; appoint them first."
    return None


def request_problems(program: Program, request: PairRequest, versions: dict[int, TemplateVersion]
                     ) -> list[str]:
    """Everything wrong with a requested pair, as messages (empty when it can be created)."""
    problems = []
    mentor, mentee = accounts.normalize_email(request.mentor_email), accounts.normalize_email(request.mentee_email)
    for role, email in (("mentor", mentor), ("mentee", mentee)):
        if not email:
            problems.append(f"The {role}'s e-mail address is missing.")
        elif not accounts.is_valid_email(email):
            problems.append(f"The {role}'s e-mail address \u201c{email}\u201d is not valid.")
        else:
            person = accounts.user_by_email(email)
            if person is not None and person.is_deactivated:
                problems.append(f"The {role}'s account ({email}) is deactivated.")
    if mentor and mentor == mentee:
        problems.append("The mentor and the mentee must be two different people.")
    if request.term_start is not None and not day_in_reach(request.term_start):
        problems.append(f"The term must start between {shown_day(EARLIEST_DAY)} and {shown_day(latest_day())}.")
    for email in request.supervisor_emails:
        problem = supervisor_problem(program, email)
        if problem:
            problems.append(problem)
    if not versions:
        problems.append("The program has no published template yet; publish one first.")
    elif request.template_version_id not in versions:
        problems.append("Choose one of the program's published templates.")
    if not problems and existing_pair(program, mentor, mentee) is not None:
        problems.append("This mentor and mentee are already a pair in this program (a pair can be paired again "
                        "once its mentorship has closed).")
    return problems


def _implied_version_id(program: Program, versions: dict[int, TemplateVersion]) -> int | None:
    """The version a pair starts from when none is named: the program's default, else the only one."""
    default = default_version(program)
    if default is not None and default.id in versions:
        return default.id
    return next(iter(versions)) if len(versions) == 1 else None


def create_pair(actor: User, program: Program, request: PairRequest) -> Pair:
    """Create the pair (inviting new people by e-mail) and its first agreement, a draft."""
    versions = {version.id: version for version in published_versions(program)}
    if request.template_version_id is None:
        request.template_version_id = _implied_version_id(program, versions)
    problems = request_problems(program, request, versions)
    if problems:
        raise PairError(" ".join(problems))
    mentor = _person(request.mentor_email, request.mentor_name, actor, f"mentor in {program.name}")
    mentee = _person(request.mentee_email, request.mentee_name, actor, f"mentee in {program.name}")
    pair = Pair(program_id=program.id, mentor_id=mentor.id, mentee_id=mentee.id)
    for email in dict.fromkeys(accounts.normalize_email(e) for e in request.supervisor_emails):
        pair.supervisor_links.append(PairSupervisor(user_id=accounts.user_by_email(email).id))
    db.session.add(pair)
    db.session.flush()
    start_agreement(pair, versions[request.template_version_id], request.term_start or date.today(),
                    program.default_term_months, actor)
    audit.record("pair.create", actor=actor, program_id=program.id, pair_id=pair.id)
    return pair


# --- CSV import ---------------------------------------------------------------------------------------------

@dataclass
class ImportRow:
    line: int
    request: PairRequest | None
    problems: list[str]
    summary: str
    warnings: list[str] = field(default_factory=list)  # worth a look, but the row can be imported

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class ImportPreview:
    rows: list[ImportRow]
    file_problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.file_problem is None and bool(self.rows) and all(row.ok for row in self.rows)

    @property
    def error_count(self) -> int:
        return sum(1 for row in self.rows if not row.ok)


def _decode(raw: bytes | str) -> str:
    if isinstance(raw, str):
        return raw
    if len(raw) > CSV_MAX_BYTES:
        raise PairError(f"The file is {len(raw) // 1024} KB; the largest accepted is {CSV_MAX_BYTES // 1024} KB.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PairError("The file is not UTF-8 text. Save it from your spreadsheet as \u201cCSV UTF-8\u201d.") from error


def preview_import(program: Program, raw: bytes | str) -> ImportPreview:
    """Read a CSV of pairs and say, row by row, what would happen. Writes nothing."""
    try:
        text = _decode(raw)
    except PairError as error:
        return ImportPreview(rows=[], file_problem=str(error))
    if "\x00" in text:
        return ImportPreview(rows=[], file_problem="The file contains NUL bytes; it does not look like a CSV file.")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in (reader.fieldnames or [])]
    except csv.Error as error:
        return ImportPreview(rows=[], file_problem=f"The file is not valid CSV: {error}.")
    missing = [column for column in CSV_REQUIRED if column not in header]
    if missing:
        return ImportPreview(rows=[], file_problem=(
            "The first line must name the columns; missing: " + ", ".join(missing)
            + ". Expected columns: " + ", ".join(CSV_COLUMNS) + "."))
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        return ImportPreview(rows=[], file_problem="Unknown columns: " + ", ".join(unknown)
                             + ". Expected columns: " + ", ".join(CSV_COLUMNS) + ".")
    reader.fieldnames = header
    versions = {version.id: version for version in published_versions(program)}
    by_name = {version.template.name.lower(): version.id for version in versions.values()}
    rows: list[ImportRow] = []
    seen: set[tuple[str, str]] = set()
    try:
        for number, record in enumerate(reader, start=2):
            if len(rows) >= CSV_MAX_ROWS:
                return ImportPreview(rows=[], file_problem=f"The file has more than {CSV_MAX_ROWS} rows; split it.")
            if record.get(None):
                rows.append(ImportRow(number, None, ["This row has more values than there are columns."], ""))
                continue
            values = {key: (value or "").strip() for key, value in record.items()}
            if not any(values.values()):
                continue
            rows.append(_preview_row(program, number, values, versions, by_name, seen))
    except csv.Error as error:
        return ImportPreview(rows=[], file_problem=f"The file is not valid CSV near line {reader.line_num}: {error}.")
    if not rows:
        return ImportPreview(rows=[], file_problem="The file has no pairs in it.")
    return ImportPreview(rows=rows)


def _preview_row(program, number, values, versions, by_name, seen) -> ImportRow:
    problems = []
    code = values.get("program", "")
    if code and code.casefold() not in (program.code.casefold(), program.name.casefold()):
        problems.append(f"Unknown program \u201c{code}\u201d: this import is for {program.code} ({program.name}).")
    term_start = None
    if values.get("term_start"):
        try:
            term_start = date.fromisoformat(values["term_start"])
        except ValueError:
            problems.append("term_start must be a date like 2026-03-01.")
    template_name = values.get("template", "").lower()
    if template_name:
        version_id = by_name.get(template_name)
        if version_id is None:
            problems.append(f"Unknown template \u201c{values['template']}\u201d: "
                            + (f"use one of {accepted_templates(versions)}." if versions
                               else "the program has no published template yet."))
    else:
        version_id = _implied_version_id(program, versions)
        if version_id is None and len(versions) > 1:
            problems.append("The program has several templates and no default one: name one in the template "
                            f"column ({accepted_templates(versions)}).")
    supervisors = [email for email in (s.strip() for s in values.get("supervisor_emails", "").split(";")) if email]
    request = PairRequest(
        mentor_email=values.get("mentor_email", ""), mentee_email=values.get("mentee_email", ""),
        mentor_name=values.get("mentor_name", ""), mentee_name=values.get("mentee_name", ""),
        supervisor_emails=supervisors, term_start=term_start, template_version_id=version_id)
    if version_id is not None or not versions:
        problems.extend(p for p in request_problems(program, request, versions) if p not in problems)
    key = (accounts.normalize_email(request.mentor_email), accounts.normalize_email(request.mentee_email))
    if key in seen:
        problems.append("The same pair appears earlier in this file.")
    seen.add(key)
    mentor_shown = _person_shown(key[0], request.mentor_name) or "(no mentor)"
    mentee_shown = _person_shown(key[1], request.mentee_name) or "(no mentee)"
    supervisors_shown = [_person_shown(accounts.normalize_email(email), "") for email in supervisors]
    summary = (f"{mentor_shown} mentors {mentee_shown}"
               + (f", supervised by {', '.join(supervisors_shown)}" if supervisors else ""))
    new_people = [email for email in key if accounts.is_valid_email(email) and accounts.user_by_email(email) is None]
    if new_people:
        summary += "; invites " + ", ".join(new_people)
    warnings = []
    if term_start is not None and day_in_reach(term_start):
        term_end = last_day_of_term(term_start, program.default_term_months)
        if term_end < utctoday():
            warnings.append(f"This term already ended on {shown_day(term_end)} ({program.default_term_months} "
                            f"months from {shown_day(term_start)}).")
    return ImportRow(number, request, problems, summary, warnings)


def _person_shown(email: str, name_in_file: str) -> str:
    """Someone the portal knows by the name they have in it (the file's spelling may differ), with the
    address; someone new by the file's name, else the address."""
    person = accounts.user_by_email(email) if accounts.is_valid_email(email) else None
    if person is not None:
        return f"{person.name} ({email})"
    return name_in_file or email


def accepted_templates(versions: dict[int, TemplateVersion]) -> str:
    return ", ".join(sorted(version.template.name for version in versions.values()))


def sample_csv(program: Program) -> str:
    """A file to start from: every column, and one row that previews cleanly in this program (its code, its
    first published template, today's date)."""
    versions = published_versions(program)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerow([program.code, "alex.mentor@example.org", "Alex Mentor", "sam.mentee@example.org",
                     "Sam Mentee", "", utctoday().isoformat(), versions[0].template.name if versions else ""])
    return out.getvalue()


def confirm_import(actor: User, program: Program, raw: bytes | str) -> list[Pair]:
    """Create every pair of the file, or none: any problem (found now, even if the preview was clean) rolls
    the whole import back."""
    preview = preview_import(program, raw)
    if not preview.ok:
        raise PairError(preview.file_problem or
                        f"{preview.error_count} row(s) have problems; nothing was imported. Fix them and try again.")
    pairs = []
    try:
        with db.session.begin_nested():
            for row in preview.rows:
                pairs.append(create_pair(actor, program, row.request))
    except PairError as error:
        raise PairError(f"Nothing was imported: {error}") from error
    audit.record("pair.import", actor=actor, program_id=program.id, count=len(pairs))
    return pairs


def pairs_of_person(user: User):
    return select(Pair).where(or_(Pair.mentor_id == user.id, Pair.mentee_id == user.id))
