"""Factory helpers (CTFd style): make_user(**kw) and friends, plus the sign-in helper."""
from __future__ import annotations

import itertools

from flask import current_app

from portal.domain.accounts import hash_password
from portal.extensions import db
from portal.models import Note, NoteShare, OutboxMail, Pair, PairSupervisor, Program, ProgramRole, User

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def make_user(email: str | None = None, name: str | None = None, password: str | None = PASSWORD,
              site_admin: bool = False, deactivated: bool = False) -> User:
    n = next(_counter)
    user = User(email=(email or f"person{n}@example.org").lower(), name=name or f"Person {n}",
                password_hash=hash_password(password) if password else None,
                is_site_admin=site_admin, is_deactivated=deactivated)
    db.session.add(user)
    db.session.commit()
    return user


def make_program(code: str | None = None, name: str | None = None, return_email: str = "office@example.org",
                 term: int = 3) -> Program:
    n = next(_counter)
    program = Program(code=code or f"PRG{n}", name=name or f"Program {n}", return_email=return_email,
                      default_term_months=term)
    db.session.add(program)
    db.session.commit()
    return program


def make_role(user: User, program: Program, role: str = "admin") -> ProgramRole:
    program_role = ProgramRole(user_id=user.id, program_id=program.id, role=role)
    db.session.add(program_role)
    db.session.commit()
    return program_role


def make_pair(program: Program, mentor: User | None = None, mentee: User | None = None,
              supervisors: tuple[User, ...] = ()) -> Pair:
    pair = Pair(program_id=program.id, mentor_id=(mentor or make_user()).id, mentee_id=(mentee or make_user()).id)
    for supervisor in supervisors:
        pair.supervisor_links.append(PairSupervisor(user_id=supervisor.id))
    db.session.add(pair)
    db.session.commit()
    return pair


def act_as(client, user: User | str) -> None:
    """Sign `user` (or the person with this e-mail address) in on `client` by writing the session that the
    sign-in form writes, for the many tests that are not about signing in (tests/auth tests the form itself;
    `sign_in` goes through it). Like the form, it leaves a deactivated or invited person signed out."""
    from flask import session
    from flask_login import login_user

    from portal import sessions
    if isinstance(user, str):
        user = db.session.scalar(db.select(User).where(User.email == user.lower()))
    with client.application.test_request_context():
        if login_user(user):
            sessions.start()
        signed_in = dict(session)
    with client.session_transaction() as client_session:
        client_session.clear()
        client_session.update(signed_in)
    client.csrf_token = None


def sign_in(client, user_or_email, password: str = PASSWORD, follow_redirects: bool = False):
    email = user_or_email if isinstance(user_or_email, str) else user_or_email.email
    response = client.post("/auth/sign-in", data={"email": email, "password": password},
                           follow_redirects=follow_redirects)
    client.csrf_token = None
    return response


def outbox(kind: str | None = None, to: str | None = None) -> list[OutboxMail]:
    query = db.select(OutboxMail).order_by(OutboxMail.id)
    if kind:
        query = query.where(OutboxMail.kind == kind)
    if to:
        query = query.where(OutboxMail.to_address == to)
    return db.session.scalars(query).all()


def delivered(kind: str | None = None, to: str | None = None) -> list[OutboxMail]:
    """Send the queued mail as `flask send-mail` does (which renders the program's copy a mail attaches), then
    `outbox(kind, to)`."""
    from portal.mail import deliver_pending
    deliver_pending()
    return outbox(kind, to)


def config(name: str):
    return current_app.config[name]


def make_version(program: Program, shipped: str = "whprms"):
    """A published template version in the program (one of the shipped templates)."""
    from portal.domain.template_store import install_shipped_template
    version = install_shipped_template(program, shipped, None)
    db.session.commit()
    return version


def make_agreement(pair: Pair, version=None, term_start=None):
    """A draft agreement for the pair, from `version` (default: a fresh WHPRMS template in the pair's program)."""
    from datetime import date

    from portal.domain.agreements import start_agreement
    version = version or make_version(db.session.get(Program, pair.program_id))
    agreement = start_agreement(pair, version, term_start or date(2026, 1, 5), 3, None)
    db.session.commit()
    return agreement
def make_note(pair: Pair, author: User | None = None, text: str = "A note about our last meeting.") -> Note:
    """A note written through the domain, so that it is encrypted exactly as the portal does it."""
    from portal.domain import notes
    note = notes.create_note(author or pair.mentor, pair, text)
    db.session.commit()
    return note


def make_share(note: Note, recipient: User | str, proposer: User | None = None, approve: bool = True,
               expires_on=None) -> NoteShare:
    """A share proposed by `proposer` (the mentor by default) and, unless approve=False, approved by the other
    member with their password: the two keys, through the domain."""
    from portal.domain import notes
    pair = note.pair
    proposer = proposer or pair.mentor
    email = recipient if isinstance(recipient, str) else recipient.email
    share = notes.propose_share(proposer, note, email, "", expires_on)
    db.session.commit()
    if approve:
        notes.approve_share(notes.other_member(pair, proposer), share, PASSWORD, None)
        db.session.commit()
    return share


