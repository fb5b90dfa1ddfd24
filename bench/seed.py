"""Seed a database with realistic volume, fast, through the portal's own models and domain helpers.

Everything the pages read is built the way the portal builds it: published template versions installed by
`template_store`, field values stored by `agreements._store` (pair-only ones encrypted, bound to their row),
history rows with the same associated data, signed versions whose hash is `signed_content.content_hash` of the
content `signed_content.build_content` makes (so the pages' integrity checks pass), notes, meeting summaries,
progress comments and review conclusions encrypted with `portal.crypto` and their row's associated data.

Going through the domain's save and sign functions one pair at a time would take hours at 20,000 pairs (each
signature checks a password and renders two PDFs), so rows are built in Python with ids assigned up front (the
associated data names the row) and written with Core inserts of the model tables, a batch of pairs at a time.
One published template version per program is reused by all its agreements, as in real life.

Layout of every program: pair 0 is a "hot" draft the benchmark edits (its editors, autosave and polls), pair 1
an active agreement with long answers whose PDF runs to three pages, and the other pairs cycle through every
state: draft, signing, active, in review, amended (reopened), closed as completed, ended early, renewed (with
its successor draft).
"""
from __future__ import annotations

import itertools
import json
import random
import secrets
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select, text

from portal import crypto
from portal.domain import agreements as agreement_rules
from portal.domain import commitments, field_values, signed_content, signing
from portal.domain.accounts import hash_password
from portal.domain.dashboard import HELP_SHOWN, PAGE_SIZE
from portal.domain.lifecycle import _conclusion_aad
from portal.domain.meetings import _summary_aad
from portal.domain.progress import _comment_aad
from portal.domain.template_store import definition_of, install_shipped_template
from portal.extensions import db
from portal.models import (
    Agreement, AgreementEvent, AgreementSignature, FieldChange, FieldValue, GoalConfirmation, GoalProgress,
    HelpRequest, Meeting, Note, Pair, PairSupervisor, Program, ProgramRole, ProgressCheckIn, ReviewEntry,
    ReviewRequest, SignedVersion, User,
)
from portal.models.notes import note_aad
from portal.models.programs import sort_name
from portal.timeutil import utcnow

PASSWORD = "bench-password-2026"


@dataclass(frozen=True)
class Preset:
    name: str
    programs: int
    pairs: int
    notes: int
    meetings: int
    # Pairs of the benchmarked program (None: an even share). The small preset gives it two full dashboard
    # pages, as at full volume, so that the flat-growth check compares the same 25 rows per page at 100 and
    # at 20,000 pairs rather than 5 rows against 25.
    program0_pairs: int | None = None


PRESETS = {
    "full": Preset("full", programs=20, pairs=20_000, notes=200_000, meetings=100_000),
    "small": Preset("small", programs=20, pairs=100, notes=1_000, meetings=500, program0_pairs=50),
    "tiny": Preset("tiny", programs=2, pairs=44, notes=120, meetings=60),  # tests/test_bench.py: every state
}

HOT_NOTES = 40          # the benchmarked notebook: more than one page of 25 at every size
HOT_MEETINGS = 8
PDF_WORDINESS = 1       # how long the PDF agreement's answers are: chosen so that its PDF has three pages
PAIRS_PER_BATCH = 500   # rows of this many pairs are built, then written table by table
# Pairs 2.. of each program cycle through these (20 slots: the mix of a program a few months in).
STATE_CYCLE = (["active"] * 6 + ["draft"] * 3 + ["signing"] * 2 + ["in_review", "amending"]
               + ["completed"] * 2 + ["early"] * 2 + ["renewed"] * 2 + ["active"])
SHIPPED = ("ccmc", "whprms")  # program 0 (the benchmarked one) uses CCMC: it has a pair-only field to decrypt
# The field each hot draft's autosave changes, per shipped template: a short and a long free text.
AUTOSAVED_FIELDS = {"ccmc": "meeting_place_time", "whprms": "meeting_schedule"}
SUPERVISED_EVERY = 10   # the program's supervisor follows pairs 1, 11, 21, ...
HELP_EVERY = 37


