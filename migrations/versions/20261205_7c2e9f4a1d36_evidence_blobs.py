"""Evidence files may be kept encrypted in the database

Revision ID: 7c2e9f4a1d36
Revises: b7e2a4c61d08
Create Date: 2026-12-05 12:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

import casework.orm


revision = '7c2e9f4a1d36'
down_revision = 'b7e2a4c61d08'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'evidence_blobs',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
        sa.Column('size_bytes', sa.Integer(), nullable=False),
        sa.Column('created_at', casework.orm.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('sha256', name=op.f('pk_evidence_blobs')),
    )


def downgrade() -> None:
    op.drop_table('evidence_blobs')
