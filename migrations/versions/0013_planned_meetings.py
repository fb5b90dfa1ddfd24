"""planned_meeting (a meeting a member plans ahead; its place is encrypted, the pair's) and program.time_zone
(the zone agreed meeting times such as "every Tuesday, 17:00" are read in; existing programs get UTC)

Revision ID: 0013_planned_meetings
Revises: 0012_issued_files
Create Date: 2026-12-07 17:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0013_planned_meetings"
down_revision = "0012_issued_files"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), server_default="UTC", nullable=False))
    op.create_table(
        "planned_meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("place_ct", sa.LargeBinary(), nullable=True),
        sa.Column("planned_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agreement_id"], ["agreement.id"],
                                name=op.f("fk_planned_meeting_agreement_id_agreement"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["planned_by_id"], ["user.id"], name=op.f("fk_planned_meeting_planned_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_meeting")),
    )
    with op.batch_alter_table("planned_meeting", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_planned_meeting_agreement_id"), ["agreement_id"], unique=False)
        batch_op.create_index("ix_planned_meeting_starts_at", ["starts_at"], unique=False)


def downgrade():
    with op.batch_alter_table("planned_meeting", schema=None) as batch_op:
        batch_op.drop_index("ix_planned_meeting_starts_at")
        batch_op.drop_index(batch_op.f("ix_planned_meeting_agreement_id"))
    op.drop_table("planned_meeting")
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
