"""The demo: programs, people and pairs that show everything the portal does. Loaded by `flask seed-demo`
(and `make run`) into an empty database only. Every account uses the demo password (README lists them)."""
from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select

from portal.domain import agreements, signing
from portal.domain.accounts import hash_password
from portal.domain.template_store import definition_of, install_shipped_template
from portal.extensions import db
from portal.models import Pair, PairSupervisor, Program, ProgramRole, User

PROGRAMS = [
    {"code": "WHPRMS", "name": "WHPRMS Mentor Program", "return_email": "president_elect@whprms.org",
     "default_term_months": 3},
    {"code": "CCMC", "name": "CCMC Case Manager Mentoring", "return_email": "mentoring@ccmcdemo.org",
     "default_term_months": 6},
]

# (e-mail, name, what they are in the demo)
ACCOUNTS = [
    ("admin@demo.test", "Sam Site-Admin", "site admin"),
    ("whprms.admin@demo.test", "Wendy Program-Admin", "program admin of WHPRMS"),
    ("ccmc.admin@demo.test", "Carlos Program-Admin", "program admin of CCMC"),
    ("supervisor@demo.test", "Sofia Supervisor", "supervisor of one pair in each program"),
    ("mentor1@demo.test", "Maria Mentor", "mentor of WHPRMS pair 1; program admin nowhere"),
    ("mentee1@demo.test", "Nina Mentee", "mentee of WHPRMS pair 1"),
    ("mentor2@demo.test", "Oscar Mentor", "mentor of WHPRMS pair 2 and of CCMC pair 2"),
    ("mentee2@demo.test", "Priya Mentee", "mentee of WHPRMS pair 2"),
    ("mentor3@demo.test", "Quinn Mentor", "mentor of CCMC pair 1"),
    ("mentee3@demo.test", "Rosa Mentee", "mentee of CCMC pair 1"),
    ("mentee4@demo.test", "Tom Mentee", "mentee of CCMC pair 2"),
]

# Answers the demo pairs have already filled in: (pair index, field key, value, who typed it)
DEMO_ANSWERS = [
    (0, "goal", "Grow into leading the regional patient-safety committee.", "mentee"),
    (0, "objectives", ["Chair two committee meetings with confidence",
                       "Write the annual risk report section on falls",
                       "Build a network of three peers in other hospitals"], "mentee"),
    (0, "meeting_counts", {"counts": {"face_to_face": 2, "phone": 4, "email": 6}, "other_label": ""}, "mentor"),
    (2, "goals", ["Achieve CCM certification", "Gain confidence with complex caseloads"], "mentee"),
    (2, "meeting_period", {"option": "weekly", "other_text": ""}, "mentor"),
    (2, "meeting_place_time", "Thursdays at 5 pm, by video call", "mentor"),
    (2, "off_limits_topics", ["My previous employer"], "mentee"),
    # CCMC pair 1 finishes its agreement; the mentee has signed it and it waits for the mentor ("signing").
    (2, "evaluation_metrics", ["Passing the CCM exam", "Handling ten complex cases with little supervision"],
     "mentee"),
    (2, "meeting_period", {"option": "weekly", "other_text": ""}, "mentor"),
    (2, "meeting_place_time", "Thursdays at 8 am, by video call", "mentor"),
    (2, "term_months", 6, "mentor"),
    (2, "cancellation_notice", "24 hours", "mentor"),
    # WHPRMS pair 2 has filled in and signed everything: its agreement is active.
    (1, "goal", "Prepare to lead the hospital's incident-review program.", "mentee"),
    (1, "objectives", ["Run two incident reviews with my mentor's feedback",
                       "Present the quarterly risk summary to the board"], "mentee"),
    (1, "meeting_counts", {"counts": {"face_to_face": 3, "phone": 3, "email": 6}, "other_label": ""}, "mentor"),
    (1, "meeting_schedule", "Every other Tuesday at noon; e-mail in between.", "mentor"),
    (1, "learning_opportunities", "Shadowing the regional risk committee; the spring patient-safety conference.",
     "mentee"),
    (1, "ground_rules", "Start and end on time; cancel at least a day ahead; be candid.", "mentor"),
    (1, "feedback_method", "Ten minutes at the end of every meeting, and a written review at six weeks.", "mentee"),
]

