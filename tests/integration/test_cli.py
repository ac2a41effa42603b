"""`flask casework ...` commands."""

from __future__ import annotations

import json

from flask import Flask
from sqlalchemy import func, select

from casework.accounts.models import Role, User
from casework.accounts.passwords import verify_password
from casework.cases.models import Case, CaseJurisdiction, CaseStatus, Item
from casework.cli import cli_group
from casework.extensions import db
from casework.notices.models import Notice


def test_parse_link_prints_one_json_object_per_input(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        cli_group,
        ["parse-link", "twitter.com/Jack/status/1445078208190291968/photo/1?s=20"],
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["url"] == "https://x.com/Jack/status/1445078208190291968"
    assert record["handle"] == "Jack"
    assert record["status_id"] == "1445078208190291968"
    assert record["posted_at"].startswith("2021-10-04T17:27:47")


def test_parse_link_exits_non_zero_and_says_why_when_any_input_is_refused(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        cli_group,
        ["parse-link", "https://x.com/a/status/1445078208190291968", "x.com/jack", "example.com"],
    )
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["ok"] for r in records] == [True, False, False]
    assert records[1]["reason"] == "profile_not_post"
    assert records[1]["input"] == "x.com/jack"
    assert records[2]["reason"] == "not_x_link"


def test_create_user(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        cli_group,
        [
            "create-user",
            "--email",
            "Ana@Example.org",
            "--role",
            "lawyer",
            "--organisation",
            "clinic",
            "--organisation-name",
            "The Clinic",
        ],
        input="a long enough password\na long enough password\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalars(select(User)).one()
    assert user.email == "ana@example.org"
    assert user.role is Role.LAWYER
    assert user.organisation.name == "The Clinic"
    assert verify_password(user.password_hash, "a long enough password")
    assert user.password_hash and "a long enough password" not in user.password_hash


def test_create_user_refuses_a_short_password_and_writes_nothing(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        cli_group,
        [
            "create-user",
            "--email",
            "a@b.org",
            "--role",
            "admin",
            "--organisation",
            "o",
            "--password",
            "short",
        ],
    )
    assert result.exit_code != 0
    assert "at least 12 characters" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_demo_loads_a_realistic_data_set(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(cli_group, ["demo"])
    assert result.exit_code == 0, result.output
    cases = db.session.scalars(select(Case)).all()
    assert 45 <= len(cases) <= 60
    assert {c.status for c in cases} == set(CaseStatus)
    assert len({c.organisation_id for c in cases}) == 2
    roles = set(db.session.scalars(select(User.role)))
    assert roles == set(Role)
    codes = set(db.session.scalars(select(CaseJurisdiction.code)))
    assert {"US", "GB", "EU", "FR", "IN", "AU"} <= codes
    assert db.session.scalar(select(func.count()).select_from(Item)) >= len(cases)
    assert db.session.scalar(select(func.count()).select_from(Notice)) > 5

    again = runner.invoke(cli_group, ["demo", "--if-empty"])
    assert again.exit_code == 0
    assert "not loaded" in again.output
    assert db.session.scalar(select(func.count()).select_from(Case)) == len(cases)


def test_verify_audit_after_the_demo(app: Flask) -> None:
    runner = app.test_cli_runner()
    runner.invoke(cli_group, ["demo"])
    result = runner.invoke(cli_group, ["verify-audit"])
    assert result.exit_code == 0, result.output
