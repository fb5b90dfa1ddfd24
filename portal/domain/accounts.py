"""Accounts: passwords, sign-in with throttling, invitations and resets through one-time links, sessions."""
from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import Integer, bindparam, delete, select
from werkzeug.security import check_password_hash, generate_password_hash

from portal import audit, ratelimit, rawsql
from portal.extensions import db
from portal.mail import queue_mail
from portal.models import AccountToken, Pair, Program, User
from portal.policy import LIVE_PAIR
from portal.timeutil import utcnow

EMAIL_PATTERN = re.compile(r"^[^@\s<>\"'(),;:\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
PASSWORD_MIN = 10
PASSWORD_MAX = 200
TOKEN_PURPOSES = ("invite", "reset", "email")
PASSWORD_PURPOSES = ("invite", "reset")  # the links that set a password
# Checked against when the e-mail is unknown, so that a wrong address costs as much time as a wrong password.
_DUMMY_HASH_CACHE: dict[str, str] = {}


class AccountError(Exception):
    """A refusal with a message that can be shown to the person as it is."""


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def has_control_characters(text: str) -> bool:
    """Whether `text` holds a control or format character (NUL, line breaks, right-to-left overrides...):
    none belongs in an address, and PostgreSQL cannot even compare a string holding NUL."""
    return any(unicodedata.category(character) in ("Cc", "Cf") for character in text)


def is_valid_email(email: str) -> bool:
    """The one check of an address typed or uploaded anywhere in the portal."""
    return len(email) <= 254 and not has_control_characters(email) and bool(EMAIL_PATTERN.match(email))


def password_problem(password: str) -> str | None:
    if len(password) < PASSWORD_MIN:
        return f"Choose a password of at least {PASSWORD_MIN} characters."
    if len(password) > PASSWORD_MAX:
        return f"Choose a password of at most {PASSWORD_MAX} characters."
    return None


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def verify_password(user: User, password: str) -> bool:
    return bool(user.password_hash) and check_password_hash(user.password_hash, password)


def _dummy_check(password: str) -> None:
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASH_CACHE:
        _DUMMY_HASH_CACHE[method] = generate_password_hash(secrets.token_hex(8), method=method)
    check_password_hash(_DUMMY_HASH_CACHE[method], password)


def user_by_email(email: str) -> User | None:
    email = normalize_email(email)
    if has_control_characters(email):
        return None  # no stored address has one (is_valid_email), and PostgreSQL refuses NUL in a query
    return db.session.scalar(select(User).where(User.email == email))


# --- sign-in and throttling ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignInResult:
    user: User | None = None
    throttled: bool = False


def is_throttled(email: str, address: str | None) -> bool:
    config = current_app.config
    minutes = config["LOGIN_THROTTLE_MINUTES"]
    return (ratelimit.over_limit("sign_in:account", email, config["LOGIN_MAX_FAILURES_PER_ACCOUNT"], minutes)
            or ratelimit.over_limit("sign_in:address", address, config["LOGIN_MAX_FAILURES_PER_ADDRESS"], minutes))


def record_wrong_password(email: str, address: str | None) -> None:
    """A wrong password (at sign-in or when re-entered to confirm an action) counts towards the throttle."""
    ratelimit.hit("sign_in:account", normalize_email(email))
    if address:
        ratelimit.hit("sign_in:address", address)


def sign_in(email: str, password: str, address: str | None) -> SignInResult:
    """Check the credentials. Failures are counted per account and per client address, in the database."""
    email = normalize_email(email)
    if has_control_characters(email):
        # No account has such an address, and it must not reach a query (the throttle keys are stored): the
        # answer and its cost are a wrong password's, counted against the client address only.
        _dummy_check(password)
        if address:
            ratelimit.hit("sign_in:address", address)
        return SignInResult()
    if is_throttled(email, address):
        audit.record("sign_in.throttled", email_domain=email.rpartition("@")[2])
        return SignInResult(throttled=True)
    user = user_by_email(email)
    if user is None:
        _dummy_check(password)
    if user is None or not user.is_active or not verify_password(user, password):
        record_wrong_password(email, address)
        audit.record("sign_in.failed", actor=user)
        return SignInResult()
    ratelimit.clear("sign_in:account", email)
    user.last_sign_in_at = utcnow()
    audit.record("sign_in", actor=user)
    return SignInResult(user=user)


class WrongPassword(AccountError):
    """The password entered again is not the account's."""


class Throttled(AccountError):
    """Too many wrong passwords for this account or from this client address: even the right one waits."""


def throttled_message() -> str:
    """The one answer to a throttled password, at sign-in and wherever the password is entered again."""
    return (f"Too many failed sign-ins. Wait {current_app.config['LOGIN_THROTTLE_MINUTES']} minutes, then try "
            "again, or reset your password.")


def confirm_password(user: User, password: str, address: str | None,
                     wrong: str = "That is not your password. Enter the password you sign in with.") -> None:
    """Check the password again (to sign, approve a share, change the password or the address). Wrong
    passwords count towards the same throttle as sign-in, and once throttled the right one is refused too, so
    a session left open on a shared computer cannot be used to guess it. Raises Throttled or AccountError with
    a message for the person; the caller commits, so that the failure is counted."""
    if is_throttled(user.email, address):
        audit.record("password_confirm.throttled", actor=user)
        raise Throttled(throttled_message())
    if not verify_password(user, password or ""):
        record_wrong_password(user.email, address)
        audit.record("password_confirm.failed", actor=user)
        raise WrongPassword(wrong)


def end_all_sessions(user: User) -> None:
    """Every session cookie minted before now stops working (checked when the user is loaded)."""
    user.session_generation = (user.session_generation or 0) + 1


_USER_COLUMNS = rawsql.columns_of(User)
_USER_BY_ID = rawsql.Query(select(*_USER_COLUMNS).where(User.id == bindparam("user_id", type_=Integer)))
_USER_NAMES = tuple(column.key for column in _USER_COLUMNS)


def load_user_from_session(session_id: str) -> User | None:
    """Flask-Login's user loader: the id must carry the current session generation and the user be active.

    Every signed-in request runs it, so the row is read as plain SQL and adopted into the session as the
    persistent User the ORM would have loaded (a quarter of what `session.get` costs)."""
    user_id, _, generation = session_id.partition(":")
    if not (user_id.isascii() and user_id.isdigit() and generation.isascii() and generation.isdigit()):
        return None
    row = rawsql.first(_USER_BY_ID, {"user_id": int(user_id)}) if len(user_id) <= 10 else None
    if row is None:
        return None
    user = rawsql.adopt(User, dict(zip(_USER_NAMES, row)))
    if not user.is_active or user.session_generation != int(generation):
        return None
    return user


def role_labels(users: list[User]) -> dict[int, list[str]]:
    """Everything each of these people is, by user id, for the accounts page: site admin, their program roles
    ("program admin (CCMC)") and their place in pairs ("mentor (WHPRMS)", "mentee of 2 pairs (CCMC)"). Their
    roles must be loaded with their programs; the pairs are read in one query, whatever the number of people."""
    labels: dict[int, list[str]] = {
        user.id: (["site admin"] if user.is_site_admin else []) + [
            f"{'program admin' if role.role == 'admin' else role.role} ({role.program.code})" for role in user.roles]
        for user in users}
    ids = list(labels)
    if not ids:
        return labels
    counts: dict[tuple[int, str, str], int] = {}
    for mentor_id, mentee_id, code in db.session.execute(
            select(Pair.mentor_id, Pair.mentee_id, Program.code).join(Program, Program.id == Pair.program_id)
            .where(Pair.mentor_id.in_(ids) | Pair.mentee_id.in_(ids), LIVE_PAIR)  # a removed pair is no role
            .order_by(Program.code)):
        for user_id, role in ((mentor_id, "mentor"), (mentee_id, "mentee")):
            counts[(user_id, role, code)] = counts.get((user_id, role, code), 0) + 1
    for (user_id, role, code), count in counts.items():
        if user_id in labels:
            labels[user_id].append(f"{role} ({code})" if count == 1 else f"{role} of {count} pairs ({code})")
    return labels


# --- one-time links -----------------------------------------------------------------------------------------

def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


_TOKEN_HOURS = {"invite": "TOKEN_HOURS_INVITE", "reset": "TOKEN_HOURS_RESET", "email": "TOKEN_HOURS_EMAIL"}


def issue_token(user: User, purpose: str, new_email: str | None = None) -> str:
    """A new one-time link token; earlier unused tokens of the same purpose stop working."""
    assert purpose in TOKEN_PURPOSES
    hours = current_app.config[_TOKEN_HOURS[purpose]]
    db.session.execute(delete(AccountToken).where(
        AccountToken.user_id == user.id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None)))
    raw = secrets.token_urlsafe(32)
    db.session.add(AccountToken(user_id=user.id, purpose=purpose, token_hash=_token_hash(raw), new_email=new_email,
                                expires_at=utcnow() + timedelta(hours=hours)))
    return raw


