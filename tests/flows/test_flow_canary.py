"""The flow canary suite: the route sweeps check routes one at a time; these leaks live where features meet.

A distinct canary ("Łódź 王 qz7canary-<channel>") is planted in every pair-only channel of a CCMC pair (a
pair-only answer, a decline reason, the signed content and the pair's PDF copy, a meeting summary, a progress
comment, notes, a shared note, and the addresses of share proposals not approved). Then each test drives one
flow that moves data: mail sending and PDF rendering (also a render that fails), amendment, a template change
followed by renewal, an address change followed by a share and an invitation, role revocation and deactivation,
export and key rotation, and the retention purge. After each flow every outsider crawls everything reachable
from their home page and from the pair's own addresses (pages, htmx fragments, PDFs as text, CSV, ICS, JSON),
and the suite searches the outbox and the mail file, the log records of every logger (the PDF renderer's child
process included), the audit log and the raw database, decrypting nothing. Every search must find nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from portal.domain import notes as note_rules
from portal.domain.template_format import definition_to_dict, parse_definition
from portal.domain.template_store import definition_of, new_draft_version, publish
from portal.extensions import db
from portal.models import Agreement, AuditEvent, Note, NoteShare, OutboxMail, Pair, Program, SentReminder, User
from portal.timeutil import utcnow, utctoday
from tests.factories import (
    PASSWORD, approval_form, fill_in, make_pair, make_program, make_role, make_user, make_version, sign_as, act_as,
)
from tests.flows.canary import (
    LogCapture, canary, canary_address, crawl, database_tags, readable_text, tags_in,
)
from tests.lifecycle.conftest import fill

# Text canaries: pair-only text. Only the two members read them; the recipient of the shared note reads that one.
TEXT_TAGS = {"field", "decline", "summary", "comment", "note", "shared", "pending", "conclusion", "amended"}
# Address canaries: whom a share was proposed to, pair-only until the share is approved.
ADDRESS_TAGS = {"proposedto", "declinedto"}
OUTSIDERS = ("anonymous", "site_admin", "program_admin", "other_program_admin", "supervisor", "other_supervisor",
             "other_mentor", "recipient")
# Where each outsider may legitimately read a canary: the recipient reads the note shared with them.
ALLOWED = {"recipient": {"shared"}}


@dataclass
class Flow:
    app: object
    program: object
    version: object
    pair: Pair
    agreement: Agreement
    people: dict
    clients: dict = field(default_factory=dict)
    shares: dict = field(default_factory=dict)

    def client(self, who: str):
        if who not in self.clients:
            self.clients[who] = self.app.test_client()
            if who != "anonymous":
                act_as(self.clients[who], self.people[who])
        return self.clients[who]

    def current(self) -> Agreement:
        db.session.expire_all()
        return db.session.scalars(db.select(Agreement).where(Agreement.pair_id == self.pair.id)
                                  .order_by(Agreement.id.desc())).first()


def _post(client, url: str, data: dict | None = None, expect=(303,)):
    response = client.post(url, data=data or {})
    assert response.status_code in expect, (url, response.status_code, response.get_data(as_text=True)[:2000])
    return response


@pytest.fixture
def flow(app) -> Flow:
    """A CCMC pair whose agreement holds a pair-only canary, was declined once with a canary reason, then signed
    by both; with a meeting, a check-in, notes (one shared, one proposed, one declined) and a request for help."""
    program = make_program(code="CCM", name="CCMC Mentoring", return_email="office@ccmc.example")
    other_program = make_program(code="OTH", name="Other Program")
    people = {"program_admin": make_user(name="Ada Admin"), "supervisor": make_user(name="Sam Supervisor"),
              "other_supervisor": make_user(name="Olga Supervisor"), "mentor": make_user(name="Maria Mentor"),
              "mentee": make_user(name="Nina Mentee"), "other_mentor": make_user(name="Otto Other"),
              "other_mentee": make_user(name="Oona Other"), "recipient": make_user(name="Rita Reader"),
              "other_program_admin": make_user(name="Pete Elsewhere"),
              "site_admin": make_user(name="Sue Site", site_admin=True)}
    make_role(people["program_admin"], program, "admin")
    make_role(people["other_program_admin"], other_program, "admin")
    make_role(people["supervisor"], program, "supervisor")
    make_role(people["other_supervisor"], program, "supervisor")
    version = make_version(program, "ccmc")
    pair = make_pair(program, people["mentor"], people["mentee"], supervisors=(people["supervisor"],))
    make_pair(program, people["other_mentor"], people["other_mentee"], supervisors=(people["other_supervisor"],))
    from portal.domain.agreements import start_agreement
    agreement = start_agreement(pair, version, utctoday() - timedelta(days=40), 3, None)
    db.session.commit()
    world = Flow(app, program, version, pair, agreement, people)
    fill_in(agreement, {"goals": ["Pass the CCM exam", "Lead a case conference"],
                        "meeting_period": {"option": "weekly", "other_text": ""},
                        "off_limits_topics": [canary("field")]}, by=people["mentee"])
    _post(world.client("mentor"), f"/agreements/{agreement.id}/decline",
          {"role": "mentor", "reason": canary("decline")})
    assert "decline" in tags_in(world.client("mentee").get(f"/agreements/{agreement.id}").get_data(as_text=True))
    fill(agreement, {"meeting_place_time": "Tuesdays at the library"}, people["mentee"])
    sign_as(agreement, people["mentor"])
    sign_as(agreement, people["mentee"])
    assert world.current().state == "active"

    mentor, mentee = world.client("mentor"), world.client("mentee")
    _post(mentor, f"/agreements/{agreement.id}/meetings", {
        "held_on": (utctoday() - timedelta(days=10)).isoformat(), "mode": "other", "other_label": "walk",
        "minutes": "45", "summary": canary("summary")})
    _post(mentee, f"/agreements/{agreement.id}/progress", {
        "status-goals:0": "in_progress", "comment-goals:0": canary("comment")}, expect=(200, 303))
    for tag in ("note", "shared", "pending"):
        _post(mentor, f"/pairs/{pair.id}/notes", {"text": f"{tag}: {canary(tag)}"})
    by_tag = {tag: db.session.scalar(db.select(Note).where(Note.pair_id == pair.id).order_by(Note.id)
                                     .offset(index)) for index, tag in enumerate(("note", "shared", "pending"))}
    world.shares["shared"] = note_rules.propose_share(people["mentor"], by_tag["shared"],
                                                      people["recipient"].email, "", None)
    db.session.commit()
    _post(mentee, f"/pairs/{pair.id}/shares/{world.shares['shared'].id}/approve",
          approval_form(world.shares["shared"]))
    world.shares["proposed"] = note_rules.propose_share(people["mentor"], by_tag["pending"],
                                                        canary_address("proposedto"), "Someone Proposed", None)
    world.shares["declined"] = note_rules.propose_share(people["mentee"], by_tag["note"],
                                                        canary_address("declinedto"), "Someone Declined", None)
    db.session.commit()
    _post(mentor, f"/pairs/{pair.id}/shares/{world.shares['declined'].id}/decline")
    _post(mentee, f"/pairs/{pair.id}/help", {"message": "Please call me about scheduling."})
    return world


def pair_addresses(world: Flow) -> list[str]:
    """Every address of the pair's own objects: what an outsider who guesses ids would try."""
    db.session.expire_all()
    pair = db.session.get(Pair, world.pair.id)
    urls = [f"/pairs/{pair.id}", f"/pairs/{pair.id}/notes", f"/pairs/{pair.id}/export.json",
            f"/pairs/{pair.id}/help", f"/programs/{world.program.id}", f"/programs/{world.program.id}/dashboard",
            f"/programs/{world.program.id}/dashboard.csv", f"/programs/{world.program.id}/dashboard?state=closed",
            f"/programs/{world.program.id}/audit", "/admin/audit", "/admin/users", "/auth/account"]
    for agreement in pair.agreements:
        base = f"/agreements/{agreement.id}"
        urls += [base, f"{base}/history", f"{base}/changes", f"{base}/review", f"{base}/renew", f"{base}/end",
                 f"{base}/schedule.ics", f"{base}/fields/off_limits_topics"]
        for revision in range(1, agreement.revision + 1):
            urls += [f"{base}/versions/{revision}", f"{base}/versions/{revision}/pair-copy.pdf",
                     f"{base}/versions/{revision}/program-copy.pdf"]
    for note in db.session.scalars(db.select(Note).where(Note.pair_id == pair.id)):
        urls += [f"/pairs/{pair.id}/notes/{note.id}", f"/pairs/{pair.id}/notes/{note.id}/share"]
    for share in db.session.scalars(db.select(NoteShare).join(Note).where(Note.pair_id == pair.id)):
        urls += [f"/shared/{share.id}", f"/pairs/{pair.id}/shares/{share.id}/approve"]
    return urls


