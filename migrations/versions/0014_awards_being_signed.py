"""awards being signed: the decision commits the award at once, a job signs it after

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 06:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portfolio.core.db import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0015'
branch_labels = None
depends_on = None

BEING_SIGNED = sa.text('signed_at IS NULL')


def upgrade():
    with op.batch_alter_table('awards') as batch:
        batch.add_column(sa.Column('signed_at', UTCDateTime(), nullable=True))
        for name in ('ob2_assertion', 'ob3_credential'):
            batch.alter_column(name, existing_type=sa.Text(), nullable=True)
        for name in ('ob2_sha256', 'ob3_sha256'):
            batch.alter_column(name, existing_type=sa.String(length=64), nullable=True)
    # Every award so far was signed in its issuing transaction.
    op.execute('UPDATE awards SET signed_at = issued_at')
    op.create_index(
        'ix_awards_being_signed', 'awards', ['issued_at'],
        postgresql_where=BEING_SIGNED, sqlite_where=BEING_SIGNED,
    )


def downgrade():
    op.drop_index('ix_awards_being_signed', table_name='awards')
    op.execute('DELETE FROM awards WHERE signed_at IS NULL')
    with op.batch_alter_table('awards') as batch:
        for name in ('ob2_sha256', 'ob3_sha256'):
            batch.alter_column(name, existing_type=sa.String(length=64), nullable=False)
        for name in ('ob2_assertion', 'ob3_credential'):
            batch.alter_column(name, existing_type=sa.Text(), nullable=False)
        batch.drop_column('signed_at')
