"""Files the portal issued: the SHA-256 of every PDF handed out, which "Check a signed PDF" looks up

Revision ID: 0012_issued_files
Revises: 0011_revoked_access
Create Date: 2026-12-07 16:40:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0012_issued_files"
down_revision = "0011_revoked_access"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "issued_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("signed_version_id", sa.Integer(), nullable=True),
        sa.Column("template_version_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["program_id"], ["program.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["signed_version_id"], ["signed_version.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["template_version_id"], ["template_version.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    op.create_index("ix_issued_file_program_id", "issued_file", ["program_id"])
    op.create_index("ix_issued_file_signed_version_id", "issued_file", ["signed_version_id"])


def downgrade():
    op.drop_index("ix_issued_file_signed_version_id", table_name="issued_file")
    op.drop_index("ix_issued_file_program_id", table_name="issued_file")
    op.drop_table("issued_file")