def assert_no_leak(world: Flow, logs: LogCapture, outsiders=OUTSIDERS, public=frozenset()) -> int:
    """Every outsider crawls everything reachable; then the outbox, the mail file, the logs, the audit log and
    the raw database are searched. `public` names address canaries that stopped being pair-only (an approved
share's recipient). Returns how many addresses were read (so a test can tell the crawl ran)."""
    seeds = pair_addresses(world)
    read = 0
    for who in outsiders:
        client = world.client(who)
        pages = crawl(client, ["/"] + seeds)
        read += len(pages)
        for address, text in pages.items():
            leaked = tags_in(text) - ALLOWED.get(who, set()) - public
            assert not leaked, f"{who} read {sorted(leaked)} at {address}"
            assert "Łódź 王" not in text or ALLOWED.get(who), f"{who} read a canary at {address}"

    for mail in db.session.scalars(db.select(OutboxMail)):
        text = f"{mail.to_address}\n{mail.subject}\n{mail.body}"
        attachment = getattr(mail, "attachment", None)
        if attachment:
            from tests.flows.canary import pdf_text
            text += pdf_text(attachment)
        leaked = tags_in(text) & (TEXT_TAGS | ADDRESS_TAGS) - public
        assert not leaked, f"mail {mail.kind} to {mail.to_address} carries {sorted(leaked)}"
    # The program's copy a signing mail carries is rendered by the sender: send, and read what it attached.
    from portal.mail import deliver_pending
    from tests.flows.canary import pdf_text
    deliver_pending()
    for mail in db.session.scalars(db.select(OutboxMail).where(OutboxMail.attachment_name.like("%.pdf"))):
        leaked = tags_in(pdf_text(mail.attachment)) & (TEXT_TAGS | ADDRESS_TAGS) - public
        assert not leaked, f"the PDF mailed to {mail.to_address} carries {sorted(leaked)}"
    mail_file = world.app.config["MAIL_FILE"]
    try:
        with open(mail_file, encoding="utf-8", errors="replace") as handle:
            leaked = tags_in(handle.read()) & (TEXT_TAGS | ADDRESS_TAGS) - public
    except FileNotFoundError:
        leaked = set()
    assert not leaked, f"the mail file holds {sorted(leaked)}"

    leaked = tags_in(logs.text()) & TEXT_TAGS
    assert not leaked, f"a log record carries {sorted(leaked)}"
    assert "Łódź" not in logs.text(), "a log record quotes pair-only text"

    for event in db.session.scalars(db.select(AuditEvent)):
        leaked = tags_in(f"{event.action} {event.detail}") - public
        assert not leaked, f"audit entry {event.action} names {sorted(leaked)}"

    stored = {place: tags & TEXT_TAGS for place, tags in database_tags().items()}
    stored = {place: tags for place, tags in stored.items() if tags}
    assert not stored, f"pair-only text stored in clear: {stored}"
    return read


