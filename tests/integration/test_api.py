"""/api/v1/: tokens, organisation scoping, each endpoint, errors, audit and rate limits."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from casework import create_app
from casework.accounts.api_tokens import TOKEN_PREFIX, revoke_token
from casework.accounts.models import ApiToken, Organisation, Role, User
from casework.actors import ActorKind
from casework.audit.models import AuditEvent
from casework.audit.services import verify_chain
from casework.cases.models import Case, CaseStatus, Item, ItemKind, MinorStatus
from casework.evidence.models import EvidenceFile
from casework.extensions import db
from casework.notifications.models import OutgoingEmail
from casework.orm import utcnow
from tests import factories
from tests.api_support import bearer, new_case_body, png_base64, token_for, valid_bodies

API = "/api/v1"


@pytest.fixture
def org_a(app: Flask) -> Organisation:
    return factories.org("alpha")


@pytest.fixture
def caseworker(org_a: Organisation) -> User:
    return factories.user(org_a, Role.CASEWORKER)


@pytest.fixture
def secret(caseworker: User) -> str:
    return token_for(caseworker)


def count(model: Any, *where: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def create(client: FlaskClient, secret: str, **changes: Any) -> Any:
    return client.post(f"{API}/cases", json=new_case_body(**changes), headers=bearer(secret))


# ---------------------------------------------------------------- opening a case


def test_a_case_is_opened_as_assisted_intake_opens_one(
    client: FlaskClient, caseworker: User, secret: str
) -> None:
    answer = create(client, secret)

    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    case = db.session.scalar(select(Case).where(Case.reference == body["reference"]))
    assert case is not None
    assert case.organisation_id == caseworker.organisation_id
    assert case.filed_by_id == caseworker.id
    assert case.status is CaseStatus.NEW
    assert case.language == "fr" and case.country == "FR"
    assert case.consent_at is not None
    assert case.access_code_hash is None  # access "none" by default
    assert body["access_code"] is None
    kinds = {item.kind for item in case.items}
    assert kinds == {ItemKind.AI_IMAGE, ItemKind.PROMPT_REPLY}
    assert {p["shows"] for p in body["posts"]} == {"ai_image", "prompt_reply"}
    # The case's events name the token's user; the API notes which token, nothing more.
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)))
    opened = [e for e in events if e.action == "case.opened"]
    assert opened and opened[0].actor_type == ActorKind.USER.value
    assert opened[0].actor_id == caseworker.id
    # Nothing personal in the answer: no contact details, no prompt text.
    assert "make her undressed" not in answer.get_data(as_text=True)
    assert verify_chain(db.session, caseworker.organisation_id).ok


def test_the_access_code_is_shown_once_when_asked(client: FlaskClient, secret: str) -> None:
    body = create(client, secret, access="show").get_json()
    case = db.session.scalar(select(Case).where(Case.reference == body["reference"]))
    assert body["access_code"]
    assert case is not None and case.access_code_hash is not None
    assert body["access_code"] not in case.access_code_hash


def test_emailing_the_access_code_queues_the_confirmation(client: FlaskClient, secret: str) -> None:
    answer = create(client, secret, contact="email", email="person@example.org", access="email")
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["access_code"] is None  # emailed, not shown
    assert count(OutgoingEmail) == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"filer": "representative"}, "relationship"),
        ({"filer": "representative", "relationship": "friend"}, "authority"),
        ({"contact": "email"}, "email"),
        ({"contact": "email", "email": "not an address"}, "email"),
        ({"access": "email"}, "access"),
        ({"consent": False}, "consent"),
        ({"country": "ZZ"}, "country"),
        ({"country": "FR", "region": "US-CA"}, "region"),
        ({"posts": [{"url": "https://example.org/not-x"}]}, "posts.0.url"),
        ({"posts": [{"url": factories.post_url(), "prompt": "x" * 2001}]}, "posts.0.prompt"),
        (
            {
                "posts": [
                    {"url": "https://x.com/a/status/1" + "1" * 18},
                    {"url": "https://x.com/a/status/1" + "1" * 18},
                    {"url": factories.post_url(), "prompt": "x" * 2001},
                ]
            },
            "posts.2.prompt",
        ),
        ({"minor": "maybe"}, "minor"),
        ({"posts": []}, "posts"),
        ({"actions": []}, "actions"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_answers_are_refused_by_field_and_nothing_is_written(
    client: FlaskClient, secret: str, changes: dict[str, Any], field: str
) -> None:
    events = count(AuditEvent)
    answer = create(client, secret, **changes)

    assert answer.status_code == 422
    body = answer.get_json()
    assert body["error"] == "invalid"
    assert field in body["fields"], body
    assert all(isinstance(m, str) and m for m in body["fields"][field])
    assert count(Case) == 0 and count(Item) == 0
    assert count(AuditEvent) == events


def test_field_messages_follow_the_requested_language(client: FlaskClient, secret: str) -> None:
    answer = client.post(
        f"{API}/cases",
        json=new_case_body(consent=False),
        headers={**bearer(secret), "Accept-Language": "fr"},
    )
    assert answer.status_code == 422
    assert "accord" in " ".join(answer.get_json()["fields"]["consent"])


def test_a_body_that_is_not_json_is_refused(client: FlaskClient, secret: str) -> None:
    answer = client.post(f"{API}/cases", data={"filer": "subject"}, headers=bearer(secret))
    assert answer.status_code == 415
    assert answer.get_json()["error"] == "unsupported_media_type"
    broken = client.post(
        f"{API}/cases",
        data="{not json",
        content_type="application/json",
        headers=bearer(secret),
    )
    assert broken.status_code == 422
    assert count(Case) == 0


def test_a_lawyer_token_reads_but_does_not_write(client: FlaskClient, org_a: Organisation) -> None:
    lawyer = factories.user(org_a, Role.LAWYER)
    case = factories.case(org_a)
    db.session.commit()
    lawyer_secret = token_for(lawyer)
    assert create(client, lawyer_secret).status_code == 403
    assert (
        client.get(f"{API}/cases/{case.reference}", headers=bearer(lawyer_secret)).status_code
        == 200
    )
    added = client.post(
        f"{API}/cases/{case.reference}/posts",
        json={"links": [factories.post_url()]},
        headers=bearer(lawyer_secret),
    )
    assert added.status_code == 403
    assert count(Case) == 1 and count(Item) == 1


# ---------------------------------------------------------------- adding to a case


def test_posts_are_added_and_known_ones_counted(
    client: FlaskClient, org_a: Organisation, caseworker: User, secret: str
) -> None:
    known = factories.post_url()
    case = factories.case(org_a, links=[known])
    db.session.commit()
    new = factories.post_url("other")

    answer = client.post(
        f"{API}/cases/{case.reference}/posts",
        json={"links": [known, new]},
        headers=bearer(secret),
    )

    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["already_in_case"] == 1
    assert [p["url"] for p in body["added"]] == [new]
    assert count(Item, Item.case_id == case.id) == 2
    actions = list(
        db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.case_id == case.id, AuditEvent.actor_id == caseworker.id
            )
        )
    )
    assert "case.items_added" in actions and "api.write" in actions
    # The case screen's history says which token made the change.
    staff = factories.user(org_a, Role.CASEWORKER)
    db.session.commit()
    factories.sign_in(client, staff)
    token = db.session.scalar(select(ApiToken))
    assert token is not None
    page = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert f"Done through the API, with token {token.id}." in page


def test_a_bad_link_is_named_by_its_place_and_nothing_is_added(
    client: FlaskClient, org_a: Organisation, secret: str
) -> None:
    case = factories.case(org_a)
    db.session.commit()
    answer = client.post(
        f"{API}/cases/{case.reference}/posts",
        json={"links": [factories.post_url(), "https://x.com/someone"]},
        headers=bearer(secret),
    )
    assert answer.status_code == 422
    assert list(answer.get_json()["fields"]) == ["links.1"]
    assert count(Item, Item.case_id == case.id) == 1


def test_screenshots_are_stored_under_their_post_and_audited(
    client: FlaskClient, org_a: Organisation, caseworker: User, secret: str
) -> None:
    case = factories.case(org_a)
    db.session.commit()
    item = case.items[0]

    answer = client.post(
        f"{API}/cases/{case.reference}/screenshots",
        json={
            "post": item.url,
            "images": [
                {"filename": "a.png", "content_base64": png_base64(1)},
                {"filename": "b.png", "content_base64": png_base64(2)},
            ],
        },
        headers=bearer(secret),
    )

    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json() == {"added": 2, "already_in_case": 0}
    files = list(db.session.scalars(select(EvidenceFile).where(EvidenceFile.case_id == case.id)))
    assert len(files) == 2 and {f.item_id for f in files} == {item.id}
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.case_id == case.id, AuditEvent.action == "evidence.added"
        )
    )
    assert event is not None and event.actor_id == caseworker.id
    # The same image again is counted, not stored twice; the post may be named by its id.
    again = client.post(
        f"{API}/cases/{case.reference}/screenshots",
        json={
            "post": str(item.status_id),
            "images": [{"filename": "a.png", "content_base64": png_base64(1)}],
        },
        headers=bearer(secret),
    )
    assert again.get_json() == {"added": 0, "already_in_case": 1}
    status = client.get(f"{API}/cases/{case.reference}", headers=bearer(secret)).get_json()
    assert status["screenshots"] == 2


@pytest.mark.parametrize(
    ("images", "post", "field"),
    [
        ([{"filename": "a.png", "content_base64": "not base64!"}], None, "images.0.content_base64"),
        ([{"filename": "a.txt", "content_base64": "aGVsbG8="}], None, "images"),
        (
            [{"filename": "a.png", "content_base64": png_base64(3)}],
            "https://x.com/a/status/1",
            "post",
        ),
        ([], None, "images"),
    ],
)
def test_bad_screenshots_are_refused_and_nothing_is_stored(
    client: FlaskClient,
    org_a: Organisation,
    secret: str,
    images: list[dict[str, str]],
    post: str | None,
    field: str,
) -> None:
    case = factories.case(org_a)
    db.session.commit()
    answer = client.post(
        f"{API}/cases/{case.reference}/screenshots",
        json={"post": post or case.items[0].url, "images": images},
        headers=bearer(secret),
    )
    assert answer.status_code == 422
    assert field in answer.get_json()["fields"], answer.get_json()
    assert count(EvidenceFile) == 0


@pytest.mark.parametrize("minor", [MinorStatus.YES, MinorStatus.UNSURE])
def test_a_possible_minors_case_refuses_screenshots(
    app: Flask, client: FlaskClient, org_a: Organisation, secret: str, minor: MinorStatus
) -> None:
    case = factories.case(org_a, minor=minor)
    db.session.commit()
    answer = client.post(
        f"{API}/cases/{case.reference}/screenshots",
        json={
            "post": case.items[0].url,
            "images": [{"filename": "a.png", "content_base64": png_base64(4)}],
        },
        headers=bearer(secret),
    )
    assert answer.status_code == 422
    assert answer.get_json()["error"] == "images_for_minor"
    assert count(EvidenceFile) == 0
    assert not [p for p in Path(app.config["EVIDENCE_DIR"]).rglob("*") if p.is_file()]


def test_a_case_opened_for_a_possible_minor_takes_links_only(
    client: FlaskClient, secret: str
) -> None:
    opened = create(client, secret, minor="unsure")
    assert opened.status_code == 201
    reference = opened.get_json()["reference"]
    refused = client.post(
        f"{API}/cases/{reference}/screenshots",
        json={
            "post": opened.get_json()["posts"][0]["url"],
            "images": [{"filename": "a.png", "content_base64": png_base64(5)}],
        },
        headers=bearer(secret),
    )
    assert refused.status_code == 422
    assert count(EvidenceFile) == 0


# ---------------------------------------------------------------- reading a case


def test_status_notices_and_deadlines_are_read_without_personal_data(
    client: FlaskClient, org_a: Organisation, secret: str
) -> None:
    case = factories.case(org_a, contact_email="person@example.org")
    notice = factories.notice(case, response="Personal reply text")
    due = factories.utc(2026, 2, 1, 12, 0)
    deadline = factories.deadline(notice, due)
    db.session.commit()

    status = client.get(f"{API}/cases/{case.reference}", headers=bearer(secret))
    notices = client.get(f"{API}/cases/{case.reference}/notices", headers=bearer(secret))
    deadlines = client.get(f"{API}/cases/{case.reference}/deadlines", headers=bearer(secret))

    assert status.status_code == notices.status_code == deadlines.status_code == 200
    assert status.get_json()["reference"] == case.reference
    assert status.get_json()["status"] == "new"
    assert status.get_json()["posts"][0]["status_id"] == str(case.items[0].status_id)
    assert notices.get_json()["notices"][0]["route"] == "us.tida.removal"
    assert notices.get_json()["notices"][0]["state"] == "sent"
    assert deadlines.get_json()["deadlines"][0]["id"] == deadline.id
    assert deadlines.get_json()["deadlines"][0]["due_at"].startswith("2026-02-01T12:00:00")
    for answer in (status, notices, deadlines):
        assert answer.headers["Cache-Control"] == "no-store, private"
        assert "Set-Cookie" not in answer.headers
        text = answer.get_data(as_text=True)
        assert "person@example.org" not in text and "Personal reply text" not in text


def test_a_reference_is_read_as_staff_type_it(
    client: FlaskClient, org_a: Organisation, secret: str
) -> None:
    case = factories.case(org_a)
    db.session.commit()
    typed = case.reference.lower().replace("-", " ")
    assert client.get(f"{API}/cases/{typed}", headers=bearer(secret)).status_code == 200


# ---------------------------------------------------------------- one organisation's cases


def api_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) of every route of the API blueprint that names a case."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api_v1.") or "ref" not in rule.arguments:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, rule.rule))
    return found


def snapshot(case: Case) -> tuple[int, ...]:
    db.session.expire_all()
    return (
        count(Item, Item.case_id == case.id),
        count(EvidenceFile, EvidenceFile.case_id == case.id),
        count(AuditEvent),
        count(Case),
    )


def test_a_token_cannot_reach_another_organisations_cases_on_any_endpoint(
    app: Flask, client: FlaskClient, secret: str, org_a: Organisation
) -> None:
    org_b = factories.org("beta")
    theirs = factories.case(org_b)
    ours = factories.case(org_a)
    db.session.commit()
    routes = api_routes(app)
    assert {endpoint for endpoint, _m, _r in routes} >= {
        "api_v1.get_case",
        "api_v1.add_posts",
        "api_v1.add_screenshots",
        "api_v1.get_notices",
        "api_v1.get_deadlines",
    }
    for endpoint, method, rule in routes:
        bodies = valid_bodies(theirs)
        if method != "GET":
            assert endpoint in bodies, f"add a valid body for {endpoint} to valid_bodies"
        before = snapshot(theirs)
        refused = client.open(
            rule.replace("<ref>", theirs.reference),
            method=method,
            json=bodies.get(endpoint),
            headers=bearer(secret),
        )
        unknown = client.open(
            rule.replace("<ref>", "CW-2026-999999"),
            method=method,
            json=bodies.get(endpoint),
            headers=bearer(secret),
        )
        assert refused.status_code == 404, (endpoint, method)
        assert refused.get_data() == unknown.get_data(), (endpoint, method)
        assert snapshot(theirs) == before, (endpoint, method)
        # The same request on the token's own case is allowed: the 404 is the scoping's.
        mine = client.open(
            rule.replace("<ref>", ours.reference),
            method=method,
            json=valid_bodies(ours).get(endpoint),
            headers=bearer(secret),
        )
        assert mine.status_code in (200, 201), (endpoint, method, mine.get_json())


# ---------------------------------------------------------------- tokens


def every_request(app: Flask, reference: str) -> list[tuple[str, str, Any]]:
    """(method, path, body) for each route of the API but its description."""
    requests = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api_v1.") or rule.endpoint == "api_v1.openapi":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            body = new_case_body() if rule.endpoint == "api_v1.create_case" else None
            requests.append((method, rule.rule.replace("<ref>", reference), body))
    return requests


def assert_refused_everywhere(
    app: Flask, client: FlaskClient, reference: str, headers: dict[str, str]
) -> None:
    before = (count(Case), count(Item), count(EvidenceFile))
    for method, path, body in every_request(app, reference):
        answer = client.open(path, method=method, json=body, headers=headers)
        assert answer.status_code == 401, (method, path)
        assert answer.get_json()["error"] == "unauthorised"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert (count(Case), count(Item), count(EvidenceFile)) == before


def test_a_token_is_stored_only_as_a_hash(caseworker: User, secret: str) -> None:
    assert secret.startswith(TOKEN_PREFIX) and len(secret) >= 40
    token = db.session.scalar(select(ApiToken))
    assert token is not None and secret not in token.secret_hash
    assert token.user_id == caseworker.id


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer cw_" + "A" * 43},
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer " + "cw_" + "x" * 5000},
    ],
)
def test_missing_or_garbage_tokens_are_refused(
    app: Flask, client: FlaskClient, org_a: Organisation, headers: dict[str, str]
) -> None:
    case = factories.case(org_a)
    db.session.commit()
    assert_refused_everywhere(app, client, case.reference, headers)


def test_a_revoked_token_stops_working(
    app: Flask, client: FlaskClient, org_a: Organisation, caseworker: User, secret: str
) -> None:
    case = factories.case(org_a)
    db.session.commit()
    assert client.get(f"{API}/cases/{case.reference}", headers=bearer(secret)).status_code == 200
    admin = factories.user(org_a, Role.ADMIN)
    token = db.session.scalar(select(ApiToken))
    assert token is not None
    revoke_token(db.session, admin=admin, token=token, now=utcnow())
    db.session.commit()
    assert_refused_everywhere(app, client, case.reference, bearer(secret))


def test_an_expired_token_stops_working(
    app: Flask, client: FlaskClient, org_a: Organisation, caseworker: User
) -> None:
    case = factories.case(org_a)
    db.session.commit()
    expiring = token_for(caseworker, expires_at=utcnow() + timedelta(hours=1))
    assert client.get(f"{API}/cases/{case.reference}", headers=bearer(expiring)).status_code == 200
    token = db.session.scalar(select(ApiToken))
    assert token is not None
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert_refused_everywhere(app, client, case.reference, bearer(expiring))


def test_a_deactivated_users_tokens_stop_working(
    app: Flask, client: FlaskClient, org_a: Organisation, caseworker: User, secret: str
) -> None:
    case = factories.case(org_a)
    caseworker.is_active_user = False
    db.session.commit()
    assert_refused_everywhere(app, client, case.reference, bearer(secret))


def test_a_staff_session_cookie_alone_opens_nothing(
    app: Flask, client: FlaskClient, org_a: Organisation, caseworker: User
) -> None:
    case = factories.case(org_a)
    db.session.commit()
    factories.sign_in(client, caseworker)
    assert client.get(f"/staff/cases/{case.id}").status_code == 200  # the cookie works there
    assert_refused_everywhere(app, client, case.reference, {})


def test_use_is_noted_on_the_token(client: FlaskClient, org_a: Organisation, secret: str) -> None:
    case = factories.case(org_a)
    db.session.commit()
    client.get(f"{API}/cases/{case.reference}", headers=bearer(secret))
    token = factories.reloaded(ApiToken, 1)
    assert token.last_used_at is not None


# ---------------------------------------------------------------- the description


def test_the_openapi_description_covers_every_route(app: Flask, client: FlaskClient) -> None:
    answer = client.get(f"{API}/openapi.json")
    assert answer.status_code == 200
    spec = answer.get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    documented = {
        (path, method.upper())
        for path, operations in spec["paths"].items()
        for method in operations
    }
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api_v1.") or rule.endpoint == "api_v1.openapi":
            continue
        path = rule.rule.replace("<ref>", "{ref}")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, (path, method)
    # The request schema is the model the endpoint validates with.
    create_op = spec["paths"][f"{API}/cases"]["post"]
    ref = create_op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/NewCaseIn")
    assert "minor" in spec["components"]["schemas"]["NewCaseIn"]["required"]


def test_unknown_api_addresses_answer_in_json(client: FlaskClient) -> None:
    answer = client.get(f"{API}/nothing-here")
    assert answer.status_code == 404
    assert answer.get_json()["error"] == "not_found"
    wrong_method = client.delete(f"{API}/cases")
    assert wrong_method.status_code == 405
    assert wrong_method.get_json()["error"] == "method_not_allowed"


# ---------------------------------------------------------------- rate limit


def limited_app(app_config: dict[str, Any], tmp_path: Path, redis_url: str, limit: str) -> Flask:
    """An app of its own whose API limit is counted in the test Redis."""
    return create_app(
        {
            **{k: v for k, v in app_config.items() if k != "RATELIMIT_STORAGE_URI"},
            "RATELIMIT_ENABLED": True,
            "REDIS_URL": redis_url,
            "RATELIMIT_API": limit,
        },
        instance_path=str(tmp_path / secrets.token_hex(4)),
    )


@pytest.mark.redis
def test_requests_are_limited_per_token_in_redis(
    app: Flask,
    app_config: dict[str, Any],
    tmp_path: Path,
    redis_url: str,
    org_a: Organisation,
    secret: str,
) -> None:
    case = factories.case(org_a)
    db.session.commit()
    limited = limited_app(app_config, tmp_path, redis_url, "2 per minute")
    assert limited.config["RATELIMIT_STORAGE_URI"] == redis_url
    path = f"{API}/cases/{case.reference}"
    client = limited.test_client()
    with limited.app_context():
        assert client.get(path, headers=bearer(secret)).status_code == 200
        assert client.get(path, headers=bearer(secret)).status_code == 200
        refused = client.get(path, headers=bearer(secret))
        assert refused.status_code == 429
        assert refused.get_json()["error"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        # Another token of the same address is counted on its own.
        other = token_for(factories.user(org_a))
        assert client.get(path, headers=bearer(other)).status_code == 200


@pytest.mark.redis
def test_made_up_tokens_are_counted_against_their_address(
    app: Flask,
    app_config: dict[str, Any],
    tmp_path: Path,
    redis_url: str,
    org_a: Organisation,
) -> None:
    """Guessing tokens gets no fresh counter per guess: unknown tokens count per address."""
    case = factories.case(org_a)
    db.session.commit()
    limited = limited_app(app_config, tmp_path, redis_url, "3 per minute")
    path = f"{API}/cases/{case.reference}"
    client = limited.test_client()
    # An address of its own: the counters live in Redis, beyond this test's app.
    address = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(256)}"
    with limited.app_context():
        answers = [
            client.get(
                path,
                headers=bearer(f"cw_{secrets.token_urlsafe(32)}"),
                environ_overrides={"REMOTE_ADDR": address},
            ).status_code
            for _ in range(5)
        ]
    assert answers[:3] == [401, 401, 401]
    assert answers[3:] == [429, 429]
