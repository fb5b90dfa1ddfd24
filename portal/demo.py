"""The demo: programs, people and pairs that show everything the portal does. Loaded by `flask seed-demo`
(and `make run`) into an empty database only. Every account uses the demo password (README lists them)."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from portal.domain.accounts import hash_password
from portal.domain.template_store import install_shipped_template
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

# (program code, shipped template, the program admin who installs it): each program starts with its own form,
# published, so that the template area and new pairs have something to show.
TEMPLATES = [
    ("WHPRMS", "whprms", "whprms.admin@demo.test"),
    ("CCMC", "ccmc", "ccmc.admin@demo.test"),
]

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
    for code, shipped, admin in TEMPLATES:
        install_shipped_template(programs[code], shipped, users[admin])
    for code, mentor, mentee, supervised in PAIRS:
        pair = Pair(program=programs[code], mentor=users[mentor], mentee=users[mentee])
        if supervised:
            pair.supervisor_links.append(PairSupervisor(user=users["supervisor@demo.test"]))
        db.session.add(pair)
    db.session.commit()
    return True
