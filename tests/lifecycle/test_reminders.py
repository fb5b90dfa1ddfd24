"""Reminders from `flask send-reminders`: each kind at the right moment, to the right people, never twice."""
from __future__ import annotations

from datetime import date, datetime

from portal.domain.reminders import send_reminders
from portal.extensions import db
from portal.models import AgreementEvent, OutboxMail, SentReminder
from tests.factories import make_meeting, outbox, set_state
from tests.lifecycle.conftest import build_world

START = date(2026, 1, 5)  # three-month term: 5 January to 4 April 2026


def reminder_mails(kind=None):
    db.session.expire_all()
    mails = db.session.scalars(db.select(OutboxMail).where(OutboxMail.kind.like("reminder_%"))
                               .order_by(OutboxMail.id)).all()
    return [mail for mail in mails if kind is None or mail.kind == f"reminder_{kind}"]


def test_term_ending_goes_to_both_once(app):
    """Fourteen days before the term ends, are both members told once, however often cron runs?"""
    world = build_world(app, term_start=START)
    assert send_reminders(date(2026, 3, 20))["term_ending"] == 0  # 15 days before: not yet
    assert send_reminders(date(2026, 3, 21))["term_ending"] == 1
    assert send_reminders(date(2026, 3, 21))["term_ending"] == 0
    assert send_reminders(date(2026, 3, 25))["term_ending"] == 0
    mails = reminder_mails("term_ending")
    assert sorted(mail.to_address for mail in mails) == sorted(
        [world.people["mentor"].email, world.people["mentee"].email])
    assert "ends on\n04 April 2026, in 14 days" in mails[0].body
    assert db.session.scalars(db.select(SentReminder.key).where(SentReminder.kind == "term_ending")).all() == [
        f"term_ending:{world.agreement.id}:2026-04-04"]


def test_running_twice_the_same_day_sends_nothing_twice(app, runner):
    """Does the CLI, run twice in a day with every kind of reminder due, queue each mail exactly once?"""
    build_world(app, term_start=START)                                        # review due (ended)
    build_world(app, term_start=date(2026, 3, 20))                            # ending soon, stalled
    signing = build_world(app, state="signing", term_start=date(2026, 6, 1))  # waiting for signature
    signing.agreement.updated_at = datetime(2026, 4, 1, 9, 0)
    db.session.commit()
    first = runner.invoke(args=["send-reminders", "--today", "2026-04-20"])
    assert first.exit_code == 0, first.output
    count = len(reminder_mails())
    assert count >= 6 and "reminder(s) queued" in first.output
    second = runner.invoke(args=["send-reminders", "--today", "2026-04-20"])
    assert "0 reminder(s) queued" in second.output
    assert len(reminder_mails()) == count
    keys = db.session.scalars(db.select(SentReminder.key)).all()
    assert len(keys) == len(set(keys))


def test_review_due_after_the_term(app):
    """Once the term has ended on an active agreement, are both told to review, once?"""
    build_world(app, term_start=START)
    assert send_reminders(date(2026, 4, 5))["review_due"] == 1
    assert send_reminders(date(2026, 4, 12))["review_due"] == 0
    assert "It is time to review it together" in reminder_mails("review_due")[0].body


def test_signature_waiting_uses_the_first_signature_and_reminds_who_has_not_signed(app):
    """With the mentor's signature 7 days old, is only the member who has not signed reminded (and before that,
    nobody)?"""
    from portal.models import AgreementSignature
    world = build_world(app, state="signing", term_start=date(2026, 6, 1))
    signed_at = datetime(2026, 5, 1, 15, 0)
    db.session.add(AgreementEvent(agreement_id=world.agreement.id, kind="signed",
                                  actor_id=world.people["mentor"].id, at=signed_at))
    db.session.add(AgreementSignature(agreement_id=world.agreement.id, revision=world.agreement.revision,
                                      role="mentor", user_id=world.people["mentor"].id, outcome="signed",
                                      printed_name="Maria Mentor", at=signed_at, content_hash="0" * 64,
                                      template_version_id=world.agreement.template_version_id))
    db.session.commit()
    assert send_reminders(date(2026, 5, 7))["signature_waiting"] == 0  # six days
    assert send_reminders(date(2026, 5, 8))["signature_waiting"] == 1
    [mail] = reminder_mails("signature_waiting")
    assert mail.to_address == world.people["mentee"].email and "since 01 May 2026" in mail.body
    assert send_reminders(date(2026, 5, 9))["signature_waiting"] == 0


