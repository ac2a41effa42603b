"""Bad input of every kind gets a clear answer and leaves the database (and the draft) as it was."""

from __future__ import annotations

import io
import json
import os
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from casework.cases.models import Case
from casework.extensions import db
from tests import factories
from tests.intake_support import (
    Answers,
    checked,
    draft_part_names,
    draft_parts,
    fill_report,
    filled_report,
    page_text,
    pdf_bytes,
    photo,
    report_and_sign_out,
    row_counts,
    sent_report,
    sign_in,
    submit,
    textarea,
)

LIMIT = 60_000


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["MAX_UPLOAD_BYTES"] = LIMIT
    return app_config


@pytest.fixture
def ready(app: Flask, client: FlaskClient) -> FlaskClient:
    """A client at the screenshots page of a valid draft, with an organisation to receive it."""
    filled_report(client)
    return client


def upload(client: FlaskClient, files: list[tuple[str, bytes]], **extra: Any) -> Any:
    data: dict[str, Any] = {"screenshots": [(io.BytesIO(b), n) for n, b in files], **extra}
    return client.post("/report/screenshots", data=data, content_type="multipart/form-data")


def draft_images(app: Flask) -> list[str]:
    return [name for name in draft_part_names() if name == "screenshot"]


def noisy_png(size: int) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (size, size), os.urandom(size * size * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def test_an_oversized_file_is_refused_by_name_and_the_others_are_kept(
    app: Flask, ready: FlaskClient
) -> None:
    big = noisy_png(400)
    assert len(big) > LIMIT
    before = row_counts(db.session)
    response = upload(ready, [("holiday.png", big), ("ok.png", photo(10, "PNG"))])
    assert response.status_code == 200
    html = page_text(response)
    assert "holiday.png: This file is too big for us to accept." in html
    assert 'href="#screenshots"' in html
    assert "ok.png" in html  # the good one is listed as added
    assert len(draft_images(app)) == 1
    assert row_counts(db.session) == before


def test_a_pdf_renamed_to_jpg_is_refused_with_a_clear_message(
    app: Flask, ready: FlaskClient
) -> None:
    before = row_counts(db.session)
    response = upload(ready, [("scan.jpg", pdf_bytes())])
    assert response.status_code == 200
    assert (
        "scan.jpg: This file is not a picture we can read. Please choose a JPEG, PNG or WebP"
        in (page_text(response))
    )
    assert draft_images(app) == []
    assert row_counts(db.session) == before


def test_a_request_larger_than_the_server_accepts_gets_a_plain_page(
    app: Flask, ready: FlaskClient
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 100_000
    before = row_counts(db.session)
    response = upload(ready, [("huge.png", os.urandom(150_000))])
    assert response.status_code == 413
    html = page_text(response)
    assert "What you sent is too large" in html
    assert "at most 0 MB" not in html
    assert row_counts(db.session) == before
    assert draft_images(app) == []


def test_more_files_than_allowed_at_once_are_refused_by_name(
    app: Flask, ready: FlaskClient
) -> None:
    files = [(f"shot{n}.png", photo(20 + n, "PNG", gps=False)) for n in range(7)]
    response = upload(ready, files)
    html = page_text(response)
    assert "shot5.png: not added. You can send up to 5 images at a time" in html
    assert "shot6.png: not added." in html
    assert len(draft_images(app)) == 5


def test_a_tampered_hash_list_is_refused_whole(app: Flask, ready: FlaskClient) -> None:
    response = upload(
        ready, [], keep_on_device="y", device_files='[{"sha256": "not-a-hash", "name": "x"}]'
    )
    assert "did not arrive intact" in page_text(response)
    assert ready.get("/report/review").headers["Location"].endswith("/report/screenshots")
    upload(ready, [], action="continue")
    review = page_text(ready.get("/report/review"))
    assert "kept on your device" not in review


def test_a_malformed_pdq_refuses_the_hash_list_with_a_clear_error(
    app: Flask, ready: FlaskClient
) -> None:
    entry = {"sha256": "ab" * 32, "name": "kept.jpg", "size": 10, "pdq": "zz" * 32, "quality": 50}
    response = upload(ready, [], keep_on_device="y", device_files=json.dumps([entry]))
    assert "did not arrive intact" in page_text(response)
    entry.update(pdq="ab" * 32, quality=1000)
    response = upload(ready, [], keep_on_device="y", device_files=json.dumps([entry]))
    assert "did not arrive intact" in page_text(response)
    upload(ready, [], action="continue")
    assert "kept on your device" not in page_text(ready.get("/report/review"))


def test_two_thousand_links_get_one_clear_answer_and_nothing_is_lost(
    app: Flask, ready: FlaskClient
) -> None:
    before = row_counts(db.session)
    pasted = "\n".join(
        f"https://x.com/someone/status/{2008000000000000000 + n}" for n in range(2000)
    )
    response = ready.post("/report/posts", data={"links": pasted})
    assert response.status_code == 200
    html = page_text(response)
    assert "You pasted 2,000 links; one report can hold up to 100." in html
    assert "add the rest from your case page" in html
    assert textarea(html, "links").strip().count("\n") == 1999
    assert row_counts(db.session) == before
    # The report cannot go on like this; cutting the list to the first 100 lines can.
    assert ready.get("/report/review").headers["Location"].endswith("/report/posts")
    first_hundred = "\n".join(pasted.splitlines()[:100])
    response = ready.post("/report/posts", data={"links": first_hundred})
    assert response.headers["Location"].endswith("/report/posts/details")
    details = page_text(ready.get("/report/posts/details"))
    assert details.count('class="card post-details"') == 100


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/report/", "Say whether you are the person in the images."),
        ("/report/age", "Say whether the person is under 18, or that you are not sure."),
        ("/report/posts", "Paste at least one link to a post on X."),
        ("/report/where", "Choose a country, or that you would rather not say."),
        ("/report/wishes", "Choose at least one thing you want us to do."),
    ],
)
def test_an_empty_page_says_what_is_missing(ready: FlaskClient, url: str, message: str) -> None:
    before = row_counts(db.session)
    response = ready.post(url, data={})
    assert response.status_code == 200
    html = page_text(response)
    assert message in html
    assert "There is a problem" in html
    assert html.count('class="error-message"') >= 1
    assert row_counts(db.session) == before


