"""A deleted case leaves nothing behind that opens, or leaks into, the next one.

The attack: report something, keep the case page's cookie, delete the case, wait for
someone else to report, and replay the cookie. On SQLite a plain INTEGER PRIMARY KEY
hands the deleted case's id to the next case, so a session that names only the id
would open her case. Here a victim's session is a server-side record bound to the
case's own secret, ids are never reused, and audit reads stay inside the case's
organisation chain.
"""

from __future__ import annotations

import io
import json
import zipfile

from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from casework.accounts.models import Organisation, Role
from casework.actors import SYSTEM, VICTIM, Actor
from casework.audit.services import record_event
from casework.cases.models import Case
from casework.cases.retention import delete_case
from casework.cases.timeline import build_timeline
from casework.evidence.models import EvidenceFile
from casework.extensions import db
from casework.intake.victim.timeline import case_timeline
from casework.notices.bundles import AUDIT_EXTRACT, build_bundle
from casework.notices.models import Letter, Notice
from tests import factories
from tests.intake_support import Answers, fill_report, page_text, photo, submit

COOKIE = "session"
# The revision before sessions moved to the server and SQLite ids stopped being reused.
PREVIOUS_REVISION = "18845368e8b1"


def _report(browser: FlaskClient, email: str) -> str:
    fill_report(browser, Answers(email=email, screenshots=[("s.png", photo(3, "PNG"))]))
    return submit(browser).reference


def test_the_cookie_of_a_deleted_case_does_not_open_the_next_report(app: Flask) -> None:
    factories.org(receives_public_reports=True)
    db.session.commit()
    attacker = app.test_client()
    _report(attacker, "attacker@example.org")
    assert attacker.get("/my-case/case").status_code == 200
    kept = attacker.get_cookie(COOKIE)
    assert kept is not None

    deleted = attacker.post("/my-case/delete", data={"confirm": "y"})
    assert deleted.headers["Location"].endswith("/my-case/deleted")

    victim = app.test_client()
    her_reference = _report(victim, "her@example.org")

    replayed = app.test_client()
    replayed.set_cookie(COOKIE, kept.value)
    page = replayed.get("/my-case/case")
    assert page.status_code == 302
    assert page.headers["Location"].endswith("/my-case/")
    assert her_reference not in page_text(replayed.get("/my-case/", follow_redirects=True))
    # Nor can the replayed cookie change her contact or delete her case.
    replayed.post("/my-case/contact", data={"language": "en", "contact": "none"})
    replayed.post("/my-case/delete", data={"confirm": "y"})
    db.session.expire_all()
    hers = db.session.scalars(select(Case).where(Case.reference == her_reference)).one()
    assert hers.contact_email == "her@example.org"


def _case_with_everything() -> tuple[int, int, int, int]:
    """A case with a notice, a letter and an evidence file; their ids."""
    org = db.session.scalars(select(Organisation)).first() or factories.org()
    case = factories.case(org)
    notice = factories.notice(case)
    evidence = factories.evidence(case)
    letter = factories.letter(case, notice)
    db.session.commit()
    return case.id, notice.id, letter.id, evidence.id


def test_ids_of_deleted_cases_notices_letters_and_evidence_are_never_reused(app: Flask) -> None:
    first = _case_with_everything()
    case = db.session.get(Case, first[0])
    assert case is not None
    delete_case(db.session, case)
    db.session.commit()
    assert db.session.get(Notice, first[1]) is None
    assert db.session.get(Letter, first[2]) is None
    assert db.session.get(EvidenceFile, first[3]) is None

    second = _case_with_everything()
    for old, new in zip(first, second, strict=True):
        assert new > old


def test_audit_events_of_another_organisations_chain_stay_out_of_a_case(app: Flask) -> None:
    """An event carrying this case's id on another organisation's chain (a deleted case's
    id reused, a restore, a bug elsewhere) is not part of this case's story."""
    mine, theirs = factories.org(), factories.org()
    lawyer = factories.user(mine, Role.LAWYER)
    case = factories.case(mine)
    foreign = [
        record_event(
            db.session,
            action,
            VICTIM,
            chain_id=theirs.id,
            case_id=case.id,
            object_type="case",
            object_id=case.id,
            details={"count": 1},
        )
        for action in ("case.opened", "case.contact_changed", "evidence.added")
    ]
    foreign.append(
        record_event(db.session, "case.status_changed", SYSTEM, chain_id=theirs.id, case_id=case.id)
    )
    db.session.commit()

    staff_entries = build_timeline(db.session, case)
    assert staff_entries
    assert {e.order for e in staff_entries} & {e.id for e in foreign} == set()
    victim_kinds = [entry.kind for entry in case_timeline(db.session, case).past]
    assert victim_kinds.count("reported") == 1
    assert "contact_changed" not in victim_kinds

    bundle = build_bundle(db.session, case, Actor.staff(lawyer.id, "lawyer"))
    with zipfile.ZipFile(io.BytesIO(bundle.data)) as archive:
        lines = archive.read(AUDIT_EXTRACT).decode().splitlines()
    chains = {json.loads(line)["chain_id"] for line in lines}
    assert chains == {mine.id}


def _row_counts() -> dict[str, int]:
    tables = ("cases", "items", "notices", "letters", "evidence_files", "notice_items")
    return {t: int(db.session.scalar(text(f"SELECT count(*) FROM {t}")) or 0) for t in tables}  # noqa: S608


def test_the_migration_keeps_every_row_and_index_of_the_rebuilt_tables(app: Flask) -> None:
    """Down to the revision before, and up again, with data in every rebuilt table."""
    _case_with_everything()
    factories.case(db.session.scalars(select(Organisation)).one())
    db.session.commit()
    before = _row_counts()
    assert all(before.values())
    indexes = _index_definitions()

    db.session.commit()  # the migration's DDL must not wait on this session's read locks
    downgrade(revision=PREVIOUS_REVISION)
    assert _row_counts() == before
    db.session.commit()
    upgrade()
    assert _row_counts() == before
    assert _index_definitions() == indexes
    if db.engine.dialect.name == "sqlite":
        for table in ("cases", "items", "notices", "letters", "evidence_files", "web_sessions"):
            ddl = db.session.scalar(
                text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"),
                {"name": table},
            )
            assert "AUTOINCREMENT" in ddl
        assert list(db.session.execute(text("PRAGMA foreign_key_check"))) == []
        assert db.session.scalar(text("PRAGMA foreign_keys")) == 1


def _index_definitions() -> dict[str, list[tuple[str, str, str]]]:
    inspector = inspect(db.engine)
    return {
        table: sorted(
            (
                index["name"] or "",
                repr(index["column_names"]),
                repr(sorted((k, str(v)) for k, v in index.get("dialect_options", {}).items())),
            )
            for index in inspector.get_indexes(table)
        )
        for table in ("cases", "items", "notices", "letters", "evidence_files")
    }
