"""Template output escapes what visitors send, and nothing switches escaping off unreviewed."""

from __future__ import annotations

import io
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casework.cases.models import FilerRole
from casework.extensions import db
from tests import factories
from tests.intake_support import Answers, fill_report, input_value, photo, submit

REPO_ROOT = Path(__file__).resolve().parents[2]
PAYLOAD = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
# Places that turn escaping off, each to be reviewed; add "path: reason" entries here.
REVIEWED_UNESCAPED: dict[str, str] = {
    "casework/accounts/totp.py": "segno draws the QR code's SVG itself; no user text is in it",
    "casework/charts.py": "chart SVG built from numbers and labels each escaped before joining",
}
UNESCAPING = re.compile(r"\|\s*safe\b|autoescape\s+false|Markup\(|render_template_string\(")


@pytest.mark.parametrize("path", ["/", "/privacy", "/no-such-page"])
def test_the_request_path_and_query_are_escaped_where_pages_echo_them(
    app: Flask, path: str
) -> None:
    response = app.test_client().get(f"{path}?q={PAYLOAD}")
    page = response.get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert "onerror=alert(2)>" not in page
    assert "&lt;script&gt;alert(1)" in page  # echoed, as text, in the language form's next=


def test_every_html_template_is_autoescaped(app: Flask) -> None:
    templates = sorted((REPO_ROOT / "templates").rglob("*.html"))
    assert templates
    for path in templates:
        assert app.select_jinja_autoescape(path.name), path


def test_nothing_turns_escaping_off_without_review() -> None:
    found = []
    for folder, pattern in (("templates", "*.html"), ("letters", "*.html"), ("casework", "*.py")):
        for path in sorted((REPO_ROOT / folder).rglob(pattern)):
            relative = str(path.relative_to(REPO_ROOT))
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if UNESCAPING.search(line) and relative not in REVIEWED_UNESCAPED:
                    found.append(f"{relative}:{number}: {line.strip()}")
    assert found == []


# --- what people type, shown back to them and to staff -----------------------------------

# Fits the 15 characters of an X handle, and would run if it reached the page as markup.
HANDLE_PAYLOAD = "<svg/onload=1>"
# File names lose anything before a slash, and browsers send a quote in one as %22.
FILE_PAYLOAD = "<img src=x onerror=alert(3)>.png"


class _Markup(HTMLParser):
    """What a browser would build: inline scripts, event handlers, injected images."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "img" and ("src", "x") in attrs:
            self.found.append("<img> from user text")
        self.found += [f"{name}= on <{tag}>" for name in names if name.startswith("on")]


def shown_as_text(response: Any, *texts: str) -> str:
    """Each text appears on the page, as text; nothing on the page came from it as markup."""
    html = response.get_data(as_text=True)
    parser = _Markup()
    parser.feed(html)
    assert parser.found == []
    readable = unescape(html)
    for text_ in texts:
        assert text_ in readable, f"{text_!r} is not on the page, so escaping was not tested"
    return html


@pytest.fixture
def reporting(app: Flask, client: FlaskClient) -> FlaskClient:
    factories.org(receives_public_reports=True)
    db.session.commit()
    return client


def test_the_report_form_shows_what_was_typed_as_text(reporting: FlaskClient) -> None:
    client = reporting
    good_link = factories.post_url("grokfan")
    fill_report(client, Answers(links=[good_link], details={0: {"prompt": PAYLOAD}}))
    # The review shows the prompt text.
    shown_as_text(client.get("/report/review"), PAYLOAD)

    # A bad line is quoted back in its error, and kept in the box.
    response = client.post("/report/posts", data={"links": f"{good_link}\n{PAYLOAD}"})
    shown_as_text(response, PAYLOAD)
    assert 'class="error-message"' in response.get_data(as_text=True)
    client.post("/report/posts", data={"links": good_link})
    client.post("/report/posts/details", data={"posts-0-kind": "unknown"})

    # A file's name, in the list of what was added.
    upload = {"screenshots": [(io.BytesIO(photo(3, "PNG")), FILE_PAYLOAD)], "action": "upload"}
    client.post("/report/screenshots", data=upload, content_type="multipart/form-data")
    shown_as_text(client.get("/report/screenshots"), FILE_PAYLOAD)

    # A refused email address, put back in its field (an attribute value).
    response = client.post(
        "/report/where",
        data={"country": "GB", "language": "en", "contact": "email", "email": PAYLOAD},
    )
    shown_as_text(response, PAYLOAD)
    assert input_value(response.get_data(as_text=True), "email") == PAYLOAD


def test_the_victims_case_page_shows_what_was_typed_as_text(reporting: FlaskClient) -> None:
    client = reporting
    fill_report(client, Answers())
    submit(client)
    response = client.post("/my-case/links", data={"links": PAYLOAD})
    html = shown_as_text(response, PAYLOAD)
    assert "Line 1" in unescape(html)
    response = client.post(
        "/my-case/contact", data={"language": "en", "contact": "email", "email": PAYLOAD}
    )
    shown_as_text(response, PAYLOAD)


def test_the_staff_queue_and_case_screen_show_stored_text_as_text(
    app: Flask, client: FlaskClient
) -> None:
    organisation = factories.org()
    staff = factories.user(organisation, name=PAYLOAD, password=None)
    case = factories.case(
        organisation,
        assignee_id=staff.id,
        filer_role=FilerRole.REPRESENTATIVE,
        filer_relationship=PAYLOAD[:100],
        contact_email=PAYLOAD,
    )
    # Written straight to the rows: whatever checks the way in, the page must not trust them.
    item = case.items[0]
    item.handle, item.prompt_text = HANDLE_PAYLOAD, PAYLOAD
    db.session.commit()
    factories.sign_in(client, staff)

    shown_as_text(client.get("/staff/cases/?worklist=all"), PAYLOAD)
    assert client.post(f"/staff/cases/{case.id}/notes", data={"body": PAYLOAD}).status_code == 302
    html = shown_as_text(client.get(f"/staff/cases/{case.id}"), PAYLOAD, "@" + HANDLE_PAYLOAD)
    readable = unescape(html)
    # The name, the relationship, the contact, the prompt and the note: every one of them.
    assert readable.count(PAYLOAD) >= 5