def test_the_empty_where_page_names_every_missing_answer(ready: FlaskClient) -> None:
    html = page_text(ready.post("/report/where", data={}))
    for message in (
        "Choose a country, or that you would rather not say.",
        "Choose how we can contact you, or that we should not.",
    ):
        assert message in html
    # The language is preselected as the one being read, so it is never missing.
    assert "Choose a language for our messages." not in html
    assert checked(html, "language") == ["en"]
    # Each error is linked from the summary to its field.
    for anchor in ("#country", "#contact-0"):
        assert f'href="{anchor}"' in html


def test_an_empty_representative_answer_asks_for_relationship_and_authority(
    ready: FlaskClient,
) -> None:
    # The questions were shown (and so sent): left empty, each says what is missing.
    sent = {"filer": "representative", "relationship": ""}
    html = page_text(ready.post("/report/", data=sent))
    assert "Choose your relationship to the person." in html
    assert "We can only act when the person agrees" in html


def test_a_very_long_prompt_is_refused_and_kept_for_editing(ready: FlaskClient) -> None:
    before = row_counts(db.session)
    prompt = "make it worse " * 3600
    response = ready.post(
        "/report/posts/details", data={"posts-0-kind": "prompt_reply", "posts-0-prompt": prompt}
    )
    assert response.status_code == 200
    html = page_text(response)
    assert "This can be at most 2,000 characters; it is 50,400 now. Please shorten it." in html
    assert textarea(html, "posts-0-prompt") == prompt
    assert 'href="#posts-0-prompt"' in html
    assert row_counts(db.session) == before
    # The review refuses to go on while it is too long.
    assert ready.get("/report/review").headers["Location"].endswith("/report/posts/details")


def test_an_unknown_choice_is_refused(ready: FlaskClient) -> None:
    before = row_counts(db.session)
    html = page_text(
        ready.post(
            "/report/where",
            data={"country": "FR", "region": "US-CA", "language": "en", "contact": "none"},
        )
    )
    assert "This state or region is not in the country you chose." in html
    html = page_text(ready.post("/report/where", data={"country": "XX", "language": "tlh"}))
    assert html.count("Not a valid choice") == 4  # two fields, each in the summary and by the field
    html = page_text(ready.post("/report/age", data={"minor": "maybe-later"}))
    assert "Not a valid choice" in html
    assert row_counts(db.session) == before


def test_a_nul_character_is_dropped_so_the_report_still_sends(ready: FlaskClient) -> None:
    """PostgreSQL cannot store NUL in text: left in, it turned the whole report into an error."""
    response = ready.post(
        "/report/posts/details",
        data={"posts-0-kind": "prompt_reply", "posts-0-prompt": "put her\x00 in a bikini"},
    )
    assert response.status_code == 302
    ready.post("/report/screenshots", data={"action": "continue"})
    submit(ready)
    item = db.session.scalars(select(Case)).one().items[0]
    assert item.prompt_text == "put her in a bikini"


