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

    @app.cli.command("send-mail")
    @click.option("--watch", is_flag=True, help="Keep delivering every few seconds until interrupted.")
    @click.option("--interval", default=2.0, show_default=True, help="Seconds between deliveries with --watch.")
    def send_mail(watch: bool, interval: float) -> None:
        """Deliver the mail waiting in the outbox."""
        from portal.mail import deliver_pending
        while True:
            sent = deliver_pending()
            if sent or not watch:
                click.echo(f"{sent} mail(s) delivered.")
            if not watch:
                return
            db.session.remove()
            time.sleep(interval)
