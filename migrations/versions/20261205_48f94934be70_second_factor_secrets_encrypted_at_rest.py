"""Second-factor secrets encrypted at rest

Revision ID: 48f94934be70
Revises: 3f9c2a7d1b64
Create Date: 2026-12-05 03:50:00

The columns widen to hold the sealed form (AES-256-GCM under the evidence key, see
casework.accounts.totp.seal_secret), and every secret stored in clear is sealed.
Downgrading opens them again. Both directions need CASEWORK_EVIDENCE_KEY, read from
the app the migration runs in.
"""

import sqlalchemy as sa
from alembic import op
from flask import current_app

from casework.accounts import totp
from casework.evidence import crypto

revision = '48f94934be70'
down_revision = '3f9c2a7d1b64'
branch_labels = None
depends_on = None

# Column -> the slot its secrets are bound to.
_SLOTS = {'totp_secret': 'active', 'totp_pending_secret': 'pending'}


def _key() -> bytes:
    return crypto.load_key(current_app.config['CASEWORK_EVIDENCE_KEY'])


def _rewrite(change) -> None:  # type: ignore[no-untyped-def]
    connection = op.get_bind()
    users = sa.table('users', sa.column('id', sa.Integer), *(sa.column(c, sa.String) for c in _SLOTS))
    rows = connection.execute(sa.select(users.c.id, *(users.c[c] for c in _SLOTS))).all()
    for row in rows:
        values = {
            column: change(value, user_id=row.id, slot=slot)
            for column, slot in _SLOTS.items()
            if (value := getattr(row, column)) is not None
        }
        if values:
            connection.execute(users.update().where(users.c.id == row.id).values(**values))


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        for column in _SLOTS:
            batch_op.alter_column(
                column, existing_type=sa.String(length=64), type_=sa.String(length=128)
            )
    key = _key()
    _rewrite(lambda value, **bound: totp.seal_secret(key, value, **bound))


def downgrade() -> None:
    key = _key()
    _rewrite(lambda value, **bound: totp.open_secret(key, value, **bound))
    with op.batch_alter_table('users', schema=None) as batch_op:
        for column in _SLOTS:
            batch_op.alter_column(
                column, existing_type=sa.String(length=128), type_=sa.String(length=64)
            )
