"""Dashboard, help requests, audit log and lifecycle settings: thin wrappers around portal.domain.dashboard,
audit_log, lifecycle and program_settings. Scope decisions are portal.policy's."""
from __future__ import annotations

from flask import Response, current_app, flash, request, url_for
from flask_login import current_user

from portal import policy
from portal.dashboards import bp
from portal.domain import dashboard as boards
from portal.domain import lifecycle, pair_changes, program_settings
from portal.audit import verify_chain
from portal.domain.audit_log import audit_page
from portal.extensions import db
from portal.web import redirect_to, render, see_other


def _program_home(program) -> str:
    """Where this person manages the program: its overview for its admins, the site admin's page otherwise."""
    if policy.is_program_admin(current_user, program.id):
        return url_for("programs.overview", program_id=program.id)
    return url_for("admin.program_detail", program_id=program.id)


def _board(program_id: int):
    scope = policy.program_dashboard_scope(current_user, program_id)
    return boards.dashboard(scope, boards.DashboardQuery.from_args(request.args, scope),
                            reports_max_age=current_app.config["DASHBOARD_REPORTS_SECONDS"],
                            all_help=request.args.get("help") == "all")


@bp.route("/programs/<int:program_id>/dashboard")
@policy.access(policy.SIGNED_IN)
def dashboard(program_id: int):
    """Every pair a person follows in the program: filters and paging are links and a GET form, so they
    work without JavaScript; htmx swaps only the table."""
    board = _board(program_id)
    # Admins assign supervisors to many pairs at once from here (portal.programs.pair_routes.bulk_supervisors).
    bulk = pair_changes.assignable_supervisors(board.scope.program) if board.scope.supervisor_id is None else []
    return render("dashboards/dashboard.html", "dashboards/_table.html", board=board, bulk_supervisors=bulk,
                  alert_labels=boards.ALERT_LABELS, state_labels=boards.STATE_LABELS,
                  sort_labels=boards.SORT_LABELS)


@bp.route("/programs/<int:program_id>/dashboard.csv")
@policy.access(policy.SIGNED_IN)
def dashboard_csv(program_id: int):
    """Every pair matching the dashboard's filters (all pages, in its order) as CSV, streamed as it is read."""
    scope = policy.program_dashboard_scope(current_user, program_id)
    query = boards.DashboardQuery.from_args(request.args, scope)
    response = Response(boards.csv_lines(scope, query), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{boards.csv_filename(scope, query)}"'
    return response


@bp.route("/programs/<int:program_id>/help/<int:request_id>/resolve", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def resolve_help(program_id: int, request_id: int):
    program, help_request = policy.help_request_for_admin(current_user, program_id, request_id)
    resolved = lifecycle.resolve_help(help_request, current_user)
    db.session.commit()
    flash("Marked as handled." if resolved else "This request had already been handled.", "success")
    return redirect_to(url_for("dashboards.dashboard", program_id=program.id, _anchor="help-requests"))


@bp.route("/programs/<int:program_id>/audit")
@policy.access(policy.SIGNED_IN)
def program_audit(program_id: int):
    program = policy.audit_scope(current_user, program_id)
    return render("dashboards/audit.html", program=program, back=_program_home(program),
                  log=audit_page(program.id, request.args.get("page", 1, type=int),
                                 policy.administered_program_ids(current_user)), chain=verify_chain())


@bp.route("/admin/audit")
@policy.access(policy.SITE_ADMIN)
def site_audit():
    policy.audit_scope(current_user, None)
    return render("dashboards/audit.html", program=None, chain=verify_chain(),
                  log=audit_page(None, request.args.get("page", 1, type=int), policy.administered_program_ids(current_user)))


@bp.route("/programs/<int:program_id>/settings", methods=["GET", "POST"])
@policy.access(policy.SIGNED_IN)
def settings(program_id: int):
    """When a pair counts as stalled, and how long pair-only content is kept after closure."""
    program = policy.program_settings_editor(current_user, program_id)
    errors, values = {}, program_settings.settings_of(program)
    if request.method == "POST":
        values = {"stall_days": request.form.get("stall_days", ""),
                  "retention_months": request.form.get("retention_months", ""),
                  "time_zone": request.form.get("time_zone", program.time_zone).strip()}
        try:
            program_settings.save_settings(current_user, program, request.form)
        except lifecycle.LifecycleInputError as error:
            db.session.rollback()
            errors = error.errors
        else:
            db.session.commit()
            flash("Settings saved.", "success")
            return see_other("dashboards.settings", program_id=program.id)
    return render("dashboards/settings.html", program=program, values=values, errors=errors,
                  back=_program_home(program),
                  status=422 if errors else 200)
