"""E-mail through an outbox table. Requests only queue; `flask send-mail` (and `make run`) deliver.

The development sender writes each mail to the console log and appends it to MAIL_FILE under instance/;
with MAIL_SERVER set, it speaks SMTP.
"""
from __future__ import annotations

import logging
import os
import re
import smtplib
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import urlsplit

from flask import current_app, render_template
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import aliased

from portal import policy
from portal.extensions import db
from portal.models import OutboxMail
from portal.timeutil import utcnow

log = logging.getLogger(__name__)
# A failed attempt is tried again after 1, 5 and 30 minutes, then every hour for a day; the attempt after the
# last wait is the last (MAX_ATTEMPTS), and a message that fails it is marked failed for the operator.
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), *[timedelta(hours=1)] * 24)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# How long a sender's claim on a message lasts: far longer than one message takes (SMTP's 30-second timeouts,
# a PDF render), so only a sender that died loses it, and its messages go with the next run after that.
CLAIM_LEASE = timedelta(minutes=10)
# One-time links (invitation, password reset, address confirmation): the token tables hold only their hashes,
# so once a mail is delivered its stored body must not keep the token either, or a copy of the database would
# open accounts. The delivered mail has the link; the outbox keeps what the mail was, without it.
ONE_TIME_LINK = re.compile(r"(/auth/(?:set-password|confirm-email)/)[A-Za-z0-9_\-]+")
SENT_LINK_PLACEHOLDER = r"\1[link removed from the outbox once the mail was sent]"


# The pair's own text in a mail (policy.MAIL_KINDS_WITH_PAIR_TEXT) sits between these markers in the body.
PAIR_TEXT = re.compile(r"\[\[pair:(.*?)\]\]", re.S)
PAIR_TEXT_REMOVED = "[removed from the outbox once the mail was sent]"


def without_one_time_links(body: str) -> str:
    return ONE_TIME_LINK.sub(SENT_LINK_PLACEHOLDER, body)


def as_delivered(body: str) -> str:
    """The body a person reads: the pair-text markers dropped, their text kept."""
    return PAIR_TEXT.sub(r"\1", body)


def queue_mail(to: str, kind: str, subject: str, template: str, attachment: tuple[str, bytes] | None = None,
               program_copy_of=None, **context) -> OutboxMail:
    """Queue a plain-text mail rendered from templates/mail/<template>. Never put pair-only text in context.
    Only the kinds `policy.may_attach_to_mail` names carry an attachment: given here, or, for a signed
    version's program copy (`program_copy_of`), rendered by the sender when it sends the mail."""
    if (attachment or program_copy_of is not None) and not policy.may_attach_to_mail(kind):
        raise ValueError(f"mail of kind {kind!r} may not carry an attachment")
    body = render_template(f"mail/{template}", **context)
    mail = OutboxMail(to_address=to, kind=kind, subject=subject, body=body)
    if attachment:
        mail.attachment_name, mail.attachment = attachment
    if program_copy_of is not None:
        mail.copy_of_signed_version_id = program_copy_of.id
    db.session.add(mail)
    return mail


def _attach_program_copy(mail: OutboxMail) -> None:
    """Render the program copy the mail is to carry, once (a retry sends the same file). When it cannot be
    rendered, the mail goes without it and says so: two signatures stand whatever the renderer does."""
    from portal.domain import agreement_pdf
    from portal.models import SignedVersion
    from portal.pdf import PdfRenderError
    version = db.session.get(SignedVersion, mail.copy_of_signed_version_id)
    mail.copy_of_signed_version_id = None
    if version is None:
        return
    try:
        mail.attachment = agreement_pdf.render_copy(version, "program")
        mail.attachment_name = agreement_pdf.filename(version, "program")
    except PdfRenderError as error:
        current_app.logger.error("signed agreement %s revision %s: PDF not rendered: %s",
                                 version.agreement_id, version.revision, error)
        agreement = version.agreement
        mail.body = render_template("mail/signed_copy_program.txt", has_pdf=False, agreement=agreement,
                                    version=version, program=agreement.pair.program, pair=agreement.pair)


