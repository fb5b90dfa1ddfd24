"""Lifecycle views for the pair's members: thin wrappers around portal.domain.{meetings, progress, lifecycle,
calendar, retention}. Every agreement and pair is loaded through the member loaders of portal.policy, so
anyone outside the pair (supervisors and admins included) gets a 404.

Forms work without JavaScript (Post/Redirect/Get with 303; a refused form comes back with status 422 and a
message next to each field); htmx swaps the meetings and progress sections in place.
"""
from __future__ import annotations

from flask import Response, flash, request, url_for
from flask_login import current_user

from portal import audit, policy
from portal.agreements.routes import render_pair_page
from portal.domain import (
    agreement_quotes, calendar, commitments, lifecycle, meetings, planned_meetings, progress, retention,
)
from portal.domain.agreements import AgreementStateError, read_fields, values_of
from portal.domain.pair_life import pair_life
from portal.domain.template_store import definition_of
from portal.extensions import db
from portal.lifecycle import bp
from portal.web import is_htmx_fragment_request, redirect_to, render


def _pair_url(agreement_or_pair, anchor: str | None = None) -> str:
    pair_id = getattr(agreement_or_pair, "pair_id", None) or agreement_or_pair.id
    return url_for("agreements.pair", pair_id=pair_id, _anchor=anchor)


def _refused(error: Exception, target: str):
    """A state rule said no: nothing changed; say why where the person was."""
    db.session.rollback()
    flash(str(error), "error")
    return redirect_to(target)


def _definition_and_values(agreement):
    definition = definition_of(agreement.template_version)
    return definition, values_of(read_fields(agreement, definition, include_pair_only=False))


def _section(agreement, fragment: str, notice: str | None = None, status: int = 200, refresh_status: bool = False,
             **refused):
    """The pair page, or for htmx just one section of it, freshly read (with a refused form when given).
    `refresh_status` also sends "Where you stand" out of band (a check-in changes its prompt)."""
    pair = agreement.pair
    life = pair_life(pair, current_user, policy.MEMBER)
    life.notice = notice
    for name, value in refused.items():
        setattr(life, name, value)
    return render_pair_page(pair, policy.MEMBER, life, fragment=fragment, status=status, oob_status=refresh_status)


# --- meetings -----------------------------------------------------------------------------------------------

