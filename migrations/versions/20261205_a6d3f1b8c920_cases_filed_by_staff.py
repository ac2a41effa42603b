"""Cases record the caseworker who filed the report for the person

Revision ID: a6d3f1b8c920
Revises: e3b7c1d95a02
Create Date: 2026-12-05 10:30:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = 'a6d3f1b8c920'
down_revision = 'e3b7c1d95a02'
branch_labels = None
depends_on = None


BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

# A table SQLite rebuilds keeps AUTOINCREMENT, so ids of deleted rows are never reused.
KEEP_IDS = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.add_column(sa.Column('filed_by_id', BIG_ID, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_cases_filed_by_id_users'), 'users', ['filed_by_id'], ['id'],
            ondelete='SET NULL',
        )


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_filed_by_id_users'), type_='foreignkey')
        batch_op.drop_column('filed_by_id')