def _message(mail: OutboxMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = mail.message_id
    # The text always goes first as text/plain; an attachment makes the message multipart/mixed around it.
    message.set_content(as_delivered(mail.body))
    if mail.attachment is not None and (mail.attachment_name or "").endswith(".ics"):
        # An invitation (RFC 6047): calendar programs offer to add it when it comes as text/calendar with
        # its method.
        message.add_attachment(bytes(mail.attachment).decode("utf-8"), subtype="calendar",
                               filename=mail.attachment_name, params={"method": "REQUEST"})
    elif mail.attachment is not None:
        message.add_attachment(mail.attachment, maintype="application", subtype="pdf",
                               filename=mail.attachment_name or "attachment.pdf")
    return message


def _message_id() -> str:
    """A new Message-ID under the portal's own host name (PUBLIC_URL)."""
    return make_msgid(domain=urlsplit(current_app.config["PUBLIC_URL"]).hostname or "localhost")


def _deliver_to_file(message: EmailMessage, stored_body: str | None = None) -> None:
    """`stored_body`: a mail with the pair's own text (policy.MAIL_KINDS_WITH_PAIR_TEXT) is written with that
    text left out: the file and the console are read by whoever runs the server."""
    # Attachments (the program's copy, an invitation) are named, never written out, for the same reason.
    body = message.get_body(("plain",)).get_content()
    if stored_body is not None:
        body = PAIR_TEXT.sub("[the pair's own, not written here]", stored_body)
    attachments = [f"[attachment: {part.get_filename()}, {len(part.get_content())} bytes, not shown]"
                   for part in message.iter_attachments()]
    text = "\n".join([f"From: {message['From']}", f"To: {message['To']}", f"Subject: {message['Subject']}", "",
                      body, *attachments])
    log.info("mail delivered to console: To: %s | Subject: %s", message["To"], message["Subject"])
    with open(current_app.config["MAIL_FILE"], "a", encoding="utf-8") as handle:
        handle.write(text + "\n" + "=" * 72 + "\n")
    current_app.logger.info("\n%s", text)


class SmtpUnreachable(OSError):
    """The SMTP server could not be reached earlier in this run: each further message of the run counts a failed
    attempt without another try to connect."""


class _SmtpConnection:
    """One SMTP connection for a whole run, opened for the first message. It is opened again only when the
    server dropped it (an idle timeout, a restart); when it cannot be opened at all, the run does not try
    again for every message."""

    def __init__(self, config) -> None:
        self.config = config
        self.smtp: smtplib.SMTP | None = None
        self.unreachable: str | None = None

    def _open(self) -> None:
        if self.unreachable:
            raise SmtpUnreachable(self.unreachable)
        config = self.config
        try:
            smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30)
            try:
                if config["MAIL_USE_TLS"]:
                    smtp.starttls()
                if config["MAIL_USERNAME"]:
                    smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            except BaseException:
                smtp.close()
                raise
        except (OSError, smtplib.SMTPException) as error:
            self.unreachable = f"{type(error).__name__}: {error}"
            raise
        self.smtp = smtp

    def send(self, message: EmailMessage) -> None:
        if self.smtp is None:
            self._open()
        try:
            self.smtp.send_message(message)
        except smtplib.SMTPServerDisconnected:
            self.smtp = None
            self._open()
            self.smtp.send_message(message)

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None


@dataclass
class DeliveryRun:
    """What one run of the sender did: mail sent, mail to be tried again later, mail given up on."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def not_delivered(self) -> int:
        return self.retrying + self.failed


def _due(outbox, now: datetime):
    """Mail a sender may take now: not sent, not given up on, its wait over, and claimed by no sender (or by
    one whose claim ran out: it died)."""
    return and_(outbox.sent_at.is_(None), outbox.failed_at.is_(None),
                or_(outbox.next_attempt_at.is_(None), outbox.next_attempt_at <= now),
                or_(outbox.claimed_until.is_(None), outbox.claimed_until < now))


def _claim_next(sender: str, now: datetime) -> int | None:
    """Claim the oldest due mail for `sender` and count the attempt; its id, or None when nothing is due.

    One statement, committed at once: on SQLite it runs under the database's single write lock, so it is
    atomic; on PostgreSQL the candidate row is locked with SKIP LOCKED (a concurrent sender takes the next
    one instead of waiting) and the outer WHERE checks again that the row is still due."""
    candidate = aliased(OutboxMail)
    next_id = (select(candidate.id).where(_due(candidate, now)).order_by(candidate.id).limit(1)
               .with_for_update(skip_locked=True).scalar_subquery())
    claimed = db.session.execute(
        update(OutboxMail).where(OutboxMail.id == next_id, _due(OutboxMail, now))
        .values(claimed_by=sender, claimed_until=now + CLAIM_LEASE, attempts=OutboxMail.attempts + 1)
        .returning(OutboxMail.id).execution_options(synchronize_session=False)).scalar()
    db.session.commit()
    return claimed


def _describe(error: Exception) -> str:
    """The server's answer as an operator reads it ("550 no such mailbox (to@example.org)")."""
    def text(reply) -> str:
        return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{code} {text(reply)} ({address})" for address, (code, reply) in error.recipients.items())
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {text(error.smtp_error)}"
    return f"{type(error).__name__}: {error}"


