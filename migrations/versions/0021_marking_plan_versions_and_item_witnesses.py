"""marking plan versions and item witnesses: every saved version of a credential's marking
settings kept, each submission pinned to the version it was submitted under; witness testimony
for an evidence item of the worker's library

Revision ID: 0021
Revises: 0013
Create Date: 2026-12-02 00:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portfolio.core.db import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0019'
branch_labels = None
depends_on = None

SUBJECT = (
    "(submission_id IS NOT NULL AND element_id IS NOT NULL AND evidence_item_id IS NULL)"
    " OR (submission_id IS NULL AND element_id IS NULL AND evidence_item_id IS NOT NULL)"
)


def upgrade():
    op.create_table(
        'marking_plan_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('credential_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('mode', sa.String(length=16), nullable=False),
        sa.Column('is_blind', sa.Boolean(), nullable=False),
        sa.Column('iqa_rate', sa.Integer(), nullable=False),
        sa.Column('iqa_first_n', sa.Integer(), nullable=False),
        sa.Column('iqa_every_fail', sa.Boolean(), nullable=False),
        sa.Column('iqa_every_appeal', sa.Boolean(), nullable=False),
        sa.Column('iqa_mode', sa.String(length=16), nullable=False),
        sa.Column('appeal_days', sa.Integer(), nullable=True),
        sa.Column('sample_seed', sa.String(length=64), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['created_by_id'], ['users.id'],
            name=op.f('fk_marking_plan_versions_created_by_id_users'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['credential_id'], ['credentials.id'],
            name=op.f('fk_marking_plan_versions_credential_id_credentials'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_marking_plan_versions')),
        sa.UniqueConstraint(
            'credential_id', 'version', name='uq_marking_plan_versions_credential_id_version'
        ),
    )
    # The settings in force today become their own first kept version (earlier ones are lost).
    op.execute(
        "INSERT INTO marking_plan_versions (credential_id, version, mode, is_blind, iqa_rate,"
        " iqa_first_n, iqa_every_fail, iqa_every_appeal, iqa_mode, appeal_days, sample_seed,"
        " created_by_id, created_at)"
        " SELECT credential_id, version, mode, is_blind, iqa_rate, iqa_first_n, iqa_every_fail,"
        " iqa_every_appeal, iqa_mode, appeal_days, sample_seed, NULL, updated_at"
        " FROM marking_settings"
    )
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('marking_plan_version', sa.Integer(), nullable=True))

    with op.batch_alter_table('witness_testimonies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evidence_item_id', sa.Integer(), nullable=True))
        batch_op.alter_column('submission_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('element_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f('fk_witness_testimonies_evidence_item_id_evidence_items'),
            'evidence_items', ['evidence_item_id'], ['id'], ondelete='CASCADE',
        )
        batch_op.create_index(
            batch_op.f('ix_witness_testimonies_evidence_item_id'), ['evidence_item_id'],
            unique=False,
        )
        batch_op.create_check_constraint(op.f('ck_witness_testimonies_testimony_subject'), SUBJECT)


def downgrade():
    op.execute("DELETE FROM witness_testimonies WHERE evidence_item_id IS NOT NULL")
    with op.batch_alter_table('witness_testimonies', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_witness_testimonies_testimony_subject'), type_='check')
        batch_op.drop_index(batch_op.f('ix_witness_testimonies_evidence_item_id'))
        batch_op.drop_constraint(
            batch_op.f('fk_witness_testimonies_evidence_item_id_evidence_items'),
            type_='foreignkey',
        )
        batch_op.alter_column('element_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('submission_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('evidence_item_id')

    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_column('marking_plan_version')

    op.drop_table('marking_plan_versions')
