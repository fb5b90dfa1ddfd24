"""The editors' "anything changed?" poll, answered before Flask when nothing changed.

Every open editor asks every two seconds, and almost always nothing changed. The answer is then an empty 204
after one indexed query, but going through Flask (request context, routing, hooks, response object) cost
about three times the query itself. This WSGI layer answers exactly that case and nothing else:

- a GET of /agreements/<id>/changes?since=<n> with plain digits;
- a session cookie that Flask's own session interface verifies (same key, same maximum age) and that has
  neither reached its absolute lifetime nor been idle too long (portal.sessions.expiry_message);
- portal.policy.change_seq_for_member finds the person a member of the agreement's pair, with the session's
  generation current, and the change number equal to `since`.

Anything else (something changed, no or bad cookie, an ended session, an outsider, odd arguments, an error)
goes to Flask's view (portal/agreements/routes.py `changes`), which answers it, audits refusals and shows
the usual pages. The 204 carries the headers Flask would send; a test compares them.
"""
from __future__ import annotations

import re
import time
from urllib.parse import parse_qsl

from itsdangerous import BadSignature
from werkzeug.http import parse_cookie

from portal import MAX_ID, policy
from portal.sessions import expiry_message
from portal.web import HSTS, NO_STORE, SECURITY_HEADERS

_POLL_PATH = re.compile(r"/agreements/([0-9]{1,10})/changes")


class UnchangedPollShortcut:
    def __init__(self, app, flask_wsgi_app):
        self.app = app
        self.flask_wsgi_app = flask_wsgi_app  # where every other request, and every other answer, comes from
        headers = [("Content-Type", "text/html; charset=utf-8"), *SECURITY_HEADERS, *NO_STORE]
        vary = [("Vary", "HX-Request, Cookie")]
        self.headers = {False: headers + vary, True: headers + list(HSTS) + vary}  # by PRODUCTION
        self._engine = None

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "GET":
            found = _POLL_PATH.fullmatch(environ.get("PATH_INFO", ""))
            if found is not None:
                try:
                    unchanged = self._unchanged(environ, int(found.group(1)))
                except Exception:  # noqa: BLE001  (Flask's view does it again, with its error handling)
                    unchanged = False
                if unchanged:
                    start_response("204 NO CONTENT", list(self.headers[bool(self.app.config["PRODUCTION"])]))
                    return []
        return self.flask_wsgi_app(environ, start_response)

    def _unchanged(self, environ, agreement_id: int) -> bool:
        since = next((value for name, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
                      if name == "since"), "")
        if not (since.isascii() and since.isdigit() and int(since) <= MAX_ID and agreement_id <= MAX_ID):
            return False
        app = self.app
        cookie = parse_cookie(environ).get(app.config["SESSION_COOKIE_NAME"])
        serializer = app.session_interface.get_signing_serializer(app)
        if not cookie or serializer is None:
            return False
        try:
            data = serializer.loads(cookie, max_age=int(app.permanent_session_lifetime.total_seconds()))
        except BadSignature:
            return False
        identity = policy.session_identity(data)
        if identity is None or expiry_message(data, app.config, int(time.time())):
            return False
        if self._engine is None:
            from portal.extensions import db
            with app.app_context():
                self._engine = db.engine
        seq = policy.change_seq_for_member(agreement_id, *identity, engine=self._engine)
        if seq is not None:
            environ[policy.POLL_CHECKED] = (agreement_id, identity, seq)  # the view need not ask again
        return seq == int(since)
