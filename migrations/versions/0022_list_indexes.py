"""list indexes: an organization's awards by (issued_at, id), the order of the awards list's
keyset pages, and users by display name, the order of the members list, so that a page of
either is read in index order and stops after one page, whatever the number of rows

Revision ID: 0022
Revises: 0017
Create Date: 2026-12-02 00:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_users_display_name', 'users', ['display_name'])
    with op.batch_alter_table('awards') as batch_op:
        batch_op.drop_index('ix_awards_organization_id_issued_at')
        batch_op.create_index(
            'ix_awards_organization_id_issued_at_id', ['organization_id', 'issued_at', 'id']
        )


def downgrade():
    op.drop_index('ix_users_display_name', table_name='users')
    with op.batch_alter_table('awards') as batch_op:
        batch_op.drop_index('ix_awards_organization_id_issued_at_id')
        batch_op.create_index(
            'ix_awards_organization_id_issued_at', ['organization_id', 'issued_at']
        )
