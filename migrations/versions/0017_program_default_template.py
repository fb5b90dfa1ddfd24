"""program.default_template_id: the template a program's new pairs start from unless another is chosen

Revision ID: 0017_program_default_template
Revises: 0016_data_key_checks
Create Date: 2026-12-07 23:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0017_program_default_template"
down_revision = "0016_data_key_checks"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("program") as batch:
        batch.add_column(sa.Column("default_template_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_program_default_template_id_agreement_template", "agreement_template",
                                 ["default_template_id"], ["id"], ondelete="SET NULL")


def downgrade():
    with op.batch_alter_table("program") as batch:
        batch.drop_constraint("fk_program_default_template_id_agreement_template", type_="foreignkey")
        batch.drop_column("default_template_id")
