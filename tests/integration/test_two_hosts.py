"""Several hosts, one truth: two web servers and a worker that share only PostgreSQL and Redis.

Two gunicorn processes, each with its own instance folder (as on two machines), and a
worker as a third, all configured as production with the evidence kept in the database.
Every browser here sits behind a load balancer without sticky sessions: each request
goes to the other server. A victim files complete reports with screenshots through the
public form; a lawyer signs in (password on one host, two-step code on the other), views
the evidence, generates letters with the screenshots annexed (one in the request, one
by the worker) and downloads the evidence bundle: every file is there, readable, and
the very image that was uploaded.

A half-finished report or a file kept on one host's disk would be lost on the other:
these tests fail as soon as anything a request needs lives on one host only.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from PIL import Image
from pypdf import PdfReader
from redis import Redis
from sqlalchemy.engine import make_url

from casework import create_app
from casework.accounts import totp
from casework.accounts.models import Organisation, Role
from casework.extensions import db
from tests import factories
from tests.conftest import require_service
from tests.databases import throwaway_database
from tests.intake_support import photo
from tests.two_hosts import (
    REPO_ROOT,
    Answer,
    Browser,
    WebHost,
    host_environment,
    migrate,
    shared_settings,
    start_web_host,
    stop_process,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

REFERENCE_RE = re.compile(r'class="access-value reference">([^<]+)<')
CODE_RE = re.compile(r'class="access-value code"[^>]*>([^<]+)<')
ROUTE_OPTION_RE = re.compile(r'<option value="([a-z]{2}\.[a-z0-9_.]+)"')
SHOWS_RE = re.compile(r'<select id="post-[0-9a-f]{64}" name="post-([0-9a-f]{64})"')
STATUS_BASE = 2_008_000_000_000_000_000


@dataclass
class Deployment:
    web: tuple[WebHost, WebHost]
    worker: subprocess.Popen[bytes]
    database_url: str  # for psycopg: what the hosts wrote, read directly
    shared: dict[str, str]
    seeding: Any  # an app on the same database and keys, to add staff as an admin would

    def rows(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url) as conn:
            return list(conn.execute(query, params).fetchall())


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    server = require_service("PostgreSQL", "TEST_DATABASE_URL")
    redis_url = require_service("Redis", "TEST_REDIS_URL")
    Redis.from_url(redis_url).flushdb()
    folder = tmp_path_factory.mktemp("hosts")
    with throwaway_database(server, "casework_hosts") as url:
        shared = shared_settings(url, redis_url)
        migrate(host_environment(shared, folder / "migrations"))
        seeding = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "REDIS_URL": redis_url,
                "SECRET_KEY": shared["SECRET_KEY"],
                "CASEWORK_EVIDENCE_KEY": shared["CASEWORK_EVIDENCE_KEY"],
                "CASEWORK_AUDIT_KEY": shared["CASEWORK_AUDIT_KEY"],
            },
            instance_path=str(folder / "seeding"),
        )
        with seeding.app_context():
            factories.org(receives_public_reports=True)
            db.session.commit()
        started: list[WebHost] = []
        worker: subprocess.Popen[bytes] | None = None
        try:
            for name in ("host-a", "host-b"):
                env = host_environment(shared, folder / name)
                started.append(start_web_host(name, env, folder))
            with (folder / "worker.log").open("ab") as log:
                worker = subprocess.Popen(
                    [sys.executable, "worker.py", "--sweep-interval", "2"],
                    cwd=REPO_ROOT,
                    env=host_environment(shared, folder / "worker"),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            plain = make_url(url).set(drivername="postgresql")
            yield Deployment(
                web=(started[0], started[1]),
                worker=worker,
                database_url=plain.render_as_string(hide_password=False),
                shared=shared,
                seeding=seeding,
            )
        finally:
            if worker is not None:
                stop_process(worker)
            for host in started:
                stop_process(host.process)
            with seeding.app_context():
                db.engine.dispose()
            Redis.from_url(redis_url).flushdb()


@dataclass(frozen=True)
class Staff:
    email: str
    totp_secret: str | None


def staff_member(deployment: Deployment, role: Role, *, two_step: bool) -> Staff:
    with deployment.seeding.app_context():
        organisation = db.session.query(Organisation).one()
        user = factories.user(organisation, role)
        secret = factories.with_totp(user) if two_step else None
        db.session.commit()
        return Staff(user.email, secret)


@pytest.fixture
def lawyer(deployment: Deployment) -> Staff:
    """A lawyer, with two-step sign-in: lawyers export the original images."""
    return staff_member(deployment, Role.LAWYER, two_step=True)


@pytest.fixture
def caseworker(deployment: Deployment) -> Staff:
    """A caseworker, signing in with a password alone: caseworkers classify posts."""
    return staff_member(deployment, Role.CASEWORKER, two_step=False)


# -- the victim ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Filled:
    """A report up to its review page: what it says, and the token to send it with."""

    status_ids: tuple[int, ...]
    screenshots: tuple[bytes, ...]
    token: str


@dataclass(frozen=True)
class Filed:
    reference: str
    status_ids: tuple[int, ...]
    screenshots: tuple[bytes, ...]


def screenshot(number: int, which: int) -> bytes:
    return photo(seed=number * 10 + which, fmt="PNG", gps=False, size=(120, 200))


def moved_on(answer: Answer, what: str, expected: str) -> None:
    assert answer.status == 302 and answer.location.endswith(expected), (
        f"{what} on {answer.host}: {answer.status} to {answer.location or 'nowhere'} "
        f"(expected {expected})\n{answer.text[-1500:]}"
    )


def step(
    browser: Browser,
    path: str,
    fields: list[tuple[str, str]],
    then: str,
    files: list[tuple[str, str, str, bytes]] | None = None,
) -> Answer:
    """Post a page of the form and follow its redirect, as a browser does."""
    if files is None:
        answer = browser.post(path, fields)
    else:
        answer = browser.post_multipart(path, fields, files)
    moved_on(answer, f"POST {path}", then)
    page = browser.get(then)
    assert page.status == 200, f"GET {then} on {page.host}: {page.status}\n{page.text[-1500:]}"
    return page


def fill_report(browser: Browser, number: int, shots: int) -> Filled:
    """Every page of the public form up to its review page."""
    status_ids = tuple(STATUS_BASE + number * 10 + i for i in range(2))
    images = tuple(screenshot(number, which) for which in range(shots))
    start = browser.get("/report/")
    assert start.status == 200, start.text[-1500:]
    token = ("csrf_token", start.csrf_token())
    go_on = ("action", "continue")
    step(browser, "/report/", [token, ("filer", "subject"), go_on], "/report/age")
    step(browser, "/report/age", [token, ("minor", "no"), go_on], "/report/posts")
    links = "\n".join(f"https://x.com/poster{number}/status/{sid}" for sid in status_ids)
    step(browser, "/report/posts", [token, ("links", links), go_on], "/report/posts/details")
    details = [token, go_on]
    for index in range(len(status_ids)):
        details += [(f"posts-{index}-kind", "ai_image"), (f"posts-{index}-prompt", "")]
    step(browser, "/report/posts/details", details, "/report/screenshots")
    files = [("screenshots", f"shot-{i}.png", "image/png", data) for i, data in enumerate(images)]
    shown = step(
        browser, "/report/screenshots", [token, ("action", "upload")], "/report/screenshots", files
    )
    # "Which post does it show?", asked of each image kept: each shows the first post.
    asked = SHOWS_RE.findall(shown.text)
    assert len(asked) == shots, f"{len(asked)} images kept on {shown.host}, {shots} uploaded"
    shows = [(f"post-{sha256}", str(status_ids[0])) for sha256 in asked]
    nothing_chosen = [("screenshots", "", "application/octet-stream", b"")]
    step(browser, "/report/screenshots", [token, *shows, go_on], "/report/where", nothing_chosen)
    where = [token, ("country", "GB"), ("language", "en"), ("contact", "none")]
    step(browser, "/report/where", [*where, ("timezone", "Europe/London"), go_on], "/report/wishes")
    review = step(
        browser,
        "/report/wishes",
        [token, ("actions", "takedown"), ("consent", "y"), go_on],
        "/report/review",
    )
    kept = f"{shots} screenshot{'s' if shots > 1 else ''}, encrypted"
    assert kept in review.text, f"the review on {review.host} lost screenshots"
    assert "matched to the post" in review.text, f"the review on {review.host} lost the matches"
    return Filled(status_ids, images, review.csrf_token())


def submit(browser: Browser, filled: Filled) -> Filed:
    answer = browser.post("/report/submit", [("csrf_token", filled.token)])
    reference = REFERENCE_RE.search(answer.text)
    assert answer.status == 200 and reference and CODE_RE.search(answer.text), (
        f"POST /report/submit on {answer.host}: {answer.status}\n{answer.text[-1500:]}"
    )
    return Filed(reference.group(1).strip(), filled.status_ids, filled.screenshots)


# -- the lawyer ----------------------------------------------------------------------------


def sign_in(browser: Browser, person: Staff) -> None:
    """Through the sign-in form; with two-step sign-in, the password goes to one host and
    the authenticator's code to the next."""
    page = browser.get("/staff/sign-in")
    assert page.status == 200, page.text[-1500:]
    answer = browser.post(
        "/staff/sign-in",
        [
            ("csrf_token", page.csrf_token()),
            ("email", person.email),
            ("password", factories.PASSWORD),
        ],
    )
    if person.totp_secret is None:
        assert answer.status == 302 and "/staff/sign-in" not in answer.location, (
            f"sign-in on {answer.host}: {answer.status} to {answer.location}"
        )
        return
    moved_on(answer, "POST /staff/sign-in", "/staff/sign-in/code")
    code_page = browser.get("/staff/sign-in/code")
    assert code_page.status == 200, code_page.text[-1500:]
    code = totp.code_at(person.totp_secret, datetime.now(UTC))
    answer = browser.post(
        "/staff/sign-in/code", [("csrf_token", code_page.csrf_token()), ("code", code)]
    )
    assert answer.status == 302 and "/staff/sign-in" not in answer.location, (
        f"code on {answer.host}: {answer.status} to {answer.location}\n{answer.text[-1500:]}"
    )


