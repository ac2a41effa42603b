"""Fuzzing the public forms: any fields, any values, any files, on every report and case step.

Hypothesis posts arbitrary form data (known field names and made-up ones, valid answers
and garbage, several values per field, unusual characters) and arbitrary files (random
bytes, bombs, polyglots, real pictures) to every POST route of the report form and of
the victim's case page, from whatever state the previous examples left the browser in;
a run is a sequence of such steps mixed with filling a draft properly, sending it,
filing a case and signing in to it, so fuzzed answers reach the submit step.

Whatever arrives: the answer is never a server error, and the database is left exactly
as it was unless the request was one that succeeded at changing it: the report's submit
step returning its confirmation, or a case-page action redirecting after success.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from casework.extensions import db
from tests import factories
from tests.hostile_files import crafted_png, jpeg_zip_polyglot, pdf_jpeg_polyglot, picture
from tests.intake_support import (
    DRAFT_TABLES,
    Answers,
    Confirmation,
    fill_report,
    sign_in,
    submit,
)
from tests.integration.test_access_matrix import snapshot

GOOD_LINKS = [
    "https://x.com/grokfan/status/2008000000000000101",
    "https://twitter.com/someone/status/2008000000000000202?s=20",
    "https://mobile.x.com/a_b/status/2008000000000000303/photo/1",
]
FIELD_NAMES = [
    "csrf_token",
    "action",
    "filer",
    "relationship",
    "authority",
    "minor",
    "links",
    "posts-0-kind",
    "posts-0-prompt",
    "posts-1-kind",
    "posts-1-prompt",
    "posts-250-prompt",
    "keep_on_device",
    "device_files",
    "remove",
    "country",
    "region",
    "language",
    "contact",
    "email",
    "timezone",
    "actions",
    "consent",
    "reference",
    "code",
    "confirm",
    "lang",
    "next",
]
SHA = "ab" * 32
INTERESTING = [
    "",
    " ",
    "y",
    "yes",
    "no",
    "unsure",
    "subject",
    "representative",
    "parent_guardian",
    "continue",
    "back",
    "keep_good",
    "upload",
    "add",
    "add_good",
    "ai_image",
    "prompt_reply",
    "unknown",
    "GB",
    "FR",
    "US",
    "US-CA",
    "CA-QC",
    "-",
    "XX",
    "en",
    "fr",
    "email",
    "none",
    "person@example.org",
    "takedown",
    "regulator_complaint",
    "Europe/Paris",
    "Mars/Olympus_Mons",
    "CW-2026-000001",
    "apple banana cherry date elder fig",
    SHA,
    "\x00",
    "nul\x00inside",
    "\u202e\u200b\ufeff",
    "https://x.com/grokfan",
    "https://t.co/abc",
    "javascript:alert(1)",
    "\n".join(GOOD_LINKS),
    "\n".join([*GOOD_LINKS, "not a link"]),
    "\n".join(f"https://x.com/u/status/{2008000000000000000 + n}" for n in range(120)),
    "word " * 3000,
    json.dumps([{"sha256": SHA, "name": "a.png", "size": 10, "type": "image/png"}]),
    json.dumps([{"sha256": SHA, "name": "a.png", "size": -1}]),
    json.dumps({"sha256": SHA}),
    "[" * 500,
    "{not json",
]
PICTURES = {
    "png": picture("PNG"),
    "jpeg": picture("JPEG"),
    "bomb": crafted_png(30_000, 30_000),
    "strip": crafted_png(20_000, 2),
    "jpeg+zip": jpeg_zip_polyglot(),
    "pdf+jpeg": pdf_jpeg_polyglot(),
    "empty": b"",
}

# Text as browsers can send it: any character that UTF-8 can carry.
any_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=300)


def interesting(position: int) -> str:
    # Drawn by position: a strategy holding the long values itself would print them all.
    return INTERESTING[position]


def picture_named(name: str) -> bytes:
    return PICTURES[name]


values = st.one_of(any_text, st.sampled_from(range(len(INTERESTING))).map(interesting))
field_names = st.one_of(st.sampled_from(FIELD_NAMES), st.text(min_size=1, max_size=12))
form_data = st.dictionaries(
    field_names, st.one_of(values, st.lists(values, min_size=2, max_size=4)), max_size=10
)
# A file name has no line breaks or NUL (the multipart header could not carry them).
file_names = st.text(
    alphabet=st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=60
)
file_bodies = st.one_of(
    st.sampled_from(sorted(PICTURES)).map(picture_named), st.binary(max_size=2048)
)
uploads = st.lists(st.tuples(file_bodies, file_names), max_size=4)

# Each run is a sequence of steps from one browser: drafts are filled, fuzzed, sent.
# CASEWORK_FUZZ_RUNS=500 digs deeper than the suite's everyday 20.
FUZZ = settings(
    max_examples=int(os.environ.get("CASEWORK_FUZZ_RUNS", "20")),
    stateful_step_count=8,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def post_routes(app: Flask, blueprint: str) -> list[str]:
    """Every POST route of the blueprint, from the URL map, so none is left out; a row id in
    the path is 1, whatever row that is."""
    adapter = app.url_map.bind("localhost")
    return sorted(
        adapter.build(rule.endpoint, dict.fromkeys(rule.arguments, 1))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(blueprint + ".") and "POST" in (rule.methods or ())
    )


def send(client: FlaskClient, path: str, fields: dict[str, Any], files: list[Any]) -> Any:
    if not files:
        return client.post(path, data=fields)
    data: dict[str, Any] = dict(fields)
    data["screenshots"] = [(io.BytesIO(body), name) for body, name in files]
    return client.post(path, data=data, content_type="multipart/form-data")


@dataclass
class Outcome:
    status: int
    changed: bool


def kept_rows() -> dict[str, list[tuple[str, ...]]]:
    """snapshot() but the drafts, where every page keeps what was typed, valid or not."""
    return {name: rows for name, rows in snapshot().items() if name not in DRAFT_TABLES}


def attempt(client: FlaskClient, path: str, fields: dict[str, Any], files: list[Any]) -> Outcome:
    before = kept_rows()
    response = send(client, path, fields, files)
    db.session.rollback()  # read what the request committed, not this session's view
    changed = kept_rows() != before
    assert response.status_code < 500, f"{path}: {response.status_code}"
    return Outcome(response.status_code, changed)


@pytest.fixture
def receiving(app: Flask) -> None:
    factories.org(receives_public_reports=True)
    db.session.commit()


def test_the_report_form_survives_anything(
    app: Flask, client: FlaskClient, receiving: None
) -> None:
    routes = post_routes(app, "intake")
    assert {"/report/", "/report/posts/details", "/report/screenshots", "/report/submit"} <= set(
        routes
    )

    class ReportForm(RuleBasedStateMachine):
        @rule()
        def a_complete_draft(self) -> None:
            client.post("/report/discard", data={"confirm": "yes"})
            fill_report(client, Answers(links=GOOD_LINKS[:2]))

        @rule(path=st.sampled_from(routes), fields=form_data, files=uploads)
        def post_anything(self, path: str, fields: dict[str, Any], files: list[Any]) -> None:
            outcome = attempt(client, path, fields, files)
            if outcome.changed:
                # Only a report sent whole may change the database.
                assert (path, outcome.status) == ("/report/submit", 200)

        @rule()
        def send_what_is_there(self) -> None:
            outcome = attempt(client, "/report/submit", {}, [])
            assert outcome.changed == (outcome.status == 200)

    run_state_machine_as_test(ReportForm, settings=FUZZ)


def test_the_victims_case_page_survives_anything(
    app: Flask, client: FlaskClient, receiving: None
) -> None:
    routes = post_routes(app, "victim")
    assert {"/my-case/", "/my-case/links", "/my-case/images", "/my-case/delete"} <= set(routes)
    filed: list[Confirmation] = []

    class CasePage(RuleBasedStateMachine):
        @rule()
        def a_new_case(self) -> None:
            client.post("/report/discard", data={"confirm": "yes"})
            fill_report(client, Answers())
            filed.append(submit(client))

        @precondition(lambda self: bool(filed))
        @rule()
        def sign_in_again(self) -> None:
            sign_in(client, filed[-1].reference, filed[-1].access_code)

        @rule(
            path=st.sampled_from(routes),
            fields=form_data,
            files=uploads,
            right_code=st.booleans(),
        )
        def post_anything(
            self, path: str, fields: dict[str, Any], files: list[Any], right_code: bool
        ) -> None:
            if path == "/my-case/" and right_code and filed:
                fields = {**fields, "reference": filed[-1].reference, "code": filed[-1].access_code}
            outcome = attempt(client, path, fields, files)
            if outcome.changed:
                # A refused action shows the page again (200) or refuses the request (4xx);
                # only an action that worked redirects, and only then may anything change.
                assert outcome.status == 302, path

    run_state_machine_as_test(CasePage, settings=FUZZ)