def find_token(raw: str, purposes: tuple[str, ...] = PASSWORD_PURPOSES) -> AccountToken:
    """The usable token for this link, or AccountError saying why it cannot be used. A token of another
    purpose is not valid here (an address confirmation link never sets a password)."""
    if not raw or len(raw) > 100:
        raise AccountError("This link is not valid. Ask for a new one.")
    token = db.session.scalar(select(AccountToken).where(AccountToken.token_hash == _token_hash(raw)))
    if token is None or token.purpose not in purposes:
        # A resent invitation or a newer reset link deletes the earlier token, so this is the common case.
        raise AccountError("This link is not valid: it may have been replaced by a newer one. Use the link in "
                           "the most recent e-mail from the portal, or ask for a new one.")
    if token.used_at is not None:
        raise AccountError("This link has already been used. Ask for a new one if you still need it.")
    if token.expires_at < utcnow():
        if token.purpose == "invite":
            raise AccountError("This invitation has expired. Ask your program admin to send it again, or get a "
                               "new link yourself: \u201cAsk for a new link\u201d below, with the address it "
                               "was sent to.")
        raise AccountError("This link has expired. Ask for a new one.")
    if token.user.is_deactivated:
        raise AccountError("This link is not valid. Ask for a new one.")
    return token


def redeem_token(raw: str, password: str, name: str | None = None) -> User:
    """Set the password through a one-time link. The link is spent; other sessions end."""
    token = find_token(raw)
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    user = token.user
    if name:
        user.name = clean_display_name(name) or user.name
    user.password_hash = hash_password(password)
    token.used_at = utcnow()
    end_all_sessions(user)
    audit.record("account.password_set", actor=user, via=token.purpose)
    return user


