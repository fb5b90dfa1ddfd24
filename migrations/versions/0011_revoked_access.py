"""Access left behind by revoked roles and deactivated accounts (data only, no schema change)

Before this revision, revoking a supervisor left their pair assignments, and deactivating an account left its
roles, assignments and approved note shares, so that a reactivation gave them all back. The portal now removes
them at revocation and deactivation (audited there) and its policy needs a live role besides the assignment.
This brings existing rows in line: assignments without a live supervisor role in the pair's program are
deleted; deactivated accounts lose their program roles and assignments, and the approved note shares naming
them end, ended by the portal (withdrawn_by empty), as portal.domain.notes.end_shares_of_recipient does.
Nothing is written to the audit log here (its hash chain is kept by the application); the notebook shows the
pair that the share ended when the account was deactivated. Proposals not yet approved are left alone.
Downgrading does not bring the removed access back.

Revision ID: 0011_revoked_access
Revises: 0010_email_change
Create Date: 2026-12-07 13:45:00

"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0011_revoked_access"
down_revision = "0010_email_change"
branch_labels = None
depends_on = None

_user = sa.table("user", sa.column("id", sa.Integer), sa.column("is_deactivated", sa.Boolean))
_pair = sa.table("pair", sa.column("id", sa.Integer), sa.column("program_id", sa.Integer))
_role = sa.table("program_role", sa.column("id", sa.Integer), sa.column("user_id", sa.Integer),
                 sa.column("program_id", sa.Integer), sa.column("role", sa.String))
_link = sa.table("pair_supervisor", sa.column("id", sa.Integer), sa.column("pair_id", sa.Integer),
                 sa.column("user_id", sa.Integer))
_share = sa.table("note_share", sa.column("id", sa.Integer), sa.column("recipient_id", sa.Integer),
                  sa.column("state", sa.String), sa.column("withdrawn_by_id", sa.Integer),
                  sa.column("withdrawn_at", sa.DateTime))


def upgrade():
    connection = op.get_bind()
    deactivated = sa.select(_user.c.id).where(_user.c.is_deactivated.is_(True))
    connection.execute(_role.delete().where(_role.c.user_id.in_(deactivated)))
    live_role = (sa.select(_role.c.id).select_from(_role.join(_pair, _pair.c.program_id == _role.c.program_id))
                 .where(_pair.c.id == _link.c.pair_id, _role.c.user_id == _link.c.user_id,
                        _role.c.role == "supervisor")
                 .correlate(_link).exists())
    connection.execute(_link.delete().where(~live_role))
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    connection.execute(_share.update().where(_share.c.state == "approved", _share.c.recipient_id.in_(deactivated))
                       .values(state="withdrawn", withdrawn_by_id=None, withdrawn_at=now))


def downgrade():
    pass  # removed access is not given back
