"""Request/response helpers shared by every blueprint: htmx detection, rendering, redirects, headers."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, current_app, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import default_exceptions

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'"
)


def is_htmx_fragment_request() -> bool:
    """True for an htmx request that wants a fragment: not boosted and not a history restore."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(template_name: str, fragment: str | None = None, status: int = 200, **context) -> Response:
    """One partial, two callers: the full page normally, only `fragment` for an htmx request."""
    chosen = fragment if (fragment and is_htmx_fragment_request()) else template_name
    return make_response(render_template(chosen, **context), status)


def see_other(endpoint: str, **values) -> Response:
    """Post/Redirect/Get. htmx requests get HX-Redirect so the whole page changes."""
    return redirect_to(url_for(endpoint, **values))


def redirect_to(location: str) -> Response:
    if is_htmx_fragment_request():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location, code=303)


def safe_next(target: str | None) -> str | None:
    """Return `target` only if it is a path inside this portal; otherwise None.

    Refuses scheme or host (https:evil, //evil), backslashes (/\\evil is read as //evil by browsers),
    control characters and anything not starting with a single slash.
    """
    if not target or len(target) > 1000:
        return None
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
NO_STORE = (("Cache-Control", "no-store"),)
# Production only: a browser that saw it refuses plain HTTP to the host for a year, which would lock a developer
# out of http://127.0.0.1 (nginx sends the same header; see the README).
HSTS = (("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    # A view may have set one of them itself: keep its value. (One pass over the headers, not one per name:
    # this runs on every request, the editors' poll included.)
    present = {name.lower() for name in headers.keys()}
    # Pages may hold pair-only content: never keep them in a shared or browser cache.
    wanted = SECURITY_HEADERS if request.path.startswith("/static/") else SECURITY_HEADERS + NO_STORE
    if current_app.config["PRODUCTION"]:
        wanted += HSTS
    headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
    response.vary.add("HX-Request")
    return response


def refuse(status: int, message: str):
    """Abort with a friendly page that shows `message` (which must never hold pair-only text)."""
    error = default_exceptions[status](description=message)
    error.portal_message = True
    raise error
