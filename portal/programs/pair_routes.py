"""What a program admin changes on a pair after creating it: thin views over portal.domain.pair_changes. Every
pair is loaded through policy.pair_for_program_admin (a pair of another program, or a removed one, is a 404)."""
from __future__ import annotations

from flask import flash, request
from flask_login import current_user

from portal import policy
from portal.admin.forms import ConfirmForm
from portal.domain import pair_changes
from portal.domain.agreements import last_day_of_term
from portal.extensions import db
from portal.programs import bp
from portal.programs.forms import BulkSupervisorForm, MoveForm, SupervisorChoiceForm, TermForm
from portal.web import render, see_other


def _supervisor_form(program, form_class=SupervisorChoiceForm, **kw):
    form = form_class(**kw)
    form.supervisor.choices = [(person.id, f"{person.name} <{person.email}>")
                               for person in pair_changes.assignable_supervisors(program)]
    return form


def _move_form(pair, **kw):
    form = MoveForm(**kw)
    form.version_id.choices = [(version.id, f"{version.template.name} (version {version.number})")
                               for version in pair_changes.move_targets(pair)]
    return form


def _pair_page(pair, supervisor_form=None, term_form=None, move_form=None, error=None, status=200):
    """The pair's admin page; `error`: a refusal to show above the forms when its own form is not on the page
    (the term and template forms are hidden once something is signed)."""
    agreement = pair_changes.current_agreement(pair)
    if term_form is None:
        term_form = TermForm(formdata=None, term_start=agreement.term_start.isoformat() if agreement else "",
                             term_months=str(agreement.term_months) if agreement else "")
    signers = pair_changes.signers(pair)
    assigned = {link.user_id for link in pair.supervisor_links}
    supervisor_form = supervisor_form or _supervisor_form(pair.program)
    supervisor_form.supervisor.choices = [choice for choice in supervisor_form.supervisor.choices
                                          if choice[0] not in assigned]
    return render("programs/pair.html", program=pair.program, pair=pair, agreement=agreement, signers=signers,
                  supervisor_form=supervisor_form, term_form=term_form,
                  move_form=move_form or _move_form(pair, formdata=None), confirm_form=ConfirmForm(),
                  term_limits=pair_changes.term_limits(agreement) if agreement else None, error=error,
                  status=status)


@bp.route("/<int:program_id>/pairs/<int:pair_id>")
@policy.access(policy.SIGNED_IN)
def manage_pair(program_id: int, pair_id: int):
    pair = policy.pair_for_program_admin(current_user, program_id, pair_id)
    return _pair_page(pair)


