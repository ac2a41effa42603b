"""The audit trail is a hash chain that names its first broken link."""

from __future__ import annotations

import threading

from flask import Flask
from sqlalchemy import select, text

from casework.actors import SYSTEM, Actor
from casework.audit.models import AuditEvent
from casework.audit.services import record_event, verify_all, verify_chain
from casework.cli import cli_group
from casework.extensions import db
from tests import factories


def _events(n: int, chain_id: int) -> list[AuditEvent]:
    events = [
        record_event(db.session, "test.event", SYSTEM, chain_id=chain_id, details={"n": i})
        for i in range(n)
    ]
    db.session.commit()
    return events


def test_each_event_carries_the_previous_hash(app: Flask) -> None:
    org = factories.org()
    events = _events(3, org.id)
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    assert [e.seq for e in events] == [1, 2, 3]
    assert verify_chain(db.session, org.id).ok


def test_tampering_with_one_row_is_found_and_named(app: Flask) -> None:
    org = factories.org()
    events = _events(5, org.id)
    target_id, chain_id = events[2].id, org.id
    db.session.execute(
        text("UPDATE audit_events SET action = 'forged' WHERE id = :id"), {"id": target_id}
    )
    db.session.commit()
    db.session.expunge_all()
    report = verify_chain(db.session, chain_id)
    assert not report.ok
    assert report.problem is not None
    assert report.problem.event_id == target_id

    result = app.test_cli_runner().invoke(cli_group, ["verify-audit"])
    assert result.exit_code == 1
    assert f"event {target_id}" in result.output
    assert "BROKEN" in result.output


def test_a_deleted_row_breaks_the_chain(app: Flask) -> None:
    org = factories.org()
    events = _events(4, org.id)
    db.session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": events[1].id})
    db.session.commit()
    report = verify_chain(db.session, org.id)
    assert report.problem is not None
    assert report.problem.event_id == events[2].id


def test_a_truncated_chain_is_found(app: Flask) -> None:
    org = factories.org()
    events = _events(3, org.id)
    db.session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": events[-1].id})
    db.session.commit()
    assert not verify_chain(db.session, org.id).ok


def test_verify_audit_passes_on_an_intact_chain(app: Flask) -> None:
    org = factories.org()
    _events(3, org.id)
    result = app.test_cli_runner().invoke(cli_group, ["verify-audit"])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


def test_concurrent_appends_keep_one_unbroken_chain(app: Flask) -> None:
    org = factories.org()
    db.session.commit()
    chain_id = org.id
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            with app.app_context():
                for i in range(15):
                    record_event(
                        db.session,
                        "test.concurrent",
                        Actor.staff(worker, "caseworker"),
                        chain_id=chain_id,
                        details={"i": i},
                    )
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert all(report.ok for report in verify_all(db.session))
    seqs = db.session.scalars(
        select(AuditEvent.seq).where(AuditEvent.chain_id == chain_id).order_by(AuditEvent.seq)
    ).all()
    assert seqs[-1] == len(seqs)
    assert len([s for s in seqs]) >= 90
