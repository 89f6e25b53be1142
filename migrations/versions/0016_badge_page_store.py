"""badge page store: the public badge page rendered once per change, served as stored bytes

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-02 06:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('awards') as batch:
        batch.add_column(sa.Column('page_html', sa.Text(), nullable=True))
        batch.add_column(sa.Column('page_key', sa.String(length=80), nullable=True))
        batch.add_column(sa.Column('page_etag', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('awards') as batch:
        batch.drop_column('page_etag')
        batch.drop_column('page_key')
        batch.drop_column('page_html')
