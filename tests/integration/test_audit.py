"""The audit trail is a hash chain that names its first broken link."""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from casework.actors import SYSTEM, Actor
from casework.audit.models import AuditEvent
from casework.audit.services import record_event, verify_all, verify_chain
from casework.cli import cli_group
from casework.extensions import db
from casework.notifications.models import OutgoingEmail
from tests import factories

BEFORE_HMAC = "18845368e8b1"


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


def _plain_sha256_link(row: dict[str, object], prev_hash: str) -> str:
    """What an attacker with only database access computes: SHA-256 over the row's fields."""
    fields = {
        "chain_id": row["chain_id"],
        "seq": row["seq"],
        "occurred_at": row["occurred_at"].isoformat(timespec="microseconds"),  # type: ignore[union-attr]
        "actor_type": row["actor_type"],
        "actor_id": row["actor_id"],
        "action": row["action"],
        "case_id": row["case_id"],
        "object_type": row["object_type"],
        "object_id": row["object_id"],
        "details": row["details"],
        "prev_hash": prev_hash,
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def test_a_rewritten_chain_with_recomputed_hashes_is_found(app: Flask) -> None:
    """Delete an event, renumber and rehash the rest, move the head: all in SQL."""
    org = factories.org()
    events = _events(5, org.id)
    chain_id, removed_id = org.id, events[1].id
    db.session.expunge_all()
    db.session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": removed_id})
    rows = [
        dict(row._mapping)
        for row in db.session.execute(
            select(AuditEvent.__table__)
            .where(AuditEvent.chain_id == chain_id)
            .order_by(AuditEvent.seq)
        )
    ]
    prev_hash = "0" * 64
    for seq, row in enumerate(rows, start=1):
        row["seq"] = seq
        link = _plain_sha256_link(row, prev_hash)
        db.session.execute(
            text(
                "UPDATE audit_events SET seq = :seq, prev_hash = :prev, hash = :hash WHERE id = :id"
            ),
            {"seq": seq, "prev": prev_hash, "hash": link, "id": row["id"]},
        )
        prev_hash = link
    db.session.execute(
        text("UPDATE audit_chains SET seq = :seq, head_hash = :head WHERE chain_id = :chain"),
        {"seq": len(rows), "head": prev_hash, "chain": chain_id},
    )
    db.session.commit()
    db.session.expunge_all()

    assert not verify_chain(db.session, chain_id).ok
    result = app.test_cli_runner().invoke(cli_group, ["verify-audit"])
    assert result.exit_code == 1
    assert "BROKEN" in result.output


def test_upgrading_re_signs_intact_chains_and_refuses_broken_ones(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    org = factories.org()
    events = _events(3, org.id)
    chain_id, first_id = org.id, events[0].id
    db.session.expunge_all()
    downgrade(revision=BEFORE_HMAC)
    rows = db.session.execute(
        select(AuditEvent.__table__).where(AuditEvent.chain_id == chain_id).order_by(AuditEvent.seq)
    ).all()
    prev_hash = "0" * 64
    for row in rows:  # plain SHA-256 links, as before the upgrade
        assert row.hash == _plain_sha256_link(dict(row._mapping), prev_hash)
        prev_hash = row.hash
    db.session.commit()
    upgrade()
    db.session.expunge_all()
    assert verify_chain(db.session, chain_id).ok

    downgrade(revision=BEFORE_HMAC)
    db.session.execute(
        text("UPDATE audit_events SET action = 'forged' WHERE id = :id"), {"id": first_id}
    )
    db.session.commit()
    with pytest.raises(SystemExit):
        upgrade()
    assert f"audit chain {chain_id} is broken at seq 1" in caplog.text
    db.session.rollback()
    db.session.execute(
        text("UPDATE audit_events SET action = 'test.event' WHERE id = :id"), {"id": first_id}
    )
    db.session.commit()
    upgrade()


def test_a_chain_cut_back_to_an_earlier_genuine_head_fails_against_its_anchor(
    app: Flask,
) -> None:
    org = factories.org(escalation_emails="escalations@org.example, lead@org.example")
    events = _events(5, org.id)
    chain_id, kept = org.id, events[2]
    kept_seq, kept_hash = kept.seq, kept.hash
    runner = app.test_cli_runner()
    anchored = runner.invoke(cli_group, ["anchor-audit"])
    assert anchored.exit_code == 0, anchored.output
    digests = db.session.scalars(select(OutgoingEmail).order_by(OutgoingEmail.recipient)).all()
    assert [d.recipient for d in digests] == ["escalations@org.example", "lead@org.example"]
    assert events[-1].hash in digests[0].body

    # Drop the newest events and move the head back to a link the key did sign.
    db.session.expunge_all()
    db.session.execute(
        text("DELETE FROM audit_events WHERE chain_id = :chain AND seq > :seq"),
        {"chain": chain_id, "seq": kept_seq},
    )
    db.session.execute(
        text("UPDATE audit_chains SET seq = :seq, head_hash = :head WHERE chain_id = :chain"),
        {"seq": kept_seq, "head": kept_hash, "chain": chain_id},
    )
    db.session.commit()
    assert verify_chain(db.session, chain_id).ok  # the links alone cannot tell
    result = runner.invoke(cli_group, ["verify-audit"])
    assert result.exit_code == 1
    assert f"anchors: BROKEN at anchor line 1: chain {chain_id}" in result.output
    assert "seq 5" in result.output and "is missing" in result.output


def test_a_forged_anchor_line_is_refused(app: Flask) -> None:
    org = factories.org()
    _events(2, org.id)
    runner = app.test_cli_runner()
    assert runner.invoke(cli_group, ["anchor-audit"]).exit_code == 0
    assert runner.invoke(cli_group, ["verify-audit"]).exit_code == 0
    anchor_file = Path(app.config["AUDIT_ANCHOR_FILE"])
    line = json.loads(anchor_file.read_text().splitlines()[0])
    forged = {**line, "seq": 1, "head_hash": "f" * 64}
    with anchor_file.open("a") as handle:
        handle.write(json.dumps(forged) + "\n")
    result = runner.invoke(cli_group, ["verify-audit"])
    assert result.exit_code == 1
    assert "anchor line 2" in result.output and "signature does not match" in result.output


# Database roles are PostgreSQL's.
@pytest.mark.parametrize("backend", ["postgresql"])
def test_the_app_role_appends_audit_events_but_cannot_change_or_delete_them(app: Flask) -> None:
    org = factories.org()
    _events(2, org.id)
    role = f"casework_app_test_{secrets.token_hex(4)}"
    sql = app.test_cli_runner().invoke(cli_group, ["app-role-sql", "--role", role])
    assert sql.exit_code == 0, sql.output
    with db.engine.begin() as owner:
        owner.exec_driver_sql(sql.output)
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(username=role, password=None)
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            record_event(session, "test.as_app", SYSTEM, chain_id=org.id)
            session.commit()
        for statement in (
            "UPDATE audit_events SET action = 'forged'",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
            "DELETE FROM audit_chains",
        ):
            with engine.connect() as connection, pytest.raises(ProgrammingError) as refused:
                connection.exec_driver_sql(statement)
            assert "permission denied" in str(refused.value), statement
    finally:
        engine.dispose()
        with db.engine.begin() as owner:
            owner.exec_driver_sql(f"DROP OWNED BY {role}")
            owner.exec_driver_sql(f"DROP ROLE {role}")
    db.session.expire_all()
    assert verify_chain(db.session, org.id).ok
    assert verify_chain(db.session, org.id).events == 3