@pytest.fixture
def logs(tmp_path):
    with LogCapture(tmp_path / "every-logger.log") as capture:
        yield capture


def test_the_planted_canaries_are_there_for_the_pair(flow, logs):
    """Does the pair read every canary it planted (else the suite below proves nothing), and does nobody else,
    straight after signing, with the PDFs made and mailed?"""
    mentee = flow.client("mentee")
    a = flow.current()
    readable = "\n".join(readable_text(mentee.get(url)) for url in (
        f"/agreements/{a.id}", f"/pairs/{flow.pair.id}", f"/pairs/{flow.pair.id}/notes",
        f"/agreements/{a.id}/versions/1/pair-copy.pdf", f"/pairs/{flow.pair.id}/export.json",
        f"/agreements/{a.id}/history"))
    assert {"field", "summary", "comment", "note", "shared", "pending"} <= tags_in(readable)
    assert canary("shared") in flow.client("recipient").get(f"/shared/{flow.shares['shared'].id}").get_data(
        as_text=True)
    assert assert_no_leak(flow, logs) > 100


def test_mail_sending_and_every_pdf_render(flow, logs, runner):
    """After `flask send-mail` delivers the signing mails, and every PDF of the pair is rendered (both copies, the
    builder's preview), does any mail, the mail file or any log record hold pair-only text?"""
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0, result.output
    assert not db.session.scalars(db.select(OutboxMail).where(OutboxMail.sent_at.is_(None))).all()
    a = flow.current()
    for who in ("mentor", "mentee"):
        for copy in ("pair-copy", "program-copy"):
            response = flow.client(who).get(f"/agreements/{a.id}/versions/1/{copy}.pdf")
            assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "field" in tags_in(readable_text(flow.client("mentor").get(f"/agreements/{a.id}/versions/1/pair-copy.pdf")))
    preview = flow.client("program_admin").get(
        f"/programs/{flow.program.id}/templates/versions/{flow.version.id}/preview.pdf")
    assert preview.status_code == 200
    assert_no_leak(flow, logs)


