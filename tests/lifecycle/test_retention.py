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
    return live_until_closed(world, "PAIRONLY")


def live_until_closed(world, marker: str):
    """Meet, check in, review and complete the world's active agreement, with `marker` in every pair-only text."""
    a = world.agreement
    make_meeting(a, world.people["mentor"], held_on=utctoday() - timedelta(days=100), summary=f"{marker}-summary")
    world.client("mentee").post(f"/agreements/{a.id}/progress",
                                data={"status-goals:0": "achieved", "comment-goals:0": f"{marker}-comment"})
    world.client("mentor").post(f"/agreements/{a.id}/review/start")
    for who in ("mentor", "mentee"):
        world.client(who).post(f"/agreements/{a.id}/review",
                               data={"outcome-goals:0": "achieved", "conclusion": f"{marker}-conclusion-{who}"})
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
    # A purger returns the rows it changed: 2 the first time, none once they are blank.
    retention.register_purger(lambda agreement: purged_by_others.append(agreement.id) or (
        2 if len(purged_by_others) == 1 else 0))
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


# --- a signed agreement, purged: nothing pair-only is left in any table ----------------------------------------

CANARY = "CANARY-retention-xyz"


def database_text_holding(needle: str) -> list[str]:
    """Where the raw database holds `needle`: every column of every table read as text (binary columns as
    bytes, PDFs as their text), and every encrypted column decrypted with the portal's keys (as someone holding
    both the database and the keys would read it)."""
    from portal import crypto
    from tests.signing.conftest import pdf_text
    db.session.expire_all()
    found = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(db.select(table)).mappings():
            for column, value in row.items():
                if isinstance(value, (bytes, bytearray, memoryview)):
                    raw = bytes(value)
                    text = pdf_text(raw) if raw.startswith(b"%PDF-") else raw.decode("utf-8", errors="replace")
                else:
                    text = "" if value is None else str(value)
                if needle in text:
                    found.append(f"{table.name}.{column} (row {row.get('id')})")
    for encrypted in crypto.ENCRYPTED_COLUMNS:
        for row in db.session.scalars(db.select(encrypted.model)):
            blob = getattr(row, encrypted.attribute)
            if blob:
                if needle in crypto.decrypt(bytes(blob), encrypted.aad(row)):
                    found.append(f"{encrypted.model.__tablename__}.{encrypted.attribute} (row {row.id}, decrypted)")
    return found


@pytest.fixture
def signed_and_lived(app):
    """A CCMC pair that declined once, then signed (real signatures, signed version, PDF copy mailed), met,
    checked in, reviewed, completed, and kept a note: the canary in every pair-only place."""
    from portal.domain import signing
    from tests.factories import PASSWORD, fill_in, make_note, sign_as
    world = build_world(app, "ccmc", answers={**CCMC_ANSWERS, "off_limits_topics": [f"{CANARY}-topic"]},
                        state="draft", term_start=utctoday() - timedelta(days=120))
    a = world.agreement
    fill_in(a, {"off_limits_topics": [f"{CANARY}-topic"]})
    signing.decline(a, world.people["mentor"], "mentor", f"{CANARY}-decline", "192.0.2.1", "agent")
    db.session.commit()
    for who in ("mentor", "mentee"):
        assert sign_as(world.refresh(), world.people[who], PASSWORD)
    assert world.refresh().state == "active"
    live_until_closed(world, CANARY)
    make_note(world.pair, world.people["mentee"], f"{CANARY}-note")
    return world


def purge_now(world, runner) -> None:
    world.program.retention_months = 1
    set_state(world.agreement, "closed", closed_at=utcnow() - timedelta(days=90))
    send_reminders()
    db.session.execute(db.update(SentReminder).values(sent_at=utcnow() - timedelta(days=31)))
    db.session.commit()
    assert "1 agreement(s) purged" in runner.invoke(args=["purge"]).output


def test_after_the_purge_no_table_holds_pair_only_text(signed_and_lived, runner):
    """Does the purge leave no pair-only canary anywhere in the database (every table and column as text, every
    ciphertext decrypted): not in the signed version's pair-only part, the live values and their history, the
    meetings, progress, reviews, the decline reason, the notebook or the outbox; while the signature records,
    their hash and the signed version's program part stay?"""
    world = signed_and_lived
    from portal.domain import signing
    before = database_text_holding(CANARY)
    assert any(place.startswith("signed_version.pair_only_ct") for place in before), before
    hash_before = signing.signed_version(world.agreement, 1).content_hash
    program_part = signing.signed_version(world.agreement, 1).content_json
    purge_now(world, runner)
    assert database_text_holding(CANARY) == []
    version = signing.signed_version(world.refresh(), 1)
    assert version.content_hash == hash_before and version.content_json == program_part
    assert [row.content_hash for row in signing.version_signatures(version)] == [hash_before] * 2
    rotated = runner.invoke(args=["rotate-keys"])  # a purged (empty) part is no ciphertext to re-encrypt
    assert rotated.exit_code == 0, rotated.output


