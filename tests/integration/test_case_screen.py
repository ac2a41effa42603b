"""The case screen and its actions, evidence previews, bulk actions and the overview."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from casework.accounts.models import Role
from casework.audit.models import AuditEvent
from casework.cases.models import (
    Case,
    CaseStatus,
    ContentCategory,
    Item,
    MinorStatus,
    RemovalState,
)
from casework.deadlines.models import DeadlineState
from casework.evidence.models import EvidenceFile
from casework.extensions import db
from casework.notices.models import Letter, Notice, NoticeItem, NoticeState
from casework.notifications.models import Notification
from casework.orm import utcnow
from casework.registry import default_registry
from tests import factories


@pytest.fixture
def desk(app: Flask, client: Any) -> dict[str, Any]:
    org = factories.org()
    me = factories.user(org, Role.CASEWORKER, password=None, name="Casey Worker")
    lawyer = factories.user(org, Role.LAWYER, password=None, name="Lee Lawyer")
    admin = factories.user(org, Role.ADMIN, password=None)
    case = factories.case(
        org,
        links=[
            factories.post_url("first_acct"),
            factories.post_url("first_acct"),
            factories.post_url("other"),
        ],
        country="FR",
    )
    db.session.commit()
    factories.sign_in(client, me)
    return {"org": org, "me": me, "lawyer": lawyer, "admin": admin, "case": case, "client": client}


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_the_case_screen_shows_items_accounts_notices_and_one_timeline(
    desk: dict[str, Any],
) -> None:
    case = desk["case"]
    notice = factories.notice(case)
    due = utcnow() + timedelta(hours=20)
    factories.deadline(notice, due)
    db.session.commit()
    page = desk["client"].get(f"/staff/cases/{case.id}").get_data(as_text=True)
    for item in case.items:
        assert str(item.status_id) in page
    assert "@first_acct</td><td>2</td>" in page.replace("\n", "").replace("  ", "")
    assert "us.tida.removal" in page and "Concerns 3 posts." in page
    assert due.strftime("%Y-%m-%d %H:%M") in page
    assert "The case was opened with 3 posts." in page
    assert f"Notice {notice.id} (us.tida.removal) was sent." in page
    assert "Reported by" in page and "FR" in page
    assert "Contact" not in page  # nothing collected, nothing shown


def test_assigning_tells_the_assignee_and_refuses_outsiders(desk: dict[str, Any]) -> None:
    client, case, lawyer = desk["client"], desk["case"], desk["lawyer"]
    assert (
        client.post(f"/staff/cases/{case.id}/assign", data={"assignee": str(lawyer.id)}).status_code
        == 302
    )
    assert db.session.get_one(Case, case.id).assignee_id == lawyer.id
    [event] = events("case.assigned")
    assert event.details == {"assignee_id": lawyer.id, "previous_assignee_id": None}
    note = db.session.scalars(select(Notification)).one()
    assert (note.user_id, note.kind, note.params) == (
        lawyer.id,
        "case_assigned",
        {"reference": case.reference},
    )
    page = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert "The case was assigned to Lee Lawyer." in page
    # Only caseworkers and lawyers of the organisation are offered; anyone else is refused.
    refused = client.post(
        f"/staff/cases/{case.id}/assign", data={"assignee": str(desk["admin"].id)}
    )
    assert refused.status_code == 302
    assert "Choose someone from the list." in client.get(f"/staff/cases/{case.id}").get_data(
        as_text=True
    )
    outsider = factories.user(factories.org(), Role.CASEWORKER, password=None)
    db.session.commit()
    assert (
        client.post(
            f"/staff/cases/{case.id}/assign", data={"assignee": str(outsider.id)}
        ).status_code
        == 302
    )
    db.session.expire_all()
    assert db.session.get_one(Case, case.id).assignee_id == lawyer.id


def test_status_changes_go_through_the_workflow(desk: dict[str, Any]) -> None:
    client, case = desk["client"], desk["case"]
    page = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert '<option value="triage">' in page and '<option value="resolved">' not in page
    refused = client.post(f"/staff/cases/{case.id}/status", data={"target": "resolved"})
    assert refused.status_code == 302
    assert "A case cannot move from new to resolved." in client.get(
        f"/staff/cases/{case.id}"
    ).get_data(as_text=True)
    assert db.session.get_one(Case, case.id).status is CaseStatus.NEW
    assert (
        client.post(f"/staff/cases/{case.id}/status", data={"target": "triage"}).status_code == 302
    )
    db.session.expire_all()
    assert db.session.get_one(Case, case.id).status is CaseStatus.TRIAGE
    assert events("case.status_changed")[0].details == {"from": "new", "to": "triage"}


def test_added_links_are_checked_line_by_line_and_nothing_typed_is_lost(
    desk: dict[str, Any],
) -> None:
    client, case = desk["client"], desk["case"]
    known = case.items[0].url
    pasted = f"{known}\nhttps://x.com/jack\n\nhttps://example.com/a/status/1\nhttps://x.com/new_one/status/2008000000000555555"
    response = client.post(f"/staff/cases/{case.id}/items", data={"links": pasted})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Line 2" in text and "a link to a profile, not to a post" in text
    assert "Line 4" in text and "not a link to a post on X" in text
    assert "https://x.com/new_one/status/2008000000000555555" in text  # still in the box
    assert db.session.scalar(select(func.count()).select_from(Item)) == 3
    fixed = f"{known}\nhttps://x.com/new_one/status/2008000000000555555"
    assert client.post(f"/staff/cases/{case.id}/items", data={"links": fixed}).status_code == 302
    flashed = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert "1 post added." in flashed and "1 post was already in this case." in flashed
    added = db.session.scalars(select(Item).where(Item.status_id == 2008000000000555555)).one()
    assert added.handle == "new_one" and added.added_by_victim is False


def test_an_empty_note_is_refused_next_to_the_field(desk: dict[str, Any]) -> None:
    response = desk["client"].post(f"/staff/cases/{desk['case'].id}/notes", data={"body": "   "})
    assert response.status_code == 400
    assert 'id="body-error"' in response.get_data(as_text=True)
    assert events("case.note_added") == []


def test_a_removal_check_is_recorded_with_its_time(desk: dict[str, Any]) -> None:
    client, case = desk["client"], desk["case"]
    notice = factories.notice(case)
    db.session.commit()
    item = case.items[0]
    response = client.post(
        f"/staff/cases/{case.id}/items/{item.id}/removal",
        data={"state": "removed", "checked_at": "2026-01-07T09:30"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    item = db.session.get_one(Item, item.id)
    assert item.removal_state is RemovalState.REMOVED
    assert item.removal_checked_at == factories.utc(2026, 1, 7, 9, 30)
    covered = db.session.get_one(NoticeItem, (notice.id, item.id))
    assert covered.removed_at == factories.utc(2026, 1, 7, 9, 30)
    assert events("item.removal_checked")[0].details == {"item_id": item.id, "state": "removed"}
    future = client.post(
        f"/staff/cases/{case.id}/items/{item.id}/removal",
        data={"state": "up", "checked_at": "2099-01-01T00:00"},
    )
    assert future.status_code == 400
    assert "cannot be in the future" in future.get_data(as_text=True)


def test_the_removal_result_starts_empty_and_an_empty_result_records_nothing(
    desk: dict[str, Any],
) -> None:
    client, case = desk["client"], desk["case"]
    factories.notice(case)
    db.session.commit()
    item = case.items[0]
    page = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    result = page.split(f'id="state-{item.id}"', 1)[1].split("</select>", 1)[0]
    assert result.split("<option", 2)[1].startswith(' value="">')
    assert "selected" not in result
    response = client.post(
        f"/staff/cases/{case.id}/items/{item.id}/removal",
        data={"state": "", "checked_at": "2026-01-07T09:30"},
    )
    assert response.status_code == 400
    assert "Choose whether the post was removed or is still up." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get_one(Item, item.id).removal_checked_at is None
    assert events("item.removal_checked") == []


def test_the_status_choice_starts_empty_and_an_empty_choice_changes_nothing(
    desk: dict[str, Any],
) -> None:
    client, case = desk["client"], desk["case"]
    page = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    target = page.split('name="target"', 1)[1].split("</select>", 1)[0]
    # The first option is the empty one, and no other is chosen instead.
    assert target.split("<option", 2)[1].startswith(' value="">Choose a status')
    assert "selected" not in target
    response = client.post(
        f"/staff/cases/{case.id}/status", data={"target": ""}, follow_redirects=True
    )
    assert "Choose the status to move the case to." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get_one(Case, case.id).status is CaseStatus.NEW
    assert events("case.status_changed") == []


def classify(client: Any, case: Case, chosen: dict[Item, str]) -> Any:
    """Post the case screen's "what the image shows" form with these choices."""
    return client.post(
        f"/staff/cases/{case.id}/items/categories",
        data={f"category-{item.id}": value for item, value in chosen.items()},
    )


