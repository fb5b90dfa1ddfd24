"""Remove the pair's PDF copies from the outbox: they hold pair-only answers in clear, and were kept after
sending and after a retention purge. From now on members get a link to download their copy after signing in;
the program's copy (no pair-only field) stays attached to the program's mail.

An unsent mail whose copy is removed says where to download it instead.

Revision ID: 0009_no_pair_copy_in_outbox
Revises: 0008_pair_sort_names
Create Date: 2026-12-07 13:40:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0009_no_pair_copy_in_outbox"
down_revision = "0008_pair_sort_names"
branch_labels = None
depends_on = None

PAIR_COPY_KIND = "signed_copy_pair"
UNSENT_NOTE = ("\n\nThe PDF copy is no longer attached to this e-mail (it holds what the two of you keep "
               "confidential). Download it from the agreement's page, linked above, after you sign in.")

_outbox = sa.table("outbox_mail", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                   sa.column("body", sa.Text), sa.column("attachment_name", sa.String),
                   sa.column("attachment", sa.LargeBinary), sa.column("sent_at", sa.DateTime))


def upgrade():
    connection = op.get_bind()
    with_copy = sa.and_(_outbox.c.kind == PAIR_COPY_KIND,
                        sa.or_(_outbox.c.attachment.is_not(None), _outbox.c.attachment_name.is_not(None)))
    unsent = connection.execute(sa.select(_outbox.c.id, _outbox.c.body).where(
        with_copy, _outbox.c.sent_at.is_(None))).all()
    for mail_id, body in unsent:
        connection.execute(_outbox.update().where(_outbox.c.id == mail_id).values(body=(body or "") + UNSENT_NOTE))
    connection.execute(_outbox.update().where(with_copy).values(attachment=None, attachment_name=None))


def downgrade():
    pass  # the copies are gone for good, as they should be
