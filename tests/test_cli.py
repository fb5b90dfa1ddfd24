"""The CLI: create-admin, seed-demo and send-mail."""
from __future__ import annotations

from portal import demo
from portal.extensions import db
from portal.mail import queue_mail
from portal.models import OutboxMail, Pair, Program, User
from tests.factories import make_user, sign_in


def test_create_admin_makes_a_site_admin_who_can_sign_in(runner, client):
    """Does `flask create-admin EMAIL` make an account that signs in as site admin?"""
    result = runner.invoke(args=["create-admin", "Boss@Example.org", "--name", "The Boss"],
                           input="a long admin password\na long admin password\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).where(User.email == "boss@example.org"))
    assert user.is_site_admin
    assert sign_in(client, "boss@example.org", "a long admin password").status_code == 303
    assert "Site administration" in client.get("/").get_data(as_text=True)


def test_create_admin_refuses_a_short_password(runner):
    """Is a weak password refused with a message and no account made?"""
    result = runner.invoke(args=["create-admin", "boss@example.org"], input="short\nshort\n")
    assert result.exit_code != 0 and "at least 10 characters" in result.output
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_seed_demo_loads_once(runner):
    """Does seed-demo load the programs, people and pairs, and leave a non-empty database alone?"""
    assert "Demo data loaded" in runner.invoke(args=["seed-demo"]).output
    assert {p.code for p in db.session.scalars(db.select(Program))} == {"WHPRMS", "CCMC"}
    assert db.session.scalar(db.select(db.func.count(Pair.id))) == 4
    assert "was not loaded" in runner.invoke(args=["seed-demo"]).output
    assert db.session.scalar(db.select(db.func.count(User.id))) == len(demo.ACCOUNTS)


def test_seed_demo_refuses_in_production(app, runner):
    """In production, does seed-demo refuse (saying why) and load no account with the README's password?"""
    app.config["PRODUCTION"] = True
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "production" in result.output and "password" in result.output
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_seed_demo_refuses_a_database_with_data(runner):
    """Is the demo never mixed into a database that already has accounts?"""
    make_user()
    assert "was not loaded" in runner.invoke(args=["seed-demo"]).output
    assert db.session.scalar(db.select(db.func.count(Program.id))) == 0


def test_send_mail_delivers_to_the_file_and_marks_sent(app, runner, tmp_path):
    """Does send-mail deliver queued mail (to the file in development) and never twice?"""
    app.config["MAIL_FILE"] = str(tmp_path / "mail.log")
    with app.test_request_context():
        queue_mail("someone@example.org", "test", "Hello there", "added.txt",
                   user=make_user(name="Someone"), inviter=make_user(name="Inviter"), reason="a test", link="/")
    db.session.commit()
    assert "1 mail(s) delivered" in runner.invoke(args=["send-mail"]).output
    text = (tmp_path / "mail.log").read_text()
    assert "To: someone@example.org" in text and "Subject: Hello there" in text
    assert db.session.scalar(db.select(OutboxMail)).sent_at is not None
    assert "0 mail(s) delivered" in runner.invoke(args=["send-mail"]).output


def test_smtp_failure_is_kept_for_retry(app, runner, monkeypatch):
    """When the SMTP server is down, does the mail stay queued with the error noted?"""
    import smtplib

    class Down:
        def __init__(self, *args, **kwargs):
            raise ConnectionRefusedError("connection refused")
    monkeypatch.setattr(smtplib, "SMTP", Down)
    app.config["MAIL_SERVER"] = "127.0.0.1"
    with app.test_request_context():
        queue_mail("x@example.org", "test", "Subject", "added.txt",
                   user=make_user(), inviter=make_user(), reason="r", link="/")
    db.session.commit()
    runner.invoke(args=["send-mail"])
    mail = db.session.scalar(db.select(OutboxMail))
    assert mail.sent_at is None and mail.attempts == 1 and "refused" in mail.last_error


def test_development_mail_file_names_attachments_without_their_content(app, runner, tmp_path):
    """Does the development sender leave a PDF attachment (the program's copy) out of the file, naming it only?"""
    app.config["MAIL_FILE"] = str(tmp_path / "mail.log")
    with app.test_request_context():
        queue_mail("program@example.org", "signed_copy_program", "Your copy", "added.txt",
                   attachment=("copy.pdf", b"%PDF-SECRET"), user=make_user(), inviter=make_user(), reason="r", link="/")
    db.session.commit()
    assert "1 mail(s) delivered" in runner.invoke(args=["send-mail"]).output
    text = (tmp_path / "mail.log").read_text()
    assert "[attachment: copy.pdf, 11 bytes, not shown]" in text and "SECRET" not in text


def test_no_mail_but_the_programs_copy_carries_an_attachment(app):
    """Is an attachment refused on any mail but the program's signed copy (the pair's copy is never mailed)?"""
    import pytest
    with app.test_request_context(), pytest.raises(ValueError):
        queue_mail("pair@example.org", "signed_copy_pair", "Your copy", "added.txt",
                   attachment=("copy.pdf", b"%PDF-"), user=make_user(), inviter=make_user(), reason="r", link="/")
