"""All models, imported here so that Flask-Migrate sees every table."""
from portal.models.accounts import AccountToken, RateEvent, ProgramRole, User  # noqa: F401
from portal.models.programs import Pair, PairSupervisor, Program  # noqa: F401
from portal.models.templates import AgreementTemplate, TemplateVersion  # noqa: F401
from portal.models.agreements import (  # noqa: F401
    Agreement, AgreementEvent, EditorPresence, FieldChange, FieldValue,
)
from portal.models.signing import AgreementSignature, IssuedFile, SignedVersion  # noqa: F401
from portal.models.mail import OutboxMail  # noqa: F401
from portal.models.audit import AuditEvent  # noqa: F401
from portal.models.notes import Note, NoteShare  # noqa: F401
from portal.models.lifecycle import (  # noqa: F401
    GoalConfirmation, GoalProgress, HelpRequest, Meeting, PlannedMeeting, ProgressCheckIn, ReviewEntry, ReviewRequest, SentReminder,
)
from portal.models.keys import DataKeyCheck  # noqa: F401
