from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from portal.forms import PortalForm


class SignInForm(PortalForm):
    email = EmailField("E-mail", validators=[DataRequired(message="Enter your e-mail address."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password."),
                                                     Length(max=200)])
    next = HiddenField()


class ForgotPasswordForm(PortalForm):
    email = EmailField("E-mail", validators=[
        DataRequired(message="Enter your e-mail address."), Length(max=254)])


class SetPasswordForm(PortalForm):
    name = StringField("Your name", validators=[Length(max=120)])
    password = PasswordField("New password", validators=[
        DataRequired(message="Choose a password."),
        Length(min=10, max=200, message="Choose a password of 10 to 200 characters.")])
    confirm = PasswordField("Repeat the password", validators=[
        DataRequired(message="Repeat the password."), EqualTo("password", message="The two passwords differ.")])


class SignOutForm(PortalForm):
    """Only the CSRF token: sign-out is a POST so that no link or image can sign someone out."""


class NameForm(PortalForm):
    name = StringField("Your name", validators=[DataRequired(message="Enter your name."), Length(max=120)])


class ChangePasswordForm(PortalForm):
    current_password = PasswordField("Current password", validators=[
        DataRequired(message="Enter your current password."), Length(max=200)])
    password = PasswordField("New password", validators=[
        DataRequired(message="Choose a new password."),
        Length(min=10, max=200, message="Choose a password of 10 to 200 characters.")])
    confirm = PasswordField("Repeat the new password", validators=[
        DataRequired(message="Repeat the new password."), EqualTo("password", message="The two passwords differ.")])


class ChangeEmailForm(PortalForm):
    email = EmailField("New e-mail address", validators=[DataRequired(message="Enter the new address."),
                                                         Length(max=254)])
    current_password = PasswordField("Current password", validators=[
        DataRequired(message="Enter your current password."), Length(max=200)])


class CancelEmailChangeForm(PortalForm):
    """Only the CSRF token."""


class ConfirmEmailForm(PortalForm):
    """Signed out, the account's password confirms the change; signed in as the account, nothing is asked."""
    password = PasswordField("Password", validators=[Optional(), Length(max=200)])
