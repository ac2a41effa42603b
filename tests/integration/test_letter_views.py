"""The letters screens: access, notices, recording as sent, downloads, previews, bundles."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from casework.accounts.models import Role, User
from casework.actors import SYSTEM, Actor
from casework.audit.models import AuditEvent
from casework.cases.models import Case, CaseStatus, ContentCategory
from casework.cases.workflow import transition
from casework.deadlines.models import Deadline
from casework.extensions import db
from casework.notices.letters import create_letter
from casework.notices.models import Letter, Notice, NoticeState
from casework.notices.services import IncompleteNotice, record_sent
from casework.orm import utcnow
from casework.registry import default_registry
from tests import factories
from tests.letter_cases import complete_notice, realistic_case, sign_in

TIDA = default_registry().route("us.tida.removal")


def _actor(user: User) -> Actor:
    return Actor.staff(user.id, user.role.value)


def _case_in_action(org: Any, staff: User) -> Case:
    case = realistic_case(org, TIDA)
    admin = factories.user(org, Role.ADMIN)
    transition(db.session, case, CaseStatus.TRIAGE, _actor(admin))
    transition(db.session, case, CaseStatus.ACTION, _actor(admin))
    return case


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.fixture
def setting(app: Flask) -> dict[str, Any]:
    org = factories.org(name="Safe Harbour Network")
    caseworker = factories.user(org, Role.CASEWORKER)
    lawyer = factories.user(org, Role.LAWYER)
    case = _case_in_action(org, caseworker)
    notice = complete_notice(case, TIDA, caseworker)
    letter = create_letter(
        db.session, case=case, route_key=TIDA.key, actor=_actor(caseworker), notice=notice
    )
    other_org = factories.org()
    stranger = factories.user(other_org, Role.LAWYER)
    db.session.commit()
    return {
        "org": org,
        "caseworker": caseworker,
        "lawyer": lawyer,
        "stranger": stranger,
        "case": case,
        "notice": notice,
        "letter": letter,
    }


def _urls(app: Flask, setting: dict[str, Any]) -> list[tuple[str, str]]:
    """Every letters URL, built from the URL map so a new view cannot be forgotten."""
    values = {
        "case_id": setting["case"].id,
        "letter_id": setting["letter"].id,
        "notice_id": setting["notice"].id,
        "page": 1,
    }
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("notices."):
            continue
        method = "POST" if "POST" in rule.methods and "GET" not in rule.methods else "GET"
        with app.test_request_context():
            from flask import url_for

            urls.append((method, url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})))
    return urls


def test_every_letters_url_refuses_the_signed_out_and_hides_other_organisations(
    app: Flask, client: FlaskClient, setting: dict[str, Any]
) -> None:
    urls = _urls(app, setting)
    assert len(urls) >= 12
    for method, url in urls:
        response = client.open(url, method=method)
        # 401, or for a page view the staff gate's redirect to sign in: never the page.
        assert response.status_code in (401, 302), url
        if response.status_code == 302:
            assert method == "GET" and "sign-in" in response.headers["Location"], url
    stranger = app.test_client()
    sign_in(stranger, setting["stranger"])
    for method, url in urls:
        if url.rstrip("/") == "/staff/notices":
            continue  # the list exists for everyone; it shows their own organisation's cases
        assert stranger.open(url, method=method).status_code == 404, url


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.LAWYER, Role.ADMIN])
def test_every_staff_role_can_read_and_download_letters(
    client: FlaskClient, setting: dict[str, Any], role: Role
) -> None:
    user = factories.user(setting["org"], role)
    db.session.commit()
    sign_in(client, user)
    letter = setting["letter"]
    for url in (
        "/staff/notices/",
        f"/staff/notices/cases/{setting['case'].id}",
        f"/staff/notices/{letter.id}",
        f"/staff/notices/notices/{setting['notice'].id}",
    ):
        assert client.get(url).status_code == 200, url
    response = client.get(f"/staff/notices/{letter.id}/download")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data == letter.pdf


def test_a_download_is_audited_with_ids_only(client: FlaskClient, setting: dict[str, Any]) -> None:
    sign_in(client, setting["lawyer"])
    letter = setting["letter"]
    assert client.get(f"/staff/notices/{letter.id}/download").status_code == 200
    assert client.get(f"/staff/notices/{letter.id}/view.pdf").status_code == 200
    events = _events("letter.downloaded")
    assert [e.details["mode"] for e in events] == ["attachment", "inline"]
    assert all(e.actor_id == setting["lawyer"].id and e.object_id == letter.id for e in events)
    assert events[0].details["sha256"] == letter.sha256
    assert "Jane Doe" not in str(events[0].details)


def test_the_preview_is_a_page_image(client: FlaskClient, setting: dict[str, Any]) -> None:
    sign_in(client, setting["caseworker"])
    letter_id = setting["letter"].id
    response = client.get(f"/staff/notices/{letter_id}/page-1.png")
    assert response.status_code == 200
    assert response.data.startswith(b"\x89PNG")
    assert client.get(f"/staff/notices/{letter_id}/page-99.png").status_code == 404


def test_generating_again_adds_a_version_and_never_overwrites(
    client: FlaskClient, setting: dict[str, Any]
) -> None:
    sign_in(client, setting["caseworker"])
    first = setting["letter"]
    first_pdf, first_sha = first.pdf, first.sha256
    response = client.post(
        f"/staff/notices/cases/{setting['case'].id}/generate",
        data={"route_key": TIDA.key, "notice_id": str(setting["notice"].id)},
    )
    assert response.status_code == 302
    versions = db.session.scalars(select(Letter).order_by(Letter.version)).all()
    assert [v.version for v in versions] == [1, 2]
    db.session.refresh(versions[0])
    assert versions[0].pdf == first_pdf and versions[0].sha256 == first_sha
    assert response.headers["Location"].endswith(f"/staff/notices/{versions[1].id}")
    versions[0].sha256 = "0" * 64
    with pytest.raises(ValueError, match="immutable"):
        db.session.flush()
    db.session.rollback()


def test_a_tida_notice_without_its_signature_cannot_be_marked_sent(
    client: FlaskClient, setting: dict[str, Any]
) -> None:
    notice: Notice = setting["notice"]
    notice.signature_name = None
    notice.signed_at = None
    db.session.commit()

    with pytest.raises(IncompleteNotice) as refused:
        record_sent(
            db.session,
            notice,
            channel="web_form",
            received_at=utcnow(),
            actor=_actor(setting["caseworker"]),
        )
    assert [m.code for m in refused.value.missing] == ["signature"]
    db.session.rollback()

    sign_in(client, setting["caseworker"])
    received = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"/staff/notices/notices/{notice.id}/sent",
        data={
            "channel": "web_form",
            "received_at": received,
            "letter_id": str(setting["letter"].id),
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "cannot be marked sent yet" in page
    assert "Signature of the person depicted or their authorised representative" in page
    assert f'value="{received}"' in page  # what was entered is kept
    db.session.expire_all()
    assert db.session.get(Notice, notice.id).state is NoticeState.DRAFT  # type: ignore[union-attr]
    assert db.session.scalars(select(Deadline)).all() == []


def test_recording_a_complete_notice_as_sent_starts_the_clock(
    client: FlaskClient, setting: dict[str, Any]
) -> None:
    sign_in(client, setting["caseworker"])
    notice: Notice = setting["notice"]
    letter: Letter = setting["letter"]
    received = (utcnow() - timedelta(minutes=2)).replace(second=0, microsecond=0)
    response = client.post(
        f"/staff/notices/notices/{notice.id}/sent",
        data={
            "channel": "web_form",
            "received_at": received.strftime("%Y-%m-%dT%H:%M"),
            "letter_id": str(letter.id),
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    notice = db.session.get(Notice, notice.id)  # type: ignore[assignment]
    assert notice.state is NoticeState.SENT
    assert notice.received_at == received  # the user's zone is UTC
    case = notice.case
    assert case.status is CaseStatus.AWAITING_PLATFORM
    assert case.first_notice_at == received
    (deadline,) = db.session.scalars(select(Deadline)).all()
    assert deadline.due_at == received + timedelta(hours=48)
    assert case.sort_deadline_at == deadline.due_at
    (event,) = _events("notice.sent")
    assert event.details == {
        "route": TIDA.key,
        "channel": "web_form",
        "deadlines": 1,
        "letter": letter.id,
        "sha256": letter.sha256,
    }
    assert notice.sent_letter_id == letter.id


def test_the_sent_form_offers_now_in_the_users_time_zone(
    client: FlaskClient, setting: dict[str, Any]
) -> None:
    caseworker: User = setting["caseworker"]
    caseworker.timezone = "Pacific/Auckland"  # far from UTC, so a UTC value would show
    db.session.commit()
    sign_in(client, caseworker)
    zone = ZoneInfo("Pacific/Auckland")
    before = datetime.now(zone).strftime("%Y-%m-%dT%H:%M")
    page = client.get(f"/staff/notices/notices/{setting['notice'].id}/sent").get_data(as_text=True)
    after = datetime.now(zone).strftime("%Y-%m-%dT%H:%M")
    shown = re.search(r'name="received_at"[^>]*value="([^"]+)"', page)
    assert shown is not None
    assert before <= shown.group(1) <= after


def test_the_case_screen_leads_to_opening_a_notice(
    client: FlaskClient, setting: dict[str, Any]
) -> None:
    sign_in(client, setting["caseworker"])
    case: Case = setting["case"]
    page = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert f'href="/staff/notices/cases/{case.id}/notices/new"' in page
    assert f'href="/staff/notices/cases/{case.id}"' in page


def test_the_notice_screen_names_whats_missing_and_keeps_input_on_error(
    client: FlaskClient, setting: dict[str, Any]
) -> None:
    sign_in(client, setting["caseworker"])
    notice: Notice = setting["notice"]
    response = client.post(
        f"/staff/notices/notices/{notice.id}",
        data={
            "signature_name": "J" * 201,
            "contact": "cases@safe-harbour.example",
            "capacity": "subject",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Field cannot be longer than 200 characters." in page
    assert "cases@safe-harbour.example" in page

    response = client.post(
        f"/staff/notices/notices/{notice.id}",
        data={"signature_name": "", "contact": "cases@safe-harbour.example", "capacity": "subject"},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Missing before this notice can be sent" in page
    assert "Signature of the person depicted or their authorised representative" in page
    assert "Good-faith statement that the depiction is not consensual" in page


def test_items_outside_the_law_are_flagged_with_the_routes_that_cover_them(
    client: FlaskClient, setting: dict[str, Any]
) -> None:
    case: Case = setting["case"]
    case.items[0].category = ContentCategory.REVEALING_ATTIRE
    db.session.commit()
    sign_in(client, setting["caseworker"])
    page = client.get(f"/staff/notices/notices/{setting['notice'].id}").get_data(as_text=True)
    assert "not covered by 47 USC 223a: left out of the letter" in page
    assert "Intimate image abuse report to Hotline.ie" in page  # an alternative that covers it
    assert "Notice of illegal content (DSA Art.16)" in page  # one that may cover it
    # Only a route of the case's own jurisdictions leads to opening a notice under it.
    assert "route=any.x.policy_report" in page
    assert "route=ie.hotline.iia_report" not in page


def test_opening_a_notice_from_the_web(client: FlaskClient, setting: dict[str, Any]) -> None:
    sign_in(client, setting["caseworker"])
    case: Case = setting["case"]
    response = client.post(
        f"/staff/notices/cases/{case.id}/notices/new", data={"route_key": "eu.dsa.notice"}
    )
    assert response.status_code == 422
    assert "Choose at least one item." in response.get_data(as_text=True)

    response = client.post(
        f"/staff/notices/cases/{case.id}/notices/new",
        data={"route_key": "us.dmca.notice", "item_ids": [case.items[0].id]},
    )
    assert response.status_code == 302
    created = db.session.scalars(select(Notice).where(Notice.route_key == "us.dmca.notice")).one()
    assert [link.item_id for link in created.items] == [case.items[0].id]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "X forwards the full complaint, including your name and contact details" in page


def test_unverified_routes_say_check_before_sending_on_screen(
    client: FlaskClient, setting: dict[str, Any]
) -> None:
    case: Case = setting["case"]
    case.country = "GB"
    draft = create_letter(
        db.session, case=case, route_key="gb.osa.intimate_image_report", actor=SYSTEM
    )
    db.session.commit()
    sign_in(client, setting["lawyer"])
    page = client.get(f"/staff/notices/{draft.id}").get_data(as_text=True)
    assert "Check before sending" in page
    assert "route, citation, deadline, addressee.name" in page
    assert "Draft: this letter lacks" in page


def test_the_ready_list_shows_escalated_cases_and_cases_with_letters(
    client: FlaskClient, setting: dict[str, Any]
) -> None:
    org = setting["org"]
    quiet = factories.case(org)
    escalated = realistic_case(org, TIDA, with_files=False)
    admin = factories.user(org, Role.ADMIN)
    for status in (CaseStatus.TRIAGE, CaseStatus.ACTION, CaseStatus.AWAITING_PLATFORM):
        transition(db.session, escalated, status, _actor(admin))
    transition(db.session, escalated, CaseStatus.ESCALATED, SYSTEM)
    elsewhere = realistic_case(factories.org(), TIDA, with_files=False)
    create_letter(db.session, case=elsewhere, route_key=TIDA.key, actor=SYSTEM)
    db.session.commit()
    sign_in(client, setting["lawyer"])
    page = client.get("/staff/notices/").get_data(as_text=True)
    assert escalated.reference in page and setting["case"].reference in page
    assert page.index(escalated.reference) < page.index(setting["case"].reference)
    assert quiet.reference not in page
    assert elsewhere.reference not in page


def test_the_bundle_holds_decrypted_exhibits_only_for_a_lawyer(
    app: Flask, client: FlaskClient, setting: dict[str, Any], tmp_path: Any
) -> None:
    from casework.notices.bundles import verify_bundle

    case: Case = setting["case"]
    for user, decrypted in ((setting["lawyer"], True), (setting["caseworker"], False)):
        sign_in(client, user)
        response = client.post(f"/staff/notices/cases/{case.id}/bundle")
        assert response.status_code == 200
        assert response.mimetype == "application/zip"
        path = tmp_path / f"{user.id}.zip"
        path.write_bytes(response.data)
        assert verify_bundle(path).ok
        names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
        originals = [n for n in names if n.startswith("exhibits/original/")]
        blurred = [n for n in names if n.startswith("exhibits/blurred/")]
        assert len(blurred) == len(case.items)
        assert len(originals) == (len(case.items) if decrypted else 0)
    events = _events("bundle.exported")
    assert [e.details["decrypted"] for e in events] == [True, False]


def test_letters_previews_bundles_and_evidence_images_are_never_stored_by_a_cache(
    app: Flask, client: FlaskClient, setting: dict[str, Any]
) -> None:
    """`no-cache` still lets a browser or proxy keep the file on disk; case files need no-store."""
    case, letter = setting["case"], setting["letter"]
    image = factories.evidence(case, item=case.items[0])
    db.session.commit()
    sign_in(client, setting["lawyer"])
    responses = {
        method + " " + url: client.open(url, method=method)
        for method, url in _urls(app, setting)
        if method == "GET"
    }
    responses["bundle"] = client.post(f"/staff/notices/cases/{case.id}/bundle")
    for variant in ("blurred", "clear"):
        url = f"/staff/cases/{case.id}/evidence/{image.id}/{variant}.jpg"
        responses[url] = client.get(url)
    served = {name: r for name, r in responses.items() if r.status_code == 200}
    files = {name: r.mimetype for name, r in served.items() if r.mimetype != "text/html"}
    assert set(files.values()) == {"application/pdf", "image/png", "application/zip", "image/jpeg"}
    assert any(f"/{letter.id}/page-1.png" in name for name in files)
    for name, response in served.items():
        directives = {d.strip() for d in response.headers["Cache-Control"].split(",")}
        assert {"no-store", "private"} <= directives, name
        assert "no-cache" not in directives and "public" not in directives, name


def test_the_complaint_screen_asks_for_its_particulars_and_saves_them(
    client: FlaskClient, setting: dict[str, Any]
) -> None:
    from casework.notices.services import create_notice

    route = default_registry().route("fr.plainte.procureur")
    caseworker: User = setting["caseworker"]
    case = realistic_case(setting["org"], route)
    notice = create_notice(
        db.session, case, route.key, [item.id for item in case.items], _actor(caseworker)
    )
    db.session.commit()
    sign_in(client, caseworker)
    page = client.get(f"/staff/notices/notices/{notice.id}").get_data(as_text=True)
    for label in (
        "Identity of the complainant (names, date and place of birth, address)",
        "Dates and places of the facts",
        "The harm the person suffered",
        "For a minor: the parents, as legal representatives",
    ):
        assert label in page, label
    response = client.post(
        f"/staff/notices/notices/{notice.id}",
        data={
            "signature_name": "Jane Doe",
            "capacity": "subject",
            "contact": "cases@safe-harbour.example",
            "addressee_name": "Procureur de la République",
            "complainant_identity": "Jane Doe, née le 4 mai 1994 à Lyon",
            "facts_dates_places": "Publié sur X le 1er février 2026.",
            "harm_suffered": "  ",
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    db.session.refresh(notice)
    assert notice.particulars == {
        "complainant_identity": "Jane Doe, née le 4 mai 1994 à Lyon",
        "facts_dates_places": "Publié sur X le 1er février 2026.",
    }
    assert "Missing before this notice can be sent" in page
    assert "The harm the person suffered" in page
