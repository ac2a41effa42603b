"""Notices record the name of the person depicted, where a law asks for it

Revision ID: e3b7c1d95a02
Revises: e5b8c3d0a412
Create Date: 2026-12-05 09:45:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = 'e3b7c1d95a02'
down_revision = 'e5b8c3d0a412'
branch_labels = None
depends_on = None


# A table SQLite rebuilds keeps AUTOINCREMENT, so ids of deleted rows are never reused.
KEEP_IDS = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table('notices', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.add_column(sa.Column('depicted_person', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notices', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.drop_column('depicted_person')
