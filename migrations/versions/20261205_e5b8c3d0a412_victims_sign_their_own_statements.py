"""Victims sign their own statements for a notice on their case page

Revision ID: e5b8c3d0a412
Revises: 3a7f5c1e9b82
Create Date: 2026-12-05 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import casework.orm


revision = 'e5b8c3d0a412'
down_revision = '3a7f5c1e9b82'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'victim_signatures',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('case_id', BIG_ID, nullable=False),
        sa.Column('notice_id', BIG_ID, nullable=False),
        sa.Column('requested_by_id', BIG_ID, nullable=True),
        sa.Column('requested_at', casework.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column('statements', sa.JSON(), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('statement_text', sa.Text(), nullable=False),
        sa.Column('signer_name', sa.String(length=200), nullable=True),
        sa.Column('typed_signature', sa.String(length=200), nullable=True),
        sa.Column('signed_at', casework.orm.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_victim_signatures_case_id_cases'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_victim_signatures_notice_id_notices'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_victim_signatures_requested_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_victim_signatures')),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table('victim_signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_victim_signatures_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_victim_signatures_notice_id'), ['notice_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('victim_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_victim_signatures_notice_id'))
        batch_op.drop_index(batch_op.f('ix_victim_signatures_case_id'))
    op.drop_table('victim_signatures')
