"""Importing a list of links into a new case: the list previewed, the person's questions
answered as on assisted intake, the case opened once, in the caseworker's name."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq import Queue
from sqlalchemy import select

from casework.accounts.models import Role
from casework.actors import ActorKind
from casework.audit.models import AuditEvent
from casework.cases.models import Case, CaseLink, Item, LinkReason, MinorStatus, Priority
from casework.extensions import db
from casework.jobs import QUEUE_DEFAULT
from tests import factories
from tests.factories import preview_token, status_id_of
from tests.intake_support import person_answers
from tests.integration.test_staff_french import NBSP, choose_language
from tests.worker_process import run_worker

pytestmark = pytest.mark.redis


@pytest.fixture
def desk(app: Flask, client: Any, redis: Redis) -> dict[str, Any]:
    org = factories.org()
    me = factories.user(org, Role.CASEWORKER, password=None, name="Casey Worker")
    other_url = factories.post_url("elsewhere_acct")
    other = factories.case(org, links=[other_url])
    db.session.commit()
    factories.sign_in(client, me)
    return {"org": org, "me": me, "other": other, "other_url": other_url, "client": client}


def _cases_filed_by(user_id: int) -> list[Case]:
    return list(db.session.scalars(select(Case).where(Case.filed_by_id == user_id)))


def test_a_list_opens_a_new_case_with_the_persons_answers(desk: dict[str, Any]) -> None:
    client, me, other = desk["client"], desk["me"], desk["other"]
    new = [factories.post_url("new_acct") for _ in range(3)]
    text = "\n".join([new[0], "not a link", new[1], new[0], desk["other_url"], new[2]])
    worklist = client.get("/staff/cases/").get_data(as_text=True)
    assert "/staff/cases/new/import" in worklist

    response = client.post("/staff/cases/new/import", data={"links": text})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "3 new posts" in page
    assert "1 post already in another case" in page and other.reference in page
    assert "Line 4 is the same post as line 1." in page
    assert "Line 2 (<code>not a link</code>)" in page
    assert "Who asked us to file this case?" in page  # the person's questions follow
    assert _cases_filed_by(me.id) == []  # nothing written yet

    opened = client.post(
        "/staff/cases/new/import/confirm", data={**person_answers(), "preview": preview_token(page)}
    )
    assert opened.status_code == 200
    html = opened.get_data(as_text=True)
    (case,) = _cases_filed_by(me.id)
    assert case.reference in html and "Access code" in html
    assert case.organisation_id == desk["org"].id and case.country == "FR"
    assert case.priority == Priority.NORMAL and case.consent_at is not None
    assert {item.status_id for item in case.items} == {status_id_of(url) for url in new}
    # The post already in another case is not copied: that case is proposed as a link.
    assert status_id_of(desk["other_url"]) not in {item.status_id for item in case.items}
    link = db.session.scalars(select(CaseLink)).one()
    assert link.reason is LinkReason.STATUS_ID
    assert {link.case_a_id, link.case_b_id} == {case.id, other.id}
    assert "3 posts added." in html and "A link to 1 other case was proposed." in html
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)).all()
    assert {"case.opened", "case.links_imported"} <= {e.action for e in events}
    assert all(e.actor_type == ActorKind.USER.value and e.actor_id == me.id for e in events)
    imported = next(e for e in events if e.action == "case.links_imported")
    assert imported.details == {"posts": 4, "added": 3, "linked_cases": 1}


def test_posts_in_other_cases_are_added_only_when_asked(desk: dict[str, Any]) -> None:
    client, me, other = desk["client"], desk["me"], desk["other"]
    page = client.post("/staff/cases/new/import", data={"links": desk["other_url"]}).get_data(
        as_text=True
    )
    token = preview_token(page)
    refused = client.post(
        "/staff/cases/new/import/confirm", data={**person_answers(), "preview": token}
    )
    assert refused.status_code == 400
    assert "Every post of this list is already in another case." in refused.get_data(as_text=True)
    assert _cases_filed_by(me.id) == []
    # The refusal did not use the list up: ticking the box opens the case with the post.
    client.post(
        "/staff/cases/new/import/confirm",
        data={**person_answers(), "preview": token, "include_elsewhere": "y"},
    )
    (case,) = _cases_filed_by(me.id)
    assert [item.status_id for item in case.items] == [status_id_of(desk["other_url"])]
    assert any(  # the two cases are linked
        link.reason is LinkReason.STATUS_ID
        and {link.case_a_id, link.case_b_id} == {case.id, other.id}
        for link in db.session.scalars(select(CaseLink))
    )


def test_wrong_answers_are_shown_beside_their_fields_and_nothing_is_written(
    desk: dict[str, Any],
) -> None:
    client, me = desk["client"], desk["me"]
    url = factories.post_url("fresh")
    page = client.post("/staff/cases/new/import", data={"links": url}).get_data(as_text=True)
    token = preview_token(page)
    answers = person_answers(filer="representative", consent=None, contact="email", email="")
    response = client.post("/staff/cases/new/import/confirm", data={**answers, "preview": token})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Choose their relationship to the person." in html
    assert "Tick the box to confirm." in html
    assert re.search(r"<input checked[^>]*value=\"email\"", html)  # what was chosen is kept
    assert url in html and preview_token(html) == token  # the list is still there
    assert _cases_filed_by(me.id) == []
    # Corrected, the same list opens the case.
    fixed = person_answers(filer="representative", relationship="parent_guardian", authority="y")
    done = client.post("/staff/cases/new/import/confirm", data={**fixed, "preview": token})
    assert done.status_code == 200
    (case,) = _cases_filed_by(me.id)
    assert case.filer_relationship == "parent_guardian" and case.has_authority


def test_a_possible_minors_case_is_urgent(desk: dict[str, Any]) -> None:
    client, me = desk["client"], desk["me"]
    page = client.post("/staff/cases/new/import", data={"links": factories.post_url("m")}).get_data(
        as_text=True
    )
    done = client.post(
        "/staff/cases/new/import/confirm",
        data={**person_answers(minor="unsure"), "preview": preview_token(page)},
    )
    assert "The person may be under 18" in done.get_data(as_text=True)
    (case,) = _cases_filed_by(me.id)
    assert case.minor is MinorStatus.UNSURE and case.priority == Priority.URGENT


def test_an_uploaded_csv_and_bad_lists_are_read_as_for_an_existing_case(
    desk: dict[str, Any],
) -> None:
    client = desk["client"]
    url = factories.post_url("csv_acct")
    csv = f"name,link\nfirst,{url}\nsecond,nothing\n".encode()
    page = client.post(
        "/staff/cases/new/import",
        data={"links": "", "upload": (io.BytesIO(csv), "list.csv")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "1 new post" in page and "Line 3" in page
    both = client.post(
        "/staff/cases/new/import",
        data={"links": url, "upload": (io.BytesIO(csv), "list.csv")},
        content_type="multipart/form-data",
    )
    assert both.status_code == 400
    assert "Paste the links or upload a file, not both." in both.get_data(as_text=True)
    long = "\n".join(factories.post_url("x") for _ in range(1001))
    too_long = client.post("/staff/cases/new/import", data={"links": long})
    assert too_long.status_code == 400
    assert "A list can hold up to 1000 links." in too_long.get_data(as_text=True)
    assert long.split("\n", 1)[0] in too_long.get_data(as_text=True)  # what was pasted is kept


def test_a_confirmation_opens_one_case_only(desk: dict[str, Any]) -> None:
    client, me = desk["client"], desk["me"]
    page = client.post(
        "/staff/cases/new/import", data={"links": factories.post_url("once")}
    ).get_data(as_text=True)
    data = {**person_answers(), "preview": preview_token(page)}
    assert client.post("/staff/cases/new/import/confirm", data=data).status_code == 200
    replayed = client.post("/staff/cases/new/import/confirm", data=data)
    assert replayed.status_code == 302
    assert len(_cases_filed_by(me.id)) == 1
    again = client.get(replayed.headers["Location"]).get_data(as_text=True)
    assert "This list has already opened a case" in again


def test_a_preview_is_only_good_for_its_caseworker_and_a_new_case(
    desk: dict[str, Any], app: Flask
) -> None:
    client, me, other = desk["client"], desk["me"], desk["other"]
    url = factories.post_url("mine")
    page = client.post("/staff/cases/new/import", data={"links": url}).get_data(as_text=True)
    token = preview_token(page)
    colleague = factories.user(desk["org"], Role.CASEWORKER, password=None)
    outsider = factories.user(factories.org(), Role.CASEWORKER, password=None)
    db.session.commit()
    for user in (colleague, outsider):
        thief = app.test_client()
        factories.sign_in(thief, user)
        stolen = thief.post(
            "/staff/cases/new/import/confirm", data={**person_answers(), "preview": token}
        )
        assert stolen.status_code == 302
        assert _cases_filed_by(user.id) == []
    # A new case's preview does not confirm into an existing case, nor the reverse.
    client.post(f"/staff/cases/{other.id}/import/confirm", data={"preview": token})
    assert status_id_of(url) not in {item.status_id for item in other.items}
    case_page = client.post(f"/staff/cases/{other.id}/import", data={"links": url}).get_data(
        as_text=True
    )
    client.post(
        "/staff/cases/new/import/confirm",
        data={**person_answers(), "preview": preview_token(case_page)},
    )
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    client.post("/staff/cases/new/import/confirm", data={**person_answers(), "preview": tampered})
    assert _cases_filed_by(me.id) == []
    assert not db.session.scalars(select(Item).where(Item.status_id == status_id_of(url))).all()


def test_another_organisations_cases_are_neither_shown_nor_linked(desk: dict[str, Any]) -> None:
    client, me = desk["client"], desk["me"]
    theirs_url = factories.post_url("theirs")
    theirs = factories.case(factories.org(), links=[theirs_url])
    db.session.commit()
    page = client.post("/staff/cases/new/import", data={"links": theirs_url}).get_data(as_text=True)
    assert "1 new post" in page and theirs.reference not in page
    client.post(
        "/staff/cases/new/import/confirm", data={**person_answers(), "preview": preview_token(page)}
    )
    (case,) = _cases_filed_by(me.id)
    assert [item.status_id for item in case.items] == [status_id_of(theirs_url)]
    assert db.session.scalars(select(CaseLink)).all() == []


def test_lawyers_and_anonymous_visitors_cannot_import(desk: dict[str, Any], app: Flask) -> None:
    lawyer = factories.user(desk["org"], Role.LAWYER, password=None)
    db.session.commit()
    as_lawyer = app.test_client()
    factories.sign_in(as_lawyer, lawyer)
    assert as_lawyer.get("/staff/cases/new/import").status_code == 403
    assert (
        as_lawyer.post("/staff/cases/new/import/confirm", data=person_answers()).status_code == 403
    )
    anonymous = app.test_client()
    assert anonymous.get("/staff/cases/new/import").status_code == 302


def _big_list(count: int) -> str:
    return "\n".join(factories.post_url("bulk") for _ in range(count))


def test_a_long_list_opens_the_case_then_the_job_writes_the_rest(
    desk: dict[str, Any], app: Flask, redis: Redis, tmp_path: Path
) -> None:
    client, me = desk["client"], desk["me"]
    Queue(QUEUE_DEFAULT, connection=redis).empty()
    text = _big_list(230) + "\n" + desk["other_url"]
    page = client.post("/staff/cases/new/import", data={"links": text}).get_data(as_text=True)
    assert "imported in the background" in page
    opened = client.post(
        "/staff/cases/new/import/confirm", data={**person_answers(), "preview": preview_token(page)}
    )
    html = opened.get_data(as_text=True)
    (case,) = _cases_filed_by(me.id)
    assert len(case.items) == 100  # the first batch, with the case
    progress = re.search(r'href="(/staff/cases/\d+/import/[^"]+)"', html)
    assert progress and f"/staff/cases/{case.id}/import/" in progress.group(1)
    assert "The import is waiting to start." in client.get(progress.group(1)).get_data(as_text=True)

    run_worker(app, "--queues", QUEUE_DEFAULT)
    db.session.expire_all()
    assert len(case.items) == 230
    assert status_id_of(desk["other_url"]) not in {item.status_id for item in case.items}
    assert db.session.scalars(select(CaseLink)).one()
    finished = client.get(progress.group(1)).get_data(as_text=True)
    assert "The import is finished: 130 posts added." in finished
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)).all()
    assert {"case.opened", "case.items_added", "case.links_imported"} <= {e.action for e in events}
    assert all(e.actor_id == me.id for e in events)
    # Another caseworker does not see the run.
    colleague = factories.user(desk["org"], Role.CASEWORKER, password=None)
    db.session.commit()
    other_client = app.test_client()
    factories.sign_in(other_client, colleague)
    assert other_client.get(progress.group(1)).status_code == 404


def test_a_long_list_in_sync_mode_is_written_whole_by_the_job(
    desk: dict[str, Any], jobs_in_the_request: None
) -> None:
    client, me = desk["client"], desk["me"]
    page = client.post("/staff/cases/new/import", data={"links": _big_list(250)}).get_data(
        as_text=True
    )
    done = client.post(
        "/staff/cases/new/import/confirm", data={**person_answers(), "preview": preview_token(page)}
    )
    assert "The list was imported." in done.get_data(as_text=True)
    (case,) = _cases_filed_by(me.id)
    assert len(case.items) == 250
    batches = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.case_id == case.id, AuditEvent.action == "case.items_added"
        )
    ).all()
    assert len(batches) == 2 and all(e.actor_id == me.id for e in batches)


def test_the_new_case_import_forms_refuse_a_post_without_the_sessionspreview_token(
    desk: dict[str, Any], app: Flask
) -> None:
    client, me = desk["client"], desk["me"]
    page = client.post(
        "/staff/cases/new/import", data={"links": factories.post_url("csrf")}
    ).get_data(as_text=True)
    token = preview_token(page)
    app.config["WTF_CSRF_ENABLED"] = True
    confirm = client.post(
        "/staff/cases/new/import/confirm", data={**person_answers(), "preview": token}
    )
    assert confirm.status_code == 400
    assert _cases_filed_by(me.id) == []


def test_the_preview_and_the_questions_are_in_french_when_french_is_chosen(
    desk: dict[str, Any],
) -> None:
    client = desk["client"]
    choose_language(client, "fr")
    links = "\n".join([factories.post_url("fr_acct"), "pas un lien", desk["other_url"]])
    page = client.post("/staff/cases/new/import", data={"links": links}).get_data(as_text=True)
    assert "1 nouvelle publication" in page and "Ligne 2" in page
    assert f"dans le nouveau dossier{NBSP}: un rapprochement" in page
    assert "Qui nous a demandé d’ouvrir ce dossier" in page and "Ouvrir le dossier" in page
    done = client.post(
        "/staff/cases/new/import/confirm", data={**person_answers(), "preview": preview_token(page)}
    ).get_data(as_text=True)
    assert "1 publication ajoutée." in done
    assert "Un rapprochement avec 1 autre dossier a été proposé." in done
