"""/api/v1/: JSON endpoints for integrations, authenticated by bearer token only.

Each request names a token (Authorization: Bearer <secret>) and acts as the token's
user, on their organisation's cases only: another organisation's case answers as one
that does not exist. Session cookies are never read here and CSRF does not apply: a
browser cannot attach a bearer token on its own. Bodies are validated by spectree
against the pydantic models of casework.api.schemas, which also make the OpenAPI
description served at /api/v1/openapi.json.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask_babel import gettext
from pydantic import BaseModel, ValidationError
from spectree import Response as Responses
from spectree import SecurityScheme, SecuritySchemeData, SpecTree
from spectree.models import SecureType
from sqlalchemy.exc import SQLAlchemyError

from casework.accounts.api_tokens import authenticate, known_secret_hash
from casework.accounts.models import ApiToken
from casework.api import services
from casework.api.schemas import (
    CaseOut,
    DeadlinesOut,
    ErrorOut,
    NewCaseIn,
    NewCaseOut,
    NewPostsIn,
    NewPostsOut,
    NoticesOut,
    ScreenshotsIn,
    ScreenshotsOut,
)
from casework.api.services import ApiProblem
from casework.cases.models import Case
from casework.evidence.files import delete_files, evidence_storage, unreferenced_keys
from casework.extensions import csrf, db, limiter
from casework.intake.services import IntakeError
from casework.notifications.jobs import deliver_soon
from casework.orm import utcnow
from casework.ratelimit import seconds_until_reset
from casework.saving import saving
from casework.urls import absolute_url

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
bp = Blueprint("api_v1", __name__, url_prefix=API_PREFIX)
# The session cookie and CSRF token are the browser's; the API takes only bearer tokens.
csrf.exempt(bp)

# Endpoints reachable without a token: the description of the API itself.
PUBLIC_ENDPOINTS = frozenset({"api_v1.openapi"})
_BEARER = "bearer"


def _validation_refused(
    _request: Any, response: Any, error: Exception | None, _instance: Any, _adapter: Any
) -> None:
    """spectree's refusal of a body, rewritten as our error shape; nothing sent is logged
    or echoed (pydantic's own messages quote the input)."""
    if error is None or response is None:
        return
    fields: dict[str, list[str]] = {}
    if isinstance(error, ValidationError):
        for problem in error.errors(include_input=False, include_url=False):
            path = ".".join(str(part) for part in problem["loc"]) or "body"
            fields.setdefault(path, []).append(problem["msg"])
    body = services.invalid(fields)
    response.set_data(_error_json(body))
    response.mimetype = "application/json"


def _response_refused(
    _request: Any, response: Any, error: Exception | None, _instance: Any, _adapter: Any
) -> None:
    """An answer that does not match its own schema is a server error: logged by field
    path only, and answered without spectree's details, which quote the values."""
    if not isinstance(error, ValidationError) or response is None:
        return
    log.error(
        "API response does not match its schema at %s",
        [".".join(map(str, e["loc"])) for e in error.errors(include_input=False)],
    )
    problem = ApiProblem(
        500, "server_error", gettext("Something went wrong on our side; please try again later.")
    )
    response.set_data(_error_json(problem))
    response.mimetype = "application/json"


api_spec = SpecTree(
    "flask",
    # Only the endpoints below: the rest of the app is not part of the API.
    mode="strict",
    # Schemas named as the models are: every model name in casework.api.schemas is unique.
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
    title="Casework API",
    version="1",
    description=(
        "Open cases, add posts and screenshots, and read a case's status, notices and "
        "deadlines, for the organisation of the token's user. Send the token as "
        "`Authorization: Bearer <token>`; an admin issues it on the staff admin pages."
    ),
    # No documentation pages: they would load scripts from a third party.
    page_templates={},
    security_schemes=[
        SecurityScheme(
            name=_BEARER,
            data=SecuritySchemeData(
                type=SecureType.HTTP, scheme="bearer", description="An API token"
            ),
        )
    ],
    security={_BEARER: []},
    validation_error_status=422,
    validation_error_model=ErrorOut,
    before=_validation_refused,
    after=_response_refused,
)


def _refusals(*, writes: bool) -> dict[str, Any]:
    found: dict[str, Any] = {
        "HTTP_401": ErrorOut,
        "HTTP_404": ErrorOut,
        "HTTP_429": ErrorOut,
    }
    if writes:
        found |= {
            "HTTP_403": ErrorOut,
            "HTTP_409": ErrorOut,
            "HTTP_413": ErrorOut,
            "HTTP_415": ErrorOut,
            "HTTP_422": ErrorOut,
        }
    return found


def _token_key() -> str:
    """Count requests per known token (by its hash: the secret is not kept even in Redis),
    and per address for everything else, so that guessing tokens gets no fresh counter
    per guess."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() == _BEARER and secret.strip():
        digest = known_secret_hash(db.session, secret.strip())
        if digest is not None:
            return "api-token:" + digest
    return "api-address:" + (request.remote_addr or "")


limiter.limit(lambda: str(current_app.config["RATELIMIT_API"]), key_func=_token_key)(bp)


def _error_json(problem: ApiProblem) -> bytes:
    body = ErrorOut(error=problem.code, message=problem.message, fields=problem.fields)
    return body.model_dump_json().encode()


@bp.errorhandler(ApiProblem)
def _problem(problem: ApiProblem) -> Response:
    response = Response(_error_json(problem), status=problem.status, mimetype="application/json")
    if problem.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="casework"'
    if problem.status == 429:
        response.headers["Retry-After"] = str(math.ceil(seconds_until_reset()))
    return response


@bp.before_request
def _authenticate() -> None:
    """Every endpoint but the description takes a working token; cookies count for nothing."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    token = None
    if scheme.lower() == _BEARER and secret.strip():
        token = authenticate(db.session, secret.strip(), utcnow())
    if token is None:
        raise ApiProblem(
            401,
            "unauthorised",
            gettext("Send a valid API token as “Authorization: Bearer <token>”."),
        )
    db.session.commit()  # the note of its use, whatever the request then does
    g.api_token = token
    if request.method == "POST" and not request.is_json:
        raise ApiProblem(
            415, "unsupported_media_type", gettext("Send the body as application/json.")
        )


def _token() -> ApiToken:
    token: ApiToken = g.api_token
    return token


def _case(ref: str) -> Case:
    case = services.find_case(db.session, _token().user.organisation_id, ref)
    if case is None:
        raise ApiProblem(404, "not_found", gettext("No case has this reference."))
    return case


def _json(model: BaseModel, status: int = 200) -> tuple[Response, int]:
    return jsonify(model.model_dump(mode="json")), status


def _saved(change: Callable[[], Any], storage_keys: list[str] | None = None) -> Any:
    """Run a change and commit it; on any refusal or failure roll it all back and remove
    the files it wrote, so nothing half-written stays."""
    with saving(ApiProblem, SQLAlchemyError, OSError, IntakeError) as saved:
        result = change()
    if saved.error is None:
        return result
    if storage_keys:
        storage = evidence_storage(current_app.config, db.session)
        delete_files(storage, unreferenced_keys(db.session, storage_keys))
    if isinstance(saved.error, ApiProblem):
        raise saved.error
    log.error("API change not saved: %s", type(saved.error).__name__)
    raise ApiProblem(500, "not_saved", gettext("Nothing was saved; please try again."))


@bp.get("/openapi.json", endpoint="openapi")
def openapi() -> Response:
    """The OpenAPI description, generated from the schemas the endpoints validate with."""
    return jsonify(api_spec.spec)


@bp.post("/cases")
@api_spec.validate(json=NewCaseIn, resp=Responses(HTTP_201=NewCaseOut, **_refusals(writes=True)))
def create_case(json: NewCaseIn) -> tuple[Response, int]:
    """Open a case for the person, filed by the token's user (links only; add screenshots
    afterwards)."""
    token = _token()
    storage = evidence_storage(current_app.config, db.session)
    submission = _saved(
        lambda: services.open_case(
            db.session,
            token,
            json,
            storage=storage,
            sign_in_url=absolute_url("victim.sign_in"),
        )
    )
    if submission.email_id is not None:
        deliver_soon([submission.email_id])
    shown = services.case_out(db.session, submission.case)
    access_code = submission.access_code if json.access == "show" else None
    return _json(NewCaseOut(**shown.model_dump(), access_code=access_code), 201)


@bp.get("/cases/<ref>")
@api_spec.validate(resp=Responses(HTTP_200=CaseOut, **_refusals(writes=False)))
def get_case(ref: str) -> tuple[Response, int]:
    """A case's status and its posts."""
    return _json(services.case_out(db.session, _case(ref)))


@bp.post("/cases/<ref>/posts")
@api_spec.validate(json=NewPostsIn, resp=Responses(HTTP_201=NewPostsOut, **_refusals(writes=True)))
def add_posts(ref: str, json: NewPostsIn) -> tuple[Response, int]:
    """Add links to posts on X; posts the case already has are counted, not repeated."""
    case = _case(ref)
    token = _token()
    added, known = _saved(lambda: services.add_posts(db.session, token, case, json))
    return _json(
        NewPostsOut(added=[services.post_out(item) for item in added], already_in_case=known),
        201,
    )


@bp.post("/cases/<ref>/screenshots")
@api_spec.validate(
    json=ScreenshotsIn, resp=Responses(HTTP_201=ScreenshotsOut, **_refusals(writes=True))
)
def add_screenshots(ref: str, json: ScreenshotsIn) -> tuple[Response, int]:
    """Add screenshots of one post of the case, base64-encoded; never for a case whose
    person is or may be under 18."""
    case = _case(ref)
    token = _token()
    new_keys: list[str] = []
    storage = evidence_storage(current_app.config, db.session)
    added, known = _saved(
        lambda: services.add_screenshots(
            db.session,
            token,
            case,
            json,
            storage=storage,
            max_bytes=current_app.config["MAX_UPLOAD_BYTES"],
            new_keys=new_keys,
        ),
        new_keys,
    )
    return _json(ScreenshotsOut(added=added, already_in_case=known), 201)


@bp.get("/cases/<ref>/notices")
@api_spec.validate(resp=Responses(HTTP_200=NoticesOut, **_refusals(writes=False)))
def get_notices(ref: str) -> tuple[Response, int]:
    """The notices of a case: route, state, when sent and answered (no letter contents)."""
    return _json(services.notices_out(db.session, _case(ref)))


@bp.get("/cases/<ref>/deadlines")
@api_spec.validate(resp=Responses(HTTP_200=DeadlinesOut, **_refusals(writes=False)))
def get_deadlines(ref: str) -> tuple[Response, int]:
    """The deadlines of a case's notices, soonest first."""
    return _json(services.deadlines_out(db.session, _case(ref)))
