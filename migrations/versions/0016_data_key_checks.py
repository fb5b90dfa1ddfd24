"""data_key_check: an encrypted known value per data-key id, checked at start-up

Revision ID: 0016_data_key_checks
Revises: 0015_mail_claims
Create Date: 2026-12-07 19:40:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0016_data_key_checks"
down_revision = "0015_mail_claims"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "data_key_check",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("check_ct", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_data_key_check")),
    )


def downgrade():
    op.drop_table("data_key_check")