def _record_failure(mail: OutboxMail, error: Exception, now: datetime, run: DeliveryRun) -> None:
    mail.last_error = _describe(error)[:500]
    mail.claimed_by = mail.claimed_until = None
    if mail.attempts <= len(RETRY_DELAYS):
        mail.next_attempt_at = now + RETRY_DELAYS[mail.attempts - 1]
        run.retrying += 1
        log.warning("mail %s not delivered (attempt %s), next attempt at %s UTC: %s", mail.id, mail.attempts,
                    f"{mail.next_attempt_at:%Y-%m-%d %H:%M}", mail.last_error)
        return
    mail.failed_at = now
    run.failed += 1
    log.error("mail %s not delivered after %s attempts; given up (`flask mail failed` lists it): %s", mail.id,
              mail.attempts, mail.last_error)
    if policy.carries_pair_text(mail.kind):
        # Given up on: the pair's text has no reason to stay in the outbox any more than once sent.
        mail.body = PAIR_TEXT.sub(PAIR_TEXT_REMOVED, mail.body)
        mail.attachment = None


def _record_sent(mail: OutboxMail, now: datetime, run: DeliveryRun) -> None:
    mail.sent_at = now
    mail.last_error = None
    mail.next_attempt_at = mail.claimed_by = mail.claimed_until = None
    mail.body = without_one_time_links(mail.body)
    if policy.carries_pair_text(mail.kind):
        mail.body = PAIR_TEXT.sub(PAIR_TEXT_REMOVED, mail.body)
        mail.attachment = None  # the invitation holds the place too
    run.sent += 1


def deliver_pending(limit: int = 100, now: datetime | None = None) -> DeliveryRun:
    """Send the mail that is due, at most `limit` messages; any number of senders may run at once.

    Each message is claimed before it is sent, and no transaction stays open while the SMTP server takes its
    time (on SQLite an open transaction would hold the write lock). A failed attempt waits RETRY_DELAYS; after
    the last one the message is marked failed. `now` (UTC): the time the run acts at (tests)."""
    sender = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    run = DeliveryRun()
    smtp = _SmtpConnection(current_app.config) if current_app.config["MAIL_SERVER"] else None
    try:
        for _ in range(limit):
            at = now or utcnow()
            mail_id = _claim_next(sender, at)
            if mail_id is None:
                break
            mail = db.session.get(OutboxMail, mail_id)
            try:
                if mail.copy_of_signed_version_id is not None:
                    _attach_program_copy(mail)
                mail.message_id = mail.message_id or _message_id()
                message = _message(mail)
                stored_body = mail.body if policy.carries_pair_text(mail.kind) else None
                db.session.commit()  # the rendered copy and the Message-ID are kept for a retry
                if smtp is not None:
                    smtp.send(message)
                else:
                    _deliver_to_file(message, stored_body)
            except (OSError, smtplib.SMTPException) as error:
                db.session.rollback()
                _record_failure(mail, error, at, run)
            else:
                _record_sent(mail, at, run)
            db.session.commit()
    finally:
        if smtp is not None:
            smtp.close()
    return run


class NotFailed(LookupError):
    """`flask mail retry ID` names a mail that does not exist or has not failed."""


def failed_mail() -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.failed_at.is_not(None))
                                   .order_by(OutboxMail.id)))


def retry_failed(mail_id: int | None) -> int:
    """Queue failed mail again (one, or all when `mail_id` is None) with a fresh run of attempts; how many.
    A mail with the pair's text was stripped of it when it failed: it goes without it."""
    if mail_id is None:
        retried = failed_mail()
    else:
        mail = db.session.get(OutboxMail, mail_id)
        if mail is None or mail.failed_at is None:
            raise NotFailed(f"Mail {mail_id} has not failed (or does not exist): there is nothing to retry.")
        retried = [mail]
    for mail in retried:
        mail.failed_at = mail.next_attempt_at = mail.claimed_by = mail.claimed_until = None
        mail.attempts = 0
    return len(retried)
