"""The audit log: what is recorded, the hash chain that shows tampering, and who can read it."""
from __future__ import annotations

import threading

from sqlalchemy import text
from sqlalchemy.orm import Session

from portal import audit
from portal.db_setup import write_transaction
from portal.extensions import db
from portal.models import AuditEvent
from tests.factories import PASSWORD, make_program, make_user, sign_in


def actions() -> list[str]:
    return db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)).all()


def test_sign_ins_successes_and_failures_are_recorded_without_passwords(client):
    """Are successful and failed sign-ins audited, with neither password in the log?"""
    user = make_user()
    sign_in(client, user, "the wrong password here")
    sign_in(client, user)
    assert actions()[-2:] == ["sign_in.failed", "sign_in"]
    dump = " ".join(f"{e.detail} {e.action}" for e in db.session.scalars(db.select(AuditEvent)))
    assert PASSWORD not in dump and "the wrong password" not in dump


def test_denied_requests_are_recorded(app, client):
    """Is a refused request (someone else's program) recorded with the path but nothing from the query?"""
    program = make_program()
    sign_in(client, make_user())
    assert client.get(f"/programs/{program.id}?secret=token-value").status_code == 404
    denied = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "access.denied"))
    assert f"/programs/{program.id}" in denied.detail and "token-value" not in denied.detail


def test_control_characters_cannot_forge_log_lines(app):
    """Can CR/LF in a recorded value forge a second line in the log?"""
    with app.test_request_context():
        audit.record("test.event", note="first\r\nsign_in admin@example.org")
        db.session.commit()
    detail = db.session.scalar(db.select(AuditEvent.detail).where(AuditEvent.action == "test.event"))
    assert "\n" not in detail and "\r" not in detail and "first  sign_in" in detail


def test_the_chain_holds_and_shows_tampering(app, runner):
    """Does the hash chain verify, and does altering or deleting an entry directly in the database show?"""
    with app.test_request_context():
        for n in range(5):
            audit.record("test.event", n=n)
        db.session.commit()
    assert "intact: 5 entries" in runner.invoke(args=["verify-audit"]).output
    third = db.session.scalars(db.select(AuditEvent.id).order_by(AuditEvent.id)).all()[2]
    db.session.execute(text("UPDATE audit_event SET detail = '{\"n\": 99}' WHERE id = :id"), {"id": third})
    db.session.commit()
    result = runner.invoke(args=["verify-audit"])
    assert result.exit_code != 0 and f"broken at entry {third}" in result.output
    db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": third})
    db.session.commit()
    assert runner.invoke(args=["verify-audit"]).exit_code != 0


def test_site_admin_reads_the_log_and_its_chain_state(app, client):
    """Does the site admin's audit page list entries and say whether the chain is intact?"""
    sign_in(client, make_user(site_admin=True))
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "The log is intact" in page and "signed in" in page
    first = db.session.scalar(db.select(AuditEvent.id).order_by(AuditEvent.id))
    db.session.execute(text("UPDATE audit_event SET action = 'forged' WHERE id = :id"), {"id": first})
    db.session.commit()
    assert "was altered outside the portal" in client.get("/admin/audit").get_data(as_text=True)


def test_nobody_but_site_admins_reads_the_whole_log(app, client):
    """Is the whole log closed to everyone who is not a site admin?"""
    sign_in(client, make_user())
    assert client.get("/admin/audit").status_code == 404


def test_a_refusal_waits_its_turn_while_another_worker_writes(app, client):
    """Is a refused page still a 404 with its audit entry, in an unbroken chain, when another worker is in
    the middle of writing to the log at that moment?"""
    refused_path = f"/programs/{make_program().id}"
    sign_in(client, make_user())
    writing, done = threading.Event(), threading.Event()

    def another_worker():
        with app.app_context(), write_transaction(), Session(db.engine) as session:
            audit.record("test.other_worker", session=session)  # holds the write lock / the chain's lock
            writing.set()
            done.wait(timeout=0.5)  # long enough for the refusal below to arrive while this one writes
            session.commit()

    worker = threading.Thread(target=another_worker)
    worker.start()
    assert writing.wait(timeout=30)
    try:
        assert client.get(refused_path).status_code == 404
    finally:
        done.set()
        worker.join(timeout=30)
    assert actions()[-2:] == ["test.other_worker", "access.denied"]
    assert audit.verify_chain().intact


def test_every_audited_action_has_words_on_the_audit_page():
    """Does every action the code records (each `audit.record("…")` or `audit.record_apart("…")` in portal/, and
    the template state changes) have a label, so that the audit page never shows a raw kind like
    "pair.remove"?"""
    import re
    from pathlib import Path

    from portal.domain.audit_log import ACTION_LABELS
    recorded = set()
    for source in Path(audit.__file__).parent.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        recorded |= set(re.findall(r'audit\.record(?:_apart)?\(\s*"([^"]+)"', text))
        recorded |= set(re.findall(r'_change_state\([^)]*?"([a-z_]+\.[a-z_]+)"', text))
    assert "pair.remove" in recorded and "template.retire" in recorded  # the scan finds what it looks for
    assert sorted(recorded - set(ACTION_LABELS)) == []
