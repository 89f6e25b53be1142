"""expiry reminders sent per badge; credential versions shown by issued badges

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 23:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portfolio.core.db


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('credential_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('credential_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('criteria_html', sa.Text(), nullable=False),
    sa.Column('alignments_json', sa.Text(), nullable=False),
    sa.Column('created_at', portfolio.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], name=op.f('fk_credential_versions_credential_id_credentials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credential_versions')),
    sa.UniqueConstraint('credential_id', 'number', name='uq_credential_versions_number'),
    sa.UniqueConstraint('public_id', name=op.f('uq_credential_versions_public_id'))
    )
    with op.batch_alter_table('credential_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credential_versions_credential_id'), ['credential_id'], unique=False)

    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credential_version_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_awards_credential_version_id_credential_versions'), 'credential_versions', ['credential_version_id'], ['id'], ondelete='SET NULL')

    op.create_table('award_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('sent_at', portfolio.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['award_id'], ['awards.id'], name=op.f('fk_award_reminders_award_id_awards'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_reminders')),
    sa.UniqueConstraint('award_id', 'days', name='uq_award_reminders_award_days')
    )


def downgrade():
    op.drop_table('award_reminders')
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_awards_credential_version_id_credential_versions'), type_='foreignkey')
        batch_op.drop_column('credential_version_id')
    with op.batch_alter_table('credential_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credential_versions_credential_id'))
    op.drop_table('credential_versions')