def test_after_the_purge_the_signed_version_still_shows_and_says_what_was_deleted(signed_and_lived, runner):
    """After the purge, do the agreement page, the pair page and the signed version's page still work for the
    pair and the program, say that the pair-only part was deleted on that date under the program's retention
    setting (and never that the content was tampered with), does the program's copy still download, the pair's
    copy explain why it is gone, and does the hash still check out?"""
    world = signed_and_lived
    purge_now(world, runner)
    a = world.refresh()
    day = a.purged_at.strftime("%d %B %Y")
    for who in ("mentor", "admin"):
        client = world.client(who)
        for url in (f"/agreements/{a.id}", f"/agreements/{a.id}/versions/1", f"/pairs/{world.pair.id}"):
            response = client.get(url)
            page = response.get_data(as_text=True)
            assert response.status_code == 200, (who, url)
            assert "no longer matches" not in page and "does not match" not in page, (who, url)
            assert CANARY not in page, (who, url)
        version_page = client.get(f"/agreements/{a.id}/versions/1").get_data(as_text=True)
        assert "pair-only part" in version_page and day in version_page and "retention" in version_page, who
        program_copy = client.get(f"/agreements/{a.id}/versions/1/program-copy.pdf")
        assert program_copy.status_code == 200 and program_copy.mimetype == "application/pdf", who
    gone = world.client("mentor").get(f"/agreements/{a.id}/versions/1/pair-copy.pdf")
    body = gone.get_data(as_text=True)
    assert gone.status_code == 410 and day in body and "retention" in body and CANARY not in body
    from portal.domain import verification
    assert verification._look_up(signing_hash(a)).intact


def signing_hash(agreement) -> str:
    from portal.domain import signing
    return signing.signed_version(agreement, 1).content_hash


def test_a_note_written_after_the_purge_is_deleted_by_the_next_run(lived, runner):
    """Once a closed pair's content was purged, is a note written afterwards (the pair keeps its notebook)
    deleted by the next run of the purge (its retention period has passed and both were told), is the notebook
    saying so while it waits, and is that run audited without the text?"""
    from portal.models import Note
    from tests.factories import make_note
    lived.program.retention_months = 1
    set_state(lived.agreement, "closed", closed_at=utcnow() - timedelta(days=90))
    send_reminders()
    db.session.execute(db.update(SentReminder).values(sent_at=utcnow() - timedelta(days=31)))
    db.session.commit()
    assert "1 agreement(s) purged" in runner.invoke(args=["purge"]).output
    make_note(lived.pair, lived.people["mentee"], "PAIRONLY-written-after-the-purge")
    notebook = lived.client("mentee").get(f"/pairs/{lived.pair.id}/notes").get_data(as_text=True)
    assert "deleted on" in notebook and "next" in notebook and "retention" in notebook
    result = runner.invoke(args=["purge"])
    assert "1 agreement(s) purged" in result.output, result.output
    assert db.session.scalar(db.select(db.func.count(Note.id))) == 0
    events = db.session.scalars(db.select(AuditEvent).where(
        AuditEvent.action == "agreement.pair_content_purged")).all()
    assert len(events) == 2 and all("PAIRONLY" not in event.detail for event in events)
    assert "0 agreement(s) purged" in runner.invoke(args=["purge"]).output  # nothing new: nothing to do


def test_the_export_says_every_text_it_cannot_decrypt(app):
    """When the key of the pair's content is no longer configured, does the export say of every encrypted text
    (summaries, comments, conclusions, planned places, changed answers) that it cannot be decrypted, instead of a
    silent null, and never show a part of the ciphertext?"""
    import base64

    from portal.domain.planned_meetings import PlanInput, plan_meeting
    world = build_world(app, "ccmc", answers=CCMC_ANSWERS, term_start=utctoday() - timedelta(days=120))
    plan_meeting(world.agreement, world.people["mentor"],
                 PlanInput(on=(utctoday() + timedelta(days=3)).isoformat(), at="17:30", place="PAIRONLY-place"))
    db.session.commit()
    live_until_closed(world, "PAIRONLY")
    app.config["DATA_KEYS"] = "other:" + base64.urlsafe_b64encode(bytes([9]) * 32).decode()
    body = world.client("mentee").get(f"/pairs/{world.pair.id}/export.json").get_data(as_text=True)
    [agreement] = json.loads(body)["agreements"]
    undecryptable = "This text cannot be decrypted with the portal's keys."
    texts = ([(m, "summary") for m in agreement["meetings"]] + [(p, "place") for p in agreement["planned_meetings"]]
             + [(p, "comment") for p in agreement["progress"]] + [(r, "conclusion") for r in agreement["reviews"]]
             + [(h, "new") for h in agreement["history"] if h["field"] == "off_limits_topics"])
    assert {name for _, name in texts} == {"summary", "place", "comment", "conclusion", "new"}
    for entry, name in texts:
        assert entry[name] is None and entry["cannot_be_decrypted"] == undecryptable, (name, entry)
    assert "PAIRONLY" not in body and "test1" not in body
