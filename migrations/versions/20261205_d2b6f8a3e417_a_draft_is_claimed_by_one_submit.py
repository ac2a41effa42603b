"""A draft is claimed by one submit at a time, so a double submit opens one case

Revision ID: d2b6f8a3e417
Revises: 7c2e9f4a1d36
Create Date: 2026-12-05 13:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

import casework.orm


revision = 'd2b6f8a3e417'
down_revision = '7c2e9f4a1d36'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('claimed_at', casework.orm.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