def test_a_pdf_render_that_fails(flow, logs, monkeypatch):
    """When the PDF renderer fails part-way (its child process killed at the time bound), do the error page and
    the logs stay free of the document's text?"""
    import portal.pdf
    monkeypatch.setattr(portal.pdf, "MAX_RENDER_SECONDS", 0.001)
    a = flow.current()
    response = flow.client("mentor").get(f"/agreements/{a.id}/versions/1/pair-copy.pdf")
    assert response.status_code >= 400 and response.status_code < 500
    assert not tags_in(response.get_data(as_text=True))
    monkeypatch.undo()
    assert_no_leak(flow, logs)


def test_amendment(flow, logs):
    """After the pair reopens the agreement, changes the pair-only answer and signs again, does the new answer
    stay with the pair, in the new signed version, its PDFs and mails?"""
    a = flow.current()
    _post(flow.client("mentee"), f"/agreements/{a.id}/reopen")
    fill(flow.current(), {"off_limits_topics": [canary("amended")]}, flow.people["mentor"])
    sign_as(flow.current(), flow.people["mentor"])
    sign_as(flow.current(), flow.people["mentee"])
    assert flow.current().state == "active" and flow.current().revision == 2
    assert "amended" in tags_in(readable_text(flow.client("mentor").get(f"/agreements/{a.id}/versions/2/pair-copy.pdf")))
    assert_no_leak(flow, logs)


def test_template_change_then_renewal(flow, logs):
    """The program publishes a version in which the pair-only field is no longer pair-only; the pair reviews and
    renews onto it. Does the carried answer stay the pair's alone (kept pair-only, or left out and listed)?"""
    data = definition_to_dict(definition_of(flow.version))
    for section in data["sections"]:
        for spec in section["fields"]:
            if spec["key"] == "off_limits_topics":
                spec["pair_only"] = False
    newer = publish(new_draft_version(flow.version.template, None, parse_definition(data)), None)
    db.session.commit()
    a = flow.current()
    a.term_start, a.term_end = utctoday() - timedelta(days=120), utctoday() - timedelta(days=30)
    db.session.commit()
    _post(flow.client("mentor"), f"/agreements/{a.id}/review/start")
    review = {"outcome-goals:0": "achieved", "outcome-goals:1": "partly", "conclusion": canary("conclusion")}
    for who in ("mentor", "mentee"):
        _post(flow.client(who), f"/agreements/{a.id}/review", review)
    _post(flow.client("mentor"), f"/agreements/{a.id}/renew", {
        "version_id": str(newer.id), "term_start": (a.term_end + timedelta(days=1)).isoformat(),
        "term_months": "3"})
    successor = flow.current()
    assert successor.id != a.id and successor.template_version_id == newer.id
    assert "conclusion" in tags_in(flow.client("mentee").get(f"/agreements/{a.id}/review").get_data(as_text=True))
    assert_no_leak(flow, logs)


