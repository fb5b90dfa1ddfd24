"""Program admin views. Every program is loaded through policy.program_for_admin (a foreign id is a 404)."""
from flask import Response, flash
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal import policy
from portal.admin.forms import AppointForm, ConfirmForm
from portal.domain import accounts, invitations, pairs, programs, template_store
from portal.domain.template_store import published_versions
from portal.extensions import db
from portal.models import Agreement, Pair, PairSupervisor
from portal.programs import bp
from portal.programs.forms import ImportConfirmForm, ImportUploadForm, NewPairForm
from portal.web import render, see_other


def _overview(program, appoint_form, status=200, appoint_choice=None):
    program_pairs = db.session.scalars(
        select(Pair).where(Pair.program_id == program.id, Pair.archived_at.is_(None)).order_by(Pair.id)
        .options(selectinload(Pair.mentor), selectinload(Pair.mentee),
                 selectinload(Pair.agreements).selectinload(Agreement.template_version),
                 selectinload(Pair.supervisor_links).selectinload(PairSupervisor.user))).all()
    people = [person for pair in program_pairs for person in (pair.mentor, pair.mentee)]
    return render("programs/overview.html", program=program, pairs=program_pairs,
                  invitation_statuses=invitations.statuses(people),
                  admins=programs.role_holders(program, "admin"),
                  supervisors=programs.role_holders(program, "supervisor"),
                  templates=template_store.template_summaries(program),
                  appoint_form=appoint_form, appoint_choice=appoint_choice, confirm_form=ConfirmForm(),
                  status=status)


@bp.route("/<int:program_id>")
@policy.access(policy.SIGNED_IN)
def overview(program_id: int):
    program = policy.program_for_admin(current_user, program_id)
    return _overview(program, AppointForm(prefix="supervisor"))


