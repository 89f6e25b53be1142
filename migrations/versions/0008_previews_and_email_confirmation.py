"""evidence previews and confirmed email addresses

Revision ID: 0008
Revises: 0009
Create Date: 2026-12-01 23:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portfolio.core.db


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('evidence_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preview_key', sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column('preview_state', sa.String(length=16), nullable=True))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('email_confirmed_at', portfolio.core.db.UTCDateTime(timezone=True), nullable=True)
        )
    # Accounts that exist already were created by invitation or by an admin: their addresses
    # count as confirmed, so nobody is locked out by the upgrade.
    op.execute("UPDATE users SET email_confirmed_at = created_at")


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email_confirmed_at')

    with op.batch_alter_table('evidence_items', schema=None) as batch_op:
        batch_op.drop_column('preview_state')
        batch_op.drop_column('preview_key')
