"""Half-finished reports are kept in the database, so any host can continue them

Revision ID: c4e8a2f61d95
Revises: a6d3f1b8c920
Create Date: 2026-12-05 12:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import casework.orm


revision = 'c4e8a2f61d95'
down_revision = 'a6d3f1b8c920'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'drafts',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('answers', sa.LargeBinary(), nullable=False),
        sa.Column('saved_at', casework.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', casework.orm.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_drafts')),
    )
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drafts_expires_at'), ['expires_at'], unique=False)
    op.create_table(
        'draft_screenshots',
        sa.Column('draft_key', sa.String(length=64), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ['draft_key'], ['drafts.key'],
            name=op.f('fk_draft_screenshots_draft_key_drafts'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('draft_key', 'sha256', name=op.f('pk_draft_screenshots')),
    )


def downgrade() -> None:
    op.drop_table('draft_screenshots')
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drafts_expires_at'))
    op.drop_table('drafts')
