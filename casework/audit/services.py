"""Append audit events to an HMAC chain and verify the chain.

Each link is HMAC-SHA256, under CASEWORK_AUDIT_KEY, of the event's fields and the
previous link. The key never enters the database, so someone who can write to it can
delete or change events but cannot compute the links that would hide it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import insert, select, update

from casework.actors import Actor
from casework.audit.models import AuditChain, AuditEvent
from casework.orm import DbSession, utcnow
from casework.sqlutil import insert_ignoring_conflict

GENESIS_HASH = "0" * 64
SYSTEM_CHAIN = 0


def _canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str).encode()


def audit_key() -> bytes:
    """The running app's audit key (CASEWORK_AUDIT_KEY)."""
    return str(current_app.config["CASEWORK_AUDIT_KEY"]).encode()


def sign(fields: dict[str, Any], key: bytes | None = None) -> str:
    """HMAC-SHA256 of the fields' canonical JSON, in hex."""
    return hmac.new(key or audit_key(), _canonical(fields), hashlib.sha256).hexdigest()


def event_hash(
    *,
    chain_id: int,
    seq: int,
    occurred_at: datetime,
    actor_type: str,
    actor_id: int | None,
    action: str,
    case_id: int | None,
    object_type: str | None,
    object_id: int | None,
    details: dict[str, Any],
    prev_hash: str,
    key: bytes | None = None,
) -> str:
    """The link of one event: its fields and its predecessor's link, signed."""
    fields = {
        "chain_id": chain_id,
        "seq": seq,
        "occurred_at": occurred_at.isoformat(timespec="microseconds"),
        "actor_type": actor_type,
        "actor_id": actor_id,
        "action": action,
        "case_id": case_id,
        "object_type": object_type,
        "object_id": object_id,
        "details": details,
        "prev_hash": prev_hash,
    }
    return sign(fields, key)


@dataclass(frozen=True)
class NewEvent:
    """One event to append: who did what to which object, in which chain."""

    action: str
    actor: Actor
    chain_id: int
    case_id: int | None = None
    object_type: str | None = None
    object_id: int | None = None
    details: dict[str, Any] | None = None


def _take_seqs(session: DbSession, chain_id: int, count: int) -> tuple[int, str]:
    """Reserve `count` sequence numbers; returns the first and the hash before it.

    The UPDATE takes the head row's lock first, so concurrent appends queue up
    and each sees the hash its predecessor committed. A chain's head row is created
    by its first event, so every later append is that one UPDATE.
    """
    advance = (
        update(AuditChain)
        .where(AuditChain.chain_id == chain_id)
        .values(seq=AuditChain.seq + count)
        .returning(AuditChain.seq, AuditChain.head_hash)
    )
    taken = session.execute(advance).one_or_none()
    if taken is None:
        insert_ignoring_conflict(
            session,
            AuditChain.__table__,
            {"chain_id": chain_id, "seq": 0, "head_hash": GENESIS_HASH},
        )
        # The row exists now, ours or that of a concurrent first event.
        taken = session.execute(advance).one()
    last_seq, prev_hash = taken
    return last_seq - count + 1, prev_hash


def _linked_row(new: NewEvent, seq: int, prev_hash: str) -> dict[str, Any]:
    """The audit_events row for one event, hashed onto its predecessor."""
    row: dict[str, Any] = {
        "chain_id": new.chain_id,
        "seq": seq,
        "occurred_at": utcnow(),
        "actor_type": new.actor.kind.value,
        "actor_id": new.actor.id,
        "action": new.action,
        "case_id": new.case_id,
        "object_type": new.object_type,
        "object_id": new.object_id,
        "details": new.details or {},
        "prev_hash": prev_hash,
    }
    row["hash"] = event_hash(**row)
    return row


def _set_head(session: DbSession, chain_id: int, head_hash: str) -> None:
    session.execute(
        update(AuditChain).where(AuditChain.chain_id == chain_id).values(head_hash=head_hash)
    )