def link_for(raw: str) -> str:
    return f"{current_app.config['PUBLIC_URL']}/auth/set-password/{raw}"


RESET_LIMIT_PER_ADDRESS = 10     # reset requests from one client address per hour
RESET_LIMIT_PER_ACCOUNT = 3      # reset mails to one account per hour
INVITE_LIMIT_PER_ACTOR = 1000    # invitation mails one person may cause per hour (a CSV import included)


class RateLimited(AccountError):
    """Too many requests of one kind; answered with 429."""


def request_password_reset(email: str, address: str | None) -> None:
    """Queue a reset link if an active account has this address. The caller says the same thing either way
    (also when the account's own limit is reached: that must not reveal that the account exists)."""
    if not ratelimit.take("reset:address", address, RESET_LIMIT_PER_ADDRESS, 60):
        raise RateLimited("Too many password requests from your network. Wait an hour, then try again.")
    user = user_by_email(email)
    if user is None or user.is_deactivated:
        return
    if not ratelimit.take("reset:account", user.email, RESET_LIMIT_PER_ACCOUNT, 60):
        return
    purpose = "reset" if user.password_hash else "invite"
    raw = issue_token(user, purpose)
    queue_mail(user.email, "reset", "Set a new password for the Mentorship Portal", "reset.txt",
               user=user, link=link_for(raw), hours=current_app.config["TOKEN_HOURS_RESET"])
    audit.record("account.reset_requested", actor=user)


