"""Grouping: links between cases of one organisation, and clusters of one image inside a case.

Two cases are proposed as linked when they share a post (status id), an evidence
file (SHA-256), a near-identical image (PDQ Hamming distance at most
PDQ_MATCH_DISTANCE, 31 by default) or a posting account. Links are CaseLink rows
(lower case id first, unique per pair, reason and detail), found when items or
evidence are added, and shown on both cases until merged or dismissed.

Near-duplicate lookups use one PdqIndex per organisation, kept in the app's
extensions for the life of the process:

- built on first use from the organisation's EvidenceFile rows;
- before each lookup, caught up with rows whose id is above the highest id it
  has seen, minus a window of CATCH_UP_WINDOW ids (ids already added are skipped),
  so a transaction that drew a lower id but committed later is still picked up;
- every hit is checked against the database (the row still exists, in this
  organisation, at that distance), and ids that are gone are removed from the
  index, so deleted evidence never produces a link;
- evidence ids never change organisation and a file's PDQ hash never changes, so
  nothing else can make the index stale.

A lookup is then one index probe (about 1 ms at a million hashes) plus two
indexed queries; no query reads every hash.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask import Flask, current_app, has_app_context
from sqlalchemy import Text, and_, cast, func, literal, or_, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from casework.cases.models import Case, CaseLink, Item, LinkReason, LinkState
from casework.evidence.models import EvidenceFile
from casework.evidence.pdq_index import PdqIndex, hamming
from casework.extensions import current_app_object
from casework.orm import DbSession
from casework.sqlutil import insert_ignoring_conflict

DEFAULT_PDQ_DISTANCE = 31
# A prolific account (or X's own image bot) would link every case to every other.
DEFAULT_IGNORED_HANDLES = frozenset({"grok"})
# Beyond this many other cases for one reason, a match says little; keep the newest.
MAX_LINKS_PER_MATCH = 25
CATCH_UP_WINDOW = 256


@dataclass(frozen=True)
class Match:
    other_case_id: int
    reason: LinkReason
    detail: str
    distance: int | None = None


def _settings() -> tuple[int, frozenset[str]]:
    if not has_app_context():
        return DEFAULT_PDQ_DISTANCE, DEFAULT_IGNORED_HANDLES
    config = current_app.config
    distance = int(config.get("PDQ_MATCH_DISTANCE", DEFAULT_PDQ_DISTANCE))
    ignored = config.get("LINK_IGNORED_HANDLES", DEFAULT_IGNORED_HANDLES)
    return distance, frozenset(h.lower() for h in ignored)


def _linkable_cases(organisation_id: int, case_id: int) -> list[Any]:
    return [
        Case.organisation_id == organisation_id,
        Case.id != case_id,
        Case.merged_into_id.is_(None),
    ]


def link_items(session: DbSession, case: Case, items: Sequence[Item]) -> list[CaseLink]:
    """Propose links for newly added items: same status id, same posting account. Caller commits."""
    _, ignored = _settings()
    status_ids = sorted({item.status_id for item in items})
    handles = sorted({item.handle_lower for item in items if item.handle_lower} - set(ignored))
    matches: list[Match] = []
    if status_ids:
        status_rows = session.execute(
            select(Item.case_id, Item.status_id)
            .join(Case, Case.id == Item.case_id)
            .where(Item.status_id.in_(status_ids), *_linkable_cases(case.organisation_id, case.id))
            .order_by(Item.case_id.desc())
            .limit(MAX_LINKS_PER_MATCH * len(status_ids))
        ).all()
        matches += [Match(cid, LinkReason.STATUS_ID, str(sid)) for cid, sid in status_rows]
    for handle in handles:
        rows = session.execute(
            select(Item.case_id)
            .join(Case, Case.id == Item.case_id)
            .where(Item.handle_lower == handle, *_linkable_cases(case.organisation_id, case.id))
            .group_by(Item.case_id)
            .order_by(Item.case_id.desc())
            .limit(MAX_LINKS_PER_MATCH)
        ).all()
        matches += [Match(cid, LinkReason.ACCOUNT, handle) for (cid,) in rows]
    return _propose(session, case, matches)


def link_evidence(session: DbSession, case: Case, files: Sequence[EvidenceFile]) -> list[CaseLink]:
    """Propose links for new evidence: same SHA-256, near-identical PDQ. Caller commits."""
    max_distance, _ = _settings()
    session.flush()
    matches: list[Match] = []
    digests = sorted({f.sha256 for f in files})
    if digests:
        rows = session.execute(
            select(EvidenceFile.case_id, EvidenceFile.sha256)
            .join(Case, Case.id == EvidenceFile.case_id)
            .where(
                EvidenceFile.sha256.in_(digests), *_linkable_cases(case.organisation_id, case.id)
            )
            .order_by(EvidenceFile.case_id.desc())
            .limit(MAX_LINKS_PER_MATCH * len(digests))
        ).all()
        matches += [Match(cid, LinkReason.SHA256, digest) for cid, digest in rows]
    hashed = [f for f in files if f.pdq]
    if hashed:
        own_ids = {f.id for f in files}
        for file in hashed:
            for hit in near_duplicates(session, case.organisation_id, str(file.pdq), max_distance):
                if hit.evidence_id in own_ids or hit.case_id == case.id:
                    continue
                # Both evidence ids, the lower case's first, say which two images matched.
                pair = (
                    (file.id, hit.evidence_id)
                    if case.id < hit.case_id
                    else (
                        hit.evidence_id,
                        file.id,
                    )
                )
                matches.append(
                    Match(hit.case_id, LinkReason.PDQ, f"{pair[0]}:{pair[1]}", hit.distance)
                )
    return _propose(session, case, matches)


def linked_case_count(session: DbSession, case: Case) -> int:
    """How many other cases this case is linked to, proposed or confirmed."""
    rows = session.execute(
        select(CaseLink.case_a_id, CaseLink.case_b_id).where(
            or_(CaseLink.case_a_id == case.id, CaseLink.case_b_id == case.id)
        )
    ).all()
    return len({a if b == case.id else b for a, b in rows})


def propose_links(session: DbSession, case: Case, matches: Iterable[Match]) -> list[CaseLink]:
    """Propose links for matches found elsewhere (an imported list, say). Caller commits."""
    return _propose(session, case, matches)


def _propose(session: DbSession, case: Case, matches: Iterable[Match]) -> list[CaseLink]:
    """Insert the links not already there (whatever their state); return the new ones."""
    wanted: dict[tuple[int, int, LinkReason, str], Match] = {}
    for match in matches:
        a, b = sorted((case.id, match.other_case_id))
        key = (a, b, match.reason, match.detail[:100])
        best = wanted.get(key)
        if best is None or (match.distance or 0) < (best.distance or 0):
            wanted[key] = match
    if not wanted:
        return []
    pairs = {(a, b) for a, b, _, _ in wanted}
    existing = set(
        session.execute(
            select(CaseLink.case_a_id, CaseLink.case_b_id, CaseLink.reason, CaseLink.detail).where(
                or_(*(and_(CaseLink.case_a_id == a, CaseLink.case_b_id == b) for a, b in pairs))
            )
        ).all()
    )
    created: list[tuple[int, int, LinkReason, str]] = []
    for key, match in wanted.items():
        if key in existing:
            continue
        a, b, reason, detail = key
        insert_ignoring_conflict(
            session,
            CaseLink.__table__,
            {
                "organisation_id": case.organisation_id,
                "case_a_id": a,
                "case_b_id": b,
                "reason": reason,
                "detail": detail,
                "distance": match.distance,
                "state": LinkState.PROPOSED,
            },
        )
        created.append(key)
    if not created:
        return []
    links = list(
        session.scalars(
            select(CaseLink).where(
                or_(
                    *(
                        and_(
                            CaseLink.case_a_id == a,
                            CaseLink.case_b_id == b,
                            CaseLink.reason == reason,
                            CaseLink.detail == detail,
                        )
                        for a, b, reason, detail in created
                    )
                )
            )
        )
    )
    return links


# --- near-duplicate images --------------------------------------------------------------


@dataclass(frozen=True)
class NearDuplicate:
    evidence_id: int
    case_id: int
    distance: int


class _OrgIndex:
    def __init__(self, index: PdqIndex, high_water: int, recent: set[int]) -> None:
        self.index = index
        self.high_water = high_water
        self.recent = recent
        self.lock = threading.Lock()


class PdqIndexCache:
    """One PdqIndex per organisation for this process (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_org: dict[int, _OrgIndex] = {}

    def _entry(self, session: DbSession, organisation_id: int) -> _OrgIndex:
        with self._lock:
            entry = self._by_org.get(organisation_id)
        if entry is None:
            ids, hashes = load_hashes(session, organisation_id)
            id_array = np.asarray(ids, dtype=np.int64)
            high = int(id_array.max()) if len(id_array) else 0
            recent = {int(i) for i in id_array[id_array > high - CATCH_UP_WINDOW]}
            entry = _OrgIndex(PdqIndex.build(ids, hashes), high, recent)
            with self._lock:
                entry = self._by_org.setdefault(organisation_id, entry)
        return entry

    def search(
        self, session: DbSession, organisation_id: int, pdq: str, max_distance: int
    ) -> list[tuple[int, int]]:
        entry = self._entry(session, organisation_id)
        with entry.lock:
            self._catch_up(session, organisation_id, entry)
            return entry.index.search(pdq, max_distance)

    def forget(self, organisation_id: int, evidence_ids: Iterable[int]) -> None:
        with self._lock:
            entry = self._by_org.get(organisation_id)
        if entry is None:
            return
        with entry.lock:
            for evidence_id in set(evidence_ids):
                with contextlib.suppress(KeyError):  # added by a rolled-back transaction
                    entry.index.remove(evidence_id)
                entry.recent.discard(evidence_id)

    def size(self, organisation_id: int) -> int:
        entry = self._by_org.get(organisation_id)
        return len(entry.index) if entry else 0

    def _catch_up(self, session: DbSession, organisation_id: int, entry: _OrgIndex) -> None:
        floor = entry.high_water - CATCH_UP_WINDOW
        rows = session.execute(
            select(EvidenceFile.id, EvidenceFile.pdq)
            .join(Case, Case.id == EvidenceFile.case_id)
            .where(
                EvidenceFile.id > floor,
                EvidenceFile.pdq.is_not(None),
                Case.organisation_id == organisation_id,
            )
            .order_by(EvidenceFile.id)
        ).all()
        for evidence_id, pdq in rows:
            if evidence_id in entry.recent or evidence_id <= floor:
                continue
            entry.index.add(evidence_id, pdq)
            entry.recent.add(evidence_id)
            entry.high_water = max(entry.high_water, evidence_id)
        floor = entry.high_water - CATCH_UP_WINDOW
        entry.recent = {i for i in entry.recent if i > floor}


def load_hashes(session: DbSession, organisation_id: int) -> tuple[Any, Any]:
    """Every stored PDQ hash of an organisation, as (evidence ids, hashes) for PdqIndex.build.

    On PostgreSQL two string aggregates bring a million hashes over in one row,
    several times faster than a million result rows.
    """
    if session.get_bind().dialect.name == "postgresql":
        ids_text, hex_text = session.execute(
            select(
                func.string_agg(
                    cast(EvidenceFile.id, Text), aggregate_order_by(literal(","), EvidenceFile.id)
                ),
                func.string_agg(EvidenceFile.pdq, aggregate_order_by(literal(""), EvidenceFile.id)),
            )
            .join(Case, Case.id == EvidenceFile.case_id)
            .where(Case.organisation_id == organisation_id, EvidenceFile.pdq.is_not(None))
        ).one()
        if not ids_text:
            return np.empty(0, dtype=np.int64), np.empty((0, 32), dtype=np.uint8)
        ids = np.array(ids_text.split(","), dtype=np.int64)
        hashes = np.frombuffer(bytes.fromhex(hex_text), dtype=np.uint8).reshape(-1, 32)
        return ids, hashes
    rows = session.execute(
        select(EvidenceFile.id, EvidenceFile.pdq)
        .join(Case, Case.id == EvidenceFile.case_id)
        .where(Case.organisation_id == organisation_id, EvidenceFile.pdq.is_not(None))
    ).all()
    return [r[0] for r in rows], [r[1] for r in rows]


def pdq_cache(app: Flask | None = None) -> PdqIndexCache:
    app = app or current_app_object()
    cache: PdqIndexCache | None = app.extensions.get("casework_pdq_indexes")
    if cache is None:
        cache = app.extensions.setdefault("casework_pdq_indexes", PdqIndexCache())
    return cache


def near_duplicates(
    session: DbSession, organisation_id: int, pdq: str, max_distance: int = DEFAULT_PDQ_DISTANCE
) -> list[NearDuplicate]:
    """Evidence of the organisation within max_distance of a PDQ hash, checked against the rows."""
    cache = pdq_cache()
    hits = cache.search(session, organisation_id, pdq, max_distance)
    if not hits:
        return []
    ids = sorted({evidence_id for evidence_id, _ in hits})
    rows = session.execute(
        select(EvidenceFile.id, EvidenceFile.case_id, EvidenceFile.pdq)
        .join(Case, Case.id == EvidenceFile.case_id)
        .where(EvidenceFile.id.in_(ids), Case.organisation_id == organisation_id)
    ).all()
    found: list[NearDuplicate] = []
    alive: set[int] = set()
    for evidence_id, case_id, stored in rows:
        if stored is None:
            continue
        distance = hamming(pdq, stored)
        if distance <= max_distance:
            alive.add(evidence_id)
            found.append(NearDuplicate(evidence_id, case_id, distance))
    gone = set(ids) - alive
    if gone:
        cache.forget(organisation_id, gone)
    found.sort(key=lambda hit: (hit.distance, hit.evidence_id))
    return found


# --- clusters inside one case -----------------------------------------------------------


def image_clusters(
    files: Sequence[EvidenceFile], max_distance: int | None = None
) -> list[list[EvidenceFile]]:
    """Group a case's files showing the same image (same SHA-256 or PDQ within the distance).

    Union-find over all pairs: a case holds tens of files, not thousands.
    """
    if max_distance is None:
        max_distance = _settings()[0]
    parent = list(range(len(files)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, first in enumerate(files):
        for j in range(i + 1, len(files)):
            second = files[j]
            same = first.sha256 == second.sha256 or (
                first.pdq is not None
                and second.pdq is not None
                and hamming(first.pdq, second.pdq) <= max_distance
            )
            if same:
                parent[find(j)] = find(i)
    groups: dict[int, list[EvidenceFile]] = {}
    for i, file in enumerate(files):
        groups.setdefault(find(i), []).append(file)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0].id))
