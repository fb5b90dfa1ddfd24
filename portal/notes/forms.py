"""Forms of the notebook. The rules (length, recipients, dates) live in portal.domain.notes, which words the
messages; these forms only carry the fields and the CSRF token."""
from wtforms import DateField, EmailField, HiddenField, PasswordField, SearchField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from portal.domain.notes import SEARCH_QUERY_MAX
from portal.forms import PortalForm

FORMAT_HELP = ("Plain text. A blank line starts a new paragraph. You can write **bold**, *italic*, and lists "
               "with lines that start with \"- \".")


class NoteForm(PortalForm):
    text = TextAreaField("Note", description=FORMAT_HELP)


class EditNoteForm(NoteForm):
    # The version the person is editing: a change saved by the other member in the meantime is noticed.
    version = HiddenField()


class SearchForm(PortalForm):
    q = SearchField("Search your notes", validators=[Length(max=SEARCH_QUERY_MAX)],
                    description="Finds the notes that contain every word you type.")


class ShareForm(PortalForm):
    email = EmailField("Share with (e-mail address)", validators=[Length(max=254)],
                       description="One person. If they have no account yet, they are invited to make one once "
                                   "you both agree.")
    name = StringField("Their name (optional)", validators=[Length(max=120)])
    expires_on = DateField("Readable until (optional)", validators=[Optional()],
                           description="The last day they can read it, at most 10 years ahead. Leave empty "
                                       "to share until one of you withdraws it.")


class ApproveForm(PortalForm):
    password = PasswordField("Your password", validators=[Length(max=200)],
                             description="Approving shares the note: confirm it is you.")
    # Who the form said the recipient is (RecipientPreview.key): approval is refused if that changed since.
    recipient = HiddenField(validators=[Length(max=40)])


class DeleteForm(PortalForm):
    version = HiddenField()

