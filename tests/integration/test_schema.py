"""The schema: migrations build it on both databases and agree with the models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from casework.cases.models import Case, Item
from casework.extensions import db
from casework.orm import Base
from tests import factories


def test_migrations_and_models_agree(app: Flask) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_migrations_go_down_and_up_again(app: Flask) -> None:
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    tables = set(inspect(db.engine).get_table_names())
    assert {"cases", "items", "evidence_files", "notices", "letters", "deadlines"} <= tables
    assert {"audit_events", "organisations", "users"} <= tables


def test_queue_indexes_exist(app: Flask) -> None:
    inspector = inspect(db.engine)
    case_indexes = {ix["name"] for ix in inspector.get_indexes("cases")}
    assert {"ix_cases_queue", "ix_cases_assignee", "ix_cases_org_priority"} <= case_indexes
    deadline_indexes = {ix["name"] for ix in inspector.get_indexes("deadlines")}
    assert "ix_deadlines_pending_due" in deadline_indexes


def test_the_same_status_id_is_never_two_items_of_one_case(app: Flask) -> None:
    org = factories.org()
    case = factories.case(org)
    duplicate = Item(case_id=case.id, status_id=case.items[0].status_id, url=case.items[0].url)
    db.session.add(duplicate)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_the_same_status_id_may_appear_in_two_cases(app: Flask) -> None:
    org = factories.org()
    sid = factories.status_id()
    first = factories.case(org, links=[factories.post_url(sid=sid)])
    second = factories.case(org, links=[factories.post_url(sid=sid)])
    db.session.commit()
    assert first.items[0].status_id == second.items[0].status_id


def test_timestamps_come_back_timezone_aware_in_utc(app: Flask) -> None:
    org = factories.org()
    case = factories.case(org)
    paris = timezone(timedelta(hours=1))
    case.first_notice_at = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=paris)
    db.session.commit()
    case_id = case.id
    db.session.expunge_all()
    loaded = db.session.get(Case, case_id)
    assert loaded is not None
    assert loaded.first_notice_at == datetime(2026, 3, 1, 11, 30, 15, 123456, tzinfo=UTC)
    assert loaded.first_notice_at.utcoffset() == timedelta(0)
    assert loaded.created_at.tzinfo is not None


def test_naive_datetimes_are_refused(app: Flask) -> None:
    org = factories.org()
    case = factories.case(org)
    case.first_notice_at = datetime(2026, 3, 1, 12, 0)
    with pytest.raises(Exception, match="naive datetime refused"):
        db.session.flush()
    db.session.rollback()
