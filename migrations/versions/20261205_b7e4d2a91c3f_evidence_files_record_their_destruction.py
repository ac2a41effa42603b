"""Evidence files record when their image was destroyed (hashes kept)

Revision ID: b7e4d2a91c3f
Revises: 18845368e8b1
Create Date: 2026-12-05 03:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

import casework.orm


revision = 'b7e4d2a91c3f'
down_revision = '18845368e8b1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('evidence_files', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('destroyed_at', casework.orm.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('evidence_files', schema=None) as batch_op:
        batch_op.drop_column('destroyed_at')
