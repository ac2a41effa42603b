"""Removal checks: each question put to X about a post, and which check saw a post gone

Revision ID: 5e1c7a2b9d40
Revises: 92085c80d2d5
Create Date: 2026-12-05 03:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

import casework.orm


revision = '5e1c7a2b9d40'
down_revision = '92085c80d2d5'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('removal_checks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('checked_at', casework.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('method', sa.Enum('oembed', 'syndication', name='removal_check_method', native_enum=False, length=32), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.Enum('up', 'removed', 'withheld', 'suspended', 'protected', 'unknown', name='removal_check_outcome', native_enum=False, length=32), nullable=False),
    sa.Column('reason', sa.Enum('sent', 'reminder', 'before_deadline', 'after_deadline', 'follow_up', name='removal_check_reason', native_enum=False, length=32), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_removal_checks_item_id_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_removal_checks'))
    )
    with op.batch_alter_table('removal_checks', schema=None) as batch_op:
        batch_op.create_index('ix_removal_checks_item', ['item_id', 'checked_at'], unique=False)

    with op.batch_alter_table('notice_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('removal_check_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_notice_items_removal_check_id_removal_checks'), 'removal_checks', ['removal_check_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('notice_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notice_items_removal_check_id_removal_checks'), type_='foreignkey')
        batch_op.drop_column('removal_check_id')

    with op.batch_alter_table('removal_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_removal_checks_item')

    op.drop_table('removal_checks')
