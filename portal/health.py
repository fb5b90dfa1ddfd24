"""Health checks for load balancers and systemd. Neither opens a session nor sets a cookie (health checks run
without one: see portal.sessions), and neither says more than ok / ready / not ready: the reason a portal is
not ready goes to the log, for the operator, never to whoever asks.

- /healthz: the process answers. Touches nothing else (no database, no keys).
- /readyz: the database answers, its schema is at the code's newest migration, and DATA_KEYS parse and each
  decrypts its recorded check value (portal.key_check).
"""
from __future__ import annotations

from functools import lru_cache

from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, make_response
from sqlalchemy import exc, text

from portal import key_check, policy
from portal.config import PROJECT_ROOT
from portal.crypto import KeyConfigError, Keyring
from portal.errors import DATABASE_UNAVAILABLE
from portal.extensions import db
from portal.logs import one_line

bp = Blueprint("health", __name__)
PATHS = frozenset({"/healthz", "/readyz"})  # answered without a session (portal.sessions)


def _plain(body: str, status: int):
    response = make_response(body + "\n", status)
    response.mimetype = "text/plain"
    return response


@lru_cache(maxsize=1)
def _script_heads() -> frozenset[str]:
    from alembic.config import Config as AlembicConfig
    config = AlembicConfig()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def code_heads() -> frozenset[str]:
    """The newest migration(s) this code ships (read once per process)."""
    return _script_heads()


def not_ready_reason() -> str | None:
    """Why this worker should get no traffic, or None when it is ready."""
    # The keys parse, and (once the schema is current, below) each decrypts its recorded check value.
    try:
        ring = Keyring(current_app.config["DATA_KEYS"])
    except KeyConfigError as error:
        return f"DATA_KEYS unusable: {error}"  # the message names key ids, never key material
    try:
        applied = frozenset(db.session.execute(text("SELECT version_num FROM alembic_version")).scalars())
        db.session.rollback()  # read only: end the transaction
    except DATABASE_UNAVAILABLE as error:
        db.session.rollback()
        return f"database unavailable: {type(getattr(error, 'orig', error)).__name__}: {getattr(error, 'orig', error)}"
    except exc.DBAPIError as error:  # PostgreSQL without an alembic_version table: never migrated
        db.session.rollback()
        return f"database schema unknown: {type(error).__name__}"
    if applied != code_heads():
        return f"database schema at {sorted(applied) or 'nothing'}, code at {sorted(code_heads())}"
    mismatched = key_check.mismatched_keys(ring, db.session)
    db.session.rollback()
    if mismatched:
        return f"DATA_KEYS key id(s) {', '.join(map(repr, mismatched))} do not decrypt their check value"
    return None


@bp.route("/healthz")
@policy.access(policy.PUBLIC)
def healthz():
    return _plain("ok", 200)


@bp.route("/readyz")
@policy.access(policy.PUBLIC)
def readyz():
    reason = not_ready_reason()
    if reason is not None:
        current_app.logger.warning("readyz: not ready: %s", one_line(reason))
        response = _plain("not ready", 503)
        response.headers["Retry-After"] = "5"
        return response
    return _plain("ready", 200)