def test_the_timeline_counts_the_evidence_files_added(desk: dict[str, Any]) -> None:
    client, case = desk["client"], desk["case"]
    factories.evidence(case, seed=11)
    factories.evidence(case, seed=12)
    db.session.commit()
    page = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    timeline = page.split('id="timeline"', 1)[1]
    assert timeline.count("1 evidence file was added.") == 2
    assert "was stored" not in timeline


def test_posts_are_classified_from_the_case_screen(desk: dict[str, Any]) -> None:
    client, case = desk["client"], desk["case"]
    first, second, third = case.items
    response = classify(client, case, {first: "nude_sexual", second: "revealing_attire"})
    assert response.status_code == 302
    db.session.expire_all()
    categories = {i.id: i.category for i in db.session.scalars(select(Item))}
    assert categories == {
        first.id: ContentCategory.NUDE_SEXUAL,
        second.id: ContentCategory.REVEALING_ATTIRE,
        third.id: ContentCategory.UNKNOWN,
    }
    (event,) = events("items.classified")
    assert event.details == {
        "categories": {str(first.id): "nude_sexual", str(second.id): "revealing_attire"}
    }
    page = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert "2 posts classified." in page
    assert '<option value="nude_sexual" selected>' in page


def test_a_bad_category_is_refused_next_to_its_post_keeping_the_others(
    desk: dict[str, Any],
) -> None:
    client, case = desk["client"], desk["case"]
    first, second, _third = case.items
    response = classify(client, case, {first: "revealing_attire", second: "<b>nude</b>"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'<p class="error-message" id="category-{second.id}-error">' in page
    assert "Choose what the image shows from the list." in page
    # The choice made for the first post is still on screen, and nothing was saved.
    first_select = page.split(f'id="category-{first.id}"', 1)[1].split("</select>", 1)[0]
    assert '<option value="revealing_attire" selected>' in first_select
    db.session.expire_all()
    assert {i.category for i in db.session.scalars(select(Item))} == {ContentCategory.UNKNOWN}
    assert events("items.classified") == []


def test_a_minors_posts_stay_classified_as_a_minor(desk: dict[str, Any]) -> None:
    client, org = desk["client"], desk["org"]
    case = factories.case(org, minor=MinorStatus.UNSURE, country="FR")
    db.session.commit()
    (item,) = case.items
    assert item.category is ContentCategory.MINOR
    response = classify(client, case, {item: "nude_sexual"})
    assert response.status_code == 400
    assert "every post stays classified as a minor" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get_one(Item, item.id).category is ContentCategory.MINOR
    # And the screen offers no choice to make for them.
    page = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert f'name="category-{item.id}"' not in page


def test_a_lawyer_reads_the_classification_but_cannot_change_it(desk: dict[str, Any]) -> None:
    client, case = desk["client"], desk["case"]
    factories.sign_in(client, desk["lawyer"])
    item = case.items[0]
    response = classify(client, case, {item: "nude_sexual"})
    assert response.status_code == 403
    page = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert "not classified yet" in page and 'id="classify-form"' not in page


def test_a_platform_reply_is_recorded(desk: dict[str, Any]) -> None:
    client, case = desk["client"], desk["case"]
    notice = factories.notice(case)
    db.session.commit()
    missing = client.post(
        f"/staff/cases/{case.id}/notices/{notice.id}/reply", data={"text": "We removed it."}
    )
    assert missing.status_code == 400
    assert "Say when the reply arrived." in missing.get_data(as_text=True)
    assert "We removed it." in missing.get_data(as_text=True)
    response = client.post(
        f"/staff/cases/{case.id}/notices/{notice.id}/reply",
        data={"text": "We removed it.", "received_at": "2026-01-08T10:00"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    notice = db.session.get_one(Notice, notice.id)
    assert (notice.response, notice.state) == ("We removed it.", NoticeState.ANSWERED)
    assert notice.response_at == factories.utc(2026, 1, 8, 10, 0)
    assert events("notice.reply_recorded")[0].details == {"notice_id": notice.id}
    assert "The platform replied to notice" in client.get(f"/staff/cases/{case.id}").get_data(
        as_text=True
    )


def test_evidence_is_served_blurred_first_never_cached_and_every_view_audited(
    desk: dict[str, Any],
) -> None:
    client, case = desk["client"], desk["case"]
    file = factories.evidence(case, item=case.items[0])
    db.session.commit()
    screen = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert f"/staff/cases/{case.id}/evidence/{file.id}" in screen
    assert ".jpg" not in screen  # no image is loaded until someone asks
    page = client.get(f"/staff/cases/{case.id}/evidence/{file.id}").get_data(as_text=True)
    assert "blurred.jpg" in page and "clear.jpg" not in page
    blurred = client.get(f"/staff/cases/{case.id}/evidence/{file.id}/blurred.jpg")
    clear = client.get(f"/staff/cases/{case.id}/evidence/{file.id}/clear.jpg")
    client.get(f"/staff/cases/{case.id}/evidence/{file.id}/clear.jpg")
    for response in (blurred, clear):
        assert response.status_code == 200
        assert response.mimetype == "image/jpeg" and response.data[:3] == b"\xff\xd8\xff"
        assert "no-store" in response.headers["Cache-Control"]
    assert blurred.data != clear.data
    viewed = events("evidence.viewed")
    assert [e.details["variant"] for e in viewed] == ["blurred", "clear", "clear"]
    assert {(e.actor_id, e.object_id) for e in viewed} == {(desk["me"].id, file.id)}
    other = factories.case(desk["org"])
    db.session.commit()
    assert client.get(f"/staff/cases/{other.id}/evidence/{file.id}/clear.jpg").status_code == 404
    assert len(events("evidence.viewed")) == 3


def test_a_pdq_from_the_victims_browser_says_where_it_comes_from(desk: dict[str, Any]) -> None:
    from casework.evidence.files import record_device_file

    client, case = desk["client"], desk["case"]
    kept = record_device_file(
        db.session,
        case,
        sha256="cd" * 32,
        size=99,
        name="kept.jpg",
        media_type="image/jpeg",
        pdq="0f" * 32,
        pdq_quality=77,
    )
    stored = factories.evidence(case)
    db.session.commit()
    page = client.get(f"/staff/cases/{case.id}/evidence/{kept.id}").get_data(as_text=True)
    assert "0f" * 32 in page and "quality 77" in page
    assert "Computed by the browser of the person who reported it" in page
    page = client.get(f"/staff/cases/{case.id}/evidence/{stored.id}").get_data(as_text=True)
    assert str(stored.pdq) in page and "Computed by the browser" not in page


def test_bulk_status_change_reports_each_refusal(desk: dict[str, Any]) -> None:
    client = desk["client"]
    ok = factories.case(desk["org"])
    stuck = factories.case(desk["org"], status=CaseStatus.WITHDRAWN)
    db.session.commit()
    response = client.post(
        "/staff/cases/bulk",
        data={
            "case_ids": [str(ok.id), str(stuck.id), str(desk["case"].id)],
            "action": "status",
            "status": "triage",
            "back": "/staff/cases/?worklist=all",
        },
    )
    assert response.headers["Location"].endswith("/staff/cases/?worklist=all")
    page = client.get("/staff/cases/?worklist=all").get_data(as_text=True)
    assert "2 cases updated." in page
    assert f"{stuck.reference}: A case cannot move from withdrawn to triage." in page
    db.session.expire_all()
    assert db.session.get_one(Case, ok.id).status is CaseStatus.TRIAGE
    assert db.session.get_one(Case, stuck.id).status is CaseStatus.WITHDRAWN


def test_bulk_assign(desk: dict[str, Any]) -> None:
    others = [factories.case(desk["org"]) for _ in range(3)]
    db.session.commit()
    response = desk["client"].post(
        "/staff/cases/bulk",
        data={
            "case_ids": [str(c.id) for c in others],
            "action": "assign",
            "assignee": str(desk["me"].id),
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert {db.session.get_one(Case, c.id).assignee_id for c in others} == {desk["me"].id}


def test_the_bulk_letter_action_generates_the_letter_for_each_selected_case(
    app: Flask, desk: dict[str, Any]
) -> None:
    client = desk["client"]
    assert "Generate the same letter" in client.get("/staff/cases/").get_data(as_text=True)
    app.config["JOBS_SYNC"] = True  # the letters job runs in the request, as a worker would
    response = client.post(
        "/staff/cases/bulk",
        data={
            "case_ids": [str(desk["case"].id)],
            "action": "letter",
            "route_key": "us.tida.removal",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    letters = db.session.scalars(select(Letter).where(Letter.case_id == desk["case"].id)).all()
    assert [(letter.route_key, letter.version) for letter in letters] == [("us.tida.removal", 1)]
    assert letters[0].created_by_id == desk["me"].id
    assert letters[0].pdf.startswith(b"%PDF")


def test_the_overview_draws_accessible_charts_with_tables(desk: dict[str, Any]) -> None:
    case = desk["case"]
    notice = factories.notice(case)
    factories.deadline(notice, utcnow() - timedelta(hours=1), state=DeadlineState.PENDING)
    case.first_notice_at = case.created_at + timedelta(hours=6)
    db.session.commit()
    page = desk["client"].get("/staff/cases/overview").get_data(as_text=True)
    assert page.count("<svg") == 3
    assert '<title id="open-by-status-title">Open cases by status</title>' in page
    assert 'aria-labelledby="open-by-status-title open-by-status-desc"' in page
    assert "<table>" in page and "<script" not in page and "style=" not in page
    assert "6.0 h" in page  # the median from report to first notice
    assert "<td>US</td><td>1</td>" in page  # one overdue notice


def test_the_bulk_letter_action_offers_route_names_never_a_key_to_type(
    desk: dict[str, Any],
) -> None:
    page = desk["client"].get("/staff/cases/").get_data(as_text=True)
    field = page.split('id="bulk-route-key"', 1)[1].split("</select>", 1)[0]
    assert '<option value="us.tida.removal">United States (federal): TAKE IT DOWN Act' in field
    assert field.count("<option") == len(default_registry().routes) + 1


def test_an_unknown_route_in_the_bulk_letter_action_is_a_form_error(
    app: Flask, desk: dict[str, Any]
) -> None:
    client = desk["client"]
    app.config["JOBS_SYNC"] = True
    response = client.post(
        "/staff/cases/bulk",
        data={"case_ids": [str(desk["case"].id)], "action": "letter", "route_key": "no.such.route"},
    )
    assert response.status_code == 302
    queue = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Letter: Not a valid choice." in queue
    assert db.session.scalars(select(Letter)).all() == []


def test_staff_file_an_image_under_the_post_it_shows_and_only_a_post_of_its_case(
    app: Flask, desk: dict[str, Any], client: Any
) -> None:
    case = desk["case"]
    file = factories.evidence(case)
    other = factories.case(desk["org"], links=[factories.post_url("elsewhere")])
    db.session.commit()
    page = client.get(f"/staff/cases/{case.id}/evidence/{file.id}").get_data(as_text=True)
    assert "File under this post" in page and "None of the posts, or not sure" in page
    target = case.items[2]
    url = f"/staff/cases/{case.id}/evidence/{file.id}/post"
    assert client.post(url, data={"item": str(target.id)}).status_code == 302
    assert factories.reloaded(EvidenceFile, file.id).item_id == target.id
    filed = events("evidence.filed")
    assert [(e.details or {}).get("item_id") for e in filed] == [target.id]
    assert "was filed under a post" in client.get(f"/staff/cases/{case.id}").get_data(as_text=True)

    # An item of another case (or any id not offered) is refused and changes nothing.
    response = client.post(url, data={"item": str(other.items[0].id)})
    assert "Choose one of the case&#39;s posts, or none." in client.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    assert factories.reloaded(EvidenceFile, file.id).item_id == target.id

    # Back to none.
    client.post(url, data={"item": ""})
    assert factories.reloaded(EvidenceFile, file.id).item_id is None
    assert len(events("evidence.filed")) == 2

    # A lawyer reads evidence but does not refile it.
    factories.sign_in(client, desk["lawyer"])
    assert client.post(url, data={"item": str(target.id)}).status_code == 403
    assert "File under this post" not in client.get(
        f"/staff/cases/{case.id}/evidence/{file.id}"
    ).get_data(as_text=True)
