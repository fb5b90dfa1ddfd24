"""Friendly error pages (fragments for htmx requests); never a stack trace."""
from __future__ import annotations

from flask import Flask, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import inspect
from werkzeug.exceptions import HTTPException

from portal import audit
from portal.extensions import db
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


def error_response(status: int, message: str | None = None):
    title, default_message = MESSAGES.get(status, MESSAGES[500])
    template = "errors/_error.html" if is_htmx_fragment_request() else "errors/error.html"
    body = render_template(template, status=status, title=title, message=message or default_message)
    return make_response(body, status)


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
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500)