def pixels(data: bytes) -> tuple[tuple[int, int], bytes]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size, image.convert("RGB").tobytes()


def case_of(deployment: Deployment, reference: str) -> tuple[int, list[tuple[int, str]]]:
    ((case_id,),) = deployment.rows("SELECT id FROM cases WHERE reference = %s", reference)
    files = deployment.rows(
        "SELECT id, sha256 FROM evidence_files WHERE case_id = %s ORDER BY id", case_id
    )
    return case_id, [(row[0], row[1]) for row in files]


def view_evidence(
    browser: Browser, case_id: int, evidence: list[tuple[int, str]], hosts: list[WebHost]
) -> None:
    """The case screen links every file; each file's page and clear image open on each host."""
    screen = browser.get(f"/staff/cases/{case_id}")
    assert screen.status == 200, screen.text[-1500:]
    for evidence_id, _ in evidence:
        assert f"/staff/cases/{case_id}/evidence/{evidence_id}" in screen.text
        for host in hosts:
            with browser.pinned(host):
                page = browser.get(f"/staff/cases/{case_id}/evidence/{evidence_id}")
                assert page.status == 200, f"evidence page on {page.host}: {page.status}"
                image = browser.get(f"/staff/cases/{case_id}/evidence/{evidence_id}/clear.jpg")
            assert image.status == 200, f"evidence image on {image.host}: {image.status}"
            assert image.headers["content-type"] == "image/jpeg"
            pixels(image.body)  # a whole image, not an error page


