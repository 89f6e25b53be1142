"""background work: outgoing mail, portfolio exports, status lists waiting to be re-signed

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-02 06:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portfolio.core.db import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'outgoing_mails',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('to', sa.String(length=320), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('sent_at', UTCDateTime(), nullable=True),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_mails')),
    )
    with op.batch_alter_table('outgoing_mails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outgoing_mails_created_at'), ['created_at'], unique=False)

    op.create_table(
        'portfolio_exports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('bytes_done', sa.BigInteger(), nullable=False),
        sa.Column('bytes_expected', sa.BigInteger(), nullable=False),
        sa.Column('storage_key', sa.String(length=512), nullable=True),
        sa.Column('size', sa.BigInteger(), nullable=True),
        sa.Column('finished_at', UTCDateTime(), nullable=True),
        sa.Column('expires_at', UTCDateTime(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'],
            name=op.f('fk_portfolio_exports_user_id_users'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_portfolio_exports')),
        sa.UniqueConstraint('public_id', name=op.f('uq_portfolio_exports_public_id')),
    )
    with op.batch_alter_table('portfolio_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portfolio_exports_user_id'), ['user_id'], unique=False)
        batch_op.create_index(
            batch_op.f('ix_portfolio_exports_expires_at'), ['expires_at'], unique=False
        )

    with op.batch_alter_table('status_lists', schema=None) as batch_op:
        batch_op.add_column(sa.Column('changed_at', UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_status_lists_changed_at'), ['changed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('status_lists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_lists_changed_at'))
        batch_op.drop_column('changed_at')
    with op.batch_alter_table('portfolio_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portfolio_exports_expires_at'))
        batch_op.drop_index(batch_op.f('ix_portfolio_exports_user_id'))
    op.drop_table('portfolio_exports')
    with op.batch_alter_table('outgoing_mails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outgoing_mails_created_at'))
    op.drop_table('outgoing_mails')
