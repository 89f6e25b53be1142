"""CASE kept losslessly: associations of any type, item and document fields, package URL

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('competency_associations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('framework_id', sa.Integer(), nullable=False),
    sa.Column('association_type', sa.String(length=60), nullable=False),
    sa.Column('origin_id', sa.Integer(), nullable=True),
    sa.Column('destination_id', sa.Integer(), nullable=True),
    sa.Column('case_identifier', sa.String(length=255), nullable=False),
    sa.Column('case_data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['destination_id'], ['competencies.id'], name=op.f('fk_competency_associations_destination_id_competencies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['framework_id'], ['frameworks.id'], name=op.f('fk_competency_associations_framework_id_frameworks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['origin_id'], ['competencies.id'], name=op.f('fk_competency_associations_origin_id_competencies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competency_associations'))
    )
    with op.batch_alter_table('competency_associations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competency_associations_destination_id'), ['destination_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_competency_associations_framework_id'), ['framework_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_competency_associations_origin_id'), ['origin_id'], unique=False)

    with op.batch_alter_table('frameworks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_extra', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('case_package_url', sa.String(length=1000), nullable=False, server_default=''))

    with op.batch_alter_table('competencies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_extra', sa.JSON(), nullable=True))
        batch_op.alter_column('code', existing_type=sa.String(length=60), type_=sa.String(length=255), existing_nullable=False)


def downgrade():
    with op.batch_alter_table('competencies', schema=None) as batch_op:
        batch_op.alter_column('code', existing_type=sa.String(length=255), type_=sa.String(length=60), existing_nullable=False)
        batch_op.drop_column('case_extra')

    with op.batch_alter_table('frameworks', schema=None) as batch_op:
        batch_op.drop_column('case_package_url')
        batch_op.drop_column('case_extra')

    with op.batch_alter_table('competency_associations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competency_associations_origin_id'))
        batch_op.drop_index(batch_op.f('ix_competency_associations_framework_id'))
        batch_op.drop_index(batch_op.f('ix_competency_associations_destination_id'))

    op.drop_table('competency_associations')