def clean_display_name(raw: str | None) -> str:
    """A name typed by someone else (an invitation, a CSV cell, a share): invisible characters (NUL, line
    breaks, right-to-left overrides and other format controls that could reorder the text around the name)
    are dropped, spaces collapsed, and it is cut to 120 characters."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in (raw or "")).split())[:120]


def invite(email: str, name: str, invited_by: User, reason: str) -> User:
    """Find or create the account for this address. New people get an invitation link to set a password;
    people who already have an account are told by e-mail what they were added to."""
    email = normalize_email(email)
    if not is_valid_email(email):
        raise AccountError("Enter a valid e-mail address, such as name@example.org.")
    user = user_by_email(email)
    if user is None:
        user = User(email=email, name=clean_display_name(name) or email.partition("@")[0])
        db.session.add(user)
        db.session.flush()
    if user.is_deactivated:
        raise AccountError("This account is deactivated. A site administrator can reactivate it.")
    if not ratelimit.take("invite:actor", str(invited_by.id), INVITE_LIMIT_PER_ACTOR, 60):
        raise RateLimited("You have sent a great many invitations in the last hour. Wait a while, then try again.")
    if user.password_hash is None:
        raw = issue_token(user, "invite")
        queue_mail(user.email, "invite", "You are invited to the Mentorship Portal", "invite.txt",
                   user=user, inviter=invited_by, reason=reason, link=link_for(raw),
                   hours=current_app.config["TOKEN_HOURS_INVITE"])
    else:
        queue_mail(user.email, "added", "You have a new role in the Mentorship Portal", "added.txt",
                   user=user, inviter=invited_by, reason=reason, link=current_app.config["PUBLIC_URL"] + "/")
    audit.record("account.invited", actor=invited_by, user_id=user.id, reason=reason)
    return user


def set_deactivated(user: User, deactivated: bool, by: User) -> None:
    if user.id == by.id:
        raise AccountError("You cannot deactivate your own account.")
    user.is_deactivated = deactivated
    if deactivated:
        end_all_sessions(user)
        # Everything others opened to this person ends with the account: program roles (and the pairs they
        # opened) and the notes shared with them. Reactivation gives back the account only.
        from portal.domain.notes import end_shares_of_recipient
        from portal.domain.programs import end_all_roles
        end_all_roles(by, user)
        end_shares_of_recipient(user, by)
        if user.is_site_admin:  # given again, if wanted, with `flask create-admin`
            user.is_site_admin = False
            audit.record("account.site_admin_removed", actor=by, user_id=user.id)
    audit.record("account.deactivated" if deactivated else "account.reactivated", actor=by, user_id=user.id)


def create_site_admin(email: str, name: str, password: str) -> User:
    email = normalize_email(email)
    if not is_valid_email(email):
        raise AccountError("Enter a valid e-mail address.")
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    user = user_by_email(email) or User(email=email, name=name or email.partition("@")[0])
    user.is_site_admin = True
    user.password_hash = hash_password(password)
    user.is_deactivated = False
    db.session.add(user)
    db.session.flush()
    audit.record("account.site_admin_created", actor=None, user_id=user.id)
    return user


# --- the person's own account -------------------------------------------------------------------------------

WRONG_CURRENT_PASSWORD = "Your current password is not right."


def change_password(user: User, current_password: str, new_password: str, address: str | None) -> None:
    """Change the password; every other session of the account ends (the caller re-signs this one in)."""
    confirm_password(user, current_password, address, wrong=WRONG_CURRENT_PASSWORD)
    problem = password_problem(new_password)
    if problem:
        raise AccountError(problem)
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)
    queue_mail(user.email, "password_changed", "Your Mentorship Portal password was changed",
               "password_changed.txt", user=user)
    audit.record("account.password_changed", actor=user)


EMAIL_CHANGES_PER_HOUR = 5  # address change requests per account per hour: each one mails an address typed in


class AddressTaken(AccountError):
    """The address became another account's while the change waited for confirmation."""


class WrongAccount(AccountError):
    """An address confirmation link followed while signed in as another account."""


def confirm_email_link(raw: str) -> str:
    return f"{current_app.config['PUBLIC_URL']}/auth/confirm-email/{raw}"