def answer_for(field, n: int = 1):
    """A valid answer for any value field, so that tests can fill in a whole agreement."""
    kind = field.type
    if kind == "short_text":
        return f"Short answer {n} for {field.key}"
    if kind == "long_text":
        return f"Long answer {n} for {field.key}."
    if kind == "numbered_list":
        return [f"Item {i} of {field.key} ({n})" for i in range(1, max(field.option("min_items"), 1) + 1)]
    if kind == "number":
        return field.option("suggested") if field.option("suggested") is not None else field.option("min")
    if kind == "choice":
        return {"option": field.choices[0].value, "other_text": ""}
    if kind == "meeting_modes":
        return {"counts": {field.modes[0].key: 2}, "other_label": ""}
    if kind == "date":
        return "2026-02-01"
    raise ValueError(kind)


def fill_in(agreement, values: dict | None = None, everything: bool = False, by=None, required: bool = True):
    """Fill in the agreement's required fields (or every value field, or with required=False only `values`)
    through the editor's own rules, plus any `values` given by key. Returns the values stored."""
    from portal.domain import agreements as rules
    from portal.domain.template_store import definition_of
    definition = definition_of(agreement.template_version)
    author = by or agreement.pair.mentor
    stored = {}
    for field in definition.fields:
        if not field.stores_value:
            continue
        if field.key in (values or {}):
            value = values[field.key]
        elif (field.required and required) or everything:
            value = answer_for(field)
        else:
            continue
        current = rules.read_fields(agreement, definition, True)[field.key]
        rules.save_field(agreement, definition, field, value, current.version, author)
        stored[field.key] = value
    db.session.commit()
    return stored


def sign_as(agreement, user, password: str = PASSWORD):
    """Sign the agreement's current revision as `user` through the domain, as the signing form would."""
    from portal.domain import signing
    from portal.domain.template_store import definition_of
    role = agreement.pair.role_of(user.id)
    acks = frozenset(f.key for f in signing.acknowledgements(definition_of(agreement.template_version)))
    outcome = signing.sign(agreement, user, signing.SignSubmission(
        role=role, printed_name=user.name, password=password, accepted=acks,
        seen=signing.content_token(agreement)), "192.0.2.10", "pytest-agent/1.0")
    db.session.commit()
    return outcome


def make_signed_agreement(pair, version=None, values: dict | None = None):
    """An active agreement: filled in and signed by both members."""
    agreement = make_agreement(pair, version)
    fill_in(agreement, values)
    sign_as(agreement, agreement.pair.mentor)
    sign_as(agreement, agreement.pair.mentee)
    return agreement


def make_meeting(agreement, by, held_on=None, mode="face_to_face", minutes=60, summary=None, other_label=""):
    """A logged meeting (through the domain, so a summary is encrypted as in the app)."""
    from datetime import date

    from portal.domain.meetings import MeetingInput, log_meeting
    from portal.domain.template_store import definition_of
    typed = MeetingInput(held_on=(held_on or date(2026, 1, 10)).isoformat(), mode=mode, other_label=other_label,
                         minutes=str(minutes), summary=summary or "")
    meeting = log_meeting(agreement, definition_of(agreement.template_version), by, typed,
                          today=max(held_on or date(2026, 1, 10), date.today()))
    db.session.commit()
    return meeting


def make_help_request(pair, by, message=""):
    """A request for help, asked while the mentorship was open (it may have closed since: the portal refuses
    new requests on a closed mentorship, and keeps the earlier ones until the program handles them)."""
    from portal.domain.lifecycle import ask_for_help
    from portal.models import HelpRequest
    current = pair.agreements[-1] if pair.agreements else None
    if current is not None and current.state == "closed":
        request_ = HelpRequest(pair_id=pair.id, agreement_id=current.id, requested_by_id=by.id, message=message)
        db.session.add(request_)
    else:
        request_ = ask_for_help(pair, current, by, message)
    db.session.commit()
    return request_


def set_state(agreement, state: str, **columns):
    """Put an agreement in a state directly (the signing flow that activates agreements is on another
    branch); the lifecycle code under test takes it from there."""
    agreement.state = state
    for name, value in columns.items():
        setattr(agreement, name, value)
    db.session.commit()
    return agreement


def approval_form(share: NoteShare, password: str = PASSWORD) -> dict:
    """What the share approval form sends: the password, and who the form showed the recipient to be."""
    from portal.domain.notes import recipient_preview
    return {f"approve-{share.id}-password": password, f"approve-{share.id}-recipient": recipient_preview(share).key}
