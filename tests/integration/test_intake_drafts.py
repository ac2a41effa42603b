"""Drafts in the database: encrypted, bound to their id, shared by every host, purged by a job."""

from __future__ import annotations

import io
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import func, select, update

from casework.accounts.models import Organisation
from casework.cases.models import Case
from casework.evidence.crypto import EvidenceDecryptError
from casework.evidence.images import sanitise_image
from casework.evidence.models import EvidenceFile
from casework.evidence.xlinks import parse_x_link
from casework.extensions import db
from casework.intake.drafts import CLAIM_LEASE, Draft, DraftStore, row_key, valid_draft_id
from casework.intake.jobs import purge_expired_drafts_job
from casework.intake.models import StoredDraft, StoredDraftScreenshot
from casework.intake.services import draft_store
from casework.intake.views import DRAFT_KEY
from casework.orm import utcnow
from tests import factories
from tests.intake_support import (
    IMAGE_SIGNATURES,
    Answers,
    age_out_drafts,
    assert_moves_on,
    draft_part_names,
    draft_parts,
    fill_report,
    filled_report,
    photo,
    submit,
)
from tests.waiting import wait_until
from tests.worker_process import start_worker, stop_worker

DRAFTS = StoredDraft.__table__
SCREENSHOTS = StoredDraftScreenshot.__table__


@pytest.fixture
def store(app: Flask) -> DraftStore:
    return draft_store(app.config)


def _count(table: Any) -> int:
    with db.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def _tamper(table: Any, column: str, change: Any) -> None:
    """Change every row's ciphertext in place, as someone with write access to the table."""
    with db.engine.begin() as connection:
        for blob in connection.execute(select(table.c[column])).scalars().all():
            connection.execute(
                update(table).where(table.c[column] == blob).values({column: change(bytes(blob))})
            )


def test_answers_and_screenshots_round_trip_and_are_ciphertext_in_the_rows(
    store: DraftStore,
) -> None:
    draft = store.new()
    draft.answers["where"] = {"email": "secret-person@example.org"}
    draft.posts = [parse_x_link("https://x.com/a/status/2008000000000000001")]
    image = sanitise_image(photo(1), max_bytes=1_000_000)
    assert store.add_screenshot(draft, image, "s.jpg")
    assert not store.add_screenshot(draft, image, "again.jpg")
    store.save(draft)

    loaded = store.load(draft.id)
    assert loaded is not None
    assert loaded.answers == draft.answers
    assert loaded.posts == draft.posts
    assert store.read_screenshot(loaded, image.sha256) == image.data
    parts = draft_parts()
    assert [name for name, _ in parts] == ["answers", "screenshot"]
    for _, raw in parts:
        assert raw.startswith(b"CWE1")
        assert b"secret-person" not in raw and b"x.com" not in raw
        assert not any(sig in raw for sig in IMAGE_SIGNATURES[:2])
    # The tables hold only the id's SHA-256: a row never gives a usable draft id.
    with db.engine.connect() as connection:
        keys = connection.execute(select(DRAFTS.c.key)).scalars().all()
    assert keys == [row_key(draft.id)] and draft.id not in keys[0]


def test_answers_moved_into_another_draft_do_not_decrypt(store: DraftStore) -> None:
    first, second = store.new(), store.new()
    with db.engine.begin() as connection:
        stolen = connection.scalar(
            select(DRAFTS.c.answers).where(DRAFTS.c.key == row_key(first.id))
        )
        connection.execute(
            update(DRAFTS).where(DRAFTS.c.key == row_key(second.id)).values(answers=stolen)
        )
    assert store.load(second.id) is None
    assert store.load(first.id) is not None
    assert _count(DRAFTS) == 1  # the unreadable draft is deleted, the other kept


def test_a_tampered_ciphertext_row_is_refused(store: DraftStore) -> None:
    draft = store.new()
    image = sanitise_image(photo(2), max_bytes=1_000_000)
    store.add_screenshot(draft, image, "s.jpg")
    store.save(draft)

    def flip_last_byte(blob: bytes) -> bytes:
        return blob[:-1] + bytes([blob[-1] ^ 1])

    _tamper(SCREENSHOTS, "data", flip_last_byte)
    with pytest.raises(EvidenceDecryptError):
        store.read_screenshot(draft, image.sha256)
    _tamper(DRAFTS, "answers", flip_last_byte)
    assert store.load(draft.id) is None
    # Refused and gone, its screenshots with it.
    assert _count(DRAFTS) == 0 and _count(SCREENSHOTS) == 0


