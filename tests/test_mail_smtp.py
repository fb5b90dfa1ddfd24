"""Mail over SMTP: the sender speaks to a real SMTP server (a small one on loopback, started by the test)."""
from __future__ import annotations

import socketserver
import threading
from email import message_from_bytes

import pytest

from portal import mail
from portal.extensions import db
from tests.factories import make_user, outbox


class _SmtpSession(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) to take messages: greeting, EHLO, MAIL, RCPT, DATA, QUIT."""

    def handle(self):
        self.wfile.write(b"220 loopback test server\r\n")
        envelope = {"to": []}
        while line := self.rfile.readline():
            command = line.decode("ascii", "replace").strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250 loopback\r\n")
            elif verb == "MAIL":
                envelope = {"from": command.partition(":")[2].strip(" <>"), "to": []}
                self.wfile.write(b"250 OK\r\n")
            elif verb == "RCPT":
                envelope["to"].append(command.partition(":")[2].strip(" <>"))
                self.wfile.write(b"250 OK\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.server.received.append({**envelope, "message": message_from_bytes(data)})
                self.wfile.write(b"250 OK queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 Bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpSession)
    server.daemon_threads = True
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


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

    assert mail.deliver_pending() == 1
    [received] = smtp_server.received
    assert received["to"] == ["reader@example.org"] and received["from"] == "portal@example.org"
    assert received["message"]["Subject"] == "Hello over SMTP"
    assert "/auth/set-password/abc" in received["message"].get_payload(decode=True).decode()
    [sent] = outbox("invite")
    assert sent.sent_at is not None and sent.attempts == 1
    assert mail.deliver_pending() == 0 and len(smtp_server.received) == 1
