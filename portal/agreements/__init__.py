"""The agreement: the pair's co-editing page, its live updates, history, and the program's read-only view."""
from flask import Blueprint

bp = Blueprint("agreements", __name__)

from portal.agreements import routes  # noqa: E402,F401
