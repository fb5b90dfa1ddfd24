from flask_wtf.file import FileAllowed, FileField
from wtforms import (DateField, EmailField, HiddenField, IntegerField, SelectField, SelectMultipleField,
                     StringField)
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.forms import PortalForm


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NewPairForm(PortalForm):
    """Rules for the people and the template live in portal.domain.pairs (one place for the messages)."""
    mentor_email = EmailField("Mentor's e-mail", validators=[Length(max=254)])
    mentor_name = StringField("Mentor's name", description="Used in the invitation if they have no account yet.",
                              validators=[Length(max=120)])
    mentee_email = EmailField("Mentee's e-mail", validators=[Length(max=254)])
    mentee_name = StringField("Mentee's name", description="Used in the invitation if they have no account yet.",
                              validators=[Length(max=120)])
    supervisors = CheckboxListField("Supervisors", coerce=int, validate_choice=False)
    template_version = SelectField("Agreement template", coerce=int, validate_choice=False)
    term_start = DateField("Term starts", validators=[Optional()],
                           description="Leave empty to start today. At most 10 years ahead.")


class ImportUploadForm(PortalForm):
    # The name says what the person meant to send (a workbook saved as .xlsx is a zip file: the content check
    # alone would only say "not UTF-8"); the content is checked completely in portal.domain.pairs.
    csv_file = FileField("CSV file", validators=[FileAllowed(
        ["csv", "txt"], "Upload a .csv file: in your spreadsheet choose \u201cSave as\u201d, then \u201cCSV UTF-8\u201d.")])


class ImportConfirmForm(PortalForm):
    csv_text = HiddenField()


class SupervisorChoiceForm(PortalForm):
    """One supervisor of the program (the choices are the program's supervisors: portal.domain.pair_changes)."""
    supervisor = SelectField("Supervisor to assign", coerce=int, validate_choice=False)


class BulkSupervisorForm(SupervisorChoiceForm):
    pair_ids = SelectMultipleField("Pairs", coerce=int, validate_choice=False)
    change = StringField()  # "assign" or "unassign": the button pressed (templates/dashboards/dashboard.html)
    back = StringField()  # the dashboard's query arguments to return to (a hidden input of the table)


class ResendInvitationForm(PortalForm):
    """One person's button on a pair's invitations page: `role` (mentor or mentee) says whom."""
    role = StringField()


class TermForm(PortalForm):
    term_start = StringField("Term starts", description="The first day, for example 2026-03-02.",
                             render_kw={"type": "date"})
    term_months = StringField("Term (months)", render_kw={"inputmode": "numeric"})


class MoveForm(PortalForm):
    version_id = SelectField("Move to the template", coerce=int, validate_choice=False)
class ProgramBasicsForm(PortalForm):
    """What a program admin may change of their program; rules in portal.domain.programs.basics_problems."""
    name = StringField("Program name")
    return_email = EmailField(
        "Return-copy e-mail address",
        description="Receives the program's copy of every signed agreement and requests for outside help.")
    default_term_months = IntegerField("Default term (months)", validators=[Optional()],
                                       description="The term new pairs start with, from 1 to 60 months.")
    time_zone = StringField("Time zone", validators=[Length(max=64)],
                            description="Agreed meeting times are read in this zone. Its name, for example "
                                        "Europe/Berlin, America/New_York or UTC.")
