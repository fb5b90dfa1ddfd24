"""account_token.new_email: a new sign-in address waits in an "email" token until the link mailed to that
address is followed (an address change needs proof that the person owns the new address)

Revision ID: 0010_email_change
Revises: 0009_no_pair_copy_in_outbox
Create Date: 2026-12-07 13:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0010_email_change"
down_revision = "0009_no_pair_copy_in_outbox"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("account_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("new_email", sa.String(length=254), nullable=True))


def downgrade():
    # Pending address changes cannot be kept without the column: drop their links with it.
    op.execute(sa.text("DELETE FROM account_token WHERE purpose = 'email'"))
    with op.batch_alter_table("account_token", schema=None) as batch_op:
        batch_op.drop_column("new_email")