@bp.route("/<int:program_id>/pairs/<int:pair_id>/supervisors", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def assign_pair_supervisor(program_id: int, pair_id: int):
    pair = policy.pair_for_program_admin(current_user, program_id, pair_id)
    form = _supervisor_form(pair.program)
    if form.validate_on_submit():
        try:
            person = pair_changes.supervisor_of_program(pair.program, form.supervisor.data)
        except pair_changes.PairChangeError as error:
            form.supervisor.errors = [str(error)]
        else:
            changed = pair_changes.assign_supervisor(current_user, pair, person)
            db.session.commit()
            flash(f"{person.name} now supervises {pair.mentor.name} and {pair.mentee.name}." if changed else
                  f"{person.name} already supervises this pair; nothing changed.", "success")
            return see_other("programs.manage_pair", program_id=pair.program_id, pair_id=pair.id)
    elif not form.supervisor.errors:
        form.supervisor.errors = ["Choose a supervisor."]
    db.session.rollback()
    return _pair_page(pair, supervisor_form=form, status=422)


@bp.route("/<int:program_id>/pairs/<int:pair_id>/supervisors/<int:user_id>/unassign", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def unassign_pair_supervisor(program_id: int, pair_id: int, user_id: int):
    pair = policy.pair_for_program_admin(current_user, program_id, pair_id)
    link = next((link for link in pair.supervisor_links if link.user_id == user_id), None)
    if link is None:  # not an assignment of this pair: as missing as a foreign id
        policy.deny()
    if ConfirmForm().validate_on_submit():
        person = link.user
        pair_changes.unassign_supervisor(current_user, pair, person)
        db.session.commit()
        flash(f"{person.name} no longer supervises {pair.mentor.name} and {pair.mentee.name}.", "success")
    return see_other("programs.manage_pair", program_id=pair.program_id, pair_id=pair.id)


@bp.route("/<int:program_id>/pairs/supervisors", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def bulk_supervisors(program_id: int):
    """From the dashboard: one supervisor assigned to (or unassigned from) every selected pair."""
    program = policy.program_for_admin(current_user, program_id)
    form = _supervisor_form(program, BulkSupervisorForm)
    back = form.back.data or ""
    assign = form.change.data != "unassign"
    if form.validate_on_submit():
        try:
            person = pair_changes.supervisor_of_program(program, form.supervisor.data)
            changed, unchanged = pair_changes.change_supervisor_of_many(
                current_user, program, form.pair_ids.data or [], person, assign)
        except pair_changes.PairChangeError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            plural = lambda n: f"{n} pair{'' if n == 1 else 's'}"  # noqa: E731
            done = (f"{person.name} now supervises {plural(changed)}" if assign else
                    f"{person.name} no longer supervises {plural(changed)}")
            rest = (f"; {plural(unchanged)} {'already had' if assign else 'did not have'} them" if unchanged else "")
            flash(done + rest + ".", "success")
    else:
        flash("Nothing changed: choose a supervisor and tick at least one pair, then try again.", "error")
    return see_other("dashboards.dashboard", program_id=program.id, **_dashboard_args(back))


def _dashboard_args(back: str) -> dict:
    """The dashboard's filters to return to (only its own query arguments, from the form's hidden field)."""
    from urllib.parse import parse_qsl
    allowed = {"q", "state", "alert", "sort", "direction", "page"}
    return {key: value for key, value in parse_qsl(back[:500]) if key in allowed}


@bp.route("/<int:program_id>/pairs/<int:pair_id>/term", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def change_term(program_id: int, pair_id: int):
    pair = policy.pair_for_program_admin(current_user, program_id, pair_id)
    form = TermForm()
    agreement = pair_changes.current_agreement(pair)
    if form.validate_on_submit() and agreement is not None:
        try:
            term_start, months = pair_changes.parse_term(agreement, form.term_start.data, form.term_months.data)
            changed = pair_changes.change_term(current_user, pair, term_start, months)
        except pair_changes.PairChangeError as error:
            db.session.rollback()
            getattr(form, error.field_name or "term_start").errors = [str(error)]
            return _pair_page(pair, term_form=form, error=str(error), status=422)
        else:
            db.session.commit()
            flash(f"The term is now {months} month{'' if months == 1 else 's'} from {term_start:%d %B %Y} to "
                  f"{last_day_of_term(term_start, months):%d %B %Y}. Both members have been told by e-mail."
                  if changed else "The term was already this; nothing changed.", "success")
            return see_other("programs.manage_pair", program_id=pair.program_id, pair_id=pair.id)
    return _pair_page(pair, term_form=form, status=422)


@bp.route("/<int:program_id>/pairs/<int:pair_id>/template", methods=["GET", "POST"])
@policy.access(policy.SIGNED_IN)
def move_template(program_id: int, pair_id: int):
    """GET with a chosen version: what the move keeps and drops (by label), and the button that confirms it;
    POST (that button): the move."""
    pair = policy.pair_for_program_admin(current_user, program_id, pair_id)
    # The preview is a GET form (its choice in the query string); the move is the POST of its button.
    form = _move_form(pair, **({} if request.method == "POST" else {"formdata": request.args}))
    if request.method == "GET" and not form.version_id.raw_data:  # nothing chosen yet: the choice is there
        return see_other("programs.manage_pair", program_id=pair.program_id, pair_id=pair.id, _anchor="pair-template")
    try:
        version = pair_changes.target_version(pair, form.version_id.data)
        if request.method == "POST" and ConfirmForm().validate_on_submit():
            plan = pair_changes.move_to_template(current_user, pair, version)
            db.session.commit()
            flash(f"The agreement now uses {version.template.name} (version {version.number})."
                  + (f" Answers dropped: {'; '.join(plan.dropped)}." if plan.dropped else " Every answer was kept.")
                  + " Both members have been told by e-mail.", "success")
            return see_other("programs.manage_pair", program_id=pair.program_id, pair_id=pair.id)
        pair_changes.ensure_nothing_signed(pair, "Moving to another template")
        plan = pair_changes.move_plan(pair, version)
    except pair_changes.PairChangeError as error:
        db.session.rollback()
        form.version_id.errors = [str(error)]
        return _pair_page(pair, move_form=form, error=str(error), status=422)
    return render("programs/move_template.html", program=pair.program, pair=pair, plan=plan, version=version,
                  agreement=pair_changes.current_agreement(pair), confirm_form=ConfirmForm(),
                  status=200 if request.method == "GET" else 422)


@bp.route("/<int:program_id>/pairs/<int:pair_id>/remove", methods=["GET", "POST"])
@policy.access(policy.SIGNED_IN)
def remove_pair(program_id: int, pair_id: int):
    """GET: what removing does, and the button; POST: archive the pair."""
    pair = policy.pair_for_program_admin(current_user, program_id, pair_id)
    signers = pair_changes.signers(pair)
    if request.method == "POST" and ConfirmForm().validate_on_submit():
        try:
            pair_changes.remove_pair(current_user, pair)
        except pair_changes.PairChangeError as error:
            db.session.rollback()
            flash(str(error), "error")
            return see_other("programs.manage_pair", program_id=pair.program_id, pair_id=pair.id)
        db.session.commit()
        flash(f"The pair {pair.mentor.name} and {pair.mentee.name} was removed. It is archived, not deleted: "
              "the audit log keeps what happened.", "success")
        return see_other("programs.overview", program_id=pair.program_id)
    return render("programs/remove_pair.html", program=pair.program, pair=pair, signers=signers,
                  confirm_form=ConfirmForm(), status=200 if request.method == "GET" else 422)
