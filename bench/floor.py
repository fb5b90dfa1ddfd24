"""The portal's floor: the portal app exactly as `wsgi.py` builds it (every extension, hook and header), plus
two empty views that do no work of their own. What they cost is what any page of the portal costs before its
view reads or renders anything: Flask's request handling, the session cookie, the route rule, the person's
row for the signed-in one, the security headers. Served and measured like the pages and the bare endpoint,
it shows how much of the gap to the bare endpoint is the stack's rather than the pages'.

    gunicorn 'bench.floor:create_floor_app()'

A separate app built only by the benchmark, so that the product itself has no bench route.
"""
from __future__ import annotations

SIGNED_OUT_PATH = "/bench/floor"
SIGNED_IN_PATH = "/bench/floor/signed-in"


def create_floor_app(config: dict | None = None):
    from flask_login import current_user

    from portal import create_app, policy

    app = create_app(config)

    @app.get(SIGNED_OUT_PATH)
    @policy.access(policy.PUBLIC)
    def floor_signed_out():
        return "floor"

    @app.get(SIGNED_IN_PATH)
    @policy.access(policy.SIGNED_IN)
    def floor_signed_in():
        return f"floor {current_user.id}"

    return app