def record_event(
    session: DbSession,
    action: str,
    actor: Actor,
    *,
    chain_id: int,
    case_id: int | None = None,
    object_type: str | None = None,
    object_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to an organisation's chain. The caller commits.

    details must hold ids, codes and counts only, never personal data, so a
    victim's deletion never needs to rewrite the chain.
    """
    new = NewEvent(action, actor, chain_id, case_id, object_type, object_id, details)
    seq, prev_hash = _take_seqs(session, chain_id, 1)
    event = AuditEvent(**_linked_row(new, seq, prev_hash))
    session.add(event)
    _set_head(session, chain_id, event.hash)
    return event


def record_events(session: DbSession, events: list[NewEvent]) -> int:
    """Append many events, each chain's head locked once, with the hashes record_event
    would give. The caller commits. Returns how many were written.

    Chains are taken in order of their id, so two batch writers never deadlock.
    """
    by_chain: dict[int, list[NewEvent]] = {}
    for new in events:
        by_chain.setdefault(new.chain_id, []).append(new)
    for chain_id in sorted(by_chain):
        batch = by_chain[chain_id]
        seq, prev_hash = _take_seqs(session, chain_id, len(batch))
        rows = []
        for offset, new in enumerate(batch):
            row = _linked_row(new, seq + offset, prev_hash)
            rows.append(row)
            prev_hash = row["hash"]
        session.execute(insert(AuditEvent), rows)
        _set_head(session, chain_id, prev_hash)
    return len(events)


@dataclass(frozen=True)
class ChainProblem:
    chain_id: int
    event_id: int | None
    seq: int
    reason: str

    def __str__(self) -> str:
        where = f"event {self.event_id}" if self.event_id is not None else "chain head"
        return f"chain {self.chain_id}, {where} (seq {self.seq}): {self.reason}"


@dataclass(frozen=True)
class ChainReport:
    chain_id: int
    events: int
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _events(session: DbSession, chain_id: int) -> Iterator[AuditEvent]:
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.chain_id == chain_id)
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=2000)
    )
    yield from session.scalars(stmt)


def verify_chain(session: DbSession, chain_id: int) -> ChainReport:
    """Recompute a chain from its first event; report the first broken link."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for event in _events(session, chain_id):
        count += 1
        if event.seq != expected_seq:
            return ChainReport(
                chain_id,
                count,
                ChainProblem(chain_id, event.id, event.seq, f"expected seq {expected_seq}"),
            )
        if event.prev_hash != expected_prev:
            return ChainReport(
                chain_id,
                count,
                ChainProblem(chain_id, event.id, event.seq, "previous hash does not match"),
            )
        recomputed = event_hash(
            chain_id=event.chain_id,
            seq=event.seq,
            occurred_at=event.occurred_at,
            actor_type=event.actor_type,
            actor_id=event.actor_id,
            action=event.action,
            case_id=event.case_id,
            object_type=event.object_type,
            object_id=event.object_id,
            details=event.details,
            prev_hash=event.prev_hash,
        )
        if not hmac.compare_digest(recomputed, event.hash):
            return ChainReport(
                chain_id,
                count,
                ChainProblem(chain_id, event.id, event.seq, "content does not match its hash"),
            )
        expected_prev = event.hash
        expected_seq += 1
    head = session.get(AuditChain, chain_id)
    if head is not None and (head.seq != expected_seq - 1 or head.head_hash != expected_prev):
        return ChainReport(
            chain_id,
            count,
            ChainProblem(chain_id, None, head.seq, "events are missing from the end of the chain"),
        )
    return ChainReport(chain_id, count, None)


def verify_all(session: DbSession) -> list[ChainReport]:
    chain_ids = session.scalars(select(AuditChain.chain_id).order_by(AuditChain.chain_id)).all()
    return [verify_chain(session, chain_id) for chain_id in chain_ids]
