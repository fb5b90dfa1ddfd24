"""The program admin's template area: templates, their versions, the builder, previews, export and import."""
from flask import Blueprint

bp = Blueprint("builder", __name__)

from portal.builder import routes  # noqa: E402,F401
