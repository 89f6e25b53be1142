"""review queue: a partial index of waiting submissions in queue order

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 08:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

WAITING = "state IN ('submitted', 'in_review')"


def upgrade():
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.create_index(
            'ix_submissions_waiting',
            ['organization_id', 'submitted_at', 'id'],
            unique=False,
            postgresql_where=sa.text(WAITING),
            sqlite_where=sa.text(WAITING),
        )


def downgrade():
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_submissions_waiting')
