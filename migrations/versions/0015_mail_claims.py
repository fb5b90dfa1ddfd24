"""outbox_mail: claims (claimed_by, claimed_until) so that concurrent senders deliver each mail once, retries
that back off (next_attempt_at), mail given up on kept as failed (failed_at), and the Message-ID every attempt
sends (message_id)

Revision ID: 0015_mail_claims
Revises: 0014_mail_renders_program_copy
Create Date: 2026-12-07 19:45:00

"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0015_mail_claims"
down_revision = "0014_mail_renders_program_copy"
branch_labels = None
depends_on = None

OLD_MAX_ATTEMPTS = 5


def upgrade():
    with op.batch_alter_table("outbox_mail") as batch:
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("claimed_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("failed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("message_id", sa.String(length=250), nullable=True))
    # Mail the old sender gave up on silently (5 attempts) is now listed as failed, where `flask mail retry`
    # can queue it again.
    outbox = sa.table("outbox_mail", sa.column("sent_at", sa.DateTime()), sa.column("attempts", sa.Integer()),
                      sa.column("failed_at", sa.DateTime()))
    op.execute(outbox.update().where(outbox.c.sent_at.is_(None), outbox.c.attempts >= OLD_MAX_ATTEMPTS)
               .values(failed_at=datetime.now(timezone.utc).replace(tzinfo=None)))


def downgrade():
    with op.batch_alter_table("outbox_mail") as batch:
        batch.drop_column("message_id")
        batch.drop_column("failed_at")
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
        batch.drop_column("next_attempt_at")
