"""A program admin edits their own program's basics (portal.domain.programs.save_basics)."""
from flask import flash
from flask_login import current_user

from portal import policy
from portal.domain import programs
from portal.extensions import db
from portal.programs import bp
from portal.programs.forms import ProgramBasicsForm
from portal.web import render, see_other


@bp.route("/<int:program_id>/basics", methods=["GET", "POST"])
@policy.access(policy.SIGNED_IN)
def basics(program_id: int):
    program = policy.program_for_admin(current_user, program_id)
    form = ProgramBasicsForm(obj=program)
    if form.validate_on_submit():
        problems = programs.basics_problems(program, form.name.data or "", form.return_email.data or "",
                                            form.default_term_months.data, form.time_zone.data or "")
        if not problems:
            programs.save_basics(current_user, program, form.name.data, form.return_email.data,
                                 form.default_term_months.data, form.time_zone.data)
            db.session.commit()
            flash("Program details saved.", "success")
            return see_other("programs.overview", program_id=program.id)
        for name, message in problems.items():
            field = getattr(form, name)
            if not field.errors:
                field.errors = [*field.errors, message]
    return render("programs/basics.html", program=program, form=form, status=422 if form.errors else 200)
