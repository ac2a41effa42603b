"""Evidence files record when their image was destroyed (hashes kept)

Revision ID: c81f0e6a5d27
Revises: b7e4d2a91c3f
Create Date: 2026-12-05 03:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

import casework.orm


revision = 'c81f0e6a5d27'
down_revision = 'b7e4d2a91c3f'
branch_labels = None
depends_on = None


# A table SQLite rebuilds keeps AUTOINCREMENT, so ids of deleted rows are never reused.
KEEP_IDS = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table('evidence_files', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.add_column(
            sa.Column('destroyed_at', casework.orm.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('evidence_files', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.drop_column('destroyed_at')
