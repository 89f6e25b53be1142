"""W3C Bitstring Status Lists: lists per issuer and the bit of each award's credential

Revision ID: 0009
Revises: 0012
Create Date: 2026-12-01 23:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portfolio.core.db


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('status_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('credential', sa.Text(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('signed_at', portfolio.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', portfolio.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_status_lists_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_lists')),
    sa.UniqueConstraint('public_id', name=op.f('uq_status_lists_public_id'))
    )
    with op.batch_alter_table('status_lists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_lists_organization_id'), ['organization_id'], unique=False)

    op.create_table('status_list_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status_list_id', sa.Integer(), nullable=False),
    sa.Column('bit_index', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['award_id'], ['awards.id'], name=op.f('fk_status_list_entries_award_id_awards'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['status_list_id'], ['status_lists.id'], name=op.f('fk_status_list_entries_status_list_id_status_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_list_entries')),
    sa.UniqueConstraint('award_id', name=op.f('uq_status_list_entries_award_id')),
    sa.UniqueConstraint('status_list_id', 'bit_index', name='uq_status_list_entries_status_list_id_bit_index')
    )


def downgrade():
    op.drop_table('status_list_entries')
    with op.batch_alter_table('status_lists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_lists_organization_id'))
    op.drop_table('status_lists')
