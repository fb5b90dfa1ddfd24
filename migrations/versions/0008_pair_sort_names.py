"""pair.mentor_sort_name and pair.mentee_sort_name, indexed with the program: the dashboards page through a
program's pairs in name order without sorting all of them (`make bench`: the last page of a 1,000-pair program
took twice as long as with 50 pairs)

Revision ID: 0008_pair_sort_names
Revises: 0007_performance_indexes
Create Date: 2026-12-06 22:10:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0008_pair_sort_names"
down_revision = "0007_performance_indexes"
branch_labels = None
depends_on = None

_pair = sa.table("pair", sa.column("id", sa.Integer), sa.column("mentor_id", sa.Integer),
                 sa.column("mentee_id", sa.Integer), sa.column("mentor_sort_name", sa.String),
                 sa.column("mentee_sort_name", sa.String))
_user = sa.table("user", sa.column("id", sa.Integer), sa.column("name", sa.String))


def upgrade():
    with op.batch_alter_table("pair", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mentor_sort_name", sa.String(length=120), server_default="", nullable=False))
        batch_op.add_column(sa.Column("mentee_sort_name", sa.String(length=120), server_default="", nullable=False))
        batch_op.create_index("ix_pair_program_mentor_sort", ["program_id", "mentor_sort_name", "id"], unique=False)
        batch_op.create_index("ix_pair_program_mentee_sort", ["program_id", "mentee_sort_name", "id"], unique=False)
    # Filled as portal.models.programs.sort_name fills them (casefold in Python: SQLite's lower() is ASCII-only).
    connection = op.get_bind()
    names = dict(connection.execute(sa.select(_user.c.id, _user.c.name)).all())
    rows = [{"pair_id": pair_id, "mentor": (names.get(mentor_id) or "").casefold()[:120],
             "mentee": (names.get(mentee_id) or "").casefold()[:120]}
            for pair_id, mentor_id, mentee_id in connection.execute(
                sa.select(_pair.c.id, _pair.c.mentor_id, _pair.c.mentee_id)).all()]
    if rows:
        connection.execute(
            _pair.update().where(_pair.c.id == sa.bindparam("pair_id"))
            .values(mentor_sort_name=sa.bindparam("mentor"), mentee_sort_name=sa.bindparam("mentee")), rows)


def downgrade():
    with op.batch_alter_table("pair", schema=None) as batch_op:
        batch_op.drop_index("ix_pair_program_mentee_sort")
        batch_op.drop_index("ix_pair_program_mentor_sort")
        batch_op.drop_column("mentee_sort_name")
        batch_op.drop_column("mentor_sort_name")
