"""outbox_mail.copy_of_signed_version_id: the program's copy is rendered when the mail is sent, not while the
second signer waits

Revision ID: 0014_mail_renders_program_copy
Revises: 0013_planned_meetings
Create Date: 2026-12-07 17:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0014_mail_renders_program_copy"
down_revision = "0013_planned_meetings"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_mail") as batch:
        batch.add_column(sa.Column("copy_of_signed_version_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_outbox_mail_copy_of_signed_version_id_signed_version", "signed_version",
                                 ["copy_of_signed_version_id"], ["id"], ondelete="SET NULL")


def downgrade():
    with op.batch_alter_table("outbox_mail") as batch:
        batch.drop_constraint("fk_outbox_mail_copy_of_signed_version_id_signed_version", type_="foreignkey")
        batch.drop_column("copy_of_signed_version_id")
