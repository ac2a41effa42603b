"""Importing a list of links into a case: preview, confirm, links to other cases, the job."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq import Queue
from sqlalchemy import select

from casework.accounts.models import Role
from casework.audit.models import AuditEvent
from casework.cases import link_import
from casework.cases.models import CaseLink, Item, LinkReason
from casework.extensions import db
from casework.jobs import QUEUE_DEFAULT
from tests import factories
from tests.factories import preview_token, status_id_of
from tests.integration.test_staff_french import NBSP, choose_language
from tests.worker_process import run_worker


@pytest.fixture
def desk(app: Flask, client: Any) -> dict[str, Any]:
    org = factories.org()
    me = factories.user(org, Role.CASEWORKER, password=None, name="Casey Worker")
    known = factories.post_url("known_acct")
    case = factories.case(org, links=[known])
    other_url = factories.post_url("elsewhere_acct")
    other = factories.case(org, links=[other_url])
    db.session.commit()
    factories.sign_in(client, me)
    return {
        "org": org,
        "me": me,
        "case": case,
        "known": known,
        "other": other,
        "other_url": other_url,
        "client": client,
    }


def _status_ids(case_id: int) -> set[int]:
    return set(db.session.scalars(select(Item.status_id).where(Item.case_id == case_id)))


def test_a_pasted_list_is_previewed_then_written_with_links_proposed(
    desk: dict[str, Any],
) -> None:
    client, case, other = desk["client"], desk["case"], desk["other"]
    new = [factories.post_url("new_acct") for _ in range(3)]
    text = "\n".join(
        [
            new[0],
            "not a link",
            new[1],
            new[0],
            desk["known"],
            desk["other_url"],
            "",
            new[2],
            "https://x.com/jack",
        ]
    )
    detail = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert f"/staff/cases/{case.id}/import" in detail and "Import a list of links" in detail

    response = client.post(f"/staff/cases/{case.id}/import", data={"links": text})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "3 new posts" in page
    assert "1 post already in another case" in page and other.reference in page
    assert "1 post already in this case" in page
    assert "Line 4 is the same post as line 1." in page
    assert "Line 2 (<code>not a link</code>)" in page
    assert "Line 9" in page and "a link to a profile, not to a post" in page
    assert _status_ids(case.id) == {status_id_of(desk["known"])}  # nothing written

    token = preview_token(page)
    done = client.post(f"/staff/cases/{case.id}/import/confirm", data={"preview": token})
    assert done.status_code == 302
    ids = _status_ids(case.id)
    assert {status_id_of(url) for url in new} <= ids
    assert status_id_of(desk["other_url"]) not in ids  # not copied silently
    links = db.session.scalars(select(CaseLink)).all()
    assert any(
        link.reason is LinkReason.STATUS_ID
        and {link.case_a_id, link.case_b_id}
        == {
            case.id,
            other.id,
        }
        for link in links
    )
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "case.links_imported")
    ).one()
    assert event.actor_id == desk["me"].id
    assert event.details == {"posts": 4, "added": 3, "linked_cases": 1}
    timeline = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert "A link to 1 other case was proposed." in timeline  # the flash after confirming
    assert "A list of links was imported: 3 posts added." in timeline


def test_posts_in_other_cases_are_added_only_when_asked(desk: dict[str, Any]) -> None:
    client, case = desk["client"], desk["case"]
    page = client.post(
        f"/staff/cases/{case.id}/import", data={"links": desk["other_url"]}
    ).get_data(as_text=True)
    client.post(
        f"/staff/cases/{case.id}/import/confirm",
        data={"preview": preview_token(page), "include_elsewhere": "y"},
    )
    assert status_id_of(desk["other_url"]) in _status_ids(case.id)


def test_a_csv_file_is_read_by_its_link_column(desk: dict[str, Any]) -> None:
    client, case = desk["client"], desk["case"]
    first, second = factories.post_url("a"), factories.post_url("b")
    csv_text = f'name,link,note\nAlice,{first},"seen, twice"\nBob,garbage,x\n,,\nCarl,,{second}\n'
    response = client.post(
        f"/staff/cases/{case.id}/import",
        data={"upload": (io.BytesIO(csv_text.encode()), "partner.csv")},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 new posts" in page
    assert "Line 3 (<code>garbage</code>)" in page
    assert "Line 1" not in page  # the header row


def test_bad_files_and_long_lists_are_refused_next_to_the_field(desk: dict[str, Any]) -> None:
    client, case = desk["client"], desk["case"]
    url = f"/staff/cases/{case.id}/import"
    cases = [
        ((io.BytesIO(b"%PDF-1.4"), "list.pdf"), "Upload a .csv or .txt file."),
        ((io.BytesIO(b"x" * (link_import.MAX_IMPORT_BYTES + 10)), "big.txt"), "too large"),
        ((io.BytesIO(b"\xff\xfe\x00a"), "list.txt"), "not UTF-8 text"),
    ]
    for upload, message in cases:
        response = client.post(url, data={"upload": upload}, content_type="multipart/form-data")
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    many = "\n".join(factories.post_url("m") for _ in range(1001))
    response = client.post(url, data={"links": many})
    assert response.status_code == 400
    assert "A list can hold up to 1000 links." in response.get_data(as_text=True)
    assert _status_ids(case.id) == {status_id_of(desk["known"])}


def test_a_preview_is_only_good_for_its_case_and_its_user(desk: dict[str, Any], app: Flask) -> None:
    client, case, other = desk["client"], desk["case"], desk["other"]
    link = factories.post_url("fresh")
    page = client.post(f"/staff/cases/{case.id}/import", data={"links": link}).get_data(
        as_text=True
    )
    token = preview_token(page)
    # Carried to another case: refused, nothing written there.
    client.post(f"/staff/cases/{other.id}/import/confirm", data={"preview": token})
    assert status_id_of(link) not in _status_ids(other.id)
    # Another caseworker of the organisation cannot use it either.
    colleague = factories.user(desk["org"], Role.CASEWORKER, password=None)
    db.session.commit()
    other_client = app.test_client()
    factories.sign_in(other_client, colleague)
    response = other_client.post(f"/staff/cases/{case.id}/import/confirm", data={"preview": token})
    assert response.status_code == 302
    assert status_id_of(link) not in _status_ids(case.id)
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    client.post(f"/staff/cases/{case.id}/import/confirm", data={"preview": tampered})
    assert status_id_of(link) not in _status_ids(case.id)


def test_other_roles_and_organisations_cannot_import(desk: dict[str, Any], app: Flask) -> None:
    case = desk["case"]
    lawyer = factories.user(desk["org"], Role.LAWYER, password=None)
    outsider = factories.user(factories.org(), Role.CASEWORKER, password=None)
    db.session.commit()
    for user, status in ((lawyer, 403), (outsider, 404)):
        client = app.test_client()
        factories.sign_in(client, user)
        assert client.get(f"/staff/cases/{case.id}/import").status_code == status
        assert (
            client.post(
                f"/staff/cases/{case.id}/import", data={"links": factories.post_url()}
            ).status_code
            == status
        )


def _big_list(count: int) -> str:
    return "\n".join(factories.post_url("bulk") for _ in range(count))


def test_a_long_list_runs_as_a_job_in_sync_mode(
    desk: dict[str, Any], jobs_in_the_request: None
) -> None:
    client, case = desk["client"], desk["case"]
    page = client.post(f"/staff/cases/{case.id}/import", data={"links": _big_list(1000)}).get_data(
        as_text=True
    )
    assert "imported in the background" in page
    response = client.post(
        f"/staff/cases/{case.id}/import/confirm", data={"preview": preview_token(page)}
    )
    assert response.status_code == 302
    assert len(_status_ids(case.id)) == 1001
    batches = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "case.items_added")
    ).all()
    assert len(batches) == 10 and all(e.actor_id == desk["me"].id for e in batches)


@pytest.mark.redis
def test_a_long_list_goes_through_a_real_worker_with_progress(
    desk: dict[str, Any], app: Flask, redis: Redis, tmp_path: Path
) -> None:
    client, case = desk["client"], desk["case"]
    Queue(QUEUE_DEFAULT, connection=redis).empty()
    page = client.post(f"/staff/cases/{case.id}/import", data={"links": _big_list(230)}).get_data(
        as_text=True
    )
    response = client.post(
        f"/staff/cases/{case.id}/import/confirm", data={"preview": preview_token(page)}
    )
    assert response.status_code == 302
    progress_url = response.headers["Location"]
    assert f"/staff/cases/{case.id}/import/" in progress_url
    waiting = client.get(progress_url).get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="3">' in waiting
    assert "The import is waiting to start." in waiting
    assert len(_status_ids(case.id)) == 1

    run_worker(app, "--queues", QUEUE_DEFAULT)
    db.session.expire_all()
    assert len(_status_ids(case.id)) == 231
    finished = client.get(progress_url).get_data(as_text=True)
    assert "The import is finished: 230 posts added." in finished
    assert "http-equiv" not in finished
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "case.links_imported")
    ).one()
    assert event.actor_id == desk["me"].id

    # The run is shown only to who started it, and only under its case.
    colleague = factories.user(desk["org"], Role.CASEWORKER, password=None)
    db.session.commit()
    other_client = app.test_client()
    factories.sign_in(other_client, colleague)
    assert other_client.get(progress_url).status_code == 404
    assert (
        client.get(progress_url.replace(f"/{case.id}/", f"/{desk['other'].id}/")).status_code == 404
    )


def test_the_job_does_nothing_for_a_user_of_another_organisation(desk: dict[str, Any]) -> None:
    outsider = factories.user(factories.org(), Role.CASEWORKER)
    db.session.commit()
    added = link_import.import_links_job(
        "run", desk["case"].id, outsider.id, [factories.post_url("z")], [], False
    )
    assert added == 0 and len(_status_ids(desk["case"].id)) == 1


def test_the_preview_is_in_french_when_french_is_chosen(desk: dict[str, Any]) -> None:
    client, case = desk["client"], desk["case"]
    choose_language(client, "fr")
    links = "\n".join([factories.post_url("fr_acct"), "pas un lien", desk["other_url"]])
    page = client.post(f"/staff/cases/{case.id}/import", data={"links": links}).get_data(
        as_text=True
    )
    assert "1 nouvelle publication" in page
    assert "1 publication déjà présente dans un autre dossier" in page
    assert "Ligne 2" in page and "Confirmer l’import" in page
    assert f"dans ce dossier{NBSP}: un rapprochement" in page
    done = client.post(
        f"/staff/cases/{case.id}/import/confirm", data={"preview": preview_token(page)}
    )
    assert done.status_code == 302
    shown = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert "Un rapprochement avec 1 autre dossier a été proposé." in shown
    assert f"Une liste de liens a été importée{NBSP}: 1 publication ajoutée." in shown


def test_the_import_forms_refuse_a_post_without_the_sessionspreview_token(
    desk: dict[str, Any], app: Flask
) -> None:
    client, case = desk["client"], desk["case"]
    link = factories.post_url("csrf")
    page = client.post(f"/staff/cases/{case.id}/import", data={"links": link}).get_data(
        as_text=True
    )
    token = preview_token(page)
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(f"/staff/cases/{case.id}/import", data={"links": link}).status_code == 400
    confirm = client.post(f"/staff/cases/{case.id}/import/confirm", data={"preview": token})
    assert confirm.status_code == 400
    assert status_id_of(link) not in _status_ids(case.id)


@pytest.mark.redis
def test_a_run_that_could_not_write_says_so_and_stops_refreshing(
    desk: dict[str, Any], redis: Redis
) -> None:
    client, case = desk["client"], desk["case"]
    outsider = factories.user(factories.org(), Role.CASEWORKER)
    db.session.commit()
    link_import._set_progress("r1", case=case.id, user=desk["me"].id, state="queued", total=1)
    link_import.import_links_job("r1", case.id, outsider.id, [factories.post_url("y")], [], False)
    page = client.get(f"/staff/cases/{case.id}/import/r1").get_data(as_text=True)
    assert "The import stopped before the end: 0 posts were added." in page
    assert "http-equiv" not in page