def test_signature_waiting_without_events_uses_the_last_change(app):
    """Without signature events, is the agreement's last change the start of the wait, and both reminded?"""
    world = build_world(app, state="signing", term_start=date(2026, 6, 1))
    world.agreement.updated_at = datetime(2026, 5, 1, 8, 0)
    db.session.commit()
    send_reminders(date(2026, 5, 8))
    assert len(reminder_mails("signature_waiting")) == 2


def test_no_meeting_for_the_programs_period_reminds_once_per_period(app):
    """With the program's stall_days, is a pair with no meeting reminded once per period, and not after it
    logs a meeting?"""
    world = build_world(app, term_start=START)
    world.program.stall_days = 20
    db.session.commit()
    assert send_reminders(date(2026, 1, 24))["stalled"] == 0
    assert send_reminders(date(2026, 1, 25))["stalled"] == 1
    assert send_reminders(date(2026, 2, 1))["stalled"] == 0
    assert send_reminders(date(2026, 2, 14))["stalled"] == 1  # a second period without a meeting
    make_meeting(world.agreement, world.people["mentee"], held_on=date(2026, 2, 14))
    assert send_reminders(date(2026, 2, 20))["stalled"] == 0
    assert send_reminders(date(2026, 3, 6))["stalled"] == 1
    body = reminder_mails("stalled")[-1].body
    assert "was on 14 February 2026, 20 days ago" in body


def test_retention_notice_thirty_days_before_the_purge(app):
    """When the program purges after N months, are both members told 30 days before, with the export link?"""
    world = build_world(app, term_start=START)
    world.program.retention_months = 6
    set_state(world.agreement, "closed", closure_kind="completed", closed_at=datetime(2026, 4, 10, 12, 0))
    assert send_reminders(date(2026, 9, 9))["retention"] == 0
    assert send_reminders(date(2026, 9, 10))["retention"] == 1
    mails = reminder_mails("retention")
    assert len(mails) == 2 and f"/pairs/{world.pair.id}/export.json" in mails[0].body
    assert "on or after 10 October 2026" in mails[0].body
    assert send_reminders(date(2026, 9, 11))["retention"] == 0


def test_closed_and_draft_agreements_get_no_term_reminders(app):
    """Are closed and draft agreements left alone by the term, review and stall reminders?"""
    build_world(app, state="draft", term_start=START)
    closed = build_world(app, term_start=START)
    set_state(closed.agreement, "closed", closure_kind="early", closed_at=datetime(2026, 2, 1))
    sent = send_reminders(date(2026, 4, 20))
    assert sent["term_ending"] == sent["review_due"] == sent["stalled"] == 0
    assert outbox() == [] or all(not mail.kind.startswith("reminder_") for mail in outbox())


def test_a_deactivated_member_gets_no_reminders(app):
    """Is a deactivated account left out of reminders while the partner still gets theirs?"""
    world = build_world(app, term_start=START)
    world.people["mentor"].is_deactivated = True
    db.session.commit()
    send_reminders(date(2026, 3, 21))
    assert [mail.to_address for mail in reminder_mails("term_ending")] == [world.people["mentee"].email]


def test_a_share_waiting_for_approval_reminds_the_other_member_once(app):
    """Is the member who has not approved a note share reminded after two days, once, without the note?"""
    from portal.models import NoteShare
    from tests.factories import make_note, make_share
    world = build_world(app, term_start=START)
    note = make_note(world.pair, world.people["mentor"], "SECRET-NOTE-TEXT")
    share = make_share(note, "reader@example.org", approve=False)
    db.session.get(NoteShare, share.id).proposed_at = datetime(2026, 3, 1, 9, 0)
    db.session.commit()
    assert send_reminders(date(2026, 3, 2))["share_waiting"] == 0  # one day
    assert send_reminders(date(2026, 3, 3))["share_waiting"] == 1
    assert send_reminders(date(2026, 3, 4))["share_waiting"] == 0
    [mail] = reminder_mails("share_waiting")
    assert mail.to_address == world.people["mentee"].email
    assert "SECRET-NOTE-TEXT" not in mail.body and "reader@example.org" not in mail.body