def _every(usual: int, program_pairs: int, wanted: int) -> int:
    """How often a pair is marked (followed by the supervisor, asking for help) so that the benchmarked program
    has at least `wanted` of them at every preset: its pages then show as much at 100 pairs as at 20,000 (a
    supervisor's full page of 25 rows, the dashboard's full list of open requests), and the flat-growth check
    compares like with like."""
    return max(1, min(usual, program_pairs // wanted))
WORDS = ("agree", "practice", "meeting", "caseload", "review", "feedback", "schedule", "goal", "plan", "notes",
         "committee", "report", "patients", "conference", "safety", "progress", "confidence", "network",
         "certification", "exam", "mentor", "mentee", "questions", "evening", "weekly", "draft", "budget")


@dataclass
class Fixtures:
    """What the benchmark needs to know about the seeded data (ids, who signs in where)."""
    preset: str
    password: str
    program_id: int
    pairs_in_program: int
    dashboard_last_page: int
    admin_email: str
    supervisor_email: str
    supervised_pair_id: int
    editors: list[dict] = field(default_factory=list)  # hot drafts: agreement_id, pair_id, mentor/mentee e-mails
    autosave_values: tuple[str, str] = ("", "")
    pdf_agreement_id: int = 0
    pdf_revision: int = 1
    pdf_email: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, data: str) -> Fixtures:
        values = json.loads(data)
        values["autosave_values"] = tuple(values["autosave_values"])
        return cls(**values)


# --- answers ------------------------------------------------------------------------------------------------

_SENTENCES: dict[int, list[str]] = {}


def _sentence(rng: random.Random, words: int) -> str:
    # Drawn from a pool made once per length: making every sentence word by word was a third of the seeding.
    pool = _SENTENCES.get(words)
    if pool is None:
        maker = random.Random(words)
        pool = _SENTENCES[words] = [" ".join(maker.choice(WORDS) for _ in range(words)) for _ in range(512)]
    text = pool[rng.randrange(len(pool))]
    return text[:1].upper() + text[1:] + "."


def _prose(rng: random.Random, sentences: int) -> str:
    return " ".join(_sentence(rng, rng.randint(8, 16)) for _ in range(sentences))


def answer(field_, rng: random.Random, wordiness: int = 0) -> Any:
    """A valid, plausible answer for a value field (wordier answers with `wordiness` above 0)."""
    kind = field_.type
    if kind == "short_text":
        return _sentence(rng, 5)[: field_.option("max_length")]
    if kind == "long_text":
        return _prose(rng, 2 + 4 * wordiness)[: field_.option("max_length")]
    if kind == "numbered_list":
        count = min(field_.option("max_items"), max(field_.option("min_items"), 2 + wordiness))
        return [_prose(rng, 1 + wordiness // 2)[:field_.option("max_length")] for _ in range(count)]
    if kind == "number":
        return field_.option("suggested") or max(field_.option("min"), min(6, field_.option("max")))
    if kind == "choice":
        return {"option": field_.choices[1 % len(field_.choices)].value, "other_text": ""}
    if kind == "meeting_modes":
        return {"counts": {mode.key: 2 + index for index, mode in enumerate(field_.modes)}, "other_label": ""}
    if kind == "date":
        return date.today().isoformat()
    raise ValueError(kind)


# --- row building -------------------------------------------------------------------------------------------

TABLE_ORDER = [Pair, PairSupervisor, Agreement, FieldValue, FieldChange, AgreementEvent, AgreementSignature,
               SignedVersion, GoalConfirmation, Note, Meeting, GoalProgress, ProgressCheckIn, ReviewRequest,
               ReviewEntry, HelpRequest]


class Rows:
    """Rows waiting to be inserted, per model, and the next id of each table (ids are known before insert
    because the encrypted columns' associated data names the row)."""

    def __init__(self) -> None:
        self.pending: dict[type, list[dict]] = {model: [] for model in TABLE_ORDER}
        self.next_ids: dict[type, itertools.count] = {}
        self.written: dict[str, int] = {}

    def start_ids(self) -> None:
        for model in TABLE_ORDER + [User]:
            if "id" in model.__table__.c:
                self.next_ids[model] = itertools.count((db.session.scalar(select(func.max(model.id))) or 0) + 1)

    def new_id(self, model: type) -> int:
        return next(self.next_ids[model])

    def add(self, model: type, **values) -> dict:
        self.pending[model].append(values)
        return values

    def flush(self) -> None:
        for model in TABLE_ORDER:
            rows = self.pending[model]
            if model is Agreement:  # a successor refers to its predecessor: predecessors first
                rows.sort(key=lambda row: row.get("predecessor_id") is not None)
            for start in range(0, len(rows), 2000):
                db.session.execute(insert(model.__table__), rows[start:start + 2000])
            self.written[model.__tablename__] = self.written.get(model.__tablename__, 0) + len(rows)
            rows.clear()


@dataclass
class ProgramSetup:
    program: Program
    version: Any
    definition: Any
    facts: signed_content.ProgramFacts
    version_facts: signed_content.TemplateVersionFacts
    admin: User
    supervisor: User
    shipped: str


class Seeder:
    def __init__(self, preset: Preset, seed: int = 2026) -> None:
        self.preset = preset
        self.rng = random.Random(seed)
        self.rows = Rows()
        self.today = date.today()
        self.now = utcnow()
        self.password_hash = hash_password(PASSWORD)  # one scrypt hash for every account: same password
        self.users: dict[int, tuple[str, str]] = {}   # id -> (name, email), for the signed content

    # -- accounts and programs --

    def _user(self, email: str, name: str) -> int:
        user_id = self.rows.new_id(User)
        self.users[user_id] = (name, email)
        self._user_rows.append({"id": user_id, "email": email, "name": name, "password_hash": self.password_hash,
                                "is_site_admin": False, "is_deactivated": False, "session_generation": 1,
                                "created_at": self.now})
        return user_id

    def _setup_programs(self) -> list[ProgramSetup]:
        setups = []
        for index in range(self.preset.programs):
            code = f"B{index:02d}"
            admin = User(email=f"admin.{code.lower()}@bench.test", name=f"Admin {code}",
                         password_hash=self.password_hash)
            supervisor = User(email=f"supervisor.{code.lower()}@bench.test", name=f"Supervisor {code}",
                              password_hash=self.password_hash)
            program = Program(code=code, name=f"Bench program {code}", return_email=f"office.{code.lower()}@bench.test",
                              default_term_months=3 if index % 2 else 6)
            db.session.add_all([admin, supervisor, program])
            db.session.flush()
            db.session.add_all([ProgramRole(user_id=admin.id, program_id=program.id, role="admin"),
                                ProgramRole(user_id=supervisor.id, program_id=program.id, role="supervisor")])
            version = install_shipped_template(program, SHIPPED[index % 2], admin)
            db.session.flush()
            setups.append(ProgramSetup(
                program, version, definition_of(version),
                signed_content.ProgramFacts(program.id, program.code, program.name, program.return_email),
                signed_content.TemplateVersionFacts(version.id, version.number, version.template.name,
                                                    version.definition_json),
                admin, supervisor, SHIPPED[index % 2]))
        db.session.commit()
        return setups

    # -- one agreement --

    def _values(self, definition, wordiness: int = 0, filled: float = 1.0) -> dict[str, Any]:
        values = {}
        for field_ in definition.fields:
            if not field_.stores_value:
                continue
            if field_.type == "number" or self.rng.random() < filled:
                values[field_.key] = field_values.validate(field_, answer(field_, self.rng, wordiness))
            else:
                values[field_.key] = field_values.initial_value(field_)
        return values

    def _agreement(self, setup: ProgramSetup, pair: dict, state: str, term_start: date, values: dict[str, Any],
                   revision: int = 1, predecessor_id: int | None = None) -> dict:
        """The agreement's row, its values with a history of how they were typed, and its events."""
        definition = setup.definition
        term_months = values.get(agreement_rules.TERM_FIELD_KEY) or setup.program.default_term_months
        agreement_id = self.rows.new_id(Agreement)
        created = datetime.combine(term_start, datetime.min.time()) - timedelta(days=7)
        row = self.rows.add(
            Agreement, id=agreement_id, pair_id=pair["id"], template_version_id=setup.version.id, state=state,
            revision=revision, term_start=term_start, term_months=term_months,
            term_end=agreement_rules.last_day_of_term(term_start, term_months), predecessor_id=predecessor_id,
            change_seq=0, seal_ct=None, created_at=created, updated_at=created, closed_at=None, closure_kind=None,
            closure_reason=None, closed_by_id=None, purged_at=None)
        self.rows.add(AgreementEvent, id=self.rows.new_id(AgreementEvent), agreement_id=agreement_id, kind="created",
                      revision=1, actor_id=None, at=created, detail=f"from template version {setup.version.number}")
        seq = 0
        authors = [pair["mentee_id"], pair["mentor_id"]]
        value_fields = [f for f in definition.fields if f.stores_value]
        typed = [f for f in value_fields if values.get(f.key) != field_values.initial_value(f)]
        for position, field_ in enumerate(value_fields):
            value = values.get(field_.key)
            initial = field_values.initial_value(field_)
            version, changed_seq, by, at = 0, 0, None, (created if initial is not None else None)
            if field_ in typed:
                # Typed in two goes (a first draft, then the final answer): history shows both changes.
                steps = [self._first_draft(value), value] if field_.type in ("long_text", "short_text") else [value]
                old = initial
                for step in steps:
                    seq += 1
                    version += 1
                    by = authors[(position + version) % 2]
                    at = created + timedelta(minutes=seq * 7)
                    self._change(agreement_id, pair["id"], field_, version, old, step, by, at)
                    old = step
                changed_seq = seq
            stored = agreement_rules._store(SimpleNamespace(agreement_id=agreement_id), field_, pair["id"], value)
            self.rows.add(FieldValue, id=self.rows.new_id(FieldValue), agreement_id=agreement_id,
                          field_key=field_.key, version=version, changed_seq=changed_seq, updated_by_id=by,
                          updated_at=at, **stored)
        if typed:
            # The newest change is the mentor's, so that the mentee's poll of a hot draft has something to show.
            self.rows.pending[FieldChange][-1]["user_id"] = pair["mentor_id"]
            self.rows.pending[FieldValue][-len(value_fields) + value_fields.index(typed[-1])]["updated_by_id"] = \
                pair["mentor_id"]
        row["change_seq"] = seq
        row["updated_at"] = created + timedelta(minutes=seq * 7)
        return row

    @staticmethod
    def _first_draft(value):
        if isinstance(value, str):
            return value[: max(1, len(value) // 2)]
        return value

    def _change(self, agreement_id, pair_id, field_, version, old, new, by, at) -> None:
        change_id = self.rows.new_id(FieldChange)
        dump = agreement_rules._dump
        row = {"id": change_id, "agreement_id": agreement_id, "field_key": field_.key, "version": version,
               "user_id": by, "at": at, "old_json": None, "new_json": None, "old_ct": None, "new_ct": None}
        if field_.pair_only:
            for which, value in (("old", old), ("new", new)):
                if value is not None:
                    row[f"{which}_ct"] = crypto.encrypt(dump(value), agreement_rules._change_aad(change_id, pair_id,
                                                                                                 which))
        else:
            row["old_json"], row["new_json"] = dump(old), dump(new)
        self.rows.add(FieldChange, **row)

    def _event(self, agreement_id, revision, kind, actor_id, at, detail="") -> None:
        self.rows.add(AgreementEvent, id=self.rows.new_id(AgreementEvent), agreement_id=agreement_id, kind=kind,
                      revision=revision, actor_id=actor_id, at=at, detail=detail)

    def _content(self, setup: ProgramSetup, pair: dict, agreement: dict, values: dict, seal: str) -> dict:
        mentor, mentee = self.users[pair["mentor_id"]], self.users[pair["mentee_id"]]
        return signed_content.build_content(
            agreement_id=agreement["id"], revision=agreement["revision"], program=setup.facts,
            template_version=setup.version_facts, definition=setup.definition,
            parties=[signed_content.Party("mentor", *mentor), signed_content.Party("mentee", *mentee)],
            term_start=agreement["term_start"], term_months=agreement["term_months"], values=values, seal=seal)

    def _sign(self, setup: ProgramSetup, pair: dict, agreement: dict, values: dict, roles: tuple[str, ...],
              revision: int, at: datetime) -> tuple[str, dict]:
        """Signatures of `roles` on the agreement's content at `revision`, hashed as the signing code does."""
        seal = secrets.token_hex(32)
        agreement["seal_ct"] = crypto.encrypt(seal, signing._seal_aad(agreement["id"], pair["id"]))
        content = self._content(setup, pair, {**agreement, "revision": revision}, values, seal)
        digest = signed_content.content_hash(content)
        for offset, role in enumerate(roles):
            user_id = pair[f"{role}_id"]
            when = at + timedelta(hours=offset)
            self.rows.add(AgreementSignature, id=self.rows.new_id(AgreementSignature), agreement_id=agreement["id"],
                          revision=revision, role=role, user_id=user_id, outcome="signed",
                          printed_name=self.users[user_id][0], at=when, client_address="192.0.2.44",
                          user_agent="Mozilla/5.0 (bench)", template_version_id=setup.version.id,
                          content_hash=digest, acknowledgements_json=json.dumps(content["acknowledgements"],
                                                                                ensure_ascii=False),
                          decline_reason_ct=None, cleared_at=None)
            self._event(agreement["id"], revision, "signed", user_id, when,
                        f"{self.users[user_id][0]} signed as {role}")
        return digest, content

    def _activate(self, setup, pair, agreement, values, revision, at) -> None:
        digest, content = self._sign(setup, pair, agreement, values, ("mentee", "mentor"), revision, at)
        public, private = signed_content.split_pair_only(
            content, [f.key for f in setup.definition.fields if f.pair_only])
        version_id = self.rows.new_id(SignedVersion)
        self.rows.add(SignedVersion, id=version_id, agreement_id=agreement["id"], revision=revision,
                      program_id=setup.program.id, template_version_id=setup.version.id, content_hash=digest,
                      content_json=json.dumps(public, sort_keys=True, ensure_ascii=False),
                      pair_only_ct=crypto.encrypt(json.dumps(private, sort_keys=True, ensure_ascii=False),
                                                  signing._version_aad(version_id, pair["id"])),
                      signed_at=at + timedelta(hours=1))
        self._event(agreement["id"], revision, "activated", pair["mentor_id"], at + timedelta(hours=1),
                    f"signed by both; revision {revision} is active")
        agreement["change_seq"] += 2

    def _life(self, setup, pair, agreement, values, meetings: int, reviewed: bool = False) -> None:
        """Meetings, goal progress, a check-in, and the review when the term is over."""
        definition = setup.definition
        modes = [mode.key for mode in commitments.meeting_modes(definition)] or ["other"]
        start = agreement["term_start"]
        span = max(1, min((self.today - start).days, (agreement["term_end"] - start).days))
        for number in range(meetings):
            meeting_id = self.rows.new_id(Meeting)
            summary = _sentence(self.rng, 12) if number % 2 == 0 else None
            self.rows.add(Meeting, id=meeting_id, agreement_id=agreement["id"],
                          held_on=start + timedelta(days=(number * 9) % span), mode=modes[number % len(modes)],
                          other_label="Video call" if modes[number % len(modes)] == "other" else "",
                          minutes=30 + 15 * (number % 4),
                          summary_ct=None if summary is None else crypto.encrypt(summary,
                                                                                 _summary_aad(meeting_id, pair["id"])),
                          logged_by_id=pair["mentee_id" if number % 2 else "mentor_id"], created_at=self.now)
        for item in commitments.goal_items(definition, values):
            progress_id = self.rows.new_id(GoalProgress)
            comment = _sentence(self.rng, 10) if item.index == 0 else None
            self.rows.add(GoalProgress, id=progress_id, agreement_id=agreement["id"], field_key=item.field_key,
                          item_index=item.index, status=("in_progress", "achieved", "not_started")[item.index % 3],
                          comment_ct=None if comment is None else crypto.encrypt(
                              comment, _comment_aad(progress_id, pair["id"])),
                          updated_by_id=pair["mentee_id"], updated_at=self.now - timedelta(days=3))
        self.rows.add(ProgressCheckIn, id=self.rows.new_id(ProgressCheckIn), agreement_id=agreement["id"],
                      user_id=pair["mentee_id"], at=self.now - timedelta(days=3))
        if reviewed:
            for member in ("mentor_id", "mentee_id"):
                entry_id = self.rows.new_id(ReviewEntry)
                outcomes = {f"{item.field_key}:{item.index}": "partly"
                            for item in commitments.goal_items(definition, values)}
                self.rows.add(ReviewEntry, id=entry_id, agreement_id=agreement["id"], user_id=pair[member],
                              outcomes_json=json.dumps(outcomes),
                              conclusion_ct=crypto.encrypt(_prose(self.rng, 2), _conclusion_aad(entry_id, pair["id"])),
                              updated_at=self.now - timedelta(days=2))

    def _pair_life(self, setup: ProgramSetup, pair: dict, kind: str, meetings: int, hot: bool = False) -> None:
        """Every agreement of one pair, for the kind of mentorship it is in."""
        today, rng = self.today, self.rng
        term = setup.program.default_term_months
        running_start = today - timedelta(days=rng.randint(10, 80))
        ended_start = agreement_rules.add_months(today, -term) - timedelta(days=rng.randint(5, 40))
        signed_at = datetime.combine(running_start, datetime.min.time()) - timedelta(days=2)
        if kind == "draft":
            values = self._values(setup.definition, filled=1.0 if hot else 0.5)
            self._agreement(setup, pair, "draft", running_start + timedelta(days=10), values)
        elif kind == "signing":
            values = self._values(setup.definition)
            agreement = self._agreement(setup, pair, "signing", running_start, values)
            self._sign(setup, pair, agreement, values, ("mentee",), 1, signed_at)
            agreement["change_seq"] += 1
        elif kind in ("active", "pdf", "amending"):
            values = self._values(setup.definition, wordiness=PDF_WORDINESS if kind == "pdf" else 0)
            agreement = self._agreement(setup, pair, "active", running_start, values)
            self._activate(setup, pair, agreement, values, 1, signed_at)
            self._life(setup, pair, agreement, values, meetings)
            if kind == "amending":  # reopened: revision 2 is a draft, revision 1 stays signed
                agreement.update(state="draft", revision=2)
                agreement["change_seq"] += 1
                self._event(agreement["id"], 2, "amendment_started", pair["mentor_id"], self.now,
                            "reopened for amendment (revision 1 stays signed)")
        elif kind in ("in_review", "completed", "early", "renewed"):
            values = self._values(setup.definition)
            start = running_start if kind == "early" else ended_start
            closure = {"completed": ("completed", None), "early": ("early", rng.choice(["schedule", "fit", None])),
                       "renewed": ("renewed", None)}.get(kind)
            agreement = self._agreement(setup, pair, "active", start, values)
            self._activate(setup, pair, agreement, values, 1, datetime.combine(start, datetime.min.time()))
            self._life(setup, pair, agreement, values, meetings, reviewed=kind in ("completed", "renewed"))
            if kind == "in_review":
                agreement["state"] = "in_review"
                for member in ("mentor_id", "mentee_id"):
                    self.rows.add(ReviewRequest, agreement_id=agreement["id"], user_id=pair[member], at=self.now)
            else:
                agreement.update(state="closed", closed_at=self.now - timedelta(days=rng.randint(1, 20)),
                                 closure_kind=closure[0], closure_reason=closure[1], closed_by_id=pair["mentee_id"])
                self._event(agreement["id"], 1, f"closed_{closure[0]}", pair["mentee_id"], agreement["closed_at"])
            if kind == "renewed":
                successor = self._agreement(setup, pair, "draft", agreement["term_end"] + timedelta(days=1),
                                            values, predecessor_id=agreement["id"])
                self._event(successor["id"], 1, "renewal_of", pair["mentor_id"], self.now,
                            f"continues agreement {agreement['id']}")
                self.rows.add(GoalConfirmation, agreement_id=successor["id"], user_id=pair["mentee_id"],
                              goals_state="", at=self.now)
        else:
            raise ValueError(kind)

    # -- the whole database --

    def run(self) -> Fixtures:
        self._user_rows: list[dict] = []
        setups = self._setup_programs()
        self.rows.start_ids()  # programs' people and templates were added through the ORM
        preset = self.preset
        per_program = _shares(preset)
        hot_notes = min(HOT_NOTES, preset.notes // (preset.programs * 2))
        # Notes and meetings beyond the hot pairs' own are spread round-robin over all pairs / lived agreements.
        spare_notes = preset.notes - hot_notes * preset.programs
        lived_pairs = sum(1 for i in range(preset.programs) for n in range(2, per_program[i])
                          if self._kind(n, i) not in ("draft", "signing"))
        setup_index = {setup.program.id: index for index, setup in enumerate(setups)}
        spare_meetings = max(0, preset.meetings - HOT_MEETINGS * preset.programs)
        fixtures: Fixtures | None = None
        batch: list[tuple[ProgramSetup, int]] = [(setups[i], n) for i in range(preset.programs)
                                                 for n in range(per_program[i])]
        # Interleave programs so that each batch holds pairs of every program (ids spread like real growth).
        batch.sort(key=lambda item: (item[1], item[0].program.id))
        notes_left, meetings_left, lived_left = spare_notes, spare_meetings, max(lived_pairs, 1)
        pairs_left = len(batch)
        editors: list[dict] = []
        program0 = setups[0]
        supervised_pair_id = pdf_pair = None
        mentors: dict[tuple[int, int], int] = {}
        supervised_every = {setup.program.id: SUPERVISED_EVERY for setup in setups}
        help_every = {setup.program.id: HELP_EVERY for setup in setups}
        supervised_every[program0.program.id] = _every(SUPERVISED_EVERY, per_program[0], PAGE_SIZE + 1)
        help_every[program0.program.id] = _every(HELP_EVERY, per_program[0], HELP_SHOWN + 1)
        for offset in range(0, len(batch), PAIRS_PER_BATCH):
            self._user_rows = []
            chunk = []
            for setup, n in batch[offset:offset + PAIRS_PER_BATCH]:
                code = setup.program.code.lower()
                key = (setup.program.id, n // 2)  # each mentor has two pairs
                if key not in mentors:
                    mentors[key] = self._user(f"mentor{n // 2}.{code}@bench.test", f"Mentor {n // 2} {code.upper()}")
                mentee_id = self._user(f"mentee{n}.{code}@bench.test", f"Mentee {n} {code.upper()}")
                chunk.append((setup, n, mentors[key], mentee_id))
            self._insert_users()
            for setup, n, mentor_id, mentee_id in chunk:
                pair_id = self.rows.new_id(Pair)
                pair = self.rows.add(Pair, id=pair_id, program_id=setup.program.id, mentor_id=mentor_id,
                                     mentee_id=mentee_id, created_at=self.now - timedelta(days=120),
                                     mentor_sort_name=sort_name(self.users[mentor_id][0]),
                                     mentee_sort_name=sort_name(self.users[mentee_id][0]))
                if n % supervised_every[setup.program.id] == 1 % supervised_every[setup.program.id]:
                    self.rows.add(PairSupervisor, id=self.rows.new_id(PairSupervisor), pair_id=pair_id,
                                  user_id=setup.supervisor.id)
                kind = self._kind(n, setup_index[setup.program.id])
                lived = kind not in ("draft", "signing")
                meetings = 0
                if n == 0:
                    meetings = 0
                elif n == 1:
                    meetings = HOT_MEETINGS
                elif lived:
                    meetings = meetings_left // lived_left
                    meetings_left -= meetings
                    lived_left -= 1
                self._pair_life(setup, pair, "pdf" if n == 1 else kind, meetings, hot=n == 0)
                note_count = hot_notes if n == 0 else notes_left // pairs_left
                notes_left -= 0 if n == 0 else note_count
                pairs_left -= 1
                self._notes(pair, note_count)
                if n % help_every[setup.program.id] == 5 % help_every[setup.program.id]:
                    self.rows.add(HelpRequest, id=self.rows.new_id(HelpRequest), pair_id=pair_id,
                                  agreement_id=None, requested_by_id=mentee_id, at=self.now - timedelta(days=1),
                                  message="Could someone help us find a new meeting slot?", resolved_at=None,
                                  resolved_by_id=None)
                if n == 0:
                    autosaved = setup.definition.field(AUTOSAVED_FIELDS[setup.shipped])
                    editors.append({"pair_id": pair_id, "agreement_id": None, "program_id": setup.program.id,
                                    "mentor_email": self.users[mentor_id][1],
                                    "mentee_email": self.users[mentee_id][1],
                                    "autosave_field": autosaved.key,
                                    "autosave_input": field_values.input_name(autosaved)})
                if setup is program0 and n == 1:
                    pdf_pair = pair
                if setup is program0 and n % SUPERVISED_EVERY == 1 and supervised_pair_id is None:
                    supervised_pair_id = pair_id
            self.rows.flush()
            db.session.commit()
        self._fix_sequences()
        db.session.commit()
        for editor in editors:
            editor["agreement_id"] = db.session.scalar(select(Agreement.id).where(
                Agreement.pair_id == editor["pair_id"]))
        pdf_agreement_id = db.session.scalar(select(Agreement.id).where(Agreement.pair_id == pdf_pair["id"]))
        fixtures = Fixtures(
            preset=preset.name, password=PASSWORD, program_id=program0.program.id,
            pairs_in_program=per_program[0], dashboard_last_page=max(1, -(-per_program[0] // 25)),
            admin_email=program0.admin.email, supervisor_email=program0.supervisor.email,
            supervised_pair_id=supervised_pair_id,
            editors=[e for e in editors if e["program_id"] == program0.program.id]
            + [e for e in editors if e["program_id"] != program0.program.id],
            autosave_values=("Thursdays at 5 pm, by video call", "Tuesdays at noon, in the library"),
            pdf_agreement_id=pdf_agreement_id, pdf_revision=1, pdf_email=self.users[pdf_pair["mentor_id"]][1],
            counts=self._counts())
        return fixtures

    @staticmethod
    def _kind(n: int, program_index: int) -> str:
        if n == 0:
            return "draft"
        if n == 1:
            return "active"
        # Shifted per program, so that even 5 pairs per program (the small preset) show every state.
        return STATE_CYCLE[(n + 3 * program_index) % len(STATE_CYCLE)]

    def _insert_users(self) -> None:
        if self._user_rows:
            db.session.execute(insert(User.__table__), self._user_rows)
            self.rows.written["user"] = self.rows.written.get("user", 0) + len(self._user_rows)
            self._user_rows = []

    def _notes(self, pair: dict, count: int) -> None:
        for number in range(count):
            note_id = self.rows.new_id(Note)
            author = pair["mentor_id"] if number % 2 else pair["mentee_id"]
            created = self.now - timedelta(days=count - number, minutes=self.rng.randint(0, 600))
            body = _prose(self.rng, self.rng.randint(1, 5))
            if number % 4 == 0:
                body = f"**{_sentence(self.rng, 3)}**\n\n- {_sentence(self.rng, 6)}\n- {_sentence(self.rng, 5)}\n\n" + body
            self.rows.add(Note, id=note_id, pair_id=pair["id"], author_id=author,
                          body=crypto.encrypt(body, note_aad(SimpleNamespace(id=note_id, pair_id=pair["id"]))),
                          version=1, created_at=created, updated_at=None, updated_by_id=None)

    def _fix_sequences(self) -> None:
        """Ids were given explicitly: move PostgreSQL's sequences past them (SQLite needs nothing)."""
        if db.engine.dialect.name != "postgresql":
            return
        for model in TABLE_ORDER + [User]:
            table = model.__table__
            if "id" not in table.c or not table.c.id.autoincrement:
                continue
            db.session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM \"{table.name}\"), 1))"))

    def _counts(self) -> dict[str, int]:
        return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model.__table__))
                for model in [User, Pair, Agreement, FieldValue, FieldChange, AgreementEvent, Note, Meeting,
                              SignedVersion, AgreementSignature]}


def _shares(preset: Preset) -> list[int]:
    """Pairs per program: the benchmarked program's own number if the preset sets one, the rest spread evenly."""
    first = preset.program0_pairs
    if first is None:
        return [preset.pairs // preset.programs + (1 if i < preset.pairs % preset.programs else 0)
                for i in range(preset.programs)]
    rest, others = preset.pairs - first, preset.programs - 1
    return [first] + [rest // others + (1 if i < rest % others else 0) for i in range(others)]


def seed(preset: Preset) -> Fixtures:
    """Seed an empty, migrated database (inside an app context). Returns what the benchmark needs."""
    if db.session.scalar(select(func.count(User.id))):
        raise RuntimeError("the bench seeds an empty database only")
    current_app.logger.info("bench: seeding %s", preset)
    return Seeder(preset).run()
