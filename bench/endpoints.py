"""What the benchmark requests, and as whom: signed-in sessions obtained through the real sign-in form, and
the requests of each covered endpoint, shared by the in-process measurer and the load generator."""
from __future__ import annotations

import http.client
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from werkzeug.test import EnvironBuilder, run_wsgi_app

from bench.seed import Fixtures

SESSION_COOKIE = "portal_session"
_CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_VERSION = r'name="v-{key}" value="(\d+)"'


# --- signing in ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignedIn:
    """A browser after signing in: its session cookie and the CSRF token its pages carry."""
    email: str
    cookie: str
    csrf: str


class InProcessTransport:
    def __init__(self, app):
        self.app = app

    def send(self, method: str, path: str, headers: dict[str, str], body: bytes = b""):
        environ = EnvironBuilder(path=path, method=method, headers=headers, data=body or None).get_environ()
        app_iter, status, response_headers = run_wsgi_app(self.app, environ, buffered=True)
        data = b"".join(app_iter)
        return int(status.split()[0]), response_headers.getlist("Set-Cookie"), data


class HttpTransport:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port

    def send(self, method: str, path: str, headers: dict[str, str], body: bytes = b""):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            connection.request(method, path, body=body or None, headers=headers)
            response = connection.getresponse()
            return response.status, response.headers.get_all("Set-Cookie") or [], response.read()
        finally:
            connection.close()


def _session_cookie(set_cookies: list[str], current: str) -> str:
    for header in set_cookies:
        name, _, rest = header.partition("=")
        if name.strip() == SESSION_COOKIE:
            return rest.split(";", 1)[0]
    return current


# Every request of a session carries this browser name, the sign-in too: Flask-Login's session protection
# compares it with the one the session was signed in with, and a mismatch marks the session not fresh and
# rewrites its cookie on every request (work a real browser never causes).
USER_AGENT = "portal-bench/1.0"


def sign_in(transport, email: str, password: str) -> SignedIn:
    """Sign in through the sign-in form as a browser does, then open the home page for the CSRF token."""
    cookie = ""
    status, cookies, body = transport.send("GET", "/auth/sign-in", {"User-Agent": USER_AGENT})
    cookie = _session_cookie(cookies, cookie)
    token = _CSRF_INPUT.search(body.decode())
    if status != 200 or token is None:
        raise RuntimeError(f"sign-in page answered {status} without a CSRF token")
    form = urlencode({"email": email, "password": password, "csrf_token": token.group(1)}).encode()
    status, cookies, body = transport.send("POST", "/auth/sign-in", {
        "User-Agent": USER_AGENT, "Cookie": f"{SESSION_COOKIE}={cookie}",
        "Content-Type": "application/x-www-form-urlencoded"}, form)
    if status not in (302, 303):
        raise RuntimeError(f"signing in as {email} answered {status}: {body[:300]!r}")
    cookie = _session_cookie(cookies, cookie)
    status, cookies, body = transport.send("GET", "/", {"User-Agent": USER_AGENT,
                                                        "Cookie": f"{SESSION_COOKIE}={cookie}"})
    cookie = _session_cookie(cookies, cookie)
    meta = _CSRF_META.search(body.decode())
    if status != 200 or meta is None:
        raise RuntimeError(f"home page after signing in as {email} answered {status}")
    return SignedIn(email, cookie, meta.group(1))


# --- the endpoints ------------------------------------------------------------------------------------------

@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    expect: int = 200


@dataclass
class Autosave:
    """One field saved again and again, alternating between two values so that every save really saves: each
    request names the version the previous answer reported (the page's hidden input does the same)."""
    field_key: str
    input_name: str
    values: tuple[str, str]
    version: int

    @property
    def version_pattern(self) -> re.Pattern:
        return re.compile(_VERSION.format(key=re.escape(self.field_key)).encode())

    def body(self, turn: int) -> bytes:
        return urlencode({f"v-{self.field_key}": self.version, self.input_name: self.values[turn % 2]}).encode()


@dataclass
class Endpoint:
    key: str
    label: str
    requests: list[Request]                      # rotated through (one per editor, for the poll)
    autosaves: list[Autosave] = field(default_factory=list)  # set for the autosave: one per editor
    target_share: float | None = None            # throughput target as a share of the bare endpoint
    full_page: bool = False                       # an HTML page whose weight (with its assets) counts
    repeat: int | None = None                     # in-process calls (None: the measurer's default)


def _headers(who: SignedIn | None, htmx: bool = False) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT}
    if who is not None:
        headers["Cookie"] = f"{SESSION_COOKIE}={who.cookie}"
    if htmx:
        headers["HX-Request"] = "true"
        if who is not None:
            headers["X-CSRFToken"] = who.csrf
    return headers


def poll_state(app, agreement_id: int) -> tuple[int, str]:
    """The agreement's change number and state, as the open editor's poller knows them."""
    from portal.extensions import db
    from portal.models import Agreement
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        result = (agreement.change_seq, agreement.state)
        db.session.remove()
        return result


def field_version(app, agreement_id: int, key: str) -> int:
    from portal.extensions import db
    from portal.models import FieldValue
    with app.app_context():
        version = db.session.scalar(db.select(FieldValue.version).where(
            FieldValue.agreement_id == agreement_id, FieldValue.field_key == key))
        db.session.remove()
        return version


