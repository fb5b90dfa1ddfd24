"""Program administration: what a program admin manages in their own program."""
from flask import Blueprint

bp = Blueprint("programs", __name__)

from portal.programs import basics_routes, invitation_routes, pair_routes, routes  # noqa: E402,F401
