"""CLI commands registered by the factory: `flask --app wsgi <command>`."""
from __future__ import annotations

import time

import click
from flask import Flask

from portal.extensions import db


def register(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.argument("email")
    @click.option("--name", default="", help="Display name.")
    @click.password_option(help="The password (asked for when not given).")
    def create_admin(email: str, name: str, password: str) -> None:
        """Create a site admin (or make an existing account one)."""
        from portal.domain.accounts import AccountError, create_site_admin
        try:
            user = create_site_admin(email, name, password)
        except AccountError as error:
            raise click.ClickException(str(error)) from error
        db.session.commit()
        click.echo(f"Site admin {user.email} is ready.")

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load the demo programs, people and pairs into an empty database (does nothing otherwise)."""
        from portal.demo import seed
        if app.config["PRODUCTION"]:
            raise click.ClickException("Not in production (PORTAL_PRODUCTION is set): the demo accounts' password "
                                       "is published in the README, so anyone could sign in with them.")
        if seed():
            click.echo("Demo data loaded. Demo accounts are listed in README.md.")
        else:
            click.echo("The database already has data; the demo was not loaded.")

    @app.cli.command("rotate-pdf-signing-key")
    def rotate_pdf_signing_key() -> None:
        """Retire the generated PDF signing key and certificate (kept in instance/pdf_signing_retired/) and make
        new ones; restart the workers afterwards. Files issued before still verify (by their recorded hash).
        A configured certificate (PDF_SIGNING_*) is rotated by configuring the new files instead."""
        import os

        from portal import audit, pdf_signing
        from portal.config import INSTANCE_DIR
        if pdf_signing.configured_identity(os.environ) is not None:
            raise click.ClickException("PDF_SIGNING_* names the signing certificate: configure the new files "
                                       "instead, then restart the workers.")
        identity = pdf_signing.rotate_instance_identity(INSTANCE_DIR, pdf_signing.common_name(
            app.config["PUBLIC_URL"]))
        serial = format(identity.certificate.serial_number, "x")
        audit.record("pdf_signing_key.rotated", certificate_serial=serial)
        db.session.commit()
        click.echo(f"New PDF signing certificate {serial}; restart the workers to use it.")

    @app.cli.command("rotate-keys")
    def rotate_keys() -> None:
        """Re-encrypt all confidential content under the first key of DATA_KEYS (safe while serving).

        Put the new key first in DATA_KEYS (or its DATA_KEYS_FILE) and keep the old one listed, reload the
        workers (kill -HUP gunicorn's master), run this, then remove the old key and reload again."""
        from portal import audit
        from portal.crypto import keyring, rotate_all
        from portal.key_check import write_check
        write_check(db.session, keyring(), keyring().current_id)  # before any data is under it
        db.session.commit()
        counts = rotate_all(db.session)
        audit.record("keys.rotated", current_key=keyring().current_id, rows=sum(counts.values()))
        db.session.commit()
        for name, count in counts.items():
            click.echo(f"{name}: {count} re-encrypted")
        click.echo(f"All confidential content is now under key {keyring().current_id}.")

    @app.cli.command("check-keys")
    def check_keys() -> None:
        """Check DATA_KEYS (or its DATA_KEYS_FILE, read now) against the database before the workers reload:
        exits non-zero, naming the key id, when they do not match, or when the database cannot be asked. The
        systemd unit's reload runs it first, so a wrong key file never replaces working workers."""
        from portal.crypto import Keyring
        from portal.key_check import check_data_keys
        ring = Keyring(app.config["DATA_KEYS"])  # a start with keys that do not match has stopped before here
        if not check_data_keys(ring, db.session):
            raise click.ClickException("the data keys could not be checked: the database is out of reach or not "
                                       "migrated")
        click.echo(f"The data keys match the database ({', '.join(ring.keys)}; new data under "
                   f"{ring.current_id}).")

    @app.cli.command("verify-audit")
    def verify_audit() -> None:
        """Check the audit log's hash chain; exits non-zero when an entry was altered, inserted or removed."""
        from portal.audit import verify_chain
        check = verify_chain()
        if not check.intact:
            raise click.ClickException(
                f"The audit log chain is broken at entry {check.first_broken_id} "
                f"(after {check.entries} intact entries): it was altered outside the portal.")
        click.echo(f"The audit log is intact: {check.entries} entries.")
    @app.cli.command("send-reminders")
    @click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="Act as if today were this date (UTC), for catching up or testing.")
    def send_reminders(today) -> None:
        """Queue today's reminders (term ending, review due, signature waiting, no meeting, retention, a planned
        meeting tomorrow).

        Run daily from cron; a reminder is never sent twice, however often this runs."""
        from portal.domain.reminders import send_reminders as send
        sent = send(today.date() if today else None)
        for kind, count in sent.items():
            click.echo(f"{kind}: {count} sent")
        click.echo(f"{sum(sent.values())} reminder(s) queued; `send-mail` delivers them.")


    @app.cli.command("purge")
    @click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="Act as if today were this date (UTC).")
    def purge(today) -> None:
        """Delete pair-only content of agreements closed longer ago than their program's retention.

        Only agreements whose members were told at least 30 days before (by `send-reminders`) are purged. Pair-only
        content written after an earlier purge (a note in a purged pair's notebook) is deleted by the next run."""
        from portal.domain.retention import purge_expired
        done = purge_expired(today.date() if today else None)
        for agreement_id, rows in done:
            click.echo(f"agreement {agreement_id}: {rows} pair-only item(s) deleted")
        click.echo(f"{len(done)} agreement(s) purged.")

    @click.option("--watch", is_flag=True, help="Keep delivering every few seconds until interrupted.")
    @click.option("--interval", default=2.0, show_default=True, help="Seconds between deliveries with --watch.")
    def send_mail(watch: bool, interval: float) -> None:
        """Deliver the mail that is due in the outbox (any number of runs may overlap: each mail goes once).

        Exits non-zero when a mail was not delivered in this run (it is retried after 1, 5, 30 minutes, then
        hourly for a day; then `flask mail failed` lists it). With --watch, a failure is logged and the loop
        goes on."""
        from portal.errors import DATABASE_UNAVAILABLE
        from portal.logs import one_line
        from portal.mail import deliver_pending
        while True:
            try:
                run = deliver_pending()
            except DATABASE_UNAVAILABLE as error:  # one line, as the web workers log an outage
                db.session.rollback()
                cause = getattr(error, "orig", None) or error
                message = f"database unavailable: {type(cause).__name__}: {one_line(str(cause).strip())}"
                if not watch:
                    raise click.ClickException(f"no mail delivered: {message}") from None
                app.logger.error("mail delivery waits: %s; trying again in %s seconds", message, interval)
            except Exception:  # noqa: BLE001  (the watching loop of `make run` outlives any other failure too)
                if not watch:
                    raise
                db.session.rollback()
                app.logger.exception("mail delivery failed; trying again in %s seconds", interval)
            else:
                if run.sent or not watch:
                    click.echo(f"{run.sent} mail(s) delivered.")
                if run.not_delivered and not watch:
                    click.echo(f"{run.not_delivered} mail(s) not delivered: {run.retrying} will be retried later, "
                               f"{run.failed} failed for good (`flask mail failed` lists them).", err=True)
                    raise SystemExit(1)
            if not watch:
                return
            db.session.remove()
            time.sleep(interval)

    app.cli.command("send-mail")(send_mail)

    @app.cli.group("mail")
    def mail_group() -> None:
        """The outbox: deliver mail, list the mail given up on, queue it again."""

    mail_group.command("send")(send_mail)

    @mail_group.command("failed")
    def mail_failed() -> None:
        """List the mail the sender gave up on: id, address, kind, subject, attempts, last error (never the
        text, which may be a pair's)."""
        from portal.mail import failed_mail
        failed = failed_mail()
        if not failed:
            click.echo("No failed mail.")
            return
        for mail in failed:
            click.echo(f"{mail.id}\t{mail.to_address}\t{mail.kind}\t{mail.subject}\t"
                       f"{mail.attempts} attempts, failed {mail.failed_at:%Y-%m-%d %H:%M} UTC\t{mail.last_error}")
        click.echo(f"{len(failed)} failed mail(s); `flask mail retry ID` or `flask mail retry --all` queues "
                   "them again.")

    @mail_group.command("retry")
    @click.argument("mail_id", type=int, required=False)
    @click.option("--all", "retry_all", is_flag=True, help="Queue every failed mail again.")
    def mail_retry(mail_id: int | None, retry_all: bool) -> None:
        """Queue a failed mail (or --all of them) again, with a fresh run of attempts."""
        from portal.mail import NotFailed, retry_failed
        if (mail_id is None) == (not retry_all):
            raise click.UsageError("Give the id of one failed mail, or --all.")
        try:
            count = retry_failed(None if retry_all else mail_id)
        except NotFailed as error:
            raise click.ClickException(str(error)) from error
        db.session.commit()
        click.echo(f"{count} failed mail(s) queued again; the next `flask send-mail` sends them.")
