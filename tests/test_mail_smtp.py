"""Mail over SMTP: the sender speaks to a real SMTP server (a small one on loopback, started by the test)."""
from __future__ import annotations

import socketserver
import threading
import time
from datetime import timedelta
from email import message_from_bytes
from email import policy as email_policy
from email.utils import parsedate_to_datetime

import pytest

from portal import mail
from portal.extensions import db
from portal.models import OutboxMail
from portal.timeutil import utcnow
from tests.factories import make_user, outbox


class _SmtpSession(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) to take messages: greeting, EHLO, MAIL, RCPT, DATA, QUIT.

    The server's knobs: `delay` (seconds before a message is accepted: a slow server), `refuse` (recipients
    answered 550), `drop_after` (messages after which a connection is closed, as a server's idle timeout does)."""

    def handle(self):
        server = self.server
        with server.lock:
            server.connections += 1
        self.wfile.write(b"220 loopback test server\r\n")
        envelope = {"to": []}
        taken = 0
        while line := self.rfile.readline():
            command = line.decode("ascii", "replace").strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250 loopback\r\n")
            elif verb == "MAIL":
                envelope = {"from": command.partition(":")[2].strip(" <>"), "to": []}
                self.wfile.write(b"250 OK\r\n")
            elif verb == "RCPT":
                recipient = command.partition(":")[2].strip(" <>")
                if recipient in server.refuse:
                    self.wfile.write(b"550 no such mailbox\r\n")
                    continue
                envelope["to"].append(recipient)
                self.wfile.write(b"250 OK\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                time.sleep(server.delay)
                with server.lock:
                    server.received.append({**envelope, "message": message_from_bytes(data, policy=email_policy.default)})
                self.wfile.write(b"250 OK queued\r\n")
                taken += 1
                if server.drop_after and taken >= server.drop_after:
                    return  # closes the connection without a word
            elif verb == "QUIT":
                self.wfile.write(b"221 Bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpSession)
    server.daemon_threads = True
    server.received, server.refuse, server.delay, server.drop_after = [], set(), 0.0, 0
    server.connections, server.lock = 0, threading.Lock()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_app(app, smtp_server):
    """The app set to send through the loopback server."""
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.server_address[1], MAIL_USE_TLS=False,
                      MAIL_USERNAME=None, MAIL_FROM="portal@example.org", PUBLIC_URL="https://mentoring.example.org")
    return app


def _queue(count: int = 1, to: str = "reader@example.org") -> list[OutboxMail]:
    """`count` invitations to `to`, subjects "Message 0", "Message 1"..."""
    person, inviter = make_user(), make_user(name="Ines Inviter")
    queued = [mail.queue_mail(to, "invite", f"Message {number}", "invite.txt", user=person, inviter=inviter,
                              reason="a mentor", hours=72, link=f"http://localhost/auth/set-password/t{number}")
              for number in range(count)]
    db.session.commit()
    return queued


def _subjects(server) -> list[str]:
    return sorted(received["message"]["Subject"] for received in server.received)


def test_queued_mail_is_delivered_over_smtp_and_marked_sent(app, smtp_server):
    """With MAIL_SERVER set, does `send-mail` hand each queued mail to the SMTP server (sender, recipient,
    subject and body as queued) and mark it sent, so that the next run sends nothing again?"""
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.server_address[1], MAIL_USE_TLS=False,
                      MAIL_USERNAME=None, MAIL_FROM="portal@example.org")
    person = make_user(email="reader@example.org")
    inviter = make_user(name="Ines Inviter")
    mail.queue_mail(person.email, "invite", "Hello over SMTP", "invite.txt", user=person, inviter=inviter,
                    reason="a mentor", hours=72, link="http://localhost/auth/set-password/abc")
    db.session.commit()

    assert mail.deliver_pending().sent == 1
    [received] = smtp_server.received
    assert received["to"] == ["reader@example.org"] and received["from"] == "portal@example.org"
    assert received["message"]["Subject"] == "Hello over SMTP"
    assert "/auth/set-password/abc" in received["message"].get_body(("plain",)).get_content()
    [sent] = outbox("invite")
    assert sent.sent_at is not None and sent.attempts == 1
    assert mail.deliver_pending().sent == 0 and len(smtp_server.received) == 1


def test_every_message_has_a_date_a_message_id_and_a_plain_text_part(smtp_app, smtp_server):
    """Does every delivered message carry an RFC 5322 Date, its own Message-ID under the PUBLIC_URL host, and a
    text/plain part, also the program's copy that comes with a PDF attached?"""
    _queue()
    mail.queue_mail("office@example.org", "signed_copy_program", "The program's copy", "added.txt",
                    attachment=("copy.pdf", b"%PDF-1.7 test"), user=make_user(), inviter=make_user(), reason="r",
                    link="/")
    db.session.commit()

    mail.deliver_pending()
    assert _subjects(smtp_server) == ["Message 0", "The program's copy"]
    message_ids = set()
    for received in smtp_server.received:
        message = received["message"]
        assert abs(parsedate_to_datetime(message["Date"]).timestamp() - time.time()) < 300
        assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith("@mentoring.example.org>")
        message_ids.add(message["Message-ID"])
        assert message.get_body(("plain",)).get_content_type() == "text/plain"
    assert len(message_ids) == 2
    [with_pdf] = [r["message"] for r in smtp_server.received if r["message"].is_multipart()]
    assert [part.get_filename() for part in with_pdf.iter_attachments()] == ["copy.pdf"]


def _senders(app, count: int) -> list[threading.Thread]:
    """`count` senders running at once, each in its own thread with its own app context (so its own session
    and database connection), as overlapping cron runs are."""
    errors = []

    def send():
        try:
            with app.app_context():
                mail.deliver_pending()
        except Exception as error:  # noqa: BLE001  (reported by the test)
            errors.append(error)

    threads = [threading.Thread(target=send) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    return threads


def test_concurrent_senders_deliver_each_message_exactly_once(smtp_app, smtp_server):
    """When several senders run at once against a slow SMTP server (cron runs that overlap), is every message
    received exactly once and marked sent after one attempt?"""
    _queue(12)
    smtp_server.delay = 0.05
    _senders(smtp_app, 3)
    assert _subjects(smtp_server) == sorted(f"Message {number}" for number in range(12))
    db.session.expire_all()
    assert all(m.sent_at is not None and m.attempts == 1 and m.claimed_by is None for m in outbox("invite"))


def test_a_crashed_senders_claim_runs_out_and_the_message_is_sent_later(smtp_app, smtp_server):
    """A message claimed by a sender that died is left alone while the claim lasts; once it has run out, is the
    message sent by the next run?"""
    [message] = _queue()
    message.claimed_by, message.claimed_until, message.attempts = "a sender that died", utcnow() + timedelta(
        minutes=5), 1
    db.session.commit()
    mail.deliver_pending()
    assert smtp_server.received == []

    mail.deliver_pending(now=utcnow() + timedelta(minutes=6))
    assert _subjects(smtp_server) == ["Message 0"]
    db.session.expire_all()
    assert message.sent_at is not None and message.claimed_by is None and message.attempts == 2


def test_a_refused_message_is_retried_after_1_5_30_minutes_then_hourly_for_a_day_then_marked_failed(
        smtp_app, smtp_server):
    """When the server keeps refusing a message, does the sender wait 1, 5 and 30 minutes, then an hour at a
    time for a day, never trying before the time is up, and finally mark the message failed (not drop it)?"""
    [message] = _queue(to="nobody@example.org")
    smtp_server.refuse.add("nobody@example.org")
    now, waits = utcnow(), []
    while True:
        mail.deliver_pending(now=now)
        db.session.expire_all()
        if message.failed_at is not None:
            break
        waits.append(message.next_attempt_at - now)
        mail.deliver_pending(now=message.next_attempt_at - timedelta(seconds=1))  # not yet
        db.session.expire_all()
        assert message.attempts == len(waits)
        now = message.next_attempt_at
    assert waits == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30)] + [timedelta(hours=1)] * 24
    assert message.sent_at is None and message.attempts == mail.MAX_ATTEMPTS == 28 and "550" in message.last_error
    assert mail.deliver_pending(now=now + timedelta(days=30)).failed == 0 and message.attempts == 28


