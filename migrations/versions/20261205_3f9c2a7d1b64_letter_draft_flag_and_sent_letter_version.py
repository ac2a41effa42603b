"""Letter draft flag, and the letter version a notice was sent as

Revision ID: 3f9c2a7d1b64
Revises: 5e1c7a2b9d40
Create Date: 2026-12-05 03:40:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = '3f9c2a7d1b64'
down_revision = '5e1c7a2b9d40'
branch_labels = None
depends_on = None


# A table SQLite rebuilds keeps AUTOINCREMENT, so ids of deleted rows are never reused.
KEEP_IDS = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table('letters', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.add_column(sa.Column('draft', sa.Boolean(), server_default=sa.text('false'), nullable=False))

    # Letters made before the flag existed are drafts when their snapshot listed anything
    # missing, or when their text carried a placeholder (the PDF is not read back here, so
    # a letter with a placeholder but nothing missing stays as it was: regenerate it).
    letters = sa.table('letters', sa.column('id', sa.Integer), sa.column('data_snapshot', sa.JSON), sa.column('draft', sa.Boolean))
    bind = op.get_bind()
    drafts = [row.id for row in bind.execute(sa.select(letters.c.id, letters.c.data_snapshot)) if (row.data_snapshot or {}).get('missing')]
    for start in range(0, len(drafts), 500):
        bind.execute(letters.update().where(letters.c.id.in_(drafts[start:start + 500])).values(draft=True))

    with op.batch_alter_table('notices', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.add_column(sa.Column('sent_letter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_notices_sent_letter_id_letters'), 'letters', ['sent_letter_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('notices', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notices_sent_letter_id_letters'), type_='foreignkey')
        batch_op.drop_column('sent_letter_id')

    with op.batch_alter_table('letters', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.drop_column('draft')
