"""The pair's data export, and the retention rule's purge of pair-only content (with notice first)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from portal.domain import retention
from portal.domain.reminders import send_reminders
from portal.extensions import db
from portal.models import (
    Agreement, AuditEvent, FieldChange, FieldValue, GoalProgress, Meeting, ReviewEntry, SentReminder,
)
from portal.timeutil import utcnow, utctoday
from tests.factories import make_meeting, set_state
from tests.lifecycle.conftest import build_world

CCMC_ANSWERS = {"goals": ["Pass the CCM exam"], "meeting_period": {"option": "monthly", "other_text": ""},
                "off_limits_topics": ["PAIRONLY-topic"]}


@pytest.fixture
def lived(app):
    """A CCMC pair that met, checked in, reviewed and completed, with pair-only text in every channel."""
    world = build_world(app, "ccmc", answers=CCMC_ANSWERS, term_start=utctoday() - timedelta(days=120))
    a = world.agreement
    make_meeting(a, world.people["mentor"], held_on=utctoday() - timedelta(days=100), summary="PAIRONLY-summary")
    world.client("mentee").post(f"/agreements/{a.id}/progress",
                                data={"status-goals:0": "achieved", "comment-goals:0": "PAIRONLY-comment"})
    world.client("mentor").post(f"/agreements/{a.id}/review/start")
    for who in ("mentor", "mentee"):
        world.client(who).post(f"/agreements/{a.id}/review",
                               data={"outcome-goals:0": "achieved", "conclusion": f"PAIRONLY-conclusion-{who}"})
    world.client("mentee").post(f"/agreements/{a.id}/complete")
    assert world.refresh().state == "closed"
    return world


def test_members_download_everything_of_their_pair(lived):
    """Does the export hold the values (pair-only too), meetings with summaries, progress comments and both
    conclusions, and is the download audited without its content?"""
    response = lived.client("mentor").get(f"/pairs/{lived.pair.id}/export.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["format"] == "mentorship-pair-export" and data["mentee"]["name"] == "Nina Mentee"
    [agreement] = data["agreements"]
    values = {f["key"]: f["value"] for f in agreement["fields"]}
    assert values["off_limits_topics"] == ["PAIRONLY-topic"]
    assert agreement["meetings"][0]["summary"] == "PAIRONLY-summary"
    assert agreement["progress"][0]["comment"] == "PAIRONLY-comment"
    assert agreement["progress"][0]["status"] == "Achieved"
    assert sorted(r["conclusion"] for r in agreement["reviews"]) == ["PAIRONLY-conclusion-mentee",
                                                                     "PAIRONLY-conclusion-mentor"]
    assert agreement["closure"] == "Completed"
    exported = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "pair.exported"))
    assert exported.pair_id == lived.pair.id and "PAIRONLY" not in exported.detail


def test_other_areas_add_their_content_to_the_export(lived, monkeypatch):
    """Does an exporter registered by another area (notes, for example) add its section?"""
    monkeypatch.setattr(retention, "EXPORTERS", [])
    retention.register_exporter("notes", lambda pair: [{"pair": pair.id, "text": "a note"}])
    with pytest.raises(ValueError):
        retention.register_exporter("notes", lambda pair: [])
    data = json.loads(lived.client("mentee").get(f"/pairs/{lived.pair.id}/export.json").get_data(as_text=True))
    assert data["notes"] == [{"pair": lived.pair.id, "text": "a note"}]


def pair_only_blobs(agreement_id: int) -> list:
    db.session.expire_all()
    blobs = db.session.scalars(db.select(FieldValue.value_ct).where(FieldValue.agreement_id == agreement_id)).all()
    for change in db.session.scalars(db.select(FieldChange).where(FieldChange.agreement_id == agreement_id)):
        blobs += [change.old_ct, change.new_ct]
    blobs += db.session.scalars(db.select(Meeting.summary_ct).where(Meeting.agreement_id == agreement_id)).all()
    blobs += db.session.scalars(db.select(GoalProgress.comment_ct).where(GoalProgress.agreement_id == agreement_id)).all()
    blobs += db.session.scalars(db.select(ReviewEntry.conclusion_ct).where(ReviewEntry.agreement_id == agreement_id)).all()
    return [blob for blob in blobs if blob is not None]


def test_purge_waits_for_the_notice_then_blanks_every_pair_only_ciphertext(lived, runner, monkeypatch):
    """Past the retention, is nothing purged before both were told 30 days ahead; then are all pair-only
    ciphertexts blanked (non-pair-only content kept), registered purgers run, and an audit event without
    text recorded?"""
    a = lived.agreement
    lived.program.retention_months = 1
    set_state(a, "closed", closed_at=utcnow() - timedelta(days=90))
    purged_by_others = []
    monkeypatch.setattr(retention, "PURGERS", [])
    retention.register_purger(lambda agreement: purged_by_others.append(agreement.id) or 2)
    assert len(pair_only_blobs(a.id)) >= 5
    result = runner.invoke(args=["purge"])
    assert "0 agreement(s) purged" in result.output  # nobody was told yet
    send_reminders()
    assert "0 agreement(s) purged" in runner.invoke(args=["purge"]).output  # told, but not 30 days ago
    db.session.execute(db.update(SentReminder).values(sent_at=utcnow() - timedelta(days=31)))
    db.session.commit()
    result = runner.invoke(args=["purge"])
    assert "1 agreement(s) purged" in result.output, result.output
    assert pair_only_blobs(a.id) == []
    assert purged_by_others == [a.id]
    agreement = db.session.get(Agreement, a.id)
    assert agreement.purged_at is not None
    assert db.session.scalar(db.select(FieldValue.value_json).where(
        FieldValue.agreement_id == a.id, FieldValue.field_key == "goals")) == '["Pass the CCM exam"]'
    assert db.session.scalar(db.select(db.func.count(Meeting.id))) == 1  # the meeting itself stays
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "agreement.pair_content_purged"))
    assert event.pair_id == lived.pair.id and f'"agreement_id": {a.id}' in event.detail
    assert '"rows"' in event.detail and "PAIRONLY" not in event.detail
    assert "0 agreement(s) purged" in runner.invoke(args=["purge"]).output  # once
    page = lived.client("mentor").get(f"/pairs/{lived.pair.id}").get_data(as_text=True)
    assert "deleted on" in page and "retention rule" in page
    assert "PAIRONLY" not in page


def test_no_retention_setting_keeps_everything(lived, runner):
    """With no retention set (the default), is nothing ever purged or announced?"""
    set_state(lived.agreement, "closed", closed_at=utcnow() - timedelta(days=3650))
    assert send_reminders()["retention"] == 0
    assert "0 agreement(s) purged" in runner.invoke(args=["purge"]).output
    assert len(pair_only_blobs(lived.agreement.id)) >= 5


def test_an_open_agreement_is_never_purged(app):
    """Is an agreement that is not closed refused by the purge itself?"""
    world = build_world(app)
    with pytest.raises(ValueError):
        retention.purge_agreement(world.agreement)


def test_the_notebook_is_exported_and_purged_with_the_pair(lived, runner):
    """Are the pair's notes in their JSON export, and deleted when the pair's last agreement is purged?"""
    from portal.models import Note
    from tests.factories import make_note
    make_note(lived.pair, lived.people["mentor"], "PAIRONLY-note")
    data = json.loads(lived.client("mentee").get(f"/pairs/{lived.pair.id}/export.json").get_data(as_text=True))
    assert [note["text"] for note in data["notes"]] == ["PAIRONLY-note"]
    lived.program.retention_months = 1
    set_state(lived.agreement, "closed", closed_at=utcnow() - timedelta(days=90))
    send_reminders()
    db.session.execute(db.update(SentReminder).values(sent_at=utcnow() - timedelta(days=31)))
    db.session.commit()
    assert "1 agreement(s) purged" in runner.invoke(args=["purge"]).output
    assert db.session.scalar(db.select(db.func.count(Note.id))) == 0