def test_address_change_then_share_and_invitation(flow, logs):
    """Another pair's mentor asks to change their sign-in address to the address a share was proposed to, and
    to an address the program then creates a pair for. Once the partner approves the share and the program
    invites the new mentee, does the address-taker read the note or join the pair? (Only the person who
    follows the link sent to the address may.)"""
    taker = flow.client("other_mentor")
    for address in (canary_address("proposedto"), "new.mentee@recipients.example"):
        taker.post("/auth/account/email", data={"email": address, "current_password": PASSWORD})
    share = flow.shares["proposed"]
    _post(flow.client("mentee"), f"/pairs/{flow.pair.id}/shares/{share.id}/approve",
          approval_form(share))
    version_id = flow.version.id
    _post(flow.client("program_admin"), f"/programs/{flow.program.id}/pairs/new", {
        "mentor_email": flow.people["recipient"].email, "mentor_name": "Rita Reader",
        "mentee_email": "new.mentee@recipients.example", "mentee_name": "New Mentee",
        "template_version": str(version_id), "term_start": utctoday().isoformat()}, expect=(303, 200))
    db.session.expire_all()
    taker_user = db.session.get(User, flow.people["other_mentor"].id)
    assert taker_user.email == flow.people["other_mentor"].email, "an unproven address took effect"
    assert flow.client("other_mentor").get(f"/shared/{share.id}").status_code == 404
    new_pair = db.session.scalar(db.select(Pair).order_by(Pair.id.desc()))
    assert taker_user.id not in (new_pair.mentor_id, new_pair.mentee_id)
    # Sent again, the invitation goes to the invited account's own address, never to the one who asked for it.
    invited_before = db.session.scalar(db.select(db.func.count(OutboxMail.id)).where(
        OutboxMail.kind == "invite", OutboxMail.to_address == "new.mentee@recipients.example"))
    _post(flow.client("program_admin"),
          f"/programs/{flow.program.id}/pairs/{new_pair.id}/invitations/resend", {"role": "mentee"})
    assert db.session.scalar(db.select(db.func.count(OutboxMail.id)).where(
        OutboxMail.kind == "invite", OutboxMail.to_address == "new.mentee@recipients.example")) == invited_before + 1
    assert not db.session.scalar(db.select(OutboxMail.id).where(
        OutboxMail.kind == "invite", OutboxMail.to_address == taker_user.email))
    # Approved, the share's recipient is no longer the pair's secret: staff may see the invited account.
    assert_no_leak(flow, logs, public={"proposedto"})


def test_role_revocation_and_deactivation(flow, logs):
    """The program revokes the supervisor's role; the site admin deactivates the note's recipient and later
    reactivates them. Does the former supervisor lose the pair (pages, copies, dashboard), and does the
    reactivated recipient stay without the note?"""
    from portal.models import ProgramRole
    role = db.session.scalar(db.select(ProgramRole).where(ProgramRole.user_id == flow.people["supervisor"].id))
    _post(flow.client("program_admin"), f"/programs/{flow.program.id}/roles/{role.id}/revoke")
    recipient = flow.people["recipient"]
    _post(flow.client("site_admin"), f"/admin/users/{recipient.id}/deactivate")
    _post(flow.client("site_admin"), f"/admin/users/{recipient.id}/reactivate")
    flow.clients.pop("recipient", None)  # deactivation ended the session: sign in afresh
    a = flow.current()
    former_supervisor_pages = (f"/pairs/{flow.pair.id}", f"/agreements/{a.id}",
                               f"/agreements/{a.id}/versions/1/program-copy.pdf",
                               f"/programs/{flow.program.id}/dashboard", f"/programs/{flow.program.id}/dashboard.csv")
    for address in former_supervisor_pages:
        assert flow.client("supervisor").get(address).status_code == 404, address
    assert flow.client("recipient").get(f"/shared/{flow.shares['shared'].id}").status_code == 404
    ALLOWED.pop("recipient", None)
    try:
        assert_no_leak(flow, logs)
    finally:
        ALLOWED["recipient"] = {"shared"}


