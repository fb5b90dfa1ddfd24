"""A program admin changes a pair after creating it: supervisors (one pair, or many from the dashboard), the term
and the template of a pair that nothing is signed for yet, removal of a pair created by mistake; and a pair whose
mentorship closed can be paired again."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from portal.domain import retention
from portal.domain.reminders import send_reminders
from portal.domain.template_format import parse_definition
from portal.domain.template_store import create_template, new_draft_version, publish, remove_field
from portal.extensions import db
from portal.models import (
    Agreement, AuditEvent, FieldChange, FieldValue, Note, NoteShare, OutboxMail, Pair, PairSupervisor,
)
from portal.timeutil import utcnow
from tests.factories import (
    act_as, delivered, fill_in, make_agreement, make_note, make_pair, make_program, make_role, make_share, make_user,
    make_version, set_state, sign_as,
)

SECRET = "SECRET-off-limits-topic"
CCMC_ANSWERS = {"goals": ["Pass the CCM exam"], "cancellation_notice": "24 hours ahead",
                "off_limits_topics": [SECRET]}


class Setup:
    def __init__(self, client):
        self.client = client
        self.program = make_program(name="Harbour Mentoring", code="HARB")
        self.admin = make_user(name="Ada Admin")
        make_role(self.admin, self.program, "admin")
        self.supervisor = make_user(name="Sam Supervisor")
        make_role(self.supervisor, self.program, "supervisor")
        self.version = make_version(self.program, "ccmc")
        self.mentor, self.mentee = make_user(name="Mia Mentor"), make_user(name="Ned Mentee")
        self.pair = make_pair(self.program, self.mentor, self.mentee)
        self.agreement = make_agreement(self.pair, self.version)
        act_as(client, self.admin)

    def url(self, tail: str = "", pair: Pair | None = None) -> str:
        return f"/programs/{self.program.id}/pairs/{(pair or self.pair).id}{tail}"

    def refresh(self) -> Agreement:
        db.session.expire_all()
        return db.session.get(Agreement, self.agreement.id)


@pytest.fixture
def s(app, client) -> Setup:
    return Setup(client)


def audit_actions(pair_id: int) -> list[str]:
    return db.session.scalars(db.select(AuditEvent.action).where(AuditEvent.pair_id == pair_id)
                              .order_by(AuditEvent.id)).all()


def person_client(app, user):
    other = app.test_client()
    act_as(other, user)
    return other


def second_version(program_version, *removed: str):
    """A newer published version of the same template without the fields `removed`."""
    draft = new_draft_version(program_version.template, None)
    for key in removed:
        remove_field(draft, None, key)
    publish(draft, None)
    db.session.commit()
    return draft


# --- supervisors ---------------------------------------------------------------------------------------------

def test_admin_assigns_and_unassigns_a_supervisor_and_the_supervisor_view_follows(app, s):
    """Does assigning a supervisor on the pair's page open the pair to them at once, and unassigning close it
    again (a 404), each change audited?"""
    watcher = person_client(app, s.supervisor)
    assert watcher.get(f"/pairs/{s.pair.id}").status_code == 404
    page = s.client.get(s.url()).get_data(as_text=True)
    assert "Sam Supervisor" in page and "Assign the supervisor" in page

    response = s.client.post(s.url("/supervisors"), data={"supervisor": s.supervisor.id})
    assert response.status_code == 303
    assert "Sam Supervisor now supervises Mia Mentor and Ned Mentee." in s.client.get(
        response.headers["Location"]).get_data(as_text=True)
    assert watcher.get(f"/pairs/{s.pair.id}").status_code == 200
    assert "Mia Mentor" in watcher.get("/").get_data(as_text=True)

    response = s.client.post(s.url(f"/supervisors/{s.supervisor.id}/unassign"))
    assert response.status_code == 303
    assert "Sam Supervisor no longer supervises" in s.client.get(response.headers["Location"]).get_data(as_text=True)
    assert watcher.get(f"/pairs/{s.pair.id}").status_code == 404
    assert watcher.get(f"/agreements/{s.agreement.id}").status_code == 404
    assert audit_actions(s.pair.id)[-2:] == ["pair.supervisor_assign", "pair.supervisor_unassign"]


def test_only_a_supervisor_of_the_program_can_be_assigned(s):
    """Is someone who holds no supervisor role in this program (a supervisor elsewhere, or nobody) refused next
    to the field, with nothing assigned?"""
    elsewhere = make_user(name="Olga Elsewhere")
    make_role(elsewhere, make_program(code="ELSE"), "supervisor")
    for person_id in (elsewhere.id, s.mentor.id, 999999):
        response = s.client.post(s.url("/supervisors"), data={"supervisor": person_id})
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "Choose one of the supervisors of Harbour Mentoring." in page
    assert db.session.scalar(db.select(db.func.count(PairSupervisor.id))) == 0


def test_admin_assigns_one_supervisor_to_many_pairs_from_the_dashboard(app, s):
    """Can the admin select pairs on the dashboard and assign (then unassign) one supervisor to all of them at
    once, with pairs of other programs ignored?"""
    second = make_pair(s.program, make_user(name="Ola Mentor"), make_user(name="Pia Mentee"))
    make_agreement(second, s.version)
    foreign = make_pair(make_program(code="FRGN"))
    dashboard = s.client.get(f"/programs/{s.program.id}/dashboard").get_data(as_text=True)
    assert 'form="bulk-supervisors"' in dashboard and "Assign to selected pairs" in dashboard

    response = s.client.post(f"/programs/{s.program.id}/pairs/supervisors", data={
        "pair_ids": [s.pair.id, second.id, foreign.id], "supervisor": s.supervisor.id, "change": "assign",
        "back": "state=draft"})
    assert response.status_code == 303 and "state=draft" in response.headers["Location"]
    assert "Sam Supervisor now supervises 2 pairs." in s.client.get(response.headers["Location"]).get_data(
        as_text=True)
    watcher = person_client(app, s.supervisor)
    board = watcher.get(f"/programs/{s.program.id}/dashboard").get_data(as_text=True)
    assert "Mia Mentor" in board and "Ola Mentor" in board and 'form="bulk-supervisors"' not in board
    assert not db.session.scalar(db.select(PairSupervisor.id).where(PairSupervisor.pair_id == foreign.id))

    response = s.client.post(f"/programs/{s.program.id}/pairs/supervisors", data={
        "pair_ids": [second.id], "supervisor": s.supervisor.id, "change": "unassign"})
    assert "Sam Supervisor no longer supervises 1 pair." in s.client.get(response.headers["Location"]).get_data(
        as_text=True)
    assert watcher.get(f"/pairs/{second.id}").status_code == 404
    assert watcher.get(f"/pairs/{s.pair.id}").status_code == 200
    response = s.client.post(f"/programs/{s.program.id}/pairs/supervisors",
                             data={"supervisor": s.supervisor.id, "change": "assign"})
    assert "Select at least one pair." in s.client.get(response.headers["Location"]).get_data(as_text=True)
    response = s.client.post(f"/programs/{s.program.id}/pairs/supervisors",
                             data={"pair_ids": ["x"], "supervisor": s.supervisor.id, "change": "assign"})
    assert "Nothing changed: choose a supervisor and tick at least one pair" in s.client.get(
        response.headers["Location"]).get_data(as_text=True)


def test_the_audit_page_tells_supervisor_changes_in_words_naming_the_supervisor_once(s):
    """Does the program's audit page say "assigned a supervisor to a pair" and "supervisor: Sam Supervisor"
    (once, not again as "no. 4"), rather than the raw kind pair.supervisor_assign?"""
    s.client.post(s.url("/supervisors"), data={"supervisor": s.supervisor.id})
    s.client.post(s.url(f"/supervisors/{s.supervisor.id}/unassign"))
    page = s.client.get(f"/programs/{s.program.id}/audit").get_data(as_text=True)
    assert "pair.supervisor_assign" not in page and "pair.supervisor_unassign" not in page
    assert "assigned a supervisor to a pair" in page and "unassigned a supervisor from a pair" in page
    assert page.count("supervisor: Sam Supervisor") == 2
    assert f"supervisor: no. {s.supervisor.id}" not in page


def test_a_huge_pair_id_in_the_bulk_supervisor_form_is_treated_as_no_such_pair(s):
    """Does ticking a pair id beyond any id column (or a negative one) change nothing and say so, never a 500?"""
    for bad in ("99999999999999999999", str(2**31), "-1"):
        response = s.client.post(f"/programs/{s.program.id}/pairs/supervisors", data={
            "pair_ids": [bad], "supervisor": s.supervisor.id, "change": "assign"})
        assert response.status_code == 303, bad
        assert "Select at least one pair." in s.client.get(response.headers["Location"]).get_data(as_text=True)
    response = s.client.post(f"/programs/{s.program.id}/pairs/supervisors", data={
        "pair_ids": [s.pair.id, "99999999999999999999"], "supervisor": s.supervisor.id, "change": "assign"})
    assert "Sam Supervisor now supervises 1 pair." in s.client.get(response.headers["Location"]).get_data(
        as_text=True)
    response = s.client.post(f"/programs/{s.program.id}/pairs/supervisors", data={
        "pair_ids": [s.pair.id], "supervisor": "99999999999999999999", "change": "unassign"})
    assert response.status_code == 303
    assert db.session.scalar(db.select(PairSupervisor.id).where(PairSupervisor.pair_id == s.pair.id))


# --- the term ------------------------------------------------------------------------------------------------

def test_admin_changes_the_term_of_an_unsigned_pair_and_both_are_told(s):
    """Does a new term start and length apply to the agreement (and its term field), get audited, and reach both
    members by e-mail without any pair-only text?"""
    fill_in(s.agreement, CCMC_ANSWERS, required=False)
    response = s.client.post(s.url("/term"), data={"term_start": "2026-03-02", "term_months": "6"})
    assert response.status_code == 303
    assert "The term is now 6 months from 02 March 2026 to 01 September 2026." in s.client.get(
        response.headers["Location"]).get_data(as_text=True)
    agreement = s.refresh()
    assert (agreement.term_start, agreement.term_months, agreement.term_end) == (
        date(2026, 3, 2), 6, date(2026, 9, 1))
    assert db.session.scalar(db.select(FieldValue.value_json).where(
        FieldValue.agreement_id == agreement.id, FieldValue.field_key == "term_months")) == "6"
    assert "pair.term_change" in audit_actions(s.pair.id)
    mails = delivered("pair_term_changed")
    assert sorted(mail.to_address for mail in mails) == sorted([s.mentor.email, s.mentee.email])
    assert all("02 March 2026" in mail.body and SECRET not in mail.body for mail in mails)


def test_a_bad_term_is_explained_next_to_its_field_and_changes_nothing(s):
    """Is a term outside the template's limits, or a date that is not one, refused with 422 next to the field?"""
    response = s.client.post(s.url("/term"), data={"term_start": "2026-03-02", "term_months": "999"})
    assert response.status_code == 422 and "Choose a term from" in response.get_data(as_text=True)
    response = s.client.post(s.url("/term"), data={"term_start": "soon", "term_months": "6"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Enter the first day of the term" in page and 'aria-invalid="true"' in page
    assert s.refresh().term_start == date(2026, 1, 5)


def test_the_term_cannot_change_once_anyone_signed(s):
    """Once one member has signed, is a term change refused with a clear message, and nothing changed?"""
    fill_in(s.agreement, CCMC_ANSWERS)
    sign_as(s.agreement, s.mentor)
    page = s.client.get(s.url()).get_data(as_text=True)
    assert "Mia Mentor signed this pair's agreement" in page and "Change the term" not in page
    response = s.client.post(s.url("/term"), data={"term_start": "2026-03-02", "term_months": "6"})
    assert response.status_code == 422
    assert "Changing the term is no longer possible: Mia Mentor signed this pair&#39;s agreement." in \
        response.get_data(as_text=True)
    assert s.refresh().term_start == date(2026, 1, 5)


# --- the template --------------------------------------------------------------------------------------------

def test_moving_to_another_template_keeps_matching_answers_and_pair_only_ones_stay_the_pairs(app, s):
    """Is the admin told, before confirming, which answers (by label) the move drops; after it, are matching
    answers kept, a pair-only answer still encrypted and read back by the pair, and never shown to the admin,
    the mail or the audit log?"""
    fill_in(s.agreement, CCMC_ANSWERS, required=False)
    newer = second_version(s.version, "cancellation_notice")
    secret_blob = db.session.scalar(db.select(FieldValue.value_ct).where(
        FieldValue.agreement_id == s.agreement.id, FieldValue.field_key == "off_limits_topics"))
    page = s.client.get(s.url()).get_data(as_text=True)
    assert "See what moving keeps" in page and f"(version {newer.number})" in page

    preview = s.client.get(s.url(f"/template?version_id={newer.id}"))
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "1 answer will be dropped" in text and "4. If one of us cannot meet" in text
    assert "Issues that are off limits" in text  # kept: named, never shown
    assert SECRET not in text and "24 hours ahead" not in text
    assert s.refresh().template_version_id == s.version.id  # nothing changed yet

    response = s.client.post(s.url("/template"), data={"version_id": newer.id})
    assert response.status_code == 303
    done = s.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The agreement now uses" in done and SECRET not in done
    agreement = s.refresh()
    assert agreement.template_version_id == newer.id
    rows = dict(db.session.execute(db.select(FieldValue.field_key, FieldValue.value_json).where(
        FieldValue.agreement_id == agreement.id)).all())
    assert "cancellation_notice" not in rows and rows["goals"] == '["Pass the CCM exam"]'
    assert rows["off_limits_topics"] is None
    assert db.session.scalar(db.select(FieldValue.value_ct).where(
        FieldValue.agreement_id == agreement.id, FieldValue.field_key == "off_limits_topics")) == secret_blob
    assert SECRET in person_client(app, s.mentee).get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert SECRET not in s.client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    mails = delivered("pair_template_changed")
    assert len(mails) == 2 and all("4. If one of us cannot meet" in m.body and SECRET not in m.body for m in mails)
    events = db.session.scalars(db.select(AuditEvent.detail).where(AuditEvent.action == "pair.template_change")).all()
    assert len(events) == 1 and SECRET not in events[0] and "If one of us cannot meet" in events[0]


def test_a_dropped_pair_only_answer_is_named_by_its_label_only(s):
    """When the new template no longer asks a pair-only question, is the admin told that its answer would be
    dropped, by label, without ever seeing it?"""
    fill_in(s.agreement, CCMC_ANSWERS, required=False)
    newer = second_version(s.version, "off_limits_topics")
    text = s.client.get(s.url(f"/template?version_id={newer.id}")).get_data(as_text=True)
    assert "Issues that are off limits" in text and "not in the new template" in text
    assert SECRET not in text


def small_template(program, name: str, moods=("crisis", "fine"), worry_max: int = 40, plan_pair_only: bool = False):
    """A published template with two pair-only questions (a choice and a short text) and one shared one."""
    data = {
        "format": "mentorship-agreement-template", "format_version": 1, "name": name,
        "title": "Agreement of {program_name}", "intro": "",
        "sections": [
            {"key": "ours", "title": "Ours", "intro": "", "fields": [
                {"key": "term_months", "type": "number", "label": "Meet for ____ months.", "min": 1, "max": 24,
                 "suggested": 3, "unit": "months", "required": True},
                {"key": "mood", "type": "choice", "label": "How things stand", "pair_only": True,
                 "options": [{"value": mood, "label": mood} for mood in moods]},
                {"key": "worry", "type": "short_text", "label": "What worries us", "pair_only": True,
                 "max_length": worry_max},
                {"key": "plan", "type": "short_text", "label": "Our plan", "pair_only": plan_pair_only},
            ]},
            {"key": "signing", "title": "Signatures", "intro": "", "fields": [{"key": "signatures",
                                                                               "type": "signatures"}]},
        ],
    }
    return publish(create_template(program, parse_definition(data), None), None)


def move_preview(s, pair, version) -> str:
    """What the preview tells the admin (from the heading to the confirmation form)."""
    text = s.client.get(s.url(f"/template?version_id={version.id}", pair=pair)).get_data(as_text=True)
    return text.split("<h1>", 1)[1].split("<form", 1)[0]


CRISIS = {"mood": {"option": "crisis", "other_text": ""}, "worry": "We fear the placement is failing badly"}
FINE = {"mood": {"option": "fine", "other_text": ""}, "worry": "Nothing much"}
NOTHING = {"mood": None, "worry": None}


def test_a_move_preview_never_depends_on_what_a_pair_only_answer_says_or_whether_there_is_one(s):
    """Can an admin learn a confidential answer by previewing moves to templates they wrote (choices {crisis}
    against {fine}, a shorter maximum length)? Is every preview the same whatever the pair typed, or left
    empty, with the fields whose confidential answer would be cleared named by label?"""
    source = small_template(s.program, "Source")
    targets = [small_template(s.program, "Crisis only", moods=("crisis",)),
               small_template(s.program, "Fine only", moods=("fine",)),
               small_template(s.program, "Short worries", worry_max=20)]
    db.session.commit()
    pair = make_pair(s.program, make_user(name="Kim Mentor"), make_user(name="Lou Mentee"))
    agreement = make_agreement(pair, source)
    previews = {}
    for answers in (CRISIS, FINE, NOTHING):
        fill_in(agreement, answers, required=False)
        previews[answers["worry"]] = [move_preview(s, pair, target) for target in targets]
    assert previews[CRISIS["worry"]] == previews[FINE["worry"]] == previews[None]
    crisis_only, fine_only, short = previews[None]
    for page in (crisis_only, fine_only):
        assert "How things stand (a confidential answer, if any, will be cleared" in page
        assert "What worries us" in page.split("Kept:")[1]
    assert "What worries us (a confidential answer, if any, will be cleared" in short
    assert "How things stand" in short.split("Kept:")[1]
    for page in previews[None]:
        assert "crisis" not in page.lower().replace("crisis only", "") and "failing" not in page


def test_an_empty_and_a_filled_pair_only_answer_are_moved_alike_in_audit_and_mail(s):
    """When a move clears a pair-only question, do the audit entry and the members' mail read the same whether
    the pair had answered it or not, and is the answer gone either way?"""
    source, target = small_template(s.program, "Source"), small_template(s.program, "Short worries", worry_max=20)
    db.session.commit()
    seen = []
    for answers in (CRISIS, NOTHING):
        pair = make_pair(s.program, make_user(name="Kim Mentor"), make_user(name="Lou Mentee"))
        agreement = make_agreement(pair, source)
        fill_in(agreement, answers, required=False)
        assert s.client.post(s.url("/template", pair=pair), data={"version_id": target.id}).status_code == 303
        detail = json.loads(db.session.scalars(db.select(AuditEvent.detail).where(
            AuditEvent.action == "pair.template_change", AuditEvent.pair_id == pair.id)).one())
        mails = delivered("pair_template_changed")
        body = [line for line in mails[-1].body.splitlines() if "/pairs/" not in line]
        seen.append((detail["dropped"], body))
        assert db.session.scalar(db.select(FieldValue.value_ct).where(
            FieldValue.agreement_id == agreement.id, FieldValue.field_key == "worry")) is None
    assert seen[0] == seen[1]
    assert "What worries us" in seen[0][0]


def test_a_shared_answer_made_pair_only_by_a_move_leaves_no_plaintext_in_its_history(app, s):
    """When the new template makes a shared question pair-only, is its history encrypted too (no plaintext left
    in the change history), and does the pair still read that history?"""
    source = small_template(s.program, "Source")
    target = small_template(s.program, "Private plans", plan_pair_only=True)
    db.session.commit()
    pair = make_pair(s.program, make_user(name="Kim Mentor"), make_user(name="Lou Mentee"))
    agreement = make_agreement(pair, source)
    fill_in(agreement, {"plan": "First draft of our plan"}, required=False)
    fill_in(agreement, {"plan": "Second draft of our plan"}, required=False)
    assert s.client.post(s.url("/template", pair=pair), data={"version_id": target.id}).status_code == 303
    db.session.expire_all()
    changes = db.session.scalars(db.select(FieldChange).where(FieldChange.agreement_id == agreement.id,
                                                              FieldChange.field_key == "plan")).all()
    assert len(changes) == 2
    assert all(change.old_json is None and change.new_json is None for change in changes)
    assert all(change.new_ct is not None for change in changes)
    history = person_client(app, pair.mentor).get(f"/agreements/{agreement.id}/history").get_data(as_text=True)
    assert "First draft of our plan" in history and "Second draft of our plan" in history


def test_the_template_cannot_change_once_anyone_signed(s):
    """Is a move refused, preview and confirmation alike, once a member signed?"""
    fill_in(s.agreement, CCMC_ANSWERS)
    newer = second_version(s.version, "cancellation_notice")
    sign_as(s.agreement, s.mentee)
    for response in (s.client.get(s.url(f"/template?version_id={newer.id}")),
                     s.client.post(s.url("/template"), data={"version_id": newer.id})):
        assert response.status_code == 422
        assert "Moving to another template is no longer possible: Ned Mentee signed" in response.get_data(
            as_text=True)
    assert s.refresh().template_version_id == s.version.id


def test_only_another_published_template_of_the_program_is_offered(s):
    """Is a version of another program, or the agreement's own version, refused as a target?"""
    foreign = make_version(make_program(code="OTHR"), "whprms")
    for version_id in (foreign.id, s.version.id, "x"):
        response = s.client.post(s.url("/template"), data={"version_id": version_id})
        assert response.status_code == 422
        assert "Choose another published template of this program." in response.get_data(as_text=True)


# --- removal ------------------------------------------------------------------------------------------------

def test_removing_a_pair_archives_it_everywhere_and_tells_both(app, s, runner):
    """Does the confirmation say what happens; once confirmed, is the pair archived (kept, audited), gone from the
    overview, dashboard, CSV, counts and reminders, closed to its members, and both told by e-mail?"""
    note = make_note(s.pair, s.mentor, "A note")
    make_share(note, make_user(), approve=False)
    db.session.execute(db.update(NoteShare).values(proposed_at=utcnow() - timedelta(days=5)))
    db.session.commit()
    confirm = s.client.get(s.url("/remove")).get_data(as_text=True)
    assert "archives the pair: it is not deleted" in confirm and "Remove the pair" in confirm

    response = s.client.post(s.url("/remove"))
    assert response.status_code == 303
    overview = s.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The pair Mia Mentor and Ned Mentee was removed." in overview
    assert "This program has no pairs yet." in overview
    pair = db.session.get(Pair, s.pair.id)
    assert pair.archived_at is not None and pair.archived_by_id == s.admin.id
    assert db.session.get(Agreement, s.agreement.id) is not None  # never deleted
    assert "pair.remove" in audit_actions(s.pair.id)
    board = s.client.get(f"/programs/{s.program.id}/dashboard").get_data(as_text=True)
    assert "0 pairs" in board and "Mia Mentor" not in board
    assert "Mia Mentor" not in s.client.get(f"/programs/{s.program.id}/dashboard.csv").get_data(as_text=True)
    assert "Harbour Mentoring" in s.client.get("/").get_data(as_text=True)
    assert send_reminders()["share_waiting"] == 0
    member = person_client(app, s.mentor)
    assert member.get(f"/pairs/{s.pair.id}").status_code == 404
    assert member.get(f"/agreements/{s.agreement.id}").status_code == 404
    assert s.client.get(s.url()).status_code == 404
    mails = delivered("pair_removed")
    assert sorted(m.to_address for m in mails) == sorted([s.mentor.email, s.mentee.email])
    assert all("A note" not in m.body for m in mails)


def test_a_removed_pairs_agreement_is_closed_and_purged_after_the_retention_period(s, runner):
    """Does removing a pair close its unsigned agreement, as the confirmation page says, so that the program's
    retention rule purges its pair-only answers and notes like those of any closed mentorship?"""
    fill_in(s.agreement, CCMC_ANSWERS, required=False)
    make_note(s.pair, s.mentor, "A note of a pair created by mistake")
    s.program.retention_months = 1
    db.session.commit()
    assert "closes its unsigned agreement" in s.client.get(s.url("/remove")).get_data(as_text=True)
    assert s.client.post(s.url("/remove")).status_code == 303
    agreement = s.refresh()
    assert agreement.state == "closed" and agreement.closed_at is not None
    set_state(agreement, "closed", closed_at=utcnow() - timedelta(days=90))  # the retention period has passed
    send_reminders()
    # No "download your content before it is deleted" notice: the members cannot reach a removed pair (its
    # export is a 404 to them), so the purge does not wait for one.
    assert delivered("reminder_retention") == []
    assert "1 agreement(s) purged" in runner.invoke(args=["purge"]).output
    db.session.expire_all()
    assert db.session.scalar(db.select(FieldValue.value_ct).where(
        FieldValue.agreement_id == agreement.id, FieldValue.field_key == "off_limits_topics")) is None
    assert db.session.scalar(db.select(db.func.count(Note.id)).where(Note.pair_id == s.pair.id)) == 0
    assert db.session.get(Agreement, agreement.id).purged_at is not None


def test_a_signed_pair_cannot_be_removed(s):
    """Once anything is signed, is removal refused on the confirmation page and by the form, the pair kept?"""
    fill_in(s.agreement, CCMC_ANSWERS)
    sign_as(s.agreement, s.mentor)
    confirm = s.client.get(s.url("/remove")).get_data(as_text=True)
    assert "so it cannot be removed" in confirm and "Remove the pair</button>" not in confirm
    response = s.client.post(s.url("/remove"))
    assert "Removing the pair is no longer possible: Mia Mentor signed" in s.client.get(
        response.headers["Location"]).get_data(as_text=True)
    assert db.session.get(Pair, s.pair.id).archived_at is None


def test_a_pair_of_another_program_is_a_404_under_this_programs_address(s):
    """Is a pair of another program (which this admin does not administer) unreachable under this program's
    address, for every change?"""
    foreign = make_pair(make_program(code="FRGN"))
    for method, tail in (("get", ""), ("post", "/supervisors"), ("post", f"/supervisors/{s.supervisor.id}/unassign"),
                         ("post", "/term"), ("get", "/template"), ("post", "/template"), ("get", "/remove"),
                         ("post", "/remove")):
        assert getattr(s.client, method)(s.url(tail, pair=foreign)).status_code == 404, tail
    assert db.session.get(Pair, foreign.id).archived_at is None


# --- pairing again -------------------------------------------------------------------------------------------

def new_pair_form(s) -> dict:
    return {"mentor_email": s.mentor.email, "mentee_email": s.mentee.email, "template_version": s.version.id,
            "term_start": "2026-06-01"}


def test_a_closed_pair_can_be_paired_again_with_its_own_agreement(s):
    """While the mentorship is open, is the same pair refused; once it closed, is a new pair (a new row with its
    own agreement) created, the old one unchanged?"""
    response = s.client.post(f"/programs/{s.program.id}/pairs/new", data=new_pair_form(s))
    assert response.status_code == 422 and "already a pair in this program" in response.get_data(as_text=True)
    set_state(s.agreement, "closed", closed_at=utcnow(), closure_kind="completed")
    assert "This mentorship is closed. To pair Mia Mentor and Ned Mentee again" in s.client.get(s.url()).get_data(
        as_text=True)
    response = s.client.post(f"/programs/{s.program.id}/pairs/new", data=new_pair_form(s))
    assert response.status_code == 303
    pairs = db.session.scalars(db.select(Pair).where(Pair.mentor_id == s.mentor.id).order_by(Pair.id)).all()
    assert len(pairs) == 2
    old, new = pairs
    assert [a.state for a in old.agreements] == ["closed"] and [a.state for a in new.agreements] == ["draft"]
    assert new.agreements[0].term_start == date(2026, 6, 1)


@pytest.mark.parametrize("purged", ["old", "new"])
def test_purging_one_mentorship_leaves_the_other_of_the_same_two_people_intact(s, purged):
    """With the same two people paired twice, does purging one mentorship's pair-only content (values and notes)
    leave the other's untouched?"""
    fill_in(s.agreement, CCMC_ANSWERS, required=False)
    make_note(s.pair, s.mentor, "Old mentorship note")
    set_state(s.agreement, "closed", closed_at=utcnow(), closure_kind="completed")
    s.client.post(f"/programs/{s.program.id}/pairs/new", data=new_pair_form(s))
    new_pair = db.session.scalars(db.select(Pair).where(Pair.mentor_id == s.mentor.id).order_by(Pair.id.desc())).first()
    new_agreement = new_pair.agreements[0]
    fill_in(new_agreement, CCMC_ANSWERS, required=False)
    make_note(new_pair, s.mentee, "New mentorship note")
    set_state(new_agreement, "closed", closed_at=utcnow(), closure_kind="completed")
    gone, kept = (s.refresh(), new_agreement) if purged == "old" else (new_agreement, s.refresh())
    retention.purge_agreement(gone)
    db.session.commit()
    db.session.expire_all()

    def secret_of(agreement_id):
        return db.session.scalar(db.select(FieldValue.value_ct).where(
            FieldValue.agreement_id == agreement_id, FieldValue.field_key == "off_limits_topics"))

    assert secret_of(gone.id) is None and secret_of(kept.id) is not None
    assert db.session.get(Agreement, kept.id).purged_at is None
    kept_notes = db.session.scalar(db.select(db.func.count(Note.id)).where(Note.pair_id == kept.pair_id))
    assert kept_notes == 1
    assert db.session.scalar(db.select(db.func.count(Note.id)).where(Note.pair_id == gone.pair_id)) == 0
    assert db.session.scalar(db.select(db.func.count(OutboxMail.id)).where(OutboxMail.body.contains(SECRET))) == 0


def test_the_move_address_without_a_chosen_template_leads_to_the_choice(s):
    """Opened without a template chosen (a bookmark, a reload, a link), does the move's address lead to the
    pair's page where the template is chosen, rather than answering with an error?"""
    response = s.client.get(s.url("/template"))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(s.url() + "#pair-template")
    assert s.client.get(response.headers["Location"]).status_code == 200