def _fail_for_good(server, to: str = "nobody@example.org") -> OutboxMail:
    """A message the server refused until the sender gave up on it."""
    [message] = _queue(to=to)
    message.attempts = mail.MAX_ATTEMPTS - 1
    db.session.commit()
    server.refuse.add(to)
    mail.deliver_pending()
    db.session.expire_all()
    assert message.failed_at is not None
    return message


def test_send_mail_exits_non_zero_and_says_so_on_stderr_when_a_message_was_not_delivered(smtp_app, smtp_server,
                                                                                        runner):
    """Does `flask send-mail` deliver what it can, and then exit non-zero with the reason on stderr when a message
    was not delivered in that run (so that cron mails the operator)?"""
    _queue(2)
    _queue(to="nobody@example.org")
    smtp_server.refuse.add("nobody@example.org")
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code != 0
    assert "2 mail(s) delivered" in result.stdout
    assert "1 mail(s) not delivered" in result.stderr and "retried" in result.stderr
    again = runner.invoke(args=["mail", "send"])  # the same command under the `mail` group
    assert again.exit_code == 0 and "0 mail(s) delivered" in again.stdout  # the refused one waits its minute


def test_failed_mail_is_listed_without_its_body_and_can_be_queued_again(smtp_app, smtp_server, runner):
    """Does `flask mail failed` list a message the sender gave up on (id, address, kind, subject, attempts,
    error) without a word of its body, and does `flask mail retry ID` send it again on the next run?"""
    message = _fail_for_good(smtp_server)
    result = runner.invoke(args=["mail", "failed"])
    assert result.exit_code == 0
    for shown in (str(message.id), "nobody@example.org", "invite", "Message 0", "28", "550 no such mailbox"):
        assert shown in result.output
    assert "Set your password" not in result.output and "set-password" not in result.output

    smtp_server.refuse.clear()
    retried = runner.invoke(args=["mail", "retry", str(message.id)])
    assert retried.exit_code == 0 and "queued again" in retried.output
    assert "no failed mail" in runner.invoke(args=["mail", "failed"]).output.lower()
    assert runner.invoke(args=["send-mail"]).exit_code == 0
    assert _subjects(smtp_server) == ["Message 0"]
    db.session.expire_all()
    assert message.sent_at is not None and message.failed_at is None