def test_export_and_key_rotation(flow, logs, runner):
    """The pair downloads its data; the operator rotates the keys. Does the export reach the members alone, and
    does the rotation leave no pair-only text in the audit log, the logs or the database?"""
    export = flow.client("mentor").get(f"/pairs/{flow.pair.id}/export.json")
    assert {"field", "summary", "comment", "note"} <= tags_in(export.get_data(as_text=True))
    from tests.notes.test_encryption import new_key
    flow.app.config["DATA_KEYS"] = f"k9:{new_key(9)},{flow.app.config['DATA_KEYS']}"
    result = runner.invoke(args=["rotate-keys"])
    assert result.exit_code == 0, result.output
    assert not tags_in(result.output)
    flow.app.config["DATA_KEYS"] = f"k9:{new_key(9)}"  # the old key is gone: everything was re-encrypted
    page = flow.client("mentee").get(f"/pairs/{flow.pair.id}/notes").get_data(as_text=True)
    assert {"note", "shared", "pending"} <= tags_in(page)
    assert_no_leak(flow, logs)


def test_closure_and_retention_purge(flow, logs, runner):
    """The pair ends early; the program keeps pair-only content one month; the notice goes out and the purge
    runs. Is every pair-only canary gone from what the members read, and does nothing else ever hold it?"""
    from portal.domain.reminders import send_reminders
    a = flow.current()
    _post(flow.client("mentee"), f"/agreements/{a.id}/end", {"reason": "fit"})
    db.session.execute(db.update(Agreement).where(Agreement.id == a.id).values(closed_at=utcnow() - timedelta(days=70)))
    db.session.execute(db.update(Program).where(Program.id == flow.program.id).values(retention_months=1))
    db.session.commit()
    send_reminders(utctoday())
    db.session.execute(db.update(SentReminder).values(sent_at=utcnow() - timedelta(days=31)))
    db.session.commit()
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "1 agreement(s) purged" in result.output
    mentee = flow.client("mentee")
    read = "\n".join(readable_text(mentee.get(url)) for url in (
        f"/agreements/{a.id}", f"/pairs/{flow.pair.id}", f"/pairs/{flow.pair.id}/notes",
        f"/pairs/{flow.pair.id}/export.json", f"/agreements/{a.id}/versions/1",
        f"/agreements/{a.id}/versions/1/pair-copy.pdf"))
    assert not tags_in(read), "pair-only content survived the purge"
    # Nothing of the pair's confidences is left anywhere in the database: no text, and no recipient of a share
    # the pair never approved (they went with their notes, and no mail ever named them).
    assert not database_tags(), database_tags()
    # What is left encrypted (for example the seal that makes the kept hash unguessable) holds no canary either.
    from portal.crypto import ENCRYPTED_COLUMNS, decrypt
    for column in ENCRYPTED_COLUMNS:
        for row in db.session.scalars(db.select(column.model)):
            blob = getattr(row, column.attribute)
            if blob:
                kept = decrypt(blob, column.aad(row))
                assert not tags_in(kept), f"{column.model.__tablename__}.{column.attribute} kept {tags_in(kept)}"
    assert_no_leak(flow, logs)