# How far each demo pair's mentorship has come (see _live_the_mentorships):
#   WHPRMS pair 1: active for seven weeks, with meetings, progress and a request for help
#   WHPRMS pair 2: ended early by the mentee ("schedule")
#   CCMC pair 1:   its first term reviewed and renewed; the new agreement waits for the mentor's confirmation
#   CCMC pair 2:   filled in and signed by the mentee: it waits for the mentor's signature
TERM_STARTS = [timedelta(days=49), timedelta(days=30), timedelta(days=200), timedelta(days=7)]

# (program code, mentor e-mail, mentee e-mail, supervised by the demo supervisor)
PAIRS = [
    ("WHPRMS", "mentor1@demo.test", "mentee1@demo.test", True),
    ("WHPRMS", "mentor2@demo.test", "mentee2@demo.test", False),
    ("CCMC", "mentor3@demo.test", "mentee3@demo.test", True),
    ("CCMC", "mentor2@demo.test", "mentee4@demo.test", False),
]


def seed() -> bool:
    """Load the demo into an empty database. Returns False (and changes nothing) if any account exists."""
    if db.session.scalar(select(func.count(User.id))):
        return False
    password_hash = hash_password(current_app.config["DEMO_PASSWORD"])
    users = {}
    for email, name, _ in ACCOUNTS:
        users[email] = User(email=email, name=name, password_hash=password_hash)
        db.session.add(users[email])
    users["admin@demo.test"].is_site_admin = True
    programs = {}
    for spec in PROGRAMS:
        programs[spec["code"]] = Program(**spec)
        db.session.add(programs[spec["code"]])
    db.session.flush()
    db.session.add_all([
        ProgramRole(user=users["whprms.admin@demo.test"], program_id=programs["WHPRMS"].id, role="admin"),
        ProgramRole(user=users["ccmc.admin@demo.test"], program_id=programs["CCMC"].id, role="admin"),
        ProgramRole(user=users["supervisor@demo.test"], program_id=programs["WHPRMS"].id, role="supervisor"),
        ProgramRole(user=users["supervisor@demo.test"], program_id=programs["CCMC"].id, role="supervisor"),
    ])
    versions = {
        "WHPRMS": install_shipped_template(programs["WHPRMS"], "whprms", users["whprms.admin@demo.test"]),
        "CCMC": install_shipped_template(programs["CCMC"], "ccmc", users["ccmc.admin@demo.test"]),
    }
    for code, version in versions.items():
        programs[code].default_template_id = version.template_id  # what "Add a pair" preselects
    demo_agreements = []
    for (code, mentor, mentee, supervised), started in zip(PAIRS, TERM_STARTS):
        pair = Pair(program=programs[code], mentor=users[mentor], mentee=users[mentee])
        if supervised:
            pair.supervisor_links.append(PairSupervisor(user=users["supervisor@demo.test"]))
        db.session.add(pair)
        db.session.flush()
        demo_agreements.append(agreements.start_agreement(
            pair, versions[code], date.today() - started, programs[code].default_term_months, None))
    _fill_in_answers(demo_agreements)
    _live_the_mentorships(demo_agreements)
    _fill_required(demo_agreements[3])
    _sign_as(demo_agreements[3], "mentee")
    db.session.commit()
    return True


def _activate(agreement) -> None:
    """Fill in what is still required and have both members sign, through the real signing rules."""
    _fill_required(agreement)
    _sign_as(agreement, "mentor")
    _sign_as(agreement, "mentee")


def _demo_answer(field):
    """A plausible answer for a required field the demo's own answers left empty."""
    kind = field.type
    if kind == "numbered_list":
        return [f"Agreed at our first meeting ({n})" for n in range(1, max(field.option("min_items"), 1) + 1)]
    if kind == "number":
        return field.option("suggested") if field.option("suggested") is not None else field.option("min")
    if kind == "choice":
        return {"option": field.choices[0].value, "other_text": ""}
    if kind == "meeting_modes":
        return {"counts": {field.modes[0].key: 2}, "other_label": ""}
    if kind == "date":
        return date.today().isoformat()
    return "Agreed at our first meeting."


