"""Logging: one line per record in one format for the app and gunicorn (gunicorn.conf.py uses these classes), and
a request id on every line of a request and in its answer's X-Request-ID header.

Nothing here logs a request body, a form value or a query string: the access line names the method, the path
and the status only (pages' query strings can hold search terms from a pair's notes).
"""
from __future__ import annotations

import logging
import re
import urllib.parse
import uuid

from flask import has_request_context, request

FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s rid=%(request_id)s %(message)s"
# gunicorn's access line (its atoms): path without the query string, status, size, duration.
ACCESS_FORMAT = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
ENVIRON_KEY = "portal.request_id"
HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_ACCESS_ATOM = "{x-request-id}o"  # the response header, as gunicorn hands it to the access line
# One-time links carry their secret in the path (portal/auth/routes.py): logged, a line would hand it to
# whoever reads the logs until the link is used.
_LINK_PREFIXES = {("auth", "set-password"), ("auth", "confirm-email")}
# A path in a log argument: the path atom alone, or the path inside the request line ("GET /path?q HTTP/1.1").
_PATH_IN_TEXT = re.compile(r"/[^\s?\"]*")


def _redacted(match: re.Match) -> str:
    path = match.group(0)
    # Compared as the router may see it: werkzeug answers "/auth//set-password/<token>" (with a redirect that
    # repeats the token) and decodes escapes, so repeated slashes and %-escapes must not hide a link.
    # Looked for anywhere in the path: a request line may carry an absolute URL ("GET http://host/auth/...").
    segments = [segment for segment in urllib.parse.unquote(path).split("/") if segment not in ("", ".")]
    for start in range(len(segments) - 2):
        if tuple(segments[start:start + 2]) in _LINK_PREFIXES:
            return "/" + "/".join(segments[:start + 2]) + "/[token]"
    return path


def loggable_path(path: str) -> str:
    """`path` (or a request line holding one) as it may be logged: a one-time link's token replaced by
    "[token]"."""
    return _PATH_IN_TEXT.sub(_redacted, path)


def one_line(text: str) -> str:
    """`text` with its line breaks escaped, so that one record stays one line for journald and logrotate."""
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")


class OneLineFormatter(logging.Formatter):
    """FORMAT, with the message and any traceback on the same line (newlines escaped)."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None, style: str = "%", **kwargs):
        super().__init__(fmt or FORMAT, datefmt, style, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = "-"
        return one_line(super().format(record))


class RequestIdFilter(logging.Filter):
    """Put the id of the request being answered on each record (a handler filter, so it covers every logger);
    for gunicorn's access line, the id its response carried."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None):
            return True
        request_id = None
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            request_id = record.args.get(_ACCESS_ATOM)
            for atom in ("U", "r"):  # the path, the request line
                if isinstance(record.args.get(atom), str):
                    record.args[atom] = loggable_path(record.args[atom])
        elif has_request_context():
            request_id = request.environ.get(ENVIRON_KEY)
        record.request_id = request_id if request_id and request_id != "-" else "-"
        return True


def configure_default_logging() -> None:
    """Outside gunicorn (flask run, the CLI, cron): the same one-line format on stderr, unless the root logger
    was set up already (gunicorn's logconfig_dict, or pytest)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter())
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)


class RequestIdMiddleware:
    """Outermost WSGI layer: give each request an id and send it back in X-Request-ID. The incoming header is
    taken only from a trusted proxy (TRUSTED_PROXIES > 0) and only when it looks like an id; otherwise a new
    one is made, so a client cannot write what it likes into the log."""

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        offered = environ.get("HTTP_X_REQUEST_ID", "")
        if self.app.config["TRUSTED_PROXIES"] > 0 and _SANE_ID.fullmatch(offered):
            request_id = offered
        else:
            request_id = uuid.uuid4().hex
        environ[ENVIRON_KEY] = request_id

        def start_with_id(status, headers, exc_info=None):
            headers = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
            headers.append((HEADER, request_id))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start_with_id)
