"""Victim data goes with its case; audit links become HMACs

Revision ID: 92085c80d2d5
Revises: c81f0e6a5d27
Create Date: 2026-12-05 03:30:00.000000

The audit chain's links change from SHA-256 to HMAC-SHA256 under CASEWORK_AUDIT_KEY.
Upgrading first checks every existing chain with the old SHA-256 links and refuses to
go on if one is broken (re-signing would launder the tampering), then signs every link
again with the configured key. Downgrading turns the links back into plain SHA-256.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op
from flask import current_app

import casework.orm

revision = "92085c80d2d5"
down_revision = "c81f0e6a5d27"
branch_labels = None
depends_on = None

GENESIS = "0" * 64

_events = sa.table(
    "audit_events",
    sa.column("id", sa.BigInteger),
    sa.column("chain_id", sa.Integer),
    sa.column("seq", sa.BigInteger),
    sa.column("occurred_at", casework.orm.UTCDateTime()),
    sa.column("actor_type", sa.String),
    sa.column("actor_id", sa.BigInteger),
    sa.column("action", sa.String),
    sa.column("case_id", sa.BigInteger),
    sa.column("object_type", sa.String),
    sa.column("object_id", sa.BigInteger),
    sa.column("details", sa.JSON),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)
_chains = sa.table(
    "audit_chains",
    sa.column("chain_id", sa.Integer),
    sa.column("seq", sa.BigInteger),
    sa.column("head_hash", sa.String),
)


def _canonical(row: Any, prev_hash: str) -> bytes:
    fields = {
        "chain_id": row.chain_id,
        "seq": row.seq,
        "occurred_at": row.occurred_at.isoformat(timespec="microseconds"),
        "actor_type": row.actor_type,
        "actor_id": row.actor_id,
        "action": row.action,
        "case_id": row.case_id,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "details": row.details,
        "prev_hash": prev_hash,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str).encode()


def _plain(row: Any, prev_hash: str) -> str:
    return hashlib.sha256(_canonical(row, prev_hash)).hexdigest()


def _signed(key: bytes) -> Callable[[Any, str], str]:
    return lambda row, prev_hash: hmac.new(
        key, _canonical(row, prev_hash), hashlib.sha256
    ).hexdigest()


def _relink(old: Callable[[Any, str], str], new: Callable[[Any, str], str]) -> None:
    """Check every chain under the old links, then write the new ones."""
    connection = op.get_bind()
    chain_ids = connection.scalars(sa.select(_chains.c.chain_id).order_by(_chains.c.chain_id)).all()
    for chain_id in chain_ids:
        rows = connection.execute(
            sa.select(_events).where(_events.c.chain_id == chain_id).order_by(_events.c.seq)
        ).all()
        old_prev, new_prev = GENESIS, GENESIS
        for expected_seq, row in enumerate(rows, start=1):
            if (
                row.seq != expected_seq
                or row.prev_hash != old_prev
                or old(row, old_prev) != row.hash
            ):
                raise RuntimeError(
                    f"audit chain {chain_id} is broken at seq {row.seq}; investigate it "
                    "before upgrading (re-signing it would hide the break)"
                )
            link = new(row, new_prev)
            connection.execute(
                sa.update(_events)
                .where(_events.c.id == row.id)
                .values(prev_hash=new_prev, hash=link)
            )
            old_prev, new_prev = row.hash, link
        moved = connection.execute(
            sa.update(_chains)
            .where(
                _chains.c.chain_id == chain_id,
                _chains.c.seq == len(rows),
                _chains.c.head_hash == old_prev,
            )
            .values(head_hash=new_prev)
        )
        if moved.rowcount != 1:
            raise RuntimeError(
                f"audit chain {chain_id} has lost events from its end; investigate it "
                "before upgrading"
            )


def _audit_key() -> bytes:
    return str(current_app.config["CASEWORK_AUDIT_KEY"]).encode()


_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


# A table SQLite rebuilds keeps AUTOINCREMENT, so ids of deleted rows are never reused.
KEEP_IDS = {"sqlite_autoincrement": True}


def upgrade() -> None:
    # First, so a refusal leaves the schema as it was (SQLite does not roll back DDL).
    _relink(_plain, _signed(_audit_key()))
    with op.batch_alter_table("outgoing_emails", schema=None) as batch_op:
        batch_op.add_column(sa.Column("case_id", _ID, nullable=True))
        batch_op.add_column(sa.Column("sealed_secret", sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outgoing_emails_case_id"), ["case_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_outgoing_emails_case_id_cases"),
            "cases",
            ["case_id"],
            ["id"],
            ondelete="CASCADE",
        )
    for table in ("items", "evidence_files"):
        with op.batch_alter_table(table, schema=None, table_kwargs=KEEP_IDS) as batch_op:
            batch_op.add_column(sa.Column("origin_case_id", _ID, nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_origin_case_id"), ["origin_case_id"])
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_origin_case_id_cases"),
                "cases",
                ["origin_case_id"],
                ["id"],
                ondelete="SET NULL",
            )


def downgrade() -> None:
    _relink(_signed(_audit_key()), _plain)
    for table in ("items", "evidence_files"):
        with op.batch_alter_table(table, schema=None, table_kwargs=KEEP_IDS) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_origin_case_id_cases"), type_="foreignkey"
            )
            batch_op.drop_index(batch_op.f(f"ix_{table}_origin_case_id"))
            batch_op.drop_column("origin_case_id")
    with op.batch_alter_table("outgoing_emails", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_outgoing_emails_case_id_cases"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_outgoing_emails_case_id"))
        batch_op.drop_column("sealed_secret")
        batch_op.drop_column("case_id")
