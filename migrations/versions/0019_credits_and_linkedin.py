"""credits on credentials, their versions and awards; LinkedIn organization id

Revision ID: 0019
Revises: 0013
Create Date: 2026-12-02 06:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credits_available', sa.Numeric(precision=8, scale=2, asdecimal=False), nullable=True))
        batch_op.add_column(sa.Column('credits_unit', sa.String(length=40), nullable=False, server_default=''))
    with op.batch_alter_table('credential_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credits_available', sa.Numeric(precision=8, scale=2, asdecimal=False), nullable=True))
        batch_op.add_column(sa.Column('credits_unit', sa.String(length=40), nullable=False, server_default=''))
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credits_earned', sa.Numeric(precision=8, scale=2, asdecimal=False), nullable=True))
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('linkedin_organization_id', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('linkedin_organization_id')
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.drop_column('credits_earned')
    with op.batch_alter_table('credential_versions', schema=None) as batch_op:
        batch_op.drop_column('credits_unit')
        batch_op.drop_column('credits_available')
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_column('credits_unit')
        batch_op.drop_column('credits_available')
