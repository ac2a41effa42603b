"""Notices hold the particulars a complaint states (identity, dates and places, harm)

Revision ID: 3a7f5c1e9b82
Revises: d4a1c9e7f203
Create Date: 2026-12-05 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = '3a7f5c1e9b82'
down_revision = 'd4a1c9e7f203'
branch_labels = None
depends_on = None


# A table SQLite rebuilds keeps AUTOINCREMENT, so ids of deleted rows are never reused.
KEEP_IDS = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table('notices', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.add_column(
            sa.Column('particulars', sa.JSON(), server_default=sa.text("'{}'"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('notices', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.drop_column('particulars')