def test_a_screenshot_moved_into_another_draft_does_not_decrypt(store: DraftStore) -> None:
    first, second = store.new(), store.new()
    image = sanitise_image(photo(3), max_bytes=1_000_000)
    store.add_screenshot(first, image, "s.jpg")
    store.save(first)
    with db.engine.begin() as connection:
        connection.execute(
            update(SCREENSHOTS)
            .where(SCREENSHOTS.c.draft_key == row_key(first.id))
            .values(draft_key=row_key(second.id))
        )
    with pytest.raises(EvidenceDecryptError):
        store.read_screenshot(second, image.sha256)


def test_malformed_and_unknown_ids_load_nothing(store: DraftStore) -> None:
    for draft_id in (None, "", "../../etc", "a" * 31, "a" * 32, 42):
        assert store.load(draft_id) is None
    draft = store.new()
    assert valid_draft_id(draft.id)
    assert store.load(draft.id[:-1] + ("A" if draft.id[-1] != "A" else "B")) is None


def test_a_drafts_screenshots_are_deleted_with_it(store: DraftStore) -> None:
    kept, gone = store.new(), store.new()
    for draft, seed in ((kept, 4), (gone, 5)):
        store.add_screenshot(draft, sanitise_image(photo(seed), max_bytes=1_000_000), "s.jpg")
        store.save(draft)
    assert _count(SCREENSHOTS) == 2
    store.delete(gone.id)
    with db.engine.connect() as connection:
        left = connection.execute(select(SCREENSHOTS.c.draft_key)).scalars().all()
    assert left == [row_key(kept.id)]


def test_expired_drafts_are_refused_on_sight_and_purged_by_the_job(
    app: Flask, store: DraftStore
) -> None:
    old, older, fresh = store.new(), store.new(), store.new()
    for draft, seed in ((older, 6), (fresh, 7)):
        store.add_screenshot(draft, sanitise_image(photo(seed), max_bytes=1_000_000), "s.jpg")
        store.save(draft)
    seven_hours = timedelta(hours=7)
    for draft in (old, older):
        store.save(draft, now=utcnow() - seven_hours)
    assert store.load(old.id) is None  # expired on sight
    # Starting a draft sweeps nothing: the purge is the worker's.
    store.new()
    assert _count(DRAFTS) == 3

    assert purge_expired_drafts_job() == 1
    assert store.load(fresh.id) is not None
    with db.engine.connect() as connection:
        shots = connection.execute(select(SCREENSHOTS.c.draft_key)).scalars().all()
    assert shots == [row_key(fresh.id)]  # the purged draft's screenshot went with it
    assert purge_expired_drafts_job() == 0


@pytest.mark.redis
def test_the_worker_purges_expired_drafts(app: Flask, redis: Redis, store: DraftStore) -> None:
    from worker import DRAFT_PURGE_CRON_NAME

    expired, fresh = store.new(), store.new()
    store.add_screenshot(expired, sanitise_image(photo(8), max_bytes=1_000_000), "s.jpg")
    store.save(expired, now=utcnow() - timedelta(hours=7))
    # Hourly, and once when workers start: the per-period lock makes it once per hour.
    worker = start_worker(app, "--sweep-interval", "2")
    try:
        wait_until(lambda: _count(DRAFTS) == 1, 60, "the draft purge")
    finally:
        output = stop_worker(worker)
    assert store.load(fresh.id) is not None, output
    assert _count(SCREENSHOTS) == 0, output
    from rq.cron import get_cron_job_ids

    assert len(get_cron_job_ids(DRAFT_PURGE_CRON_NAME, redis)) == 1


def _move_cookie(source: FlaskClient, target: FlaskClient) -> None:
    cookie = source.get_cookie("session")
    assert cookie is not None
    target.set_cookie("session", cookie.value)


def test_a_draft_begun_on_one_host_is_continued_and_sent_on_another(
    app: Flask, second_host: Flask
) -> None:
    factories.org(receives_public_reports=True)
    db.session.commit()
    host_a, host_b = app.test_client(), second_host.test_client()
    assert_moves_on(host_a.post("/report/", data={"filer": "subject"}), "/report/age")
    assert_moves_on(host_a.post("/report/age", data={"minor": "no"}), "/report/posts")
    _move_cookie(host_a, host_b)
    # Host B finds the draft host A saved: the next page opens and moves on.
    link = "https://x.com/poster/status/2008000000000000001"
    assert_moves_on(host_b.post("/report/posts", data={"links": link}), "/report/posts/details")
    assert_moves_on(
        host_b.post("/report/posts/details", data={"posts-0-kind": "ai_image"}),
        "/report/screenshots",
    )
    shots = {"screenshots": [(io.BytesIO(photo(10, "PNG")), "a.png")], "action": "continue"}
    response = host_b.post("/report/screenshots", data=shots, content_type="multipart/form-data")
    assert_moves_on(response, "/report/where")
    _move_cookie(host_b, host_a)
    where = {"country": "GB", "language": "en", "contact": "none", "timezone": "Europe/London"}
    assert_moves_on(host_a.post("/report/where", data=where), "/report/wishes")
    wishes = {"actions": ["takedown"], "consent": "y"}
    assert_moves_on(host_a.post("/report/wishes", data=wishes), "/report/review")
    # Sent from host A, with the screenshot host B kept.
    submit(host_a)
    case = db.session.scalars(select(Case)).one()
    assert [item.status_id for item in case.items] == [2008000000000000001]
    assert db.session.scalar(select(func.count()).select_from(EvidenceFile)) == 1
    assert draft_parts() == []
    for host in (app, second_host):
        assert not (Path(host.instance_path) / "drafts").exists()


