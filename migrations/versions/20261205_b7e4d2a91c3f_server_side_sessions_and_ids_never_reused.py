"""Server-side sessions, a session key per case, and ids SQLite never reuses

Revision ID: b7e4d2a91c3f
Revises: 18845368e8b1
Create Date: 2026-12-05 03:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

import casework.orm


revision = 'b7e4d2a91c3f'
down_revision = '18845368e8b1'
branch_labels = None
depends_on = None

# Tables whose ids are referred to from outside them (sessions, audit events, letters):
# SQLite must never hand a deleted row's id to a new one. PostgreSQL sequences never do.
NEVER_REUSED = ('cases', 'items', 'notices', 'letters', 'evidence_files')

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _on_sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_key', sa.String(length=64), nullable=True))
    if _on_sqlite():
        # Rebuilt with AUTOINCREMENT, rows and indexes copied (env.py turns foreign
        # keys off around migrations, so dropping the old table cascades nothing).
        for table in NEVER_REUSED:
            with op.batch_alter_table(
                table, recreate='always', table_kwargs={'sqlite_autoincrement': True}
            ):
                pass
    op.create_table(
        'web_sessions',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.Enum('staff', 'victim', name='session_kind', native_enum=False, length=32), nullable=False),
        sa.Column('user_id', BIG_ID, nullable=True),
        sa.Column('case_id', BIG_ID, nullable=True),
        sa.Column('case_key', sa.String(length=64), nullable=True),
        sa.Column('created_at', casework.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', casework.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_web_sessions_case_id_cases'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_sessions_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_web_sessions_token_hash')),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_web_sessions_kind_created', ['kind', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_sessions_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_sessions_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_user_id'))
        batch_op.drop_index(batch_op.f('ix_web_sessions_case_id'))
        batch_op.drop_index('ix_web_sessions_kind_created')
    op.drop_table('web_sessions')
    if _on_sqlite():
        # Reflection does not carry AUTOINCREMENT over, so a plain rebuild drops it.
        for table in NEVER_REUSED:
            with op.batch_alter_table(table, recreate='always'):
                pass
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('session_key')
