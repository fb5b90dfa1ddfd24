"""index agreement.predecessor_id: every agreement page asks whether the agreement was renewed, and without the
index that question read every agreement of the portal (found by `make bench` at 20,000 pairs)

Revision ID: 0007_performance_indexes
Revises: 0006_lifecycle
Create Date: 2026-11-23 17:55:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0007_performance_indexes"
down_revision = "0006_lifecycle"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("agreement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agreement_predecessor_id"), ["predecessor_id"], unique=False)


def downgrade():
    with op.batch_alter_table("agreement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_predecessor_id"))
