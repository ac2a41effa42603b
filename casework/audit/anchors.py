"""Chain heads written outside the database, so a chain cut short or rebuilt shows.

The HMAC links stop anyone without CASEWORK_AUDIT_KEY from forging events, but not
from deleting the newest events of a chain and moving its head back to an earlier,
genuine link. Anchors close that gap: each line of an append-only file records a
chain's sequence number and head link at a moment, signed with the same key, and a
digest of the same heads is emailed to each organisation's escalation list. A chain
whose events no longer reach an anchored head, or no longer match it, is broken.
"""

from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask_babel import force_locale, gettext
from sqlalchemy import select

from casework.accounts.models import Organisation
from casework.audit.models import AuditChain, AuditEvent
from casework.audit.services import sign
from casework.notifications.services import queue_email
from casework.orm import DbSession


@dataclass(frozen=True)
class Anchor:
    chain_id: int
    seq: int
    head_hash: str
    anchored_at: str

    def fields(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "seq": self.seq,
            "head_hash": self.head_hash,
            "anchored_at": self.anchored_at,
        }


@dataclass(frozen=True)
class AnchorProblem:
    line: int
    chain_id: int | None
    reason: str

    def __str__(self) -> str:
        chain = f"chain {self.chain_id}, " if self.chain_id is not None else ""
        return f"anchor line {self.line}: {chain}{self.reason}"


def current_heads(session: DbSession, now: datetime) -> list[Anchor]:
    stamp = now.isoformat(timespec="seconds")
    return [
        Anchor(chain_id, seq, head_hash, stamp)
        for chain_id, seq, head_hash in session.execute(
            select(AuditChain.chain_id, AuditChain.seq, AuditChain.head_hash)
            .where(AuditChain.seq > 0)
            .order_by(AuditChain.chain_id)
        )
    ]


def append_anchors(path: Path, anchors: list[Anchor], key: bytes | None = None) -> None:
    """Append one signed line per head; the file is only ever appended to."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(
        json.dumps({**a.fields(), "signature": sign(a.fields(), key)}, sort_keys=True) + "\n"
        for a in anchors
    )
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, lines.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_anchors(
    path: Path, key: bytes | None = None
) -> tuple[list[tuple[int, Anchor]], list[AnchorProblem]]:
    """The anchors whose signature holds, with their line numbers, and the lines that fail."""
    anchors: list[tuple[int, Anchor]] = []
    problems: list[AnchorProblem] = []
    if not path.exists():
        return anchors, problems
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        try:
            record = json.loads(line)
            anchor = Anchor(
                int(record["chain_id"]),
                int(record["seq"]),
                str(record["head_hash"]),
                str(record["anchored_at"]),
            )
            signature = str(record["signature"])
        except (ValueError, KeyError, TypeError):
            problems.append(AnchorProblem(number, None, "not an anchor"))
            continue
        if not hmac.compare_digest(sign(anchor.fields(), key), signature):
            problems.append(AnchorProblem(number, anchor.chain_id, "signature does not match"))
            continue
        anchors.append((number, anchor))
    return anchors, problems


def check_anchors(session: DbSession, path: Path, key: bytes | None = None) -> list[AnchorProblem]:
    """Every signed head in the file must still be a link of its chain, at its place."""
    anchors, problems = read_anchors(path, key)
    for number, anchor in anchors:
        link = session.scalar(
            select(AuditEvent.hash).where(
                AuditEvent.chain_id == anchor.chain_id, AuditEvent.seq == anchor.seq
            )
        )
        if link is None:
            problems.append(
                AnchorProblem(
                    number,
                    anchor.chain_id,
                    f"the event anchored at seq {anchor.seq} ({anchor.anchored_at}) is missing",
                )
            )
        elif not hmac.compare_digest(link, anchor.head_hash):
            problems.append(
                AnchorProblem(
                    number,
                    anchor.chain_id,
                    f"seq {anchor.seq} no longer matches the head anchored {anchor.anchored_at}",
                )
            )
    return problems


def queue_digests(session: DbSession, anchors: list[Anchor]) -> list[int]:
    """Email each organisation's escalation list its chain head. The caller commits."""
    by_chain = {a.chain_id: a for a in anchors}
    email_ids: list[int] = []
    for org in session.scalars(select(Organisation).where(Organisation.id.in_(list(by_chain)))):
        anchor = by_chain[org.id]
        for address in _split_addresses(org.escalation_emails):
            with force_locale("en"):
                subject = gettext("Casework audit record: daily checkpoint")
                body = gettext(
                    "Keep this email: it lets you check later that %(organisation)s's audit "
                    "record has not been altered.\n\nChain: %(chain)s\nEvents: %(seq)s\n"
                    "Head: %(head)s\nAt: %(at)s (UTC)\n\nTo check, run flask casework "
                    "verify-audit and compare the head it reaches at this number of events.",
                    organisation=org.name,
                    chain=anchor.chain_id,
                    seq=anchor.seq,
                    head=anchor.head_hash,
                    at=anchor.anchored_at,
                )
            email = queue_email(
                session, recipient=address, subject=subject, body=body, organisation_id=org.id
            )
            email_ids.append(email.id)
    return email_ids


def _split_addresses(text: str | None) -> list[str]:
    return [a.strip() for a in (text or "").replace(";", ",").split(",") if a.strip()]


def anchor_heads(session: DbSession, path: Path, now: datetime) -> tuple[list[Anchor], list[int]]:
    """Write every chain's head to the anchor file and queue the digests. The caller
    commits, then delivers the emails."""
    anchors = current_heads(session, now)
    append_anchors(path, anchors)
    return anchors, queue_digests(session, anchors)