def test_a_form_part_without_a_name_is_ignored(ready: FlaskClient) -> None:
    """A malformed multipart part (its name broken by a line break) arrives nameless."""
    before = row_counts(db.session)
    response = ready.post(
        "/report/posts/details",
        data={"\r": "", "posts-0-kind": "ai_image", "x": (io.BytesIO(b"x"), "x.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert row_counts(db.session) == before


def test_sending_twice_opens_one_case(ready: FlaskClient) -> None:
    submit(ready)
    response = ready.post("/report/submit")
    assert response.status_code == 302
    assert "There is no report in progress" in page_text(ready.get(response.headers["Location"]))
    assert len(db.session.scalars(select(Case)).all()) == 1


class TestWithCsrf:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        app_config["WTF_CSRF_ENABLED"] = True
        return app_config

    def test_a_forged_csrf_token_is_refused_and_nothing_changes(
        self, app: Flask, client: FlaskClient
    ) -> None:
        factories.org(receives_public_reports=True)
        db.session.commit()
        page = page_text(client.get("/report/"))
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token
        # The real token works...
        response = client.post("/report/", data={"filer": "subject", "csrf_token": token.group(1)})
        assert response.status_code == 302
        before = row_counts(db.session)
        drafts_before = draft_parts()
        # ...a forged one, or none, does not, on any page.
        for url, data in [
            ("/report/age", {"minor": "yes", "csrf_token": "forged." + token.group(1)[7:]}),
            ("/report/age", {"minor": "yes"}),
            ("/report/submit", {"csrf_token": "x" * 40}),
            (
                "/my-case/",
                {"reference": "CW-2026-000001", "code": "a b c d e f", "csrf_token": "x"},
            ),
        ]:
            response = client.post(url, data=data)
            assert response.status_code == 400, url
            assert "This page had expired" in page_text(response)
        assert row_counts(db.session) == before
        drafts_after = draft_parts()
        assert drafts_after == drafts_before


class TestRateLimits:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        app_config["RATELIMIT_ENABLED"] = True
        return app_config

    def test_twenty_wrong_access_codes_are_refused_clearly_and_change_nothing(
        self, app: Flask, client: FlaskClient
    ) -> None:
        confirmation = report_and_sign_out(client)
        before = row_counts(db.session)

        answers = []
        for attempt in range(20):
            wrong_code = f"wrong words number {attempt} here"
            response = sign_in(client, confirmation.reference, wrong_code)
            answers.append(response.status_code)
            html = page_text(response)
            if response.status_code == 200:
                assert "We could not open a case with this reference and access code." in html
            else:
                assert "Too many attempts" in html
                assert "wait 15 minutes" in html
                assert response.headers["Retry-After"] == "900"
        assert answers == [200] * 10 + [429] * 10
        assert row_counts(db.session) == before
        # While paused, even the right code waits: the pause is per connection, not per guess.
        assert sign_in(client, confirmation.reference, confirmation.access_code).status_code == 429
        assert row_counts(db.session) == before

    def test_a_wrong_reference_and_a_wrong_code_get_the_same_answer(
        self, app: Flask, client: FlaskClient
    ) -> None:
        confirmation = report_and_sign_out(client)

        def error_text(reference: str, code: str) -> str:
            html = page_text(sign_in(client, reference, code))
            return re.findall(r'class="error-message"[^>]*>(.*?)</p>', html, re.S)[0]

        wrong_code = error_text(confirmation.reference, "apple banana cherry date elder fig")
        wrong_reference = error_text("CW-2026-999999", confirmation.access_code)
        not_a_reference = error_text("hello", confirmation.access_code)
        assert wrong_code == wrong_reference == not_a_reference

    def test_a_successful_sign_in_does_not_use_up_the_allowance(
        self, app: Flask, client: FlaskClient
    ) -> None:
        confirmation = sent_report(client)
        for _ in range(12):
            response = sign_in(client, confirmation.reference, confirmation.access_code)
            assert response.status_code == 302


class TestSubmitLimit:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        app_config["RATELIMIT_ENABLED"] = True
        app_config["RATELIMIT_INTAKE"] = "2 per hour"
        return app_config

    def test_sending_many_reports_from_one_connection_is_paused(
        self, app: Flask, client: FlaskClient
    ) -> None:
        factories.org(receives_public_reports=True)
        db.session.commit()
        for _ in range(2):
            fill_report(client, Answers())
            submit(client)
        fill_report(client, Answers())
        before = row_counts(db.session)
        response = client.post("/report/submit")
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3600"
        assert "We received too many requests from this connection" in page_text(response)
        assert row_counts(db.session) == before
        # The third report is still there, waiting.
        assert client.get("/report/review").status_code == 200