def test_a_whole_report_writes_no_file_under_the_instance_folder(
    app: Flask, client: FlaskClient
) -> None:
    factories.org(receives_public_reports=True)
    db.session.commit()
    instance = Path(app.instance_path)
    before = sorted(p for p in instance.rglob("*")) if instance.exists() else []
    fill_report(client, Answers(screenshots=[("a.png", photo(9, "PNG"))]))
    assert draft_part_names() == ["answers", "screenshot"]
    submit(client)
    after = sorted(p for p in instance.rglob("*")) if instance.exists() else []
    assert after == before
    assert not (instance / "drafts").exists()
    assert draft_parts() == []


def test_an_expired_draft_is_refused_by_the_form_whichever_host_asks(
    app: Flask, client: FlaskClient
) -> None:
    client.post("/report/", data={"filer": "subject"})
    age_out_drafts(timedelta(hours=app.config["DRAFT_MAX_AGE_HOURS"], seconds=1))
    assert client.get("/report/age").headers["Location"].endswith("/report/")
    assert draft_parts() == []  # refused and deleted on sight


def test_a_draft_is_saved_by_itself_apart_from_the_requests_session(store: DraftStore) -> None:
    """A page's answers are kept whatever the request does with its own session after."""
    draft = store.new()
    organisation = Organisation(slug="never-committed", name="Never committed")
    db.session.add(organisation)  # the request's own work, not yet flushed
    draft.answers["who"] = {"filer": "subject"}
    store.save(draft)
    assert organisation in db.session.new  # neither flushed nor committed by the save
    db.session.rollback()  # the request fails afterwards
    loaded = store.load(draft.id)
    assert loaded is not None and loaded.answers["who"] == {"filer": "subject"}
    assert _count(Organisation.__table__) == 0


# ---------------------------------------------------------------- one case per draft


def _same_browser(app: Flask, client: FlaskClient) -> FlaskClient:
    """A second client with the first one's session cookie: another tab, a replayed POST."""
    other = app.test_client()
    _move_cookie(client, other)
    return other


def _browsers_draft(client: FlaskClient, store: DraftStore) -> Draft:
    with client.session_transaction() as browser_session:
        draft = store.load(browser_session[DRAFT_KEY])
    assert draft is not None
    return draft


def _cases() -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(Case)) or 0)


def _refused_as_sent(response: Any) -> None:
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    assert response.headers["Location"].endswith("/report/")


def test_two_submits_of_one_draft_at_the_same_moment_open_one_case(
    app: Flask, client: FlaskClient
) -> None:
    filled_report(client)
    browsers = [client, _same_browser(app, client)]
    together = threading.Barrier(len(browsers))
    responses: list[Any] = [None] * len(browsers)

    def send(index: int) -> None:
        together.wait(timeout=10)
        responses[index] = browsers[index].post("/report/submit")

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(browsers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(r.status_code for r in responses) == [200, 302]
    _refused_as_sent(next(r for r in responses if r.status_code == 302))
    assert _cases() == 1
    assert draft_parts() == []


def test_a_submit_while_another_is_writing_the_case_opens_none_and_keeps_the_draft(
    app: Flask, client: FlaskClient, store: DraftStore
) -> None:
    filled_report(client)
    draft = _browsers_draft(client, store)
    assert store.claim(draft)  # the first submit, still writing
    response = _same_browser(app, client).post("/report/submit", follow_redirects=True)
    assert "it was sent already" in response.get_data(as_text=True)
    assert _cases() == 0
    assert store.load(draft.id) is not None  # the report is not lost meanwhile


def test_a_claim_left_by_a_crashed_submit_lapses(client: FlaskClient, store: DraftStore) -> None:
    filled_report(client)
    draft = _browsers_draft(client, store)
    assert store.claim(draft, now=utcnow() - CLAIM_LEASE - timedelta(seconds=1))
    submit(client)
    assert _cases() == 1


def test_a_submit_that_saved_nothing_gives_the_draft_back(client: FlaskClient) -> None:
    organisation = factories.org(receives_public_reports=False)
    db.session.commit()
    fill_report(client)
    assert client.post("/report/submit").status_code == 503
    organisation.receives_public_reports = True
    db.session.commit()
    submit(client)  # sent at once, not refused as claimed
    assert _cases() == 1