def request_email_change(user: User, current_password: str, new_email: str, address: str | None) -> str:
    """Ask to sign in with another address, after re-entering the password. Nothing changes until the link
    mailed to the new address is followed (confirm_email_change): until then the address is not the person's,
    so no invitation, role or note share meant for it can reach them.

    The answer, and the pending change on the account page, are the same whether or not another account has
    the address: then no link is sent, and that account's owner is told someone tried. Returns the address."""
    confirm_password(user, current_password, address, wrong=WRONG_CURRENT_PASSWORD)
    new_email = normalize_email(new_email)
    if not is_valid_email(new_email):
        raise AccountError("Enter a valid e-mail address, such as name@example.org.")
    if new_email == user.email:
        raise AccountError("That is already your address.")
    if not ratelimit.take("email_change:account", str(user.id), EMAIL_CHANGES_PER_HOUR, 60):
        raise RateLimited(f"You have asked for {EMAIL_CHANGES_PER_HOUR} address changes in the last hour. Wait "
                          "a while, then try again.")
    raw = issue_token(user, "email", new_email=new_email)
    hours = current_app.config["TOKEN_HOURS_EMAIL"]
    if user_by_email(new_email) is None:
        queue_mail(new_email, "email_confirm", "Confirm your new Mentorship Portal address", "email_confirm.txt",
                   user=user, new_email=new_email, link=confirm_email_link(raw), hours=hours)
    else:
        queue_mail(new_email, "email_in_use", "Someone tried to use your address in the Mentorship Portal",
                   "email_in_use.txt", new_email=new_email)
    audit.record("account.email_change_requested", actor=user)
    return new_email


def pending_email_change(user: User) -> AccountToken | None:
    """The address change waiting for its link to be followed, if any (unused and not expired)."""
    return db.session.scalar(select(AccountToken).where(
        AccountToken.user_id == user.id, AccountToken.purpose == "email", AccountToken.used_at.is_(None),
        AccountToken.expires_at >= utcnow()))


def cancel_email_change(user: User) -> bool:
    """Drop the pending address change; its link stops working. False when none was waiting."""
    pending = pending_email_change(user)
    db.session.execute(delete(AccountToken).where(
        AccountToken.user_id == user.id, AccountToken.purpose == "email", AccountToken.used_at.is_(None)))
    if pending is not None:
        audit.record("account.email_change_cancelled", actor=user)
    return pending is not None


def email_change_for_link(raw: str) -> AccountToken:
    """The pending address change this link confirms, or AccountError saying why it cannot be used."""
    return find_token(raw, purposes=("email",))


def wrong_account_problem(token: AccountToken, signed_in: User | None) -> str | None:
    """Why this address confirmation link cannot be used in this session, or None: a session of another account
    must not confirm (nor be asked the password of) someone else's change."""
    if signed_in is not None and signed_in.id != token.user_id:
        return ("This link confirms an address change of another account than the one you are signed in with. "
                "Sign out, then follow the link again.")
    return None


def confirm_email_change(raw: str, signed_in: User | None, password: str | None, address: str | None) -> User:
    """Follow the link mailed to the new address: the address takes effect now. Signed in as the account, the
    session is proof enough; signed out, the account's password is asked (counted like a sign-in). Signed in as
    someone else: WrongAccount, nothing changes. The old address is told; reset links sent to it stop working."""
    token = email_change_for_link(raw)
    user = token.user
    problem = wrong_account_problem(token, signed_in)
    if problem:
        raise WrongAccount(problem)
    if signed_in is None:
        if not password:
            raise AccountError("Enter the password of the account that asked for this change.")  # not counted
        confirm_password(user, password, address)
    holder = user_by_email(token.new_email)
    if holder is not None and holder.id != user.id:
        raise AddressTaken(f"{token.new_email} already belongs to another account, so it cannot become the "
                           "address of yours. Ask a site admin for help if both accounts are yours.")
    old_email = user.email
    user.email = token.new_email
    token.used_at = utcnow()
    db.session.execute(delete(AccountToken).where(
        AccountToken.user_id == user.id, AccountToken.purpose.in_(PASSWORD_PURPOSES), AccountToken.used_at.is_(None)))
    queue_mail(old_email, "email_changed", "Your Mentorship Portal address was changed", "email_changed.txt",
               user=user, old_email=old_email)
    audit.record("account.email_changed", actor=user)
    return user


def rename(user: User, name: str) -> None:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise AccountError("Enter your name (up to 120 characters).")
    if any(not ch.isprintable() for ch in name):
        # NUL, line breaks, and right-to-left overrides or other format controls that would reorder the text
        # around the name wherever it is shown.
        raise AccountError("Your name contains invisible control characters; type it again without them.")
    user.name = name
