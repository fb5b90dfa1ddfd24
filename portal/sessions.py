"""Session lifetime: an idle timeout and an absolute timeout, checked on every request from the signed cookie.

Automatic requests (the editors' poll and presence check-ins) are subject to the timeouts but do not count as
activity, so an editor left open in an empty office still signs its owner out.
"""
from __future__ import annotations

import time
from typing import Mapping

from flask import current_app, flash, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import logout_user

from portal.policy import NotSignedIn

SIGNED_IN_AT = "_signed_in_at"
LAST_ACTIVE_AT = "_active_at"
REFRESH_AFTER_SECONDS = 60  # write the activity time at most once a minute (each write re-sends the cookie)


def automatic(view):
    """Mark a view as called by the page itself rather than by the person (does not extend the session)."""
    view.automatic_request = True
    return view


def start() -> None:
    """Call right after login_user."""
    now = int(time.time())
    session[SIGNED_IN_AT] = now
    session[LAST_ACTIVE_AT] = now


def enforce_timeouts() -> None:
    """before_request hook: end the session when it has been idle or alive for too long."""
    if "_user_id" not in session or request.endpoint in (None, "static"):
        return
    now = int(time.time())
    ended = expiry_message(session, current_app.config, now)
    if ended:
        _end(ended)
    view = current_app.view_functions.get(request.endpoint)
    if not getattr(view, "automatic_request", False) and now - session.get(LAST_ACTIVE_AT, 0) > REFRESH_AFTER_SECONDS:
        session[LAST_ACTIVE_AT] = now


def expiry_message(data: Mapping, config: Mapping, now: int) -> str | None:
    """Why a session's data says it has ended (too old, or idle too long), or None while it is alive."""
    lifetime = config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    if now - data.get(SIGNED_IN_AT, 0) > lifetime:
        return "Your session ended after %d hours. Sign in again to continue." % (lifetime // 3600)
    if now - data.get(LAST_ACTIVE_AT, 0) > config["SESSION_IDLE_MINUTES"] * 60:
        return (f"You were signed out after {config['SESSION_IDLE_MINUTES']} minutes without activity. "
                "Sign in again to continue; everything you saved is kept.")
    return None


def _end(message: str) -> None:
    logout_user()
    session.clear()
    flash(message, "info")
    raise NotSignedIn()


class SigningSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, unchanged, except that the signing serializer is built once per key
    set rather than each time a session is opened or saved (about 5% of the editors' poll), and the paths in
    `sessionless_paths` (the health checks) get no session at all: a cookie sent along is not read, none is set."""

    def __init__(self, sessionless_paths: frozenset[str] = frozenset()) -> None:
        self.sessionless_paths = sessionless_paths

    def open_session(self, app, request):
        if request.path in self.sessionless_paths:
            return self.make_null_session(app)
        return super().open_session(app, request)

    def get_signing_serializer(self, app):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached = getattr(self, "_serializer", None)
        if cached is None or cached[0] != keys:
            cached = self._serializer = (keys, super().get_signing_serializer(app))
        return cached[1]
