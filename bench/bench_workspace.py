"""Benchmark the staff workspace on PostgreSQL: queue pages at any depth, counts, PDQ lookups.

Creates the database named in --database-url, fills it with --cases cases,
--items items and as many stored PDQ hashes (COPY), then prints server-side
times: each queue's first page and its page 2,000 (or its deepest page) as SQL
alone and as a page rendered through the Flask test client, the EXPLAIN of the
deep page, the capped counts, and the near-duplicate lookup with the index
build. The database is dropped at the end unless --keep is given.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

PAGE = 50
NO_DEADLINE = "9999-12-31 00:00:00+00"
STATUSES = (  # (status, share of cases)
    ("new", 0.08),
    ("triage", 0.08),
    ("action", 0.10),
    ("awaiting_platform", 0.15),
    ("escalated", 0.05),
    ("resolved", 0.22),
    ("closed", 0.27),
    ("withdrawn", 0.05),
)
OPEN = {"new", "triage", "action", "awaiting_platform", "escalated"}


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    for _ in range(3):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def create_database(url: str) -> None:
    drop_database(url)
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": parsed.database},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}"'))
    admin.dispose()


def copy_rows(raw: Any, table: str, columns: str, lines: Any) -> None:
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for n, line in enumerate(lines, 1):
            buffer.write(line)
            if n % 50_000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def fill(db: Any, n_cases: int, n_items: int, rng: random.Random) -> dict[str, Any]:
    """Bulk-load one organisation's cases, items and evidence hashes with COPY."""
    from casework.accounts.models import Role
    from casework.accounts.services import create_user, get_or_create_organisation
    from casework.actors import SYSTEM

    session = db.session
    org = get_or_create_organisation(session, "bench", "Bench organisation")
    staff = [
        create_user(
            session,
            organisation=org,
            email=f"caseworker{i}@bench.example",
            name=f"Caseworker {i}",
            role=Role.CASEWORKER,
            password=None,
            actor=SYSTEM,
        )
        for i in range(5)
    ]
    session.commit()
    # Read ids now: touching an expired object mid-COPY would query the busy connection.
    org_id, staff_ids = org.id, [u.id for u in staff]
    now = datetime.now(UTC)
    statuses = [s for s, _ in STATUSES]
    weights = [w for _, w in STATUSES]
    raw = session.connection().connection.driver_connection

    def case_lines() -> Any:
        for i in range(1, n_cases + 1):
            status = rng.choices(statuses, weights)[0]
            priority = rng.choices((0, 1, 2, 3), (0.1, 0.2, 0.6, 0.1))[0]
            assignee = "\\N" if rng.random() < 0.3 else str(rng.choice(staff_ids))
            created = now - timedelta(minutes=rng.randrange(0, 60 * 24 * 400))
            deadline = NO_DEADLINE
            if status in ("awaiting_platform", "escalated") or rng.random() < 0.02:
                deadline = (now + timedelta(minutes=rng.randrange(-2 * 1440, 3 * 1440))).isoformat()
            wants_legal = rng.random() < 0.05
            wanted = '["takedown", "legal_advice"]' if wants_legal else '["takedown"]'
            legal = status in OPEN and (status == "escalated" or wants_legal)
            first_notice = (
                (created + timedelta(hours=rng.randrange(1, 96))).isoformat()
                if status not in ("new", "triage")
                else "\\N"
            )
            yield (
                f"{i}\tCW-2026-{i:06d}\t{org_id}\t{status}\t{priority}\t{assignee}\tno\tsubject\t"
                f"f\tUS\ten\tUTC\t{wanted}\tf\t{created.isoformat()}\t{created.isoformat()}\t"
                f"{created.isoformat()}\t{first_notice}\t{deadline}\t{'t' if legal else 'f'}\n"
            )

    start = time.perf_counter()
    copy_rows(
        raw,
        "cases",
        "id, reference, organisation_id, status, priority, assignee_id, minor, filer_role, "
        "has_authority, country, language, timezone, wanted_actions, spreading, created_at, "
        "updated_at, status_changed_at, first_notice_at, sort_deadline_at, legal_ready",
        case_lines(),
    )
    copy_rows(
        raw,
        "case_jurisdictions",
        "case_id, code, basis",
        (f"{i}\tUS\tplatform\n" for i in range(1, n_cases + 1)),
    )
    cases_s = time.perf_counter() - start

    per_case = max(1, n_items // n_cases)
    handles = [f"poster_{h}" for h in range(20_000)]
    base_sid = 2_008_000_000_000_000_000

    def item_lines() -> Any:
        item_id = 0
        for case_id in range(1, n_cases + 1):
            for _ in range(per_case):
                item_id += 1
                sid = base_sid + item_id * 7919
                handle = rng.choice(handles)
                yield (
                    f"{item_id}\t{case_id}\t{sid}\thttps://x.com/{handle}/status/{sid}\t{handle}\t"
                    f"{handle}\tai_image\tunknown\tunknown\tt\t{now.isoformat()}\n"
                )

    start = time.perf_counter()
    copy_rows(
        raw,
        "items",
        "id, case_id, status_id, url, handle, handle_lower, kind, category, removal_state, "
        "added_by_victim, created_at",
        item_lines(),
    )
    items_s = time.perf_counter() - start

    n_items_made = per_case * n_cases
    hashes = np.random.default_rng(7).integers(0, 256, size=(n_items_made, 32), dtype=np.uint8)
    hex_rows = hashes.tobytes().hex()

    def evidence_lines() -> Any:
        for i in range(n_items_made):
            pdq = hex_rows[i * 64 : (i + 1) * 64]
            case_id = i // per_case + 1
            yield (
                f"{i + 1}\t{case_id}\t{i + 1}\tt\t{uuid.UUID(int=i).hex * 2}\t{pdq}\t100\t1000\t"
                f"{now.isoformat()}\n"
            )

    start = time.perf_counter()
    copy_rows(
        raw,
        "evidence_files",
        "id, case_id, item_id, kept_on_device, sha256, pdq, pdq_quality, size_bytes, created_at",
        evidence_lines(),
    )
    evidence_s = time.perf_counter() - start
    for table in ("cases", "items", "evidence_files"):
        # Table names are the three literals above.
        sequence_sql = (
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"  # noqa: S608
        )
        session.execute(text(sequence_sql))
    session.commit()
    start = time.perf_counter()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE cases, items, evidence_files, case_jurisdictions"))
    vacuum_s = time.perf_counter() - start
    return {
        "organisation_id": org_id,
        "user": staff[0],
        "hashes": hashes,
        "timings": (cases_s, items_s, evidence_s, vacuum_s),
        "items": n_items_made,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database-url", required=True, help="PostgreSQL URL; the database is created"
    )
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=40, help="timed runs per measurement")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    from casework.config import normalise_database_url

    url = normalise_database_url(args.database_url)
    create_database(url)
    try:
        run(url, args)
    finally:
        if not args.keep:
            drop_database(url)


