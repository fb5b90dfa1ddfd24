"""A pair's confidential notebook, two-key sharing of single notes, and the recipient's read-only view."""
from flask import Blueprint

bp = Blueprint("notes", __name__)

from portal.notes import routes  # noqa: E402,F401
