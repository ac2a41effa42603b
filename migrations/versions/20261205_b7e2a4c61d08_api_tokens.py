"""API tokens: per-user keys for integrations, stored as hashes

Revision ID: b7e2a4c61d08
Revises: c4e8a2f61d95
Create Date: 2026-12-05 12:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import casework.orm


revision = 'b7e2a4c61d08'
down_revision = 'c4e8a2f61d95'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'api_tokens',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('user_id', BIG_ID, nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('created_by_id', BIG_ID, nullable=True),
        sa.Column('created_at', casework.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', casework.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_used_at', casework.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', casework.orm.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_api_tokens_created_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('secret_hash', name=op.f('uq_api_tokens_secret_hash')),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))
    op.drop_table('api_tokens')
