"""Following pairs: the progress dashboard (program admins, supervisors), requests for help, the audit log
and the program's reminder and retention settings."""
from flask import Blueprint

bp = Blueprint("dashboards", __name__)

from portal.dashboards import routes  # noqa: E402,F401
