"""Case references: CW-<year>-<6 digits>, unique even when intakes commit at once."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import func, select

from casework.cases.models import Case
from casework.cases.references import format_reference, next_reference, normalise_reference
from casework.extensions import db
from tests import factories


def test_reference_format() -> None:
    assert format_reference(2026, 123) == "CW-2026-000123"


def test_references_count_up_per_year(app: Flask) -> None:
    first = next_reference(db.session, datetime(2026, 5, 1, tzinfo=UTC))
    second = next_reference(db.session, datetime(2026, 5, 2, tzinfo=UTC))
    other_year = next_reference(db.session, datetime(2027, 1, 1, tzinfo=UTC))
    assert (first, second, other_year) == ("CW-2026-000001", "CW-2026-000002", "CW-2027-000001")


def test_what_people_type_is_normalised() -> None:
    assert normalise_reference(" cw 2026 000123 ") == "CW-2026-000123"
    assert normalise_reference("CW-2026-000123") == "CW-2026-000123"
    assert normalise_reference("hello") is None


def test_concurrent_intakes_get_distinct_references(app: Flask) -> None:
    org = factories.org()
    db.session.commit()
    org_id = org.id
    threads, per_thread = 8, 12
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def intake() -> None:
        try:
            with app.app_context():
                organisation = db.session.get(type(org), org_id)
                assert organisation is not None
                barrier.wait()
                for _ in range(per_thread):
                    factories.case(organisation)
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # reported to the main thread
            errors.append(exc)

    workers = [threading.Thread(target=intake) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert errors == []
    references = db.session.scalars(select(Case.reference)).all()
    assert len(references) == threads * per_thread
    assert len(set(references)) == len(references)
    assert all(re.fullmatch(r"CW-\d{4}-\d{6}", r) for r in references)
    numbers = sorted(int(r.rsplit("-", 1)[1]) for r in references)
    assert numbers == list(range(1, threads * per_thread + 1))
    assert db.session.scalar(select(func.count()).select_from(Case)) == threads * per_thread