def test_retry_all_queues_every_failed_message_and_an_unknown_id_is_refused(smtp_app, smtp_server, runner):
    """Does `flask mail retry --all` queue every failed message again, and is a message that has not failed
    (or does not exist) refused with a message and a non-zero exit?"""
    first, second = _fail_for_good(smtp_server, "one@example.org"), _fail_for_good(smtp_server, "two@example.org")
    [fine] = _queue()
    refused = runner.invoke(args=["mail", "retry", str(fine.id)])
    assert refused.exit_code != 0 and "has not failed" in refused.output
    assert runner.invoke(args=["mail", "retry", "999999"]).exit_code != 0
    assert runner.invoke(args=["mail", "retry"]).exit_code != 0  # an id or --all

    assert "2 failed mail(s) queued again" in runner.invoke(args=["mail", "retry", "--all"]).output
    db.session.expire_all()
    assert first.failed_at is None and second.failed_at is None and first.attempts == 0


def test_one_run_sends_everything_over_one_connection(smtp_app, smtp_server):
    """Are all the messages of a run sent over a single SMTP connection, not one connection per message?"""
    _queue(5)
    assert mail.deliver_pending().sent == 5
    assert smtp_server.connections == 1 and len(smtp_server.received) == 5


def test_a_dropped_connection_is_opened_again_and_nothing_is_lost_or_doubled(smtp_app, smtp_server):
    """When the server closes the connection after each message, does the sender connect again and deliver every
    message once, at the first attempt?"""
    _queue(3)
    smtp_server.drop_after = 1
    assert mail.deliver_pending().sent == 3
    assert _subjects(smtp_server) == ["Message 0", "Message 1", "Message 2"] and smtp_server.connections == 3
    db.session.expire_all()
    assert all(m.attempts == 1 and m.last_error is None for m in outbox("invite"))


