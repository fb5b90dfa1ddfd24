"""pair.archived_at/archived_by_id: a pair removed by its program admin is archived, never deleted

Revision ID: 0019_pair_archive
Revises: 0018_people_search_keys
Create Date: 2026-12-07 23:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0019_pair_archive"
down_revision = "0018_people_search_keys"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("pair", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("archived_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_pair_archived_by_id_user"), "user", ["archived_by_id"], ["id"])


def downgrade():
    with op.batch_alter_table("pair", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_pair_archived_by_id_user"), type_="foreignkey")
        batch_op.drop_column("archived_by_id")
        batch_op.drop_column("archived_at")
