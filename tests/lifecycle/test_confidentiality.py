"""The confidentiality rule across the mentorship's life: a canary planted in every pair-only channel
(a pair-only answer, meeting summaries, progress comments, learning conclusions) reaches no outsider's page,
fragment, CSV, calendar, e-mail, audit record, reminder record or log line."""
from __future__ import annotations

import logging
from datetime import timedelta

from portal.domain.reminders import send_reminders
from portal.extensions import db
from portal.models import Agreement, AgreementEvent, AuditEvent, HelpRequest, OutboxMail, SentReminder
from portal.timeutil import utctoday
from tests.factories import make_user, act_as
from tests.lifecycle.conftest import HTMX, build_world

CANARY = "CANARY-7f3a"


def test_no_pair_only_text_leaves_the_pair(app, caplog):
    """Living a whole mentorship with a canary in each pair-only channel, does the canary appear only for
    the two members?"""
    caplog.set_level(logging.DEBUG)
    world = build_world(app, "ccmc", term_start=utctoday() - timedelta(days=100), answers={
        "goals": ["Pass the exam", "Lead a case conference"],
        "meeting_period": {"option": "weekly", "other_text": ""},
        "off_limits_topics": [f"{CANARY}-field"]})
    a, pair = world.agreement, world.pair
    mentor, mentee = world.client("mentor"), world.client("mentee")
    # every pair-only channel gets the canary
    mentor.post(f"/agreements/{a.id}/meetings", data={
        "held_on": (utctoday() - timedelta(days=60)).isoformat(), "mode": "other", "other_label": "walk",
        "minutes": "50", "summary": f"{CANARY}-summary"})
    mentee.post(f"/agreements/{a.id}/progress", headers=HTMX, data={
        "status-goals:0": "achieved", "comment-goals:0": f"{CANARY}-comment",
        "status-goals:1": "in_progress", "comment-goals:1": f"{CANARY}-comment-2"})
    mentee.post(f"/pairs/{pair.id}/help", data={"message": "Please call me."})  # written to the program
    send_reminders(utctoday())                                                  # stalled, review due
    mentor.post(f"/agreements/{a.id}/review/start")
    for client in (mentor, mentee):
        client.post(f"/agreements/{a.id}/review", data={
            "outcome-goals:0": "achieved", "outcome-goals:1": "partly", "conclusion": f"{CANARY}-conclusion"})
    mentor.post(f"/agreements/{a.id}/renew", data={
        "version_id": str(a.template_version_id), "term_start": (a.term_end + timedelta(days=1)).isoformat(),
        "term_months": "3"})
    successor = db.session.scalar(db.select(Agreement).where(Agreement.predecessor_id == a.id))
    for client in (mentor, mentee):
        client.post(f"/agreements/{successor.id}/goals/confirm")
    db.session.execute(db.update(Agreement).where(Agreement.id == successor.id).values(state="active"))
    db.session.commit()
    mentee.post(f"/agreements/{successor.id}/meetings", data={
        "held_on": utctoday().isoformat(), "mode": "phone", "minutes": "20", "summary": f"{CANARY}-summary-2"})
    mentee.post(f"/agreements/{successor.id}/end", data={"reason": "fit"})
    world.program.retention_months = 1
    db.session.commit()
    send_reminders(utctoday() + timedelta(days=40))  # the retention notice

    # the members do see it (the test would prove nothing otherwise)
    assert f"{CANARY}-summary" in mentor.get(f"/pairs/{pair.id}").get_data(as_text=True)
    assert f"{CANARY}-conclusion" in mentee.get(f"/agreements/{a.id}/review").get_data(as_text=True)
    assert f"{CANARY}-field" in mentee.get(f"/agreements/{a.id}").get_data(as_text=True)
    assert f"{CANARY}-comment" in mentor.get(f"/pairs/{pair.id}/export.json").get_data(as_text=True)

    outsider_urls = [
        "/", f"/pairs/{pair.id}", f"/agreements/{a.id}", f"/agreements/{successor.id}",
        f"/agreements/{a.id}/review", f"/agreements/{a.id}/schedule.ics", f"/pairs/{pair.id}/export.json",
        f"/programs/{world.program.id}", f"/programs/{world.program.id}/dashboard",
        f"/programs/{world.program.id}/dashboard.csv", f"/programs/{world.program.id}/dashboard?state=closed",
        f"/programs/{world.program.id}/dashboard.csv?state=closed&sort=activity",
        f"/programs/{world.program.id}/audit", "/admin/audit", f"/programs/{world.program.id}/settings",
    ]
    other_admin = make_user(site_admin=True)
    viewers = {who: world.client(who) for who in ("supervisor", "other_supervisor", "admin", "site_admin", "outsider")}
    viewers["another_site_admin"] = app.test_client()
    act_as(viewers["another_site_admin"], other_admin)
    seen = 0
    for who, client in viewers.items():
        for url in outsider_urls:
            for headers in ({}, HTMX):
                response = client.get(url, headers=headers)
                assert response.status_code < 500, (who, url)
                body = response.get_data(as_text=True)
                assert CANARY not in body, f"{who} sees pair-only text at {url}"
                seen += response.status_code == 200
    assert seen > 30  # most of these pages were really shown to someone

    for mail in db.session.scalars(db.select(OutboxMail)):
        assert CANARY not in mail.subject + mail.body, f"mail {mail.kind} to {mail.to_address}"
    kinds = set(db.session.scalars(db.select(OutboxMail.kind)))
    assert {"help_requested", "closed_renewed", "closed_early", "reminder_retention"} <= kinds
    for event in db.session.scalars(db.select(AuditEvent)):
        assert CANARY not in event.action + event.detail
    for event in db.session.scalars(db.select(AgreementEvent)):
        assert CANARY not in event.kind + event.detail
    for key in db.session.scalars(db.select(SentReminder.key)):
        assert CANARY not in key
    assert CANARY not in db.session.scalar(db.select(HelpRequest.message))
    for record in caplog.records:
        assert CANARY not in record.getMessage()