def classify(browser: Browser, deployment: Deployment, case_id: int) -> None:
    """What the images show, as a caseworker says it: it decides which laws cover the posts."""
    screen = browser.get(f"/staff/cases/{case_id}")
    assert screen.status == 200, screen.text[-1500:]
    items = deployment.rows("SELECT id FROM items WHERE case_id = %s", case_id)
    answer = browser.post(
        f"/staff/cases/{case_id}/items/categories",
        [("csrf_token", screen.csrf_token())]
        + [(f"category-{item_id}", "nude_sexual") for (item_id,) in items],
    )
    assert answer.status == 302, f"classify on {answer.host}: {answer.status}"
    classified = deployment.rows(
        "SELECT count(*) FROM items WHERE case_id = %s AND category = 'nude_sexual'", case_id
    )
    assert classified == [(len(items),)]


def wait_for(what: str, check: Any, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout:.0f} s")


def letters_with_screenshots(
    deployment: Deployment, browser: Browser, case_id: int, shots: int
) -> list[int]:
    """A letter generated in the request and one by the worker, both annexing the images."""
    page = browser.get(f"/staff/notices/cases/{case_id}")
    assert page.status == 200, page.text[-1500:]
    routes = ROUTE_OPTION_RE.findall(page.body.decode())
    assert routes, "no letter offered for the case"
    answer = browser.post(
        f"/staff/notices/cases/{case_id}/generate",
        [
            ("csrf_token", page.csrf_token()),
            ("route_key", routes[0]),
            ("include_screenshots", "y"),
        ],
    )
    assert answer.status == 302 and re.search(r"/staff/notices/\d+$", answer.location), (
        f"generate on {answer.host}: {answer.status} to {answer.location}"
    )
    letter_id = int(answer.location.rsplit("/", 1)[1])
    shown = browser.get(f"/staff/notices/{letter_id}")
    assert shown.status == 200 and "ready" in shown.text, shown.text[-1500:]
    pdf = browser.get(f"/staff/notices/{letter_id}/download")
    assert pdf.status == 200 and pdf.body.startswith(b"%PDF"), f"letter on {pdf.host}"
    annexed = sum(len(p.images) for p in PdfReader(io.BytesIO(pdf.body)).pages)
    assert annexed >= shots, f"{annexed} images in the letter, {shots} screenshots"
    generated = deployment.rows(
        "SELECT details FROM audit_events WHERE action = 'letter.generated' AND object_id = %s",
        letter_id,
    )
    assert [row[0]["screenshots"] for row in generated] == [shots]

    # The same letter for the case from the worklist: a job the worker runs.
    worklist = browser.get("/staff/cases/")
    assert worklist.status == 200, worklist.text[-1500:]
    answer = browser.post(
        "/staff/cases/bulk",
        [
            ("csrf_token", worklist.csrf_token()),
            ("case_ids", str(case_id)),
            ("action", "letter"),
            ("route_key", routes[0]),
            ("back", "/staff/cases/"),
        ],
    )
    assert answer.status == 302, f"bulk on {answer.host}: {answer.status}\n{answer.text[-1500:]}"

    def both_letters() -> list[tuple[Any, ...]] | None:
        rows = deployment.rows("SELECT id FROM letters WHERE case_id = %s ORDER BY id", case_id)
        return rows if len(rows) == 2 else None

    return [row[0] for row in wait_for("the worker's letter", both_letters)]


