"""E-mail through an outbox table. Requests only queue; `flask send-mail` (and `make run`) deliver.

The development sender writes each mail to the console log and appends it to MAIL_FILE under instance/;
with MAIL_SERVER set, it speaks SMTP.
"""
from __future__ import annotations

import logging
import re
import smtplib
from email.message import EmailMessage

from flask import current_app, render_template
from sqlalchemy import select

from portal import policy
from portal.extensions import db
from portal.models import OutboxMail
from portal.timeutil import utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
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


def _deliver_smtp(messages: list[EmailMessage]) -> None:
    config = current_app.config
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        for message in messages:
            smtp.send_message(message)


def deliver_pending(limit: int = 100) -> int:
    """Send queued mail; returns how many were sent. Failures are retried on the next run, up to 5 times."""
    pending = db.session.scalars(
        select(OutboxMail).where(OutboxMail.sent_at.is_(None), OutboxMail.attempts < MAX_ATTEMPTS)
        .order_by(OutboxMail.id).limit(limit)).all()
    sent = 0
    for mail in pending:
        mail.attempts += 1
        if mail.copy_of_signed_version_id is not None:
            _attach_program_copy(mail)
        try:
            message = _message(mail)
            if current_app.config["MAIL_SERVER"]:
                _deliver_smtp([message])
            else:
                _deliver_to_file(message, mail.body if policy.carries_pair_text(mail.kind) else None)
        except (OSError, smtplib.SMTPException) as error:
            mail.last_error = f"{type(error).__name__}: {error}"[:500]
            log.warning("mail %s not delivered: %s", mail.id, mail.last_error)
            if mail.attempts >= MAX_ATTEMPTS and policy.carries_pair_text(mail.kind):
                # Given up on: the pair's text has no reason to stay in the outbox any more than once sent.
                mail.body = PAIR_TEXT.sub(PAIR_TEXT_REMOVED, mail.body)
                mail.attachment = None
        else:
            mail.sent_at = utcnow()
            mail.last_error = None
            mail.body = without_one_time_links(mail.body)
            if policy.carries_pair_text(mail.kind):
                mail.body = PAIR_TEXT.sub(PAIR_TEXT_REMOVED, mail.body)
                mail.attachment = None  # the invitation holds the place too
            sent += 1
        db.session.commit()
    return sent
