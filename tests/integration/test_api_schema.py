"""The API against its own OpenAPI description: schemathesis generates requests from
/api/v1/openapi.json, valid and invalid, and drives the app in-process (WSGI) with a
working token. No answer may be a server error, and every answer must be one the
description lists, in the shape it gives."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from casework.accounts.models import Role
from casework.cases.models import MinorStatus
from casework.extensions import db
from tests import factories
from tests.api_support import bearer, token_for

# Examples per operation and mode: enough to reach every field's edge cases in CI time.
EXAMPLES = 40
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]


@pytest.fixture
def api_world(app: Flask) -> dict[str, Any]:
    """A token of one organisation, one of its cases and one of a possible minor, and
    another organisation's case, for the generated requests to aim at."""
    ours = factories.org("ours")
    staff = factories.user(ours, Role.CASEWORKER)
    cases = [
        factories.case(ours),
        factories.case(ours, minor=MinorStatus.UNSURE),
        factories.case(factories.org("theirs")),
    ]
    db.session.commit()
    return {"secret": token_for(staff), "references": [c.reference for c in cases]}


def aim_at_known_cases(case: Any, references: list[str]) -> None:
    """Mostly real cases (ours, a minor's, another organisation's), sometimes the generated
    text: either way the answer must be one the description lists."""
    if "ref" not in (case.path_parameters or {}):
        return
    generated = str(case.path_parameters["ref"])
    if len(generated) % 4:
        case.path_parameters["ref"] = references[len(generated) % len(references)]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_keeps_to_its_description(
    app: Flask, api_world: dict[str, Any], mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    routes = [
        method
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api_v1.") and rule.endpoint != "api_v1.openapi"
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    ]
    assert len(operations) == len(routes)  # every endpoint is described, so fuzzed
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def keeps_to_it(case: Any) -> None:
            aim_at_known_cases(case, api_world["references"])
            case.call_and_validate(headers=bearer(api_world["secret"]), checks=CHECKS)

        keeps_to_it()
