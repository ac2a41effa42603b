"""One head again: evidence blobs and drafts both kept in the database

Revision ID: e1d6b3a8f274
Revises: 7c2e9f4a1d36, c4e8a2f61d95
Create Date: 2026-12-05 12:40:00.000000
"""

revision = 'e1d6b3a8f274'
down_revision = ('7c2e9f4a1d36', 'c4e8a2f61d95')
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The two branches touch different tables; nothing to do but join them.
    pass


def downgrade() -> None:
    pass
