from wtforms import EmailField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, Optional

from portal.forms import PortalForm


class ProgramForm(PortalForm):
    """Field rules live in portal.domain.programs.program_problems (one place for the messages)."""
    name = StringField("Program name")
    code = StringField("Short code", description="2 to 20 capital letters or digits, such as WHPRMS.")
    return_email = EmailField(
        "Return-copy e-mail address",
        description="Receives the program's copy of every signed agreement and requests for outside help.")
    default_term_months = IntegerField("Default term (months)", default=3, validators=[Optional()])


class AppointForm(PortalForm):
    email = EmailField("E-mail", validators=[DataRequired(message="Enter their e-mail address."),
                                             Length(max=254)])
    name = StringField("Name", description="Used when they do not have an account yet.",
                       validators=[Length(max=120)])
    # The confirm step's button (templates/_appoint_choice.html): "update" or "keep"; empty on the first step.
    confirm = StringField()


class ConfirmForm(PortalForm):
    """A button that changes something: only the CSRF token."""
