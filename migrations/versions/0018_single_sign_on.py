"""single sign-on: per-organization OpenID Connect providers and linked identities

Revision ID: 0018
Revises: 0013
Create Date: 2026-12-02 06:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portfolio.core.db import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sso_configurations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('issuer', sa.String(length=500), nullable=False),
        sa.Column('client_id', sa.String(length=255), nullable=False),
        sa.Column('client_secret_encrypted', sa.LargeBinary(), nullable=False),
        sa.Column('button_label', sa.String(length=80), nullable=False),
        sa.Column('default_role', sa.String(length=16), nullable=False),
        sa.Column('allowed_domains', sa.JSON(), nullable=False),
        sa.Column('is_enabled', sa.Boolean(), nullable=False),
        sa.Column('is_password_sign_in_disabled', sa.Boolean(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['organization_id'], ['organizations.id'],
            name=op.f('fk_sso_configurations_organization_id_organizations'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_configurations')),
        sa.UniqueConstraint(
            'organization_id', name=op.f('uq_sso_configurations_organization_id')
        ),
    )
    op.create_table(
        'sso_identities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('issuer', sa.String(length=500), nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('last_login_at', UTCDateTime(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['organization_id'], ['organizations.id'],
            name=op.f('fk_sso_identities_organization_id_organizations'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_sso_identities_user_id_users'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_identities')),
        sa.UniqueConstraint('issuer', 'subject', name='uq_sso_identities_issuer_subject'),
    )
    with op.batch_alter_table('sso_identities', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_sso_identities_organization_id'), ['organization_id'], unique=False
        )
        batch_op.create_index(batch_op.f('ix_sso_identities_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('sso_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sso_identities_user_id'))
        batch_op.drop_index(batch_op.f('ix_sso_identities_organization_id'))
    op.drop_table('sso_identities')
    op.drop_table('sso_configurations')
