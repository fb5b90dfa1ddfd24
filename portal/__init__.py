"""Mentorship agreement portal: application factory."""
from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from portal.config import PROJECT_ROOT, Config
from portal.extensions import csrf, db, login_manager, migrate


MAX_ID = 2**31 - 1  # the largest value of an id column (PostgreSQL `integer`)


def digits_up_to(limit: int) -> str:
    """A regular expression matching the ASCII decimal numbers from 0 to `limit` (leading zeros allowed up to
    the length of `limit`), e.g. 0-2147483647."""
    text = str(limit)
    parts = [f"[0-9]{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for position, digit in enumerate(text):
        lowest = 1 if position == 0 and len(text) > 1 else 0
        rest = len(text) - position - 1
        if int(digit) > lowest:
            parts.append(text[:position] + f"[{lowest}-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    parts.append(text)
    return "(?:" + "|".join(parts) + ")"


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: an ASCII number from 0 to MAX_ID. Anything larger, or digits of another
    script ("\u00b2", "\u0661"), does not match the route at all (404), so no id reaches the database that the
    column cannot hold (PostgreSQL raises "integer out of range", SQLite overflows beyond 2**63 - 1). Done in
    the pattern rather than with `max`: a value refused after matching makes Werkzeug answer 405 when
    another method shares the path."""

    regex = digits_up_to(MAX_ID)


def create_app(config: object | dict | None = None) -> Flask:
    """Build the app. `config` (an object or a dict) overrides the environment-based Config."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    app.url_map.converters["int"] = IdConverter
    app.config.from_object(Config())
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    from portal.poll_shortcut import UnchangedPollShortcut
    app.wsgi_app = UnchangedPollShortcut(app, app.wsgi_app)  # the editors' poll when nothing changed
    if app.config["TRUSTED_PROXIES"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXIES"],
                                x_proto=app.config["TRUSTED_PROXIES"], x_host=app.config["TRUSTED_PROXIES"])
    from portal.logs import RequestIdMiddleware, configure_default_logging
    app.wsgi_app = RequestIdMiddleware(app, app.wsgi_app)  # outermost: every answer carries the id
    configure_default_logging()

    from portal import models  # noqa: F401  (registers every table with the metadata)
    from portal.db_setup import configure_engine

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    with app.app_context():
        configure_engine(db.engine)

    app.extensions["pdf_signer"] = _pdf_signer(app)
    _register_blueprints(app)
    _register_hooks(app)
    from portal import fragment_cache
    fragment_cache.install(app)

    from portal import cli, errors
    errors.register(app)
    cli.register(app)
    _check_data_keys(app)
    return app


def _check_data_keys(app: Flask) -> None:
    """Refuse to start with data keys that do not match the database (portal/key_check.py). Last, once every
    area has registered its encrypted columns. When the database could not be asked (a worker started during an
    outage), the worker asks before it serves its first request, and serves none if the keys do not match:
    otherwise it would write new pair content under a wrong key, which nothing could read afterwards."""
    from flask import request

    from portal.crypto import Keyring
    from portal.errors import keys_refused_response
    from portal.health import PATHS as HEALTH_PATHS
    from portal.key_check import KeyCheckError, check_data_keys

    with app.app_context():
        try:
            if check_data_keys(Keyring(app.config["DATA_KEYS"]), db.session):
                return
        finally:
            db.session.remove()
    state = {"checked": False, "refused": None}

    @app.before_request
    def _data_keys_checked_before_serving():
        if state["checked"] or request.path in HEALTH_PATHS:
            return None
        if state["refused"] is None:
            try:
                state["checked"] = check_data_keys(Keyring(app.config["DATA_KEYS"]), db.session, quiet=True)
                return None  # checked, or still out of reach (the request then meets the outage page)
            except KeyCheckError as error:
                state["refused"] = str(error)
        return keys_refused_response(state["refused"])


def _pdf_signer(app: Flask):
    """The key and certificate that sign every PDF: configured (PDF_SIGNING_PKCS12, or PDF_SIGNING_CERT and
    PDF_SIGNING_KEY), else generated once into instance/. A configured one that cannot be used stops the start."""
    import os

    from portal import pdf_signing
    from portal.config import INSTANCE_DIR
    identity = (app.config.get("PDF_SIGNING_IDENTITY") or pdf_signing.configured_identity(os.environ)
                or pdf_signing.instance_identity(INSTANCE_DIR, pdf_signing.common_name(app.config["PUBLIC_URL"])))
    return pdf_signing.PdfSigner(identity)


def _register_blueprints(app: Flask) -> None:
    from portal.admin import bp as admin_bp
    from portal.agreements import bp as agreements_bp
    from portal.auth import bp as auth_bp
    from portal.builder import bp as builder_bp
    from portal.dashboards import bp as dashboards_bp
    from portal.health import bp as health_bp
    from portal.lifecycle import bp as lifecycle_bp
    from portal.main import bp as main_bp
    from portal.notes import bp as notes_bp
    from portal.programs import bp as programs_bp

    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(main_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(programs_bp, url_prefix="/programs")
    app.register_blueprint(agreements_bp)
    app.register_blueprint(builder_bp, url_prefix="/programs")  # the template area of a program admin
    app.register_blueprint(notes_bp)  # /pairs/<id>/notes..., /pairs/<id>/shares/..., /shared/<id>
    app.register_blueprint(lifecycle_bp)
    app.register_blueprint(dashboards_bp)
    app.register_blueprint(health_bp)  # /healthz, /readyz


def _register_hooks(app: Flask) -> None:
    from portal import policy
    from portal.domain.accounts import load_user_from_session
    from portal.web import add_security_headers

    from portal.health import PATHS as health_paths
    from portal.sessions import SigningSessionInterface
    app.session_interface = SigningSessionInterface(sessionless_paths=health_paths)
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user_from_session)
    from portal.sessions import enforce_timeouts
    app.before_request(enforce_timeouts)
    app.before_request(policy.enforce_route_rule)
    app.after_request(add_security_headers)

    from portal.timeutil import machine_time
    app.add_template_filter(machine_time)

    @app.context_processor
    def _template_globals():
        return {"htmx_file": "vendor/htmx-2.0.11.min.js"}

    # The pair's editor and the builder's preview (a macro file, imported without context) count list rows alike.
    from portal.domain.field_values import blank_in_sentence, list_rows
    app.jinja_env.globals["list_rows"] = list_rows
    app.jinja_env.globals["blank_in_sentence"] = blank_in_sentence
