"""Configuration from the environment (microblog style), with safe development defaults.

No environment variable is needed to run locally: a development SECRET_KEY and data-encryption key are
generated once into ``instance/`` and reused by every process afterwards, so that sessions and encrypted
notes survive restarts and several workers agree on them.
"""
from __future__ import annotations

import base64
import email.utils
import os
import secrets
import urllib.parse
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("PORTAL_INSTANCE_DIR", PROJECT_ROOT / "instance"))


def _instance_secret(name: str, make) -> str:
    """Read a secret kept in instance/, creating it once (atomically, so parallel workers agree)."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    value = make()
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(value + "\n")
    os.chmod(tmp, 0o600)
    try:
        os.link(tmp, path)  # fails if another process won the race; theirs is kept
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class ConfigError(RuntimeError):
    """A setting that cannot be used; the message names it."""


_YES = {"1", "true", "yes", "on"}
_NO = {"0", "false", "no", "off", ""}


def _production_switch(env) -> bool:
    """PORTAL_PRODUCTION, read strictly: a typo ("ture") must not start production in development mode, with
    generated keys and insecure cookies."""
    value = env.get("PORTAL_PRODUCTION")
    if value is None:
        return False
    word = value.strip().lower()
    if word not in _YES | _NO:
        raise ConfigError(f"PORTAL_PRODUCTION={value.strip()} is not a yes/no value (use 1/0, true/false, "
                          "yes/no or on/off).")
    return word in _YES


class ProductionConfigError(ConfigError):
    """A production start without a setting that would otherwise be made up silently; the message names it."""


def _pdf_signing_configured(env) -> bool:
    return bool(env.get("PDF_SIGNING_PKCS12") or env.get("PDF_SIGNING_CERT") or env.get("PDF_SIGNING_KEY"))


# Settings a production start must be given: without them development would generate or assume a value, which
# in production means new keys nobody keeps (sessions, encrypted notes or PDF signatures lost at the next
# machine) or a wrong address. Each entry: the setting's name, whether the environment gives it, and why.
PRODUCTION_REQUIREMENTS = [
    ("SECRET_KEY", lambda env: bool(env.get("SECRET_KEY")), "signs sessions and links"),
    ("DATA_KEYS (or DATA_KEYS_FILE)", lambda env: bool(env.get("DATA_KEYS") or env.get("DATA_KEYS_FILE")),
     "encrypts the pairs' confidential content"),
    ("PDF_SIGNING_PKCS12 (or PDF_SIGNING_CERT and PDF_SIGNING_KEY)", _pdf_signing_configured,
     "signs the PDF copies"),
    ("MAIL_FROM", lambda env: bool((env.get("MAIL_FROM") or "").strip()),
     "the sender of every mail, else no-reply@localhost"),
    ("PUBLIC_URL", lambda env: bool((env.get("PUBLIC_URL") or "").strip()),
     "the address in every link the portal mails, else 127.0.0.1"),
]


SECRET_KEY_MIN = 32
# The README's env file example holds this in place of a generated key; copied as it is, anyone can sign sessions.
SECRET_KEY_PLACEHOLDER = "paste-the-generated"


def _secret_key_problem(value: str) -> str | None:
    # Never the value itself: the message reaches the journal.
    if SECRET_KEY_PLACEHOLDER in value:
        return "is still the README's placeholder (generate one, README \"Generate keys with\")"
    if len(value) < SECRET_KEY_MIN:
        return f"is shorter than {SECRET_KEY_MIN} characters, too easy to guess for what signs sessions and links"
    return None


def _public_url_problem(value: str) -> str | None:
    parts = urllib.parse.urlsplit(value.strip())
    if parts.scheme != "https" or not parts.hostname:
        return (f"{value.strip()} is not an absolute https:// address with a host, such as "
                "https://mentoring.example.org (mailed links must reach the portal over HTTPS)")
    return None


def _mail_from_problem(value: str) -> str | None:
    if "@" not in email.utils.parseaddr(value)[1]:
        return (f"{value.strip()} holds no e-mail address, such as Mentoring <mentoring@example.org> "
                "(mail servers refuse or bin mail without one)")
    return None


# Settings given but unusable in production: each entry the setting's name and what is wrong with a value (None
# when nothing is). Checked only for settings given (a missing one is reported as missing).
PRODUCTION_VALUE_CHECKS = [
    ("SECRET_KEY", _secret_key_problem),
    ("PUBLIC_URL", _public_url_problem),
    ("MAIL_FROM", _mail_from_problem),
]


def check_production_settings(env) -> None:
    """Refuse a production start (PORTAL_PRODUCTION=1) that lacks a required setting or has a weak or
    placeholder one, naming each, instead of generating or assuming a development value."""
    missing = [f"{name} ({why})" for name, given, why in PRODUCTION_REQUIREMENTS if not given(env)]
    unusable = []
    for name, problem_of in PRODUCTION_VALUE_CHECKS:
        value = env.get(name) or ""
        problem = problem_of(value) if value.strip() else None
        if problem:
            unusable.append(f"{name} {problem}")
    sentences = []
    if missing:
        sentences.append("these settings are missing: " + "; ".join(missing) + ".")
    if unusable:
        sentences.append("these settings cannot be used: " + "; ".join(unusable) + ".")
    if sentences:
        raise ProductionConfigError("PORTAL_PRODUCTION is set but " + " And ".join(sentences)
                                    + " See README \"Production\".")


def _data_keys(env) -> str:
    """DATA_KEYS, else the contents of the file DATA_KEYS_FILE names (read at every start, so that gunicorn's
    graceful reload picks up a changed file), else the development key in instance/."""
    if env.get("DATA_KEYS"):
        return env["DATA_KEYS"]
    if env.get("DATA_KEYS_FILE"):
        try:
            text = Path(env["DATA_KEYS_FILE"]).read_text()
        except OSError as error:
            raise ConfigError(f"DATA_KEYS_FILE {env['DATA_KEYS_FILE']} cannot be read: {error.strerror}") from None
        # One key a line or comma-separated; lines starting with # are comments.
        lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
        return ",".join(lines)
    return "dev1:" + _instance_secret(
        "data_key", lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'portal.sqlite3'}"
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants a driver-qualified one.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    """Settings read from the environment. See README "Configuration" for each variable."""

    def __init__(self) -> None:
        env = os.environ
        self.PRODUCTION = _production_switch(env)
        if self.PRODUCTION:
            check_production_settings(env)
        self.SECRET_KEY = env.get("SECRET_KEY") or _instance_secret(
            "secret_key", lambda: secrets.token_urlsafe(48))
        # Data-encryption keys: "kid:base64key" pairs separated by commas; the first is used for new data.
        self.DATA_KEYS = _data_keys(env)
        self.SQLALCHEMY_DATABASE_URI = _database_url()
        # hide_parameters: database errors must never carry pair-only values into logs or error reports.
        # No pool_pre_ping: connections left idle are tested instead (portal/db_setup.py), one round trip less
        # per request.
        self.SQLALCHEMY_ENGINE_OPTIONS = {"hide_parameters": True}
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", self.PRODUCTION)
        self.SESSION_COOKIE_NAME = "portal_session"
        self.PERMANENT_SESSION_LIFETIME = timedelta(hours=int(env.get("SESSION_ABSOLUTE_HOURS", "12")))
        self.SESSION_IDLE_MINUTES = int(env.get("SESSION_IDLE_MINUTES", "60"))
        # Dashboard reports count every pair of a program: pages reuse counts up to this old (0: count anew).
        self.DASHBOARD_REPORTS_SECONDS = int(env.get("DASHBOARD_REPORTS_SECONDS", "60"))
        self.REMEMBER_COOKIE_DURATION = timedelta(days=1)
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session; long co-editing sessions need it
        self.WTF_CSRF_SSL_STRICT = True
        self.MAX_CONTENT_LENGTH = int(env.get("MAX_CONTENT_LENGTH", str(2 * 1024 * 1024)))
        self.PASSWORD_HASH_METHOD = env.get("PASSWORD_HASH_METHOD", "scrypt")
        self.TOKEN_HOURS_INVITE = int(env.get("INVITE_TOKEN_HOURS", "72"))
        self.TOKEN_HOURS_RESET = int(env.get("RESET_TOKEN_HOURS", "2"))
        self.TOKEN_HOURS_EMAIL = int(env.get("EMAIL_TOKEN_HOURS", "24"))
        self.LOGIN_MAX_FAILURES_PER_ACCOUNT = int(env.get("LOGIN_MAX_FAILURES_PER_ACCOUNT", "5"))
        self.LOGIN_MAX_FAILURES_PER_ADDRESS = int(env.get("LOGIN_MAX_FAILURES_PER_ADDRESS", "20"))
        self.LOGIN_THROTTLE_MINUTES = int(env.get("LOGIN_THROTTLE_MINUTES", "15"))
        self.MAIL_SERVER = env.get("MAIL_SERVER")
        self.MAIL_PORT = int(env.get("MAIL_PORT", "587"))
        self.MAIL_USERNAME = env.get("MAIL_USERNAME")
        self.MAIL_PASSWORD = env.get("MAIL_PASSWORD")
        self.MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", True)
        self.MAIL_FROM = env.get("MAIL_FROM", "Mentorship Portal <no-reply@localhost>")
        self.MAIL_FILE = env.get("MAIL_FILE", str(INSTANCE_DIR / "outbox.log"))
        self.PUBLIC_URL = env.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")
        self.TRUSTED_PROXIES = int(env.get("TRUSTED_PROXIES", "0"))
        # The public "check a PDF" page (no account): uploads counted per client address and hour.
        self.PUBLIC_CHECKS_PER_HOUR = int(env.get("PUBLIC_CHECKS_PER_HOUR", "30"))
        self.DEMO_PASSWORD = env.get("DEMO_PASSWORD", "mentor-demo-2026")
