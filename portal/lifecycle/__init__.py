"""The mentorship's life, for the pair: meetings, progress, review, closure, renewal, help, their data."""
from flask import Blueprint

bp = Blueprint("lifecycle", __name__)

from portal.lifecycle import routes  # noqa: E402,F401