def test_watch_mode_keeps_running_after_a_failure(smtp_app, smtp_server, runner, monkeypatch):
    """With `send-mail --watch` (what `make run` uses), does a message that is not delivered leave the loop
    running instead of ending it?"""
    from portal import cli
    _queue(to="nobody@example.org")
    smtp_server.refuse.add("nobody@example.org")
    rounds = []

    def sleep(_seconds):
        rounds.append(1)
        if len(rounds) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli.time, "sleep", sleep)
    runner.invoke(args=["send-mail", "--watch"])
    assert len(rounds) == 3
    [message] = outbox("invite")
    assert message.attempts == 1 and message.failed_at is None


def test_the_sender_logs_a_database_outage_in_one_line(tmp_path, caplog, monkeypatch):
    """With the database away, does `send-mail --watch` log one line per round (no traceback) and go on, and
    does `send-mail` alone exit non-zero with one line on stderr?"""
    from portal import cli
    from tests.database_outage_helpers import portal_on_a_missing_database
    portal = portal_on_a_missing_database(tmp_path)
    rounds = []

    def sleep(_seconds):
        rounds.append(1)
        if len(rounds) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli.time, "sleep", sleep)
    portal.test_cli_runner().invoke(args=["send-mail", "--watch"])
    lines = [record for record in caplog.records if record.name == "portal"]
    assert len(rounds) == 2 and len(lines) == 2, [record.getMessage() for record in caplog.records]
    assert all("mail delivery waits: database unavailable" in record.getMessage() and not record.exc_info
               for record in lines)
    once = portal.test_cli_runner().invoke(args=["send-mail"])
    assert once.exit_code == 1 and "no mail delivered: database unavailable" in once.output
    assert "Traceback" not in once.output


def test_upgrading_lists_mail_the_old_sender_gave_up_on_as_failed(tmp_path):
    """Mail the old sender dropped after 5 attempts: after the upgrade, is it marked failed (so that `flask mail
    failed` shows it and `flask mail retry` can queue it), while mail still waiting and mail sent are left alone?"""
    from tests.lifecycle.test_migration import upgraded
    seed = """
    insert into outbox_mail(id,to_address,subject,body,kind,created_at,sent_at,attempts) values
      (1,'a@x.example','Dropped','body','invite','2026-01-01',NULL,5),
      (2,'b@x.example','Waiting','body','invite','2026-01-01',NULL,2),
      (3,'c@x.example','Sent','body','invite','2026-01-01','2026-01-01',1);
    """
    with upgraded(tmp_path, "0014_mail_renders_program_copy", seed) as connection:
        failed = {row[0]: row[1] for row in connection.execute("select id, failed_at from outbox_mail")}
    assert failed[1] is not None and failed[2] is None and failed[3] is None


def test_the_mail_claims_migration_goes_down_and_up_again(tmp_path):
    """Can 0015 be undone (the outbox keeps its mail) and applied again?"""
    from flask_migrate import downgrade, upgrade

    from tests.lifecycle.test_migration import upgraded

    def down_and_up(_app):
        downgrade(revision="0014_mail_renders_program_copy")
        upgrade()
    seed = "insert into outbox_mail(id,to_address,subject,body,kind,created_at,attempts) values " \
           "(1,'a@x.example','Waiting','body','invite','2026-01-01',0);"
    with upgraded(tmp_path, "0014_mail_renders_program_copy", seed, then=down_and_up) as connection:
        assert connection.execute("select subject, failed_at from outbox_mail").fetchall() == [("Waiting", None)]


def test_an_unreachable_server_is_tried_once_per_run_and_every_message_waits_its_turn(smtp_app, monkeypatch):
    """When the SMTP server cannot be reached, does the run try to connect once (not once per message), and does
    each message due count a failed attempt that waits a minute, with the reason kept?"""
    import smtplib
    connecting = []

    def refused(*_args, **_kwargs):
        connecting.append(1)
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(smtplib, "SMTP", refused)
    _queue(3)
    run = mail.deliver_pending()
    assert (run.sent, run.retrying, run.failed) == (0, 3, 0) and connecting == [1]
    db.session.expire_all()
    for message in outbox("invite"):
        assert message.attempts == 1 and "refused" in message.last_error and message.next_attempt_at is not None
