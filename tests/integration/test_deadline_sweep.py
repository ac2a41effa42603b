"""The sweep handles every due reminder and deadline once, as of the time it is given."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from casework.audit.models import AuditEvent
from casework.audit.services import verify_all
from casework.cases.models import Case, CaseStatus, Item, RemovalState
from casework.cli import cli_group
from casework.deadlines.handling import Effects
from casework.deadlines.messages import KIND_FOLLOW_UP, KIND_MISSED, KIND_REMINDER
from casework.deadlines.models import Deadline, DeadlineState, Escalation, Reminder, SweepRun
from casework.deadlines.services import FOLLOW_UP
from casework.deadlines.sweep import overdue_unhandled, record_run, sweep
from casework.extensions import db
from casework.notices.models import NoticeItem
from casework.notifications.models import Notification, OutgoingEmail
from casework.registry import default_registry
from tests.deadline_factories import sent_notice, staffed_case

RECEIVED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
DUE = RECEIVED + timedelta(hours=48)


def _sweep(now: datetime, by: str = "test") -> tuple[dict[str, int], Effects]:
    collected = Effects()
    report = sweep(db.session, now=now, by=by, after_commit=collected.extend)
    return dict(report.deadlines) | {f"r_{k}": v for k, v in report.reminders.items()}, collected


def _count(model: type, *where: object) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_a_missed_deadline_escalates_the_case_once(app: Flask) -> None:
    case, caseworker = staffed_case(escalation_emails="duty@org.example, lead@org.example")
    notice = sent_notice(case, received_at=RECEIVED)
    db.session.commit()

    counts, effects = _sweep(DUE + timedelta(seconds=1))
    assert counts.get("missed") == 1

    deadline = db.session.scalars(select(Deadline)).one()
    assert deadline.state == DeadlineState.MISSED
    assert deadline.handled_at == DUE + timedelta(seconds=1)
    assert db.session.get(Case, case.id).status == CaseStatus.ESCALATED  # type: ignore[union-attr]
    escalation = db.session.scalars(select(Escalation)).one()
    assert escalation.deadline_id == deadline.id
    expected_route = default_registry().route(notice.route_key).escalation
    assert expected_route is not None
    assert escalation.route_key == expected_route.route
    (notification,) = db.session.scalars(select(Notification)).all()
    assert notification.user_id == caseworker.id
    assert notification.kind == KIND_MISSED
    assert notification.params["reference"] == case.reference
    recipients = sorted(db.session.scalars(select(OutgoingEmail.recipient)))
    assert recipients == sorted([caseworker.email, "duty@org.example", "lead@org.example"])
    assert sorted(effects.email_ids) == sorted(db.session.scalars(select(OutgoingEmail.id)))
    assert effects.escalation_ids == [escalation.id]
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"deadline.missed", "case.status_changed"} <= actions
    # The batch-written events keep the organisation's hash chain intact.
    assert all(report.ok for report in verify_all(db.session))

    # Every reminder before the deadline was due too; none is left behind.
    assert _count(Reminder, Reminder.sent_at.is_(None)) == 0
    # A second sweep, later, finds nothing more to do.
    again, _ = _sweep(DUE + timedelta(hours=1))
    assert again == {}
    assert _count(Escalation) == 1
    assert _count(Notification, Notification.kind == KIND_MISSED) == 1


def test_the_sweep_hands_over_again_an_escalation_letter_not_drafted(app: Flask) -> None:
    case, _ = staffed_case()
    sent_notice(case, received_at=RECEIVED)
    db.session.commit()
    _, first = _sweep(DUE + timedelta(seconds=1))
    escalation = db.session.scalars(select(Escalation)).one()
    assert first.escalation_ids == [escalation.id]

    # Within the grace period its own job is trusted to draft it.
    _, soon = _sweep(DUE + timedelta(seconds=60))
    assert soon.escalation_ids == []
    # After it, a letter still not drafted means the job was lost: the sweep queues it again.
    handed = Effects()
    later = sweep(db.session, now=DUE + timedelta(minutes=5), by="test", after_commit=handed.extend)
    assert later.escalations_requeued == 1
    assert handed.escalation_ids == [escalation.id]

    # Once drafted, it is not queued again.
    escalation.drafted_at = DUE + timedelta(minutes=6)
    db.session.commit()
    _, after = _sweep(DUE + timedelta(minutes=10))
    assert after.escalation_ids == []


def test_nothing_is_handled_before_its_time(app: Flask) -> None:
    case, _ = staffed_case()
    sent_notice(case, received_at=RECEIVED)
    db.session.commit()
    counts, _ = _sweep(RECEIVED + timedelta(hours=23, minutes=59, seconds=59))
    assert counts == {}
    counts, _ = _sweep(DUE - timedelta(microseconds=1))
    assert "missed" not in counts
    assert db.session.scalars(select(Deadline.state)).one() == DeadlineState.PENDING
    counts, _ = _sweep(DUE)
    assert counts["missed"] == 1


def test_reminders_fire_at_half_ninety_percent_and_two_hours_before(app: Flask) -> None:
    case, caseworker = staffed_case()
    sent_notice(case, received_at=RECEIVED)
    db.session.commit()
    steps = [
        (RECEIVED + timedelta(hours=24) - timedelta(seconds=1), 0),
        (RECEIVED + timedelta(hours=24), 1),
        (RECEIVED + timedelta(hours=43, minutes=12), 2),
        (RECEIVED + timedelta(hours=46), 3),
    ]
    for moment, expected in steps:
        _sweep(moment)
        sent = _count(Notification, Notification.kind == KIND_REMINDER)
        assert sent == expected, moment
    times = list(db.session.scalars(select(Reminder.sent_at).order_by(Reminder.remind_at)))
    assert times == [step[0] for step in steps[1:]]
    emails = list(db.session.scalars(select(OutgoingEmail)))
    assert [e.recipient for e in emails] == [caseworker.email] * 3
    # The due time is shown in the case's own zone.
    assert "(UTC)" in emails[0].body
    assert db.session.get(Case, case.id).status == CaseStatus.AWAITING_PLATFORM  # type: ignore[union-attr]


def test_reminder_shows_the_due_time_in_the_cases_time_zone(app: Flask) -> None:
    case, _ = staffed_case(timezone="Australia/Sydney")
    sent_notice(case, received_at=RECEIVED)
    db.session.commit()
    _sweep(RECEIVED + timedelta(hours=24))
    body = db.session.scalars(select(OutgoingEmail.body)).one()
    # 11 March 09:30 UTC... is 20:30 in Sydney (daylight time, UTC+11) on 4 March.
    assert "2026-03-04 20:30 (Australia/Sydney)" in body


def test_content_removed_in_time_meets_the_deadline(app: Flask) -> None:
    case, _ = staffed_case(links=2)
    notice = sent_notice(case, received_at=RECEIVED)
    for link in db.session.scalars(select(NoticeItem).where(NoticeItem.notice_id == notice.id)):
        link.removed_at = RECEIVED + timedelta(hours=30)
    db.session.commit()
    counts, _ = _sweep(DUE + timedelta(minutes=5))
    assert counts == {"met": 1} | {"r_skipped": 1} | {"r_sent": 2} or counts.get("met") == 1
    assert db.session.scalars(select(Deadline.state)).one() == DeadlineState.MET
    assert db.session.get(Case, case.id).status == CaseStatus.AWAITING_PLATFORM  # type: ignore[union-attr]
    assert _count(Escalation) == 0


def test_one_item_still_up_misses_the_deadline(app: Flask) -> None:
    case, _ = staffed_case(links=2)
    notice = sent_notice(case, received_at=RECEIVED)
    first = db.session.scalars(
        select(NoticeItem).where(NoticeItem.notice_id == notice.id).order_by(NoticeItem.item_id)
    ).first()
    assert first is not None
    first.removed_at = RECEIVED + timedelta(hours=1)
    # A removal verified only after the due time is late, not in time.
    second_item = db.session.get(Item, case.items[1].id)
    assert second_item is not None
    second_item.removal_state = RemovalState.REMOVED
    second_item.removal_checked_at = DUE + timedelta(minutes=1)
    db.session.commit()
    counts, _ = _sweep(DUE + timedelta(minutes=5))
    assert counts["missed"] == 1


def test_follow_up_prompts_the_caseworker_without_escalating(app: Flask) -> None:
    route = next(r for r in default_registry().routes if r.deadline.is_none and r.follow_up_days)
    case, caseworker = staffed_case()
    sent_notice(case, route_key=route.key, received_at=RECEIVED)
    db.session.commit()
    due = RECEIVED + timedelta(days=route.follow_up_days or 0)
    counts, _ = _sweep(due + timedelta(seconds=1))
    assert counts["lapsed"] == 1
    deadline = db.session.scalars(select(Deadline)).one()
    assert deadline.stage == FOLLOW_UP
    assert deadline.state == DeadlineState.LAPSED
    assert db.session.get(Case, case.id).status == CaseStatus.AWAITING_PLATFORM  # type: ignore[union-attr]
    assert _count(Escalation) == 0
    assert _count(Deadline, Deadline.state == DeadlineState.MISSED) == 0
    kinds = list(db.session.scalars(select(Notification.kind).order_by(Notification.id)))
    assert kinds[-1] == KIND_FOLLOW_UP
    assert all(n == caseworker.id for n in db.session.scalars(select(Notification.user_id)))


def test_a_closed_case_cancels_its_deadline_quietly(app: Flask) -> None:
    case, _ = staffed_case()
    sent_notice(case, received_at=RECEIVED)
    case.status = CaseStatus.CLOSED
    db.session.commit()
    counts, _ = _sweep(DUE + timedelta(seconds=1))
    assert counts["cancelled"] == 1
    assert _count(Notification) == 0
    assert _count(OutgoingEmail) == 0


def test_unassigned_case_tells_the_organisations_caseworkers(app: Flask) -> None:
    case, caseworker = staffed_case(assignee_id=None)
    sent_notice(case, received_at=RECEIVED)
    db.session.commit()
    _sweep(DUE)
    users = set(db.session.scalars(select(Notification.user_id)))
    assert users == {caseworker.id}


def test_racing_sweeps_handle_each_deadline_once(app: Flask) -> None:
    cases = [staffed_case()[0] for _ in range(12)]
    for case in cases:
        sent_notice(case, received_at=RECEIVED)
    db.session.commit()
    handled: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def run(name: str) -> None:
        with app.app_context():
            try:
                barrier.wait()
                report = sweep(db.session, now=DUE, by=name, batch_size=4)
                handled.extend(report.handled_ids)
            except BaseException as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(f"sweeper-{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(handled) == sorted(db.session.scalars(select(Deadline.id)))
    assert _count(Escalation) == 12
    assert _count(Notification, Notification.kind == KIND_MISSED) == 12
    assert _count(AuditEvent, AuditEvent.action == "deadline.missed") == 12
    assert all(report.ok for report in verify_all(db.session))


def test_sweep_run_is_recorded_and_overdue_count_drops_to_zero(app: Flask) -> None:
    case, _ = staffed_case()
    sent_notice(case, received_at=RECEIVED)
    db.session.commit()
    late = DUE + timedelta(minutes=10)
    assert overdue_unhandled(db.session, now=late, grace_seconds=120) == 1
    report = sweep(db.session, now=late, by="test")
    record_run(db.session, report, started_at=late)
    row = db.session.get(SweepRun, "deadlines")
    assert row is not None
    assert row.as_of == late
    assert row.counts["deadlines_missed"] == 1
    assert overdue_unhandled(db.session, now=late, grace_seconds=120) == 0


def test_sweep_command_runs_as_of_a_given_time(app: Flask) -> None:
    case, _ = staffed_case()
    sent_notice(case, received_at=RECEIVED)
    db.session.commit()
    runner = app.test_cli_runner()
    early = runner.invoke(cli_group, ["sweep", "--at", "2026-03-03T10:00:00+00:00"])
    assert early.exit_code == 0, early.output
    assert "deadlines none" in early.output
    assert "reminders 1 sent" in early.output
    result = runner.invoke(cli_group, ["sweep", "--at", "2026-03-04T09:30:00Z"])
    assert result.exit_code == 0, result.output
    assert "deadlines 1 missed" in result.output
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == CaseStatus.ESCALATED  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("value", "message"),
    [("yesterday", "not an ISO-8601 time"), ("2026-03-04T09:30:00", "give the time zone")],
)
def test_sweep_command_refuses_a_bad_time(app: Flask, value: str, message: str) -> None:
    result = app.test_cli_runner().invoke(cli_group, ["sweep", "--at", value])
    assert result.exit_code != 0
    assert message in result.output
