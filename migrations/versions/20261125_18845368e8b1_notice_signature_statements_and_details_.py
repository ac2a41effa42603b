"""Notice signature, statements and details for letters

Revision ID: 18845368e8b1
Revises: c5c5dd529269
Create Date: 2026-11-25 11:50:18.551334
"""

import sqlalchemy as sa
from alembic import op

import casework.orm


revision = '18845368e8b1'
down_revision = 'c5c5dd529269'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signatory_capacity', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('contact_details', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('statements', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('explanation', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('copyrighted_work', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('addressee_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('addressee_address', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('related_notice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('clock_started_at', casework.orm.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_notices_related_notice_id_notices'), 'notices', ['related_notice_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notices_related_notice_id_notices'), type_='foreignkey')
        batch_op.drop_column('clock_started_at')
        batch_op.drop_column('related_notice_id')
        batch_op.drop_column('addressee_address')
        batch_op.drop_column('addressee_name')
        batch_op.drop_column('copyrighted_work')
        batch_op.drop_column('explanation')
        batch_op.drop_column('statements')
        batch_op.drop_column('contact_details')
        batch_op.drop_column('signatory_capacity')