def run(url: str, args: argparse.Namespace) -> None:
    import tempfile

    from flask_migrate import upgrade

    from casework import create_app
    from casework.cases.grouping import PdqIndexCache, load_hashes, near_duplicates
    from casework.cases.worklists import (
        Cursor,
        WorklistKey,
        fetch_page,
        key_select,
        worklist_counts,
        worklist_spec,
    )
    from casework.evidence.pdq_index import PdqIndex
    from casework.extensions import db
    from tests.factories import sign_in

    instance = tempfile.mkdtemp(prefix="casework-bench-")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench-" + "x" * 40,
            "CASEWORK_EVIDENCE_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "CASEWORK_AUDIT_KEY": "bench-audit-key-" + "b" * 32,
            "EVIDENCE_DIR": instance + "/evidence",
            "WORKLIST_COUNT_CACHE_SECONDS": 0,
            "RATELIMIT_ENABLED": False,
        },
        instance_path=instance,
    )
    import logging

    logging.getLogger().setLevel(logging.WARNING)
    rng = random.Random(2026)
    with app.app_context():
        upgrade()
        start = time.perf_counter()
        made = fill(db, args.cases, args.items, rng)
        total_s = time.perf_counter() - start
        cases_s, items_s, evidence_s, vacuum_s = made["timings"]
        user = made["user"]
        org_id = made["organisation_id"]
        print(
            f"PostgreSQL {db.session.scalar(text('SHOW server_version'))}, {args.cases:,} cases, "
            f"{made['items']:,} items, {made['items']:,} stored PDQ hashes"
        )
        print(
            f"fill: cases {cases_s:.1f} s, items {items_s:.1f} s, evidence {evidence_s:.1f} s, "
            f"VACUUM ANALYZE {vacuum_s:.1f} s ({total_s:.1f} s in all)\n"
        )

        session = db.session
        deep_rows = 2000 * PAGE - PAGE  # the first row of page 2,000
        print("queue SQL, server side (keys + rows + post counts), ms:")
        print(
            f"{'queue':<12} {'rows':>8} {'p50 first':>10} {'p95 first':>10} {'deep page':>10} "
            f"{'p50 deep':>9} {'p95 deep':>9}"
        )
        deep_cursors: dict[WorklistKey, Cursor | None] = {}
        for key in WorklistKey:
            spec = worklist_spec(key, organisation_id=org_id, user_id=user.id)
            size = session.scalar(
                select(text("count(*)")).select_from(key_select(spec, [], limit=10**9).subquery())
            )
            position = max(0, min(deep_rows, (size or 0) - PAGE))
            deep = None
            if position:
                # Bench only: OFFSET finds the keyset position once; pages never use it.
                row = session.execute(
                    key_select(spec, [], limit=position + 1).offset(position)
                ).first()
                if row is not None:
                    deep = Cursor(row.priority, row.sort_deadline_at, row.id)
            deep_cursors[key] = deep
            first = timed(lambda spec=spec: fetch_page(session, spec), args.repeat)
            deep_t = timed(
                lambda spec=spec, deep=deep: fetch_page(session, spec, after=deep), args.repeat
            )
            print(
                f"{key.value:<12} {size:>8,} {first[0]:>10.3f} {first[1]:>10.3f} "
                f"{position // PAGE + 1:>10,} {deep_t[0]:>9.3f} {deep_t[1]:>9.3f}"
            )
            session.rollback()

        key_sql = timed(
            lambda: session.execute(
                key_select(
                    worklist_spec(WorklistKey.ALL, organisation_id=org_id, user_id=user.id),
                    [],
                    after=deep_cursors[WorklistKey.ALL],
                    limit=PAGE + 1,
                )
            ).all(),
            args.repeat,
        )
        print(
            f"\nkeyset SQL alone, 'all' page 2,000: p50 {key_sql[0]:.3f} ms, "
            f"p95 {key_sql[1]:.3f} ms"
        )
        counts = timed(
            lambda: worklist_counts(session, organisation_id=org_id, user_id=user.id), args.repeat
        )
        print(
            f"capped counts of all {len(WorklistKey)} queues (one round trip, cap 1,000): "
            f"p50 {counts[0]:.3f} ms, p95 {counts[1]:.3f} ms (cached per process for 15 s)"
        )

        for key in (WorklistKey.ALL, WorklistKey.OVERDUE):
            stmt = key_select(
                worklist_spec(key, organisation_id=org_id, user_id=user.id),
                [],
                after=deep_cursors[key],
                limit=PAGE + 1,
            )
            compiled = stmt.compile(
                dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}
            )
            plan = session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")).scalars().all()
            print(f"\nEXPLAIN ANALYZE, '{key.value}' deep page:")
            for line in plan:
                print("   ", line)
        session.rollback()

        print("\nqueue page through the test client (render included), ms:")
        client = app.test_client()
        sign_in(client, user)
        for cache in (0, 15):
            app.config["WORKLIST_COUNT_CACHE_SECONDS"] = cache
            print(f"  counts cache {cache} s:")
            for key in WorklistKey:

                def get(url: str) -> None:
                    response = client.get(url)
                    if response.status_code != 200:
                        raise SystemExit(f"{url} answered {response.status_code}")

                first = timed(
                    lambda key=key: get(f"/staff/cases/?worklist={key.value}"), args.repeat
                )
                cursor = deep_cursors[key]
                deep_url = f"/staff/cases/?worklist={key.value}" + (
                    f"&after={cursor.encode()}" if cursor else ""
                )
                deep = timed(lambda url=deep_url: get(url), args.repeat)
                print(
                    f"    {key.value:<12} first p50 {first[0]:6.2f} p95 {first[1]:6.2f}   "
                    f"deep p50 {deep[0]:6.2f} p95 {deep[1]:6.2f}"
                )

        print("\nnear-duplicate lookup (PDQ distance <= 31):")
        start = time.perf_counter()
        ids, hexes = load_hashes(session, org_id)
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        index = PdqIndex.build(ids, hexes)
        build_s = time.perf_counter() - start
        print(
            f"  load {len(ids):,} hashes from PostgreSQL {load_s:.2f} s; build {build_s:.2f} s; "
            f"index {index.nbytes / 2**20:.1f} MiB"
        )
        del ids, hexes
        hashes = made["hashes"]
        qrng = np.random.default_rng(11)
        queries = []
        for row in qrng.integers(0, len(hashes), size=200):
            near = hashes[row].copy()
            bits = np.unpackbits(near)
            bits[qrng.choice(256, size=int(qrng.integers(0, 32)), replace=False)] ^= 1
            queries.append(np.packbits(bits).tobytes().hex())
        queries += [qrng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex() for _ in range(200)]
        app.extensions["casework_pdq_indexes"] = PdqIndexCache()
        start = time.perf_counter()
        near_duplicates(session, org_id, queries[0])
        print(
            f"  first lookup in a process (loads and builds the cached index): "
            f"{time.perf_counter() - start:.2f} s"
        )
        raw_times, full_times, hits = [], [], 0
        for q in queries:
            start = time.perf_counter()
            found = index.search(q, 31)
            raw_times.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            hits += len(near_duplicates(session, org_id, q))
            full_times.append((time.perf_counter() - start) * 1000)
            hits += 0 * len(found)
        r50, r95 = percentiles(raw_times)
        f50, f95 = percentiles(full_times)
        print(
            f"  index search alone: p50 {r50:.3f} ms, p95 {r95:.3f} ms over {len(queries)} queries"
        )
        print(
            f"  near_duplicates() with catch-up and row check: p50 {f50:.3f} ms, p95 {f95:.3f} ms "
            f"({hits} hits)"
        )


if __name__ == "__main__":
    main()
