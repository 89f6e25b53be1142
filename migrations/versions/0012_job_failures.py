"""background jobs: failures whose retries are spent

Revision ID: 0012
Revises: 0006
Create Date: 2026-12-01 23:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portfolio.core.db import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'job_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('args', sa.JSON(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('failed_at', UTCDateTime(), nullable=False),
        sa.Column('retried_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['organization_id'], ['organizations.id'],
            name=op.f('fk_job_failures_organization_id_organizations'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job_failures')),
    )
    with op.batch_alter_table('job_failures', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_job_failures_organization_id'), ['organization_id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('job_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_failures_organization_id'))
    op.drop_table('job_failures')
