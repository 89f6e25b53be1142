"""bulk and prior-learning awards: upload batches, awards without a submission or an account yet

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-02 06:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portfolio.core.db import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0014'
branch_labels = None
depends_on = None

OLD_SOURCE = '(submission_id IS NULL) <> (pathway_id IS NULL)'
NEW_SOURCE = (
    '(CASE WHEN submission_id IS NULL THEN 0 ELSE 1 END)'
    ' + (CASE WHEN pathway_id IS NULL THEN 0 ELSE 1 END)'
    ' + (CASE WHEN batch_id IS NULL THEN 0 ELSE 1 END) = 1'
)


def upgrade():
    op.create_table(
        'bulk_award_batches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('credential_id', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('records', sa.JSON(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('processed', sa.Integer(), nullable=False),
        sa.Column('issued', sa.Integer(), nullable=False),
        sa.Column('already_held', sa.Integer(), nullable=False),
        sa.Column('invited', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.Column('finished_at', UTCDateTime(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['organization_id'], ['organizations.id'],
            name=op.f('fk_bulk_award_batches_organization_id_organizations'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['credential_id'], ['credentials.id'],
            name=op.f('fk_bulk_award_batches_credential_id_credentials'), ondelete='RESTRICT',
        ),
        sa.ForeignKeyConstraint(
            ['created_by_id'], ['users.id'],
            name=op.f('fk_bulk_award_batches_created_by_id_users'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bulk_award_batches')),
        sa.UniqueConstraint('public_id', name=op.f('uq_bulk_award_batches_public_id')),
    )
    with op.batch_alter_table('bulk_award_batches', schema=None) as batch_op:
        batch_op.create_index(
            'ix_bulk_award_batches_organization_id_id', ['organization_id', 'id'], unique=False
        )

    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_awards_award_source'), type_='check')
        batch_op.add_column(sa.Column('batch_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('recipient_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('recipient_name', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('source_id', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('narrative', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('evidence_url', sa.String(length=2000), nullable=True))
        batch_op.alter_column('recipient_id', existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_index(batch_op.f('ix_awards_batch_id'), ['batch_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_awards_batch_id_bulk_award_batches'), 'bulk_award_batches',
            ['batch_id'], ['id'], ondelete='RESTRICT',
        )
        batch_op.create_unique_constraint(
            'uq_awards_credential_id_recipient_email_source_id',
            ['credential_id', 'recipient_email', 'source_id'],
        )
        batch_op.create_check_constraint(op.f('ck_awards_award_source'), NEW_SOURCE)
        batch_op.create_check_constraint(
            op.f('ck_awards_award_recipient'), 'recipient_id IS NOT NULL OR batch_id IS NOT NULL'
        )
        batch_op.create_check_constraint(
            op.f('ck_awards_award_bulk_identity'),
            'batch_id IS NULL OR (recipient_email IS NOT NULL AND source_id IS NOT NULL)',
        )


def downgrade():
    # Bulk awards have neither a submission nor a pathway: they cannot exist in the older schema.
    op.execute(
        "DELETE FROM award_evidence WHERE award_id IN "
        "(SELECT id FROM awards WHERE batch_id IS NOT NULL)"
    )
    op.execute("DELETE FROM awards WHERE batch_id IS NOT NULL")
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_awards_award_bulk_identity'), type_='check')
        batch_op.drop_constraint(op.f('ck_awards_award_recipient'), type_='check')
        batch_op.drop_constraint(op.f('ck_awards_award_source'), type_='check')
        batch_op.drop_constraint('uq_awards_credential_id_recipient_email_source_id', type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_awards_batch_id_bulk_award_batches'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_awards_batch_id'))
        batch_op.alter_column('recipient_id', existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column('evidence_url')
        batch_op.drop_column('narrative')
        batch_op.drop_column('source_id')
        batch_op.drop_column('recipient_name')
        batch_op.drop_column('recipient_email')
        batch_op.drop_column('batch_id')
        batch_op.create_check_constraint(op.f('ck_awards_award_source'), OLD_SOURCE)

    with op.batch_alter_table('bulk_award_batches', schema=None) as batch_op:
        batch_op.drop_index('ix_bulk_award_batches_organization_id_id')
    op.drop_table('bulk_award_batches')