def bundle(browser: Browser, case_id: int) -> zipfile.ZipFile:
    page = browser.get(f"/staff/notices/cases/{case_id}")
    answer = browser.post(
        f"/staff/notices/cases/{case_id}/bundle", [("csrf_token", page.csrf_token())]
    )
    assert answer.status == 200 and answer.headers["content-type"] == "application/zip", (
        f"bundle on {answer.host}: {answer.status} {answer.location}"
    )
    return zipfile.ZipFile(io.BytesIO(answer.body))


def check_bundle(archive: zipfile.ZipFile, filed: Filed, letters: int) -> None:
    """Every exhibit readable, and each the very image the victim uploaded."""
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["case"] == filed.reference
    assert manifest["exhibits_decrypted"] is True
    exhibits = manifest["exhibits"]
    assert len(exhibits) == len(filed.screenshots)
    assert [e for e in exhibits if e.get("unreadable") or not e["exhibit"]] == []
    originals = [archive.read(e["exhibit"]) for e in exhibits]
    for entry, data in zip(exhibits, originals, strict=True):
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        pixels(archive.read(entry["blurred_copy"]))
    assert sorted(pixels(d) for d in originals) == sorted(pixels(s) for s in filed.screenshots)
    held = [e for e in manifest["letters"] if e.get("path")]
    assert len(held) == letters
    for entry in held:
        assert archive.read(entry["path"]).startswith(b"%PDF")
    sums = archive.read("SHA256SUMS").decode().splitlines()
    for line in sums:
        digest, name = line.split("  ", 1)
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest, name


# -- the tests -----------------------------------------------------------------------------


def test_reports_filed_across_two_hosts_reach_the_lawyer_whole(
    deployment: Deployment, caseworker: Staff, lawyer: Staff
) -> None:
    a, b = deployment.web
    filed = []
    for number, shots in ((1, 2), (2, 1)):
        victim = Browser([a, b] if number % 2 else [b, a])
        filed.append(submit(victim, fill_report(victim, number, shots)))
        assert set(victim.served_by) == {"host-a", "host-b"}

    triage = Browser([a, b])
    sign_in(triage, caseworker)
    legal = Browser([b, a])
    sign_in(legal, lawyer)
    for report in filed:
        case_id, evidence = case_of(deployment, report.reference)
        assert len(evidence) == len(report.screenshots)
        posts = deployment.rows("SELECT status_id FROM items WHERE case_id = %s", case_id)
        assert sorted(int(row[0]) for row in posts) == sorted(report.status_ids)
        classify(triage, deployment, case_id)
        view_evidence(legal, case_id, evidence, [a, b])
        letters = letters_with_screenshots(deployment, legal, case_id, len(report.screenshots))
        check_bundle(bundle(legal, case_id), report, letters=len(letters))
    assert deployment.worker.poll() is None, "the worker stopped"


def test_a_report_started_on_one_host_is_finished_on_the_other(
    deployment: Deployment, lawyer: Staff
) -> None:
    a, b = deployment.web
    victim = Browser([a, b])
    with victim.pinned(a):
        filled = fill_report(victim, 3, 2)
    with victim.pinned(b):
        filed = submit(victim, filled)
    assert victim.served_by[-1] == "host-b" and set(victim.served_by[:-1]) == {"host-a"}

    # Its evidence, kept by host B at the submit, opens on host A.
    staff = Browser([a, b])
    sign_in(staff, lawyer)
    case_id, evidence = case_of(deployment, filed.reference)
    assert len(evidence) == 2
    view_evidence(staff, case_id, evidence, [a])
    with staff.pinned(a):
        check_bundle(bundle(staff, case_id), filed, letters=0)