def refresh(endpoint: Endpoint, app) -> None:
    """Read the autosaved fields' versions and the polls' change numbers again, just before a measured run: a
    load run before it moved them on (an autosave still in a worker's queue when its run stopped commits later,
    and every "nothing changed" poll of that editor would then answer 200 for the whole run)."""
    for request, save in zip(endpoint.requests, endpoint.autosaves):
        agreement_id = int(request.path.split("/")[2])
        save.version = field_version(app, agreement_id, save.field_key)
    if endpoint.key == "poll_unchanged":
        for request in endpoint.requests:
            agreement_id = int(request.path.split("/")[2])
            seq, state = poll_state(app, agreement_id)
            request.path = _poll_path(agreement_id, seq, state)


def _poll_path(agreement_id: int, since: int, state: str) -> str:
    return f"/agreements/{agreement_id}/changes?since={since}&state={state}"


ENDPOINT_KEYS = ("editor", "autosave", "poll_unchanged", "poll_changed", "notes", "dashboard_first",
                 "dashboard_last", "supervisor", "supervisor_pair", "pdf", "sign_in")


def build(key: str, app, fixtures: Fixtures, sign_in_as, editors: int = 1) -> Endpoint:
    """The endpoint `key` with fresh sessions (`sign_in_as(email)` -> SignedIn) and the current state of the
    data (change numbers and field versions are read from the database just before)."""
    hot = fixtures.editors[0]
    agreement_id = hot["agreement_id"]
    if key == "editor":
        who = sign_in_as(hot["mentor_email"])
        return Endpoint(key, "agreement editor page", [Request("GET", f"/agreements/{agreement_id}", _headers(who))],
                        target_share=0.30, full_page=True)
    if key == "autosave":
        chosen = fixtures.editors[:editors]
        requests, saves = [], []
        for editor in chosen:
            who = sign_in_as(editor["mentor_email"])
            path = f"/agreements/{editor['agreement_id']}/fields/{editor['autosave_field']}"
            headers = {**_headers(who, htmx=True), "Content-Type": "application/x-www-form-urlencoded"}
            requests.append(Request("POST", path, headers))
            saves.append(Autosave(editor["autosave_field"], editor["autosave_input"], fixtures.autosave_values,
                                  field_version(app, editor["agreement_id"], editor["autosave_field"])))
        return Endpoint(key, "autosave of one field", requests, autosaves=saves, target_share=0.25)
    if key == "poll_unchanged":
        requests = []
        for editor in fixtures.editors[:editors]:
            who = sign_in_as(editor["mentor_email"])
            seq, state = poll_state(app, editor["agreement_id"])
            requests.append(Request("GET", _poll_path(editor["agreement_id"], seq, state),
                                    _headers(who, htmx=True), expect=204))
        return Endpoint(key, "\u201canything changed?\u201d: no", requests, target_share=0.60)
    if key == "poll_changed":
        # The newest change is the mentor's (the seed and the autosave both make it so): the mentee's editor,
        # one change behind, gets that field back.
        who = sign_in_as(hot["mentee_email"])
        seq, state = poll_state(app, agreement_id)
        return Endpoint(key, "\u201canything changed?\u201d: yes", [Request(
            "GET", _poll_path(agreement_id, seq - 1, state), _headers(who, htmx=True))])
    if key == "notes":
        who = sign_in_as(hot["mentor_email"])
        return Endpoint(key, "notes page", [Request("GET", f"/pairs/{hot['pair_id']}/notes", _headers(who))],
                        full_page=True)
    if key in ("dashboard_first", "dashboard_last"):
        who = sign_in_as(fixtures.admin_email)
        page = 1 if key == "dashboard_first" else fixtures.dashboard_last_page
        query = "" if page == 1 else f"?page={page}"
        label = "program dashboard, first page" if key == "dashboard_first" else \
            f"program dashboard, last page (page {page})"
        return Endpoint(key, label, [Request("GET", f"/programs/{fixtures.program_id}/dashboard{query}",
                                             _headers(who))], target_share=0.25, full_page=True)
    if key == "supervisor":
        who = sign_in_as(fixtures.supervisor_email)
        return Endpoint(key, "supervisor view (their dashboard)", [Request(
            "GET", f"/programs/{fixtures.program_id}/dashboard", _headers(who))], full_page=True)
    if key == "supervisor_pair":
        who = sign_in_as(fixtures.supervisor_email)
        return Endpoint(key, "supervisor view (a pair's page)", [Request(
            "GET", f"/pairs/{fixtures.supervised_pair_id}", _headers(who))], full_page=True)
    if key == "pdf":
        who = sign_in_as(fixtures.pdf_email)
        return Endpoint(key, "PDF of a signed agreement (3 pages)", [Request(
            "GET", f"/agreements/{fixtures.pdf_agreement_id}/versions/{fixtures.pdf_revision}/pair-copy.pdf",
            _headers(who))], repeat=20)
    if key == "sign_in":
        return Endpoint(key, "sign-in page", [Request("GET", "/auth/sign-in", _headers(None))], full_page=True)
    raise KeyError(key)


FLOOR_KEYS = ("floor_signed_out", "floor_signed_in")


def floor_endpoint(key: str, fixtures: Fixtures, sign_in_as) -> Endpoint:
    """An empty view of the portal's floor app (bench/floor.py), for anyone or for the editor's mentor: what
    any page costs before its view does anything."""
    from bench import floor
    if key == "floor_signed_out":
        return Endpoint(key, "portal's floor: empty view, signed out",
                        [Request("GET", floor.SIGNED_OUT_PATH, _headers(None))])
    if key == "floor_signed_in":
        who = sign_in_as(fixtures.editors[0]["mentor_email"])
        return Endpoint(key, "portal's floor: empty view, signed in",
                        [Request("GET", floor.SIGNED_IN_PATH, _headers(who))])
    raise KeyError(key)


def bare_endpoint() -> Endpoint:
    return Endpoint("bare", "bare Flask endpoint (reference)", [Request("GET", "/", _headers(None))])
