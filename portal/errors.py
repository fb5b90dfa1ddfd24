"""Friendly error pages (fragments for htmx requests); never a stack trace."""
from __future__ import annotations

import sqlite3

import psycopg

from flask import Flask, current_app, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc, inspect
from werkzeug.exceptions import HTTPException

from portal import audit
from portal.extensions import db
from portal.logs import loggable_path, one_line
from portal.policy import AccessDenied, NotSignedIn
from portal.web import is_htmx_fragment_request, safe_next

MESSAGES = {
    400: ("Something was wrong with that request", "The page could not handle what was sent. Go back and try again."),
    403: ("Not allowed", "You do not have permission to do that."),
    404: ("Not found", "There is nothing here, or it is not yours to see. Check the address or go back home."),
    405: ("Not allowed", "That action cannot be done this way. Use the buttons on the page."),
    409: ("Already changed", "This was changed in the meantime and can no longer be edited this way."),
    413: ("Too large", "What you sent is larger than the portal accepts."),
    422: ("Please check your input", "Some of what you entered could not be accepted."),
    429: ("Too many attempts", "Too many attempts in a short time. Wait a few minutes, then try again."),
    500: ("Something went wrong", "The portal hit an unexpected problem. Nothing was saved. Please try again."),
}
# The database cannot be reached or used right now (down, restarting, refusing connections, a file that cannot be
# opened, the pool exhausted): answered with the 503 page, logged as one line without a traceback.
# The driver's own classes too: portal.rawsql reads through the driver's cursor, whose errors SQLAlchemy does not
# wrap.
DATABASE_UNAVAILABLE = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError, sqlite3.OperationalError,
                        psycopg.OperationalError, psycopg.InterfaceError)
RETRY_AFTER_SECONDS = 30


def error_response(status: int, message: str | None = None):
    title, default_message = MESSAGES.get(status, MESSAGES[500])
    template = "errors/_error.html" if is_htmx_fragment_request() else "errors/error.html"
    try:
        body = render_template(template, status=status, title=title, message=message or default_message)
    except DATABASE_UNAVAILABLE as error:  # the page's header loads the signed-in person
        return unavailable_response(error)
    return make_response(body, status)


def unavailable_response(error: Exception):
    """The 503 page: a template of its own that needs no database (not base.html, which shows the signed-in
    person), and one log line saying which request failed and why."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001  (the connection is gone already; the pool replaces it)
        pass
    cause = getattr(error, "orig", None) or error
    current_app.logger.error("database unavailable: %s %s: %s: %s", request.method, loggable_path(request.path),
                             type(cause).__name__, one_line(str(cause).strip()))
    # Straight from the Jinja environment: render_template would run the context processors, and Flask-Login's
    # loads the signed-in person from the database.
    response = make_response(current_app.jinja_env.get_template("errors/unavailable.html").render(), 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def keys_refused_response(reason: str):
    """The 503 page for a worker whose data keys do not match the database (found after it started): it serves
    nothing until it is restarted with the right keys, and says why in the log (key ids only)."""
    current_app.logger.error("data keys refused: %s %s: %s", request.method, loggable_path(request.path),
                             one_line(reason))
    response = make_response(current_app.jinja_env.get_template("errors/unavailable.html").render(), 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def sign_in_redirect():
    target = url_for("auth.sign_in", next=safe_next(request.full_path.rstrip("?")) or None)
    if is_htmx_fragment_request():
        response = make_response("", 401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)


def _signed_in_id() -> int | None:
    """The signed-in person's id, from the identity the session already holds (no query: after a rollback
    their row is expired, and reloading it would start another transaction)."""
    state = inspect(current_user._get_current_object(), raiseerr=False)
    return state.identity[0] if state is not None and state.identity else None


def register(app: Flask) -> None:
    @app.errorhandler(NotSignedIn)
    def _not_signed_in(_error):
        return sign_in_redirect()

    @app.errorhandler(AccessDenied)
    def _denied(_error):
        # Whatever the request did so far is discarded; the refusal itself is recorded (ids and path only:
        # never the query string or the body), in a transaction of its own that begins as a writer: on a GET
        # the request's transaction is a reader, and SQLite refuses a reader that turns writer at once when
        # another worker is writing (the "database is locked" 500s of simultaneous refusals).
        db.session.rollback()
        audit.record_apart("access.denied", actor=_signed_in_id(), endpoint=request.endpoint,
                           method=request.method, path=request.path)
        return error_response(404)

    @app.errorhandler(CSRFError)
    def _csrf(_error):
        return error_response(400, "Your form had expired or came from somewhere else. Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        message = error.description if getattr(error, "portal_message", False) else None
        return error_response(error.code or 500, message)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, DATABASE_UNAVAILABLE):
            return unavailable_response(error)
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, loggable_path(request.path))
        return error_response(500)
