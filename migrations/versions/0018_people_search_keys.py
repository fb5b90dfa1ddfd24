"""user.search_name and user.search_email: people's names and addresses without case or accents, so that the
dashboards' search finds "Zoë" from "zoe" alike on SQLite and PostgreSQL

Revision ID: 0018_people_search_keys
Revises: 0017_program_default_template
Create Date: 2026-12-07 23:00:00

"""
import unicodedata

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0018_people_search_keys"
down_revision = "0017_program_default_template"
branch_labels = None
depends_on = None

_user = sa.table("user", sa.column("id", sa.Integer), sa.column("name", sa.String), sa.column("email", sa.String),
                 sa.column("search_name", sa.String), sa.column("search_email", sa.String))


def _search_key(text, length):
    """As portal.models.accounts.search_key folds them today (a migration keeps its own copy)."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()[:length]


def upgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_name", sa.String(length=120), server_default="", nullable=False))
        batch_op.add_column(sa.Column("search_email", sa.String(length=254), server_default="", nullable=False))
    connection = op.get_bind()
    rows = [{"user_id": user_id, "name_key": _search_key(name, 120), "email_key": _search_key(email, 254)}
            for user_id, name, email in connection.execute(sa.select(_user.c.id, _user.c.name, _user.c.email))]
    if rows:
        connection.execute(
            _user.update().where(_user.c.id == sa.bindparam("user_id"))
            .values(search_name=sa.bindparam("name_key"), search_email=sa.bindparam("email_key")), rows)


def downgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("search_email")
        batch_op.drop_column("search_name")