@bp.route("/agreements/<int:agreement_id>/meetings", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def log_meeting(agreement_id: int):
    agreement = policy.agreement_for_member(current_user, agreement_id)
    typed = meetings.MeetingInput.from_form(request.form)
    try:
        meetings.log_meeting(agreement, definition_of(agreement.template_version), current_user, typed)
    except meetings.MeetingInputError as error:
        db.session.rollback()
        return _section(agreement, "lifecycle/_meetings.html", status=422, meeting_input=typed,
                        meeting_errors=error.errors)
    except AgreementStateError as error:
        return _refused(error, _pair_url(agreement, "meetings"))
    db.session.commit()
    if is_htmx_fragment_request():
        return _section(agreement, "lifecycle/_meetings.html", notice="Meeting logged.")
    flash("Meeting logged.", "success")
    return redirect_to(_pair_url(agreement, "meetings"))


@bp.route("/agreements/<int:agreement_id>/meetings/<int:meeting_id>/delete", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def delete_meeting(agreement_id: int, meeting_id: int):
    agreement = policy.agreement_for_member(current_user, agreement_id)
    try:
        removed = meetings.delete_meeting(agreement, meeting_id)
    except AgreementStateError as error:
        return _refused(error, _pair_url(agreement, "meetings"))
    db.session.commit()
    message = "Meeting removed." if removed else "That meeting had already been removed."
    if is_htmx_fragment_request():
        return _section(agreement, "lifecycle/_meetings.html", notice=message)
    flash(message, "success")
    return redirect_to(_pair_url(agreement, "meetings"))


@bp.route("/agreements/<int:agreement_id>/meetings/plan", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def plan_meeting(agreement_id: int):
    """Plan one meeting; both members are mailed an invitation for their calendars."""
    agreement = policy.agreement_for_member(current_user, agreement_id)
    typed = planned_meetings.PlanInput.from_form(request.form)
    try:
        planned_meetings.plan_meeting(agreement, current_user, typed)
    except planned_meetings.PlanInputError as error:
        db.session.rollback()
        return _section(agreement, "lifecycle/_meetings.html", status=422, plan_input=typed,
                        plan_errors=error.errors)
    except AgreementStateError as error:
        return _refused(error, _pair_url(agreement, "meetings"))
    db.session.commit()
    partner = lifecycle.partner_of(agreement.pair, current_user)
    message = f"Meeting planned: you and {partner.name} have each been sent an invitation for your calendars."
    if is_htmx_fragment_request():
        return _section(agreement, "lifecycle/_meetings.html", notice=message)
    flash(message, "success")
    return redirect_to(_pair_url(agreement, "meetings"))


@bp.route("/agreements/<int:agreement_id>/schedule.ics")
@policy.access(policy.SIGNED_IN)
def schedule(agreement_id: int):
    """The agreed meeting schedule for the pair's calendars (no pair-only content in it)."""
    agreement = policy.agreement_for_member(current_user, agreement_id)
    definition, values = _definition_and_values(agreement)
    host = request.host.split(":")[0] or "mentorship-portal"
    body = calendar.schedule_ics(agreement, definition, values, host)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="mentoring-schedule-{agreement.id}.ics"'
    return response


# --- progress -----------------------------------------------------------------------------------------------

@bp.route("/agreements/<int:agreement_id>/progress", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def check_in(agreement_id: int):
    agreement = policy.agreement_for_member(current_user, agreement_id)
    definition, values = _definition_and_values(agreement)
    try:
        progress.check_in(agreement, definition, values, current_user, request.form)
    except progress.ProgressInputError as error:
        db.session.rollback()
        return _section(agreement, "lifecycle/_progress.html", status=422, progress_errors=error.errors)
    except AgreementStateError as error:
        return _refused(error, _pair_url(agreement, "progress"))
    db.session.commit()
    message = "Progress saved. Thank you for checking in."
    if is_htmx_fragment_request():
        return _section(agreement, "lifecycle/_progress.html", notice=message, refresh_status=True)
    flash(message, "success")
    return redirect_to(_pair_url(agreement, "progress"))


# --- review and closure -------------------------------------------------------------------------------------

@bp.route("/agreements/<int:agreement_id>/review/start", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def start_review(agreement_id: int):
    agreement = policy.agreement_for_member(current_user, agreement_id)
    try:
        started = lifecycle.request_review(agreement, current_user)
    except AgreementStateError as error:
        return _refused(error, _pair_url(agreement, "next-steps"))
    db.session.commit()
    if started:
        flash("Your review has started. Each of you writes a learning conclusion and marks each goal's outcome.",
              "success")
        return redirect_to(url_for("lifecycle.review", agreement_id=agreement.id))
    partner = lifecycle.partner_of(agreement.pair, current_user)
    flash(f"Noted. The review starts before the end of the term once {partner.name} agrees too; "
          "they have been told.", "success")
    return redirect_to(_pair_url(agreement, "next-steps"))


@bp.route("/agreements/<int:agreement_id>/review/withdraw", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def withdraw_review(agreement_id: int):
    agreement = policy.agreement_for_member(current_user, agreement_id)
    try:
        withdrawn = lifecycle.withdraw_review_request(agreement, current_user)
    except AgreementStateError as error:
        return _refused(error, _pair_url(agreement, "next-steps"))
    db.session.commit()
    flash("You no longer ask to start the review early." if withdrawn else "You had not asked to start the review.",
          "success")
    return redirect_to(_pair_url(agreement, "next-steps"))


def _review_page(agreement, status: int = 200, errors: dict | None = None, typed=None):
    definition, values = _definition_and_values(agreement)
    return render("lifecycle/review.html", agreement=agreement, errors=errors or {}, typed=typed,
                  quote=agreement_quotes.quote(definition, "review"),
                  items=commitments.goal_items(definition, values),
                  reviews=lifecycle.reviews_of(agreement, include_conclusions=True),
                  missing=lifecycle.missing_reviews(agreement, definition, values),
                  outcome_labels=lifecycle.OUTCOME_LABELS, outcome_input=lifecycle.outcome_input, status=status)


@bp.route("/agreements/<int:agreement_id>/review", methods=["GET", "POST"])
@policy.access(policy.SIGNED_IN)
def review(agreement_id: int):
    """Each member's review: every goal's outcome and a learning conclusion (pair-only)."""
    agreement = policy.agreement_for_member(current_user, agreement_id)
    if request.method == "GET":
        return _review_page(agreement)
    definition, values = _definition_and_values(agreement)
    try:
        lifecycle.save_review(agreement, definition, values, current_user, request.form)
    except lifecycle.LifecycleInputError as error:
        db.session.rollback()
        return _review_page(agreement, 422, error.errors, request.form)
    except AgreementStateError as error:
        return _refused(error, url_for("lifecycle.review", agreement_id=agreement.id))
    db.session.commit()
    flash("Your review is saved. You can change it until the agreement is closed or renewed.", "success")
    return redirect_to(url_for("lifecycle.review", agreement_id=agreement.id))


@bp.route("/agreements/<int:agreement_id>/complete", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def complete(agreement_id: int):
    agreement = policy.agreement_for_member(current_user, agreement_id)
    definition, values = _definition_and_values(agreement)
    try:
        lifecycle.close_completed(agreement, definition, values, current_user)
    except AgreementStateError as error:
        return _refused(error, url_for("lifecycle.review", agreement_id=agreement.id))
    db.session.commit()
    flash("Your mentorship is complete and the agreement is closed. You both keep access to everything in it.",
          "success")
    return redirect_to(_pair_url(agreement))


@bp.route("/agreements/<int:agreement_id>/end", methods=["GET", "POST"])
@policy.access(policy.SIGNED_IN)
def end(agreement_id: int):
    """End the mentorship early, without blame; an optional reason category, never free text."""
    agreement = policy.agreement_for_member(current_user, agreement_id)
    partner = lifecycle.partner_of(agreement.pair, current_user)
    errors = {}
    if request.method == "POST":
        try:
            lifecycle.end_early(agreement, current_user, request.form.get("reason"))
        except lifecycle.LifecycleInputError as error:
            db.session.rollback()
            errors = error.errors
        except AgreementStateError as error:
            return _refused(error, _pair_url(agreement))
        else:
            db.session.commit()
            flash(f"The mentorship has ended and {partner.name} has been told. The agreement stays readable "
                  "for both of you.", "success")
            return redirect_to(_pair_url(agreement))
    return render("lifecycle/end.html", agreement=agreement, partner=partner, reasons=lifecycle.CLOSURE_REASONS,
                  quote=agreement_quotes.quote(definition_of(agreement.template_version), "end"),
                  errors=errors, chosen=request.form.get("reason", ""), status=422 if errors else 200)


# --- renewal ------------------------------------------------------------------------------------------------

@bp.route("/agreements/<int:agreement_id>/renew", methods=["GET", "POST"])
@policy.access(policy.SIGNED_IN)
def renew(agreement_id: int):
    """Continue with a successor agreement, pre-filled from this one; both confirm the goals and sign."""
    agreement = policy.agreement_for_member(current_user, agreement_id)
    errors, typed = {}, request.form
    if request.method == "POST":
        try:
            choice = lifecycle.parse_renewal(agreement, request.form)
            successor, plan = lifecycle.renew(agreement, current_user, choice)
        except lifecycle.LifecycleInputError as error:
            db.session.rollback()
            errors = error.errors
        except AgreementStateError as error:
            return _refused(error, _pair_url(agreement, "next-steps"))
        else:
            db.session.commit()
            flash("Your new agreement is ready: check it together, each confirm the goals (or change them), "
                  "then sign it." + (" Not carried over: " + "; ".join(plan.not_carried) + "."
                                     if plan.not_carried else ""), "success")
            return redirect_to(url_for("agreements.show", agreement_id=successor.id))
    default = lifecycle.default_renewal(agreement)
    plans = [lifecycle.carry_plan(agreement, version) for version in lifecycle.renewal_versions(agreement)] \
        if agreement.state == "in_review" else []
    return render("lifecycle/renew.html", agreement=agreement, plans=plans, default=default, errors=errors,
                  quote=agreement_quotes.quote(definition_of(agreement.template_version), "renew"),
                  typed=typed, status=422 if errors else 200)


@bp.route("/agreements/<int:agreement_id>/goals/confirm", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def confirm_goals(agreement_id: int):
    agreement = policy.agreement_for_member(current_user, agreement_id)
    try:
        lifecycle.confirm_goals(agreement, current_user)
    except AgreementStateError as error:
        return _refused(error, url_for("agreements.show", agreement_id=agreement.id))
    db.session.commit()
    flash("You confirmed the goals as they stand. If they change, confirm them again.", "success")
    return redirect_to(url_for("agreements.show", agreement_id=agreement.id, _anchor="renewed-goals"))


# --- outside help and the pair's data -----------------------------------------------------------------------

@bp.route("/pairs/<int:pair_id>/help", methods=["GET", "POST"])
@policy.access(policy.SIGNED_IN)
def ask_for_help(pair_id: int):
    """Ask the program for outside intervention. Only the message written here goes to the program."""
    pair = policy.pair_for_member(current_user, pair_id)
    current = pair.agreements[-1] if pair.agreements else None
    errors = {}
    if request.method == "POST":
        try:
            lifecycle.ask_for_help(pair, current, current_user, request.form.get("message", ""))
        except lifecycle.LifecycleInputError as error:
            db.session.rollback()
            errors = error.errors
        except AgreementStateError as error:
            return _refused(error, _pair_url(pair))
        else:
            db.session.commit()
            flash(f"{pair.program.name} has been told that you ask for help; someone from the program will "
                  "contact you.", "success")
            return redirect_to(_pair_url(pair))
    return render("lifecycle/help.html", pair=pair, errors=errors, message=request.form.get("message", ""),
                  closed=not lifecycle.help_is_open(current),
                  quote=agreement_quotes.quote(definition_of(current.template_version) if current else None, "help"),
                  status=422 if errors else 200)


@bp.route("/pairs/<int:pair_id>/export.json")
@policy.access(policy.SIGNED_IN)
def export(pair_id: int):
    """Everything of the pair, pair-only content included, for its members."""
    pair = policy.pair_for_member(current_user, pair_id)
    body = retention.export_json(pair)
    # A GET runs in a deferred SQLite transaction, which may not turn from reading into writing (WAL answers
    # SQLITE_BUSY at once): the download is recorded in a transaction of its own that begins as a writer.
    audit.record_apart("pair.exported", actor=current_user.id, program_id=pair.program_id, pair_id=pair.id)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="mentorship-{pair.id}.json"'
    return response
