"""Letters whose PDF printed images of a person found to be a minor record their destruction

Revision ID: d4a1c9e7f203
Revises: 48f94934be70
Create Date: 2026-12-05 04:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import casework.orm


revision = 'd4a1c9e7f203'
down_revision = '48f94934be70'
branch_labels = None
depends_on = None

# A table SQLite rebuilds keeps AUTOINCREMENT, so ids of deleted rows are never reused.
KEEP_IDS = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table('letters', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.add_column(sa.Column('destroyed_at', casework.orm.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('letters', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.drop_column('destroyed_at')