def test_planning_a_meeting(flow, logs, runner):
    """A planned meeting's place is the pair's: do its invitations go to the two members only, and once
    `flask send-mail` has delivered them does the place stay out of every outsider's page, the outbox, the mail
    file, every log, the audit log and the database in clear?"""
    place = canary("place")
    _post(flow.client("mentor"), f"/agreements/{flow.agreement.id}/meetings/plan", {
        "on": (utctoday() + timedelta(days=4)).isoformat(), "at": "17:00", "minutes": "60", "place": place})
    members = sorted([flow.people["mentor"].email, flow.people["mentee"].email])
    carrying = [mail.to_address for mail in db.session.scalars(db.select(OutboxMail))
                if "place" in tags_in(mail.body + bytes(mail.attachment or b"").decode("utf-8", "replace"))]
    assert sorted(carrying) == members
    assert "place" in tags_in(flow.client("mentee").get(f"/pairs/{flow.pair.id}").get_data(as_text=True))
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0, result.output
    assert_no_leak(flow, logs)
    for mail in db.session.scalars(db.select(OutboxMail)):
        assert "place" not in tags_in(f"{mail.body}{bytes(mail.attachment or b'')!r}"), mail.kind
    with open(flow.app.config["MAIL_FILE"], encoding="utf-8", errors="replace") as handle:
        assert "place" not in tags_in(handle.read())
    assert "place" not in tags_in(logs.text())
    assert not {where for where, tags in database_tags().items() if "place" in tags}


def test_program_admin_pairs_again_then_changes_and_removes_the_new_pair(flow, logs, runner):
    """The mentorship closes and the program pairs the two again; on the new, unsigned agreement (its own
    pair-only canary) the admin moves the template, changes the term, assigns and unassigns a supervisor, then
    removes the pair. Does the pair read its answer back after the move, and does no admin page, mail, log,
    audit entry or outsider ever hold it?"""
    from portal.domain.template_store import remove_field
    from tests.factories import set_state
    set_state(flow.current(), "closed", closed_at=utcnow(), closure_kind="completed")
    admin = flow.client("program_admin")
    base = f"/programs/{flow.program.id}"
    _post(admin, f"{base}/pairs/new", {"mentor_email": flow.people["mentor"].email,
                                       "mentee_email": flow.people["mentee"].email,
                                       "template_version": flow.version.id, "term_start": utctoday().isoformat()})
    old_pair = flow.pair
    flow.pair = db.session.scalars(db.select(Pair).where(Pair.mentor_id == old_pair.mentor_id)
                                   .order_by(Pair.id.desc())).first()
    assert flow.pair.id != old_pair.id
    again = flow.current()
    fill_in(again, {"off_limits_topics": [canary("field")], "cancellation_notice": "a day ahead"},
            by=flow.people["mentee"], required=False)
    draft = new_draft_version(flow.version.template, None)
    remove_field(draft, None, "cancellation_notice")
    newer = publish(draft, None)
    db.session.commit()

    pair_base = f"{base}/pairs/{flow.pair.id}"
    seen_by_admin = [admin.get(pair_base), admin.get(f"{pair_base}/template?version_id={newer.id}"),
                     admin.get(f"{pair_base}/remove")]
    assert all(response.status_code == 200 and not tags_in(response.get_data(as_text=True))
               for response in seen_by_admin)
    _post(admin, f"{pair_base}/template", {"version_id": newer.id})
    assert flow.current().template_version_id == newer.id
    assert "field" in tags_in(flow.client("mentee").get(f"/agreements/{again.id}").get_data(as_text=True))
    _post(admin, f"{pair_base}/term", {"term_start": utctoday().isoformat(), "term_months": "6"})
    _post(admin, f"{pair_base}/supervisors", {"supervisor": flow.people["other_supervisor"].id})
    assert "field" not in tags_in(flow.client("other_supervisor").get(f"/agreements/{again.id}").get_data(
        as_text=True))
    _post(admin, f"{pair_base}/supervisors/{flow.people['other_supervisor'].id}/unassign")
    assert_no_leak(flow, logs)
    _post(admin, f"{pair_base}/remove")
    assert runner.invoke(args=["send-mail"]).exit_code == 0
    kinds = set(db.session.scalars(db.select(OutboxMail.kind)))
    assert {"pair_template_changed", "pair_term_changed", "pair_removed"} <= kinds
    flow.pair = old_pair
    assert_no_leak(flow, logs)