def _fill_required(agreement) -> None:
    from portal.domain.field_values import missing_required
    definition = definition_of(agreement.template_version)
    current = agreements.read_fields(agreement, definition, include_pair_only=True)
    for field in missing_required(definition, agreements.values_of(current)):
        agreements.save_field(agreement, definition, field, _demo_answer(field), current[field.key].version,
                              agreement.pair.mentor)


def _live_the_mentorships(demo_agreements) -> None:
    """Meetings, progress, an early ending and a renewal, made through the same rules the pages use."""
    from portal.domain import lifecycle, meetings, progress
    today = date.today()
    whprms, whprms_ended, ccmc, _draft = demo_agreements

    _activate(whprms)
    pair = whprms.pair
    definition = definition_of(whprms.template_version)
    for days_ago, mode, minutes, summary, who in (
            (42, "face_to_face", 90, "First meeting: we went through the agreement and the committee's calendar.",
             pair.mentee),
            (28, "phone", 30, "", pair.mentor),
            (12, "email", 15, "Nina sent her draft of the falls section; comments by Friday.", pair.mentee)):
        meetings.log_meeting(whprms, definition, who, meetings.MeetingInput(
            held_on=(today - timedelta(days=days_ago)).isoformat(), mode=mode, minutes=str(minutes),
            summary=summary), today=today)
    values = agreements.values_of(agreements.read_fields(whprms, definition, include_pair_only=False))
    progress.check_in(whprms, definition, values, pair.mentee, {
        "status-goal:0": "in_progress", "status-objectives:0": "achieved",
        "comment-objectives:0": "Chaired March and April; the second went much better.",
        "status-objectives:1": "in_progress"})
    lifecycle.ask_for_help(pair, whprms, pair.mentee,
                           "Could someone help us find a new meeting slot? Our Monday slot no longer works.")

    _activate(whprms_ended)
    lifecycle.end_early(whprms_ended, whprms_ended.pair.mentee, "schedule")

    _activate(ccmc)
    pair = ccmc.pair
    definition = definition_of(ccmc.template_version)
    meetings.log_meeting(ccmc, definition, pair.mentor, meetings.MeetingInput(
        held_on=(today - timedelta(days=190)).isoformat(), mode="video", minutes="60",
        summary="Study plan for the CCM exam."), today=today)
    values = agreements.values_of(agreements.read_fields(ccmc, definition, include_pair_only=False))
    progress.check_in(ccmc, definition, values, pair.mentee, {"status-goals:0": "achieved",
                                                               "status-goals:1": "in_progress"})
    lifecycle.request_review(ccmc, pair.mentor, today)  # the term has ended: one click starts the review
    for who, outcome, conclusion in (
            (pair.mentee, "partly", "Certification done; complex caseloads still need practice."),
            (pair.mentor, "partly", "Rosa is ready to lead; one more term for the caseloads.")):
        lifecycle.save_review(ccmc, definition, values, who, {
            "outcome-goals:0": "achieved", "outcome-goals:1": outcome, "conclusion": conclusion})
    successor, _plan = lifecycle.renew(ccmc, pair.mentor, lifecycle.default_renewal(ccmc))
    lifecycle.confirm_goals(successor, pair.mentee)


def _fill_in_answers(demo_agreements) -> None:
    """Some answers already typed, so the demo shows history, 'last saved by' and pair-only content."""
    for index, key, value, role in DEMO_ANSWERS:
        agreement = demo_agreements[index]
        definition = definition_of(agreement.template_version)
        field = definition.field(key)
        if field is None:  # a shipped template changed its keys: the demo must still load
            continue
        author = agreement.pair.mentor if role == "mentor" else agreement.pair.mentee
        current = agreements.read_fields(agreement, definition, include_pair_only=True)[key]
        agreements.save_field(agreement, definition, field, value, current.version, author)


def _sign_as(agreement, role: str) -> None:
    """A signature through the real signing rules (password included): the demo's active agreements have
    signed versions; the program's PDF copy and the members' links to theirs are in the outbox."""
    person = agreement.pair.mentor if role == "mentor" else agreement.pair.mentee
    acknowledged = frozenset(f.key for f in signing.acknowledgements(definition_of(agreement.template_version)))
    signing.sign(agreement, person, signing.SignSubmission(
        role=role, printed_name=person.name, password=current_app.config["DEMO_PASSWORD"],
        accepted=acknowledged, seen=signing.content_token(agreement)), None, "flask seed-demo")