@bp.route("/<int:program_id>/supervisors", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def appoint_supervisor(program_id: int):
    program = policy.program_for_admin(current_user, program_id)
    form = AppointForm(prefix="supervisor")
    choice = None
    if form.validate_on_submit():
        chosen = form.confirm.data or ""
        try:
            role = programs.appoint(current_user, program, "supervisor", form.email.data, form.name.data, chosen)
        except programs.AppointmentNeedsChoice as error:
            form.email.errors.append(str(error))
            choice = error
        except accounts.AccountError as error:
            form.email.errors.append(str(error))
        else:
            db.session.commit()
            typed = accounts.clean_display_name(form.name.data)
            if typed and typed != role.user.name:  # kept by choice, or not theirs to rename (programs.appoint)
                flash(f"{role.user.name} is now a supervisor in {program.name}. An account already existed for this "
                      "address: the name stays as their account has it.", "success")
            else:
                flash(f"{role.user.name} is {'now ' if chosen != 'update' else ''}a supervisor in {program.name}"
                      f"{', under the name you typed' if chosen == 'update' else ''}.", "success")
            return see_other("programs.overview", program_id=program.id)
    db.session.rollback()
    return _overview(program, form, status=422, appoint_choice=choice)


@bp.route("/<int:program_id>/roles/<int:role_id>/revoke", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def revoke_role(program_id: int, role_id: int):
    program = policy.program_for_admin(current_user, program_id)
    if ConfirmForm().validate_on_submit():
        try:
            programs.revoke(current_user, program, role_id, allowed_roles=("supervisor",))
        except accounts.AccountError as error:
            flash(str(error), "error")
        else:
            db.session.commit()
            flash("Role removed.", "success")
    return see_other("programs.overview", program_id=program.id)


def _pair_form(program) -> NewPairForm:
    form = NewPairForm()
    form.supervisors.choices = [(role.user.id, f"{role.user.name} <{role.user.email}>")
                                for role in programs.role_holders(program, "supervisor")]
    default = template_store.default_version(program)
    form.template_version.choices = [
        (version.id, f"{version.template.name} (version {version.number})"
                     + (", the program's default" if default and version.id == default.id else ""))
        for version in published_versions(program)]
    if default is not None and not form.is_submitted():
        form.template_version.data = default.id  # preselected; the admin may still choose another
    return form


@bp.route("/<int:program_id>/pairs/new", methods=["GET", "POST"])
@policy.access(policy.SIGNED_IN)
def new_pair(program_id: int):
    program = policy.program_for_admin(current_user, program_id)
    form = _pair_form(program)
    if form.validate_on_submit():
        chosen = set(form.supervisors.data or [])
        supervisor_emails = [role.user.email for role in programs.role_holders(program, "supervisor")
                             if role.user_id in chosen]
        request_ = pairs.PairRequest(
            mentor_email=form.mentor_email.data or "", mentee_email=form.mentee_email.data or "",
            mentor_name=form.mentor_name.data or "", mentee_name=form.mentee_name.data or "",
            supervisor_emails=supervisor_emails, term_start=form.term_start.data,
            template_version_id=form.template_version.data)
        try:
            pair = pairs.create_pair(current_user, program, request_)
        except (pairs.PairError, accounts.AccountError) as error:
            db.session.rollback()
            form.mentor_email.errors = [*form.mentor_email.errors, str(error)]
        else:
            db.session.commit()
            flash(f"Pair created: {pair.mentor.name} mentors {pair.mentee.name}. Both have been told by e-mail; "
                  "their agreement is ready for them to fill in.", "success")
            return see_other("programs.overview", program_id=program.id)
    return render("programs/new_pair.html", program=program, form=form,
                  has_templates=bool(form.template_version.choices), status=422 if form.errors else 200)


@bp.route("/<int:program_id>/pairs/import", methods=["GET", "POST"])
@policy.access(policy.SIGNED_IN)
def import_pairs(program_id: int):
    """Step 1: upload a CSV and see, row by row, what would happen. Nothing is written."""
    program = policy.program_for_admin(current_user, program_id)
    form = ImportUploadForm()
    preview = None
    if form.validate_on_submit():
        upload = form.csv_file.data
        if upload is None or not upload.filename:
            form.csv_file.errors = ["Choose a CSV file to upload."]
        else:
            raw = upload.read(pairs.CSV_MAX_BYTES + 1)
            preview = pairs.preview_import(program, raw)
            if preview.file_problem is None:
                confirm = ImportConfirmForm(formdata=None, csv_text=raw.decode("utf-8-sig"))
                return render("programs/import_preview.html", program=program, preview=preview,
                              confirm_form=confirm, status=200 if preview.ok else 422)
            form.csv_file.errors = [preview.file_problem]
    return render("programs/import_upload.html", program=program, form=form, columns=pairs.CSV_COLUMNS,
                  versions=published_versions(program), default_version=template_store.default_version(program),
                  status=422 if form.errors else 200)


@bp.route("/<int:program_id>/pairs/import/sample.csv")
@policy.access(policy.SIGNED_IN)
def import_sample(program_id: int):
    """A CSV to start from, with every column and one row for this program."""
    program = policy.program_for_admin(current_user, program_id)
    response = Response("\ufeff" + pairs.sample_csv(program), mimetype="text/csv")  # BOM: spreadsheets read UTF-8
    response.headers["Content-Disposition"] = f'attachment; filename="{program.code}-pairs-sample.csv"'
    return response


@bp.route("/<int:program_id>/pairs/import/confirm", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def confirm_import(program_id: int):
    """Step 2: create every pair of the previewed file, or none."""
    program = policy.program_for_admin(current_user, program_id)
    form = ImportConfirmForm()
    if not form.validate_on_submit():
        return see_other("programs.import_pairs", program_id=program.id)
    try:
        created = pairs.confirm_import(current_user, program, (form.csv_text.data or "")[:pairs.CSV_MAX_BYTES])
    except (pairs.PairError, accounts.AccountError) as error:
        db.session.rollback()
        preview = pairs.preview_import(program, form.csv_text.data or "")
        return render("programs/import_preview.html", program=program, preview=preview, confirm_form=form,
                      error=str(error), status=422)
    db.session.commit()
    flash(f"Imported {len(created)} pair{'' if len(created) == 1 else 's'}. Everyone new has been invited.",
          "success")
    return see_other("programs.overview", program_id=program.id)
