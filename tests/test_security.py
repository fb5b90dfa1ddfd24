"""Headers on every route, CSRF on every form, friendly errors, and every route declaring an access rule."""
from __future__ import annotations

import pytest
from flask import abort

from portal import policy
from portal.extensions import db
from portal.models import Program
from tests.factories import make_user, sign_in

REQUIRED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
CSP_PARTS = ["default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"]


def concrete_urls(app):
    """One concrete URL per GET route (ids filled with 1)."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        values = {arg: ("x" * 43 if arg == "token" else "app.css" if arg == "filename" else 1)
                  for arg in rule.arguments}
        urls.append(rule.build(values, append_unknown=False)[1])
    return urls


def assert_security_headers(response):
    for name, value in REQUIRED_HEADERS.items():
        assert response.headers.get(name) == value, name
    csp = response.headers["Content-Security-Policy"]
    for part in CSP_PARTS:
        assert part in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "HX-Request" in response.headers.get("Vary", "")


@pytest.mark.parametrize("who", ["anonymous", "site admin"])
def test_every_route_sends_the_security_headers(app, client, who):
    """Does every GET route answer with CSP, nosniff, the referrer policy and Vary: HX-Request?"""
    if who == "site admin":
        sign_in(client, make_user(site_admin=True))
    urls = concrete_urls(app)
    assert len(urls) >= 8
    for url in urls:
        response = client.get(url)
        assert response.status_code < 500, url
        assert_security_headers(response)
        if not url.startswith("/static/"):
            assert response.headers["Cache-Control"] == "no-store", url


def test_error_pages_send_the_headers_too(client):
    """Do 404 and 405 answers carry the same headers?"""
    assert_security_headers(client.get("/no/such/page"))
    assert_security_headers(client.get("/auth/sign-out"))


def test_every_route_declares_an_access_rule(app):
    """Does every view declare who may reach it (so a new route without a rule fails here)?"""
    missing = [endpoint for endpoint in app.view_functions
               if endpoint != "static" and getattr(app.view_functions[endpoint], "access_rule", None) is None]
    assert missing == []


def test_a_route_without_a_rule_is_refused(own_app):
    """If someone adds a view without a rule, is it refused (deny by default) rather than open?"""
    own_app.add_url_rule("/forgotten", "forgotten", lambda: "secret")
    response = own_app.test_client().get("/forgotten")
    assert response.status_code == 404 and "secret" not in response.get_data(as_text=True)


def test_post_without_csrf_token_is_refused_and_changes_nothing(app, client):
    """Is a form post without the CSRF token (a cross-site forgery) refused with 400, saving nothing?"""
    sign_in(client, make_user(site_admin=True))
    data = {"name": "Forged", "code": "FORGED", "return_email": "a@b.example", "default_term_months": "3"}
    response = client.post("/admin/programs", data=data, csrf=False)
    assert response.status_code == 400
    assert "Reload the page" in response.get_data(as_text=True)
    response = client.post("/admin/programs", data={**data, "csrf_token": "forged-token"}, csrf=False)
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count(Program.id))) == 0


def test_csrf_header_works_for_htmx(app, client):
    """Does an htmx request carrying only the X-CSRFToken header (from hx-headers) pass the CSRF check?"""
    sign_in(client, make_user(site_admin=True))
    token = client.fetch_csrf_token()
    data = {"name": "Via htmx", "code": "HTMX", "return_email": "a@b.example", "default_term_months": "3"}
    response = client.post("/admin/programs", data=data, csrf=False,
                           headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 204 and response.headers["HX-Redirect"].startswith("/admin/programs/")


def test_pages_carry_the_htmx_safety_settings(client):
    """Does every page configure htmx without eval, script tags, cross-origin requests or a history cache?"""
    page = client.get("/auth/sign-in").get_data(as_text=True)
    for setting in ('"allowEval":false', '"allowScriptTags":false', '"selfRequestsOnly":true',
                    '"includeIndicatorStyles":false', '"historyCacheSize":0'):
        assert setting in page
    assert "<script>" not in page and " style=" not in page and "onclick" not in page


def test_vendored_htmx_is_the_recorded_version(app):
    """Is the vendored htmx the 2.0.x file the README records?"""
    import hashlib
    from pathlib import Path
    path = Path(app.static_folder) / "vendor" / "htmx-2.0.11.min.js"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    readme = (Path(app.root_path).parent / "README.md").read_text()
    assert digest in readme and 'version:"2.0.11"' in path.read_text()


def test_404_is_friendly(client):
    """Does a missing page say so in plain words, with a way home?"""
    response = client.get("/no/such/page")
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and "Not found" in page and 'href="/"' in page


def test_500_is_friendly_rolls_back_and_hides_the_trace(own_app):
    """Does an unexpected error show a friendly page, no stack trace, and leave nothing half-saved?"""
    def explode():
        db.session.add(Program(code="HALF", name="Half saved", return_email="x@y.example"))
        db.session.flush()
        raise RuntimeError("internal detail that must not leak")
    explode.access_rule = policy.PUBLIC
    own_app.add_url_rule("/explode", "explode", explode)
    response = own_app.test_client().get("/explode")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in page
    assert "Traceback" not in page and "internal detail" not in page
    assert db.session.scalar(db.select(db.func.count(Program.id))) == 0


def test_htmx_errors_get_a_fragment(own_app):
    """Does an htmx request that fails get a small error fragment, not a whole page?"""
    def forbidden():
        abort(403)
    forbidden.access_rule = policy.PUBLIC
    own_app.add_url_rule("/forbidden", "forbidden", forbidden)
    response = own_app.test_client().get("/forbidden", headers={"HX-Request": "true"})
    page = response.get_data(as_text=True)
    assert response.status_code == 403 and "<html" not in page and 'role="alert"' in page


def test_cookies_are_httponly_and_samesite(client):
    """Is the session cookie HttpOnly and SameSite=Lax?"""
    response = sign_in(client, make_user())
    cookie = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("portal_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure(monkeypatch):
    """With PORTAL_PRODUCTION set, are session and remember cookies Secure?"""
    from portal.config import Config
    monkeypatch.setenv("PORTAL_PRODUCTION", "1")
    monkeypatch.setenv("MAIL_FROM", "portal@example.org")
    monkeypatch.setenv("PUBLIC_URL", "https://mentoring.example.org")
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("DATA_KEYS", "prod1:" + "B" * 43 + "=")
    monkeypatch.setenv("PDF_SIGNING_PKCS12", "/the/bundle.p12")  # only named: Config does not read it
    config = Config()
    assert config.SESSION_COOKIE_SECURE and config.REMEMBER_COOKIE_SECURE


def test_oversized_requests_are_refused(app, client):
    """Is a request body over the cap refused with 413 and a friendly page?"""
    sign_in(client, make_user(site_admin=True))
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/admin/programs", data={"name": big})
    assert response.status_code == 413 and "larger than the portal accepts" in response.get_data(as_text=True)
