"""The agreement: the pair's co-editing page, its live updates, history, the program's read-only view, signing,
amendments, signed versions with their PDF copies, and verification."""
from flask import Blueprint

bp = Blueprint("agreements", __name__)

from portal.agreements import routes, signing_routes  # noqa: E402,F401
