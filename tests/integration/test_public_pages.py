"""Every public page: quick exit, privacy notice, language switch, labels, and no third parties."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casework.extensions import db
from tests import factories
from tests.intake_support import Answers, fill_report, page_text, submit


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.resources: list[str] = []
        self.labels_for: set[str] = set()
        self.controls: list[dict[str, str | None]] = []
        self.ids: set[str] = set()
        self.links: list[dict[str, str | None]] = []
        self.forms: list[str] = []
        self.inline: list[str] = []
        self._fieldset_described: list[str] = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "fieldset" and self._fieldset_described:
            self._fieldset_described.pop()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        for name, _ in attrs:
            if name.startswith("on") or name == "style":
                self.inline.append(f"{tag} {name}")
        if tag == "script":
            self.resources.append(a.get("src") or "INLINE SCRIPT")
        if tag in {"img", "iframe", "audio", "video", "source", "embed"}:
            self.resources.append(str(a.get("src")))
        if tag == "link":
            self.resources.append(str(a.get("href")))
        if tag == "style":
            self.inline.append("style element")
        if tag == "label" and a.get("for"):
            self.labels_for.add(str(a["for"]))
        if tag == "fieldset":
            self._fieldset_described.append(a.get("aria-describedby") or "")
        if tag in {"input", "select", "textarea"} and a.get("type") not in {"hidden", "submit"}:
            if a.get("type") in {"radio", "checkbox"} and self._fieldset_described:
                # A group's hint and errors belong to its fieldset, read out with the legend.
                a["group-describedby"] = self._fieldset_described[-1]
            self.controls.append(a)
        if tag == "a":
            self.links.append(a)
        if tag == "form":
            self.forms.append(str(a.get("action")))


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.fixture
def public_pages(app: Flask, client: FlaskClient) -> dict[str, str]:
    """Every public page a victim meets, in the state it is usually seen in."""
    factories.org(receives_public_reports=True)
    db.session.commit()
    pages: dict[str, str] = {}
    for url in ["/", "/privacy", "/report/", "/my-case/"]:
        pages[url] = page_text(client.get(url))
    fill_report(client, Answers())
    for url in [
        "/report/age",
        "/report/posts",
        "/report/posts/details",
        "/report/screenshots",
        "/report/where",
        "/report/wishes",
        "/report/review",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        pages[url] = page_text(response)
    pages["/report/submit"] = submit(client).html
    for url in ["/my-case/case", "/my-case/withdraw", "/my-case/delete"]:
        pages[url] = page_text(client.get(url))
    pages["/my-case/contact (errors)"] = page_text(
        client.post("/my-case/contact", data={"contact": "email"})
    )
    client.post("/my-case/delete", data={"confirm": "y"})
    pages["/my-case/deleted"] = page_text(client.get("/my-case/deleted"))
    another = app.test_client()
    fill_report(another, Answers())
    pages["/report/where (errors)"] = page_text(another.post("/report/where", data={}))
    return pages


def test_every_public_page_has_quick_exit_privacy_notice_and_language_switch(
    public_pages: dict[str, str],
) -> None:
    for url, html in public_pages.items():
        page = parse(html)
        exits = [link for link in page.links if link.get("id") == "quick-exit"]
        assert len(exits) == 1, url
        assert any(link.get("href") == "/privacy" for link in page.links), url
        # On a page with answers, the language buttons send that page's form instead.
        step_switch = 'form="step-form" name="lang"' in html and 'id="step-form"' in html
        links_switch = 'form="links-form" name="lang"' in html and 'id="links-form"' in html
        assert "/language" in page.forms or step_switch or links_switch, url
        assert "/static/js/quick-exit.js" in page.resources, url


def test_no_page_loads_anything_from_another_site_or_inline(
    public_pages: dict[str, str],
) -> None:
    for url, html in public_pages.items():
        page = parse(html)
        for resource in page.resources:
            parts = urlsplit(resource)
            assert not parts.scheme and not parts.netloc and resource.startswith("/static/"), (
                url,
                resource,
            )
        assert page.inline == [], url
        for action in page.forms:
            assert action.startswith("/"), (url, action)


def test_every_field_has_a_label_and_every_error_is_tied_to_its_field(
    public_pages: dict[str, str],
) -> None:
    for url, html in public_pages.items():
        page = parse(html)
        for control in page.controls:
            assert control.get("id") in page.labels_for, (url, control)
            described_by = (
                f"{control.get('aria-describedby') or ''} {control.get('group-describedby') or ''}"
            )
            for described in described_by.split():
                assert described in page.ids, (url, described)
        # Every link in an error summary lands on a field that exists.
        for link in page.links:
            href = link.get("href") or ""
            if href.startswith("#") and href != "#content":
                assert href[1:] in page.ids, (url, href)
    errors = parse(public_pages["/report/where (errors)"])
    invalid = [c for c in errors.controls if c.get("aria-invalid") == "true"]
    assert {c.get("name") for c in invalid} >= {"country", "contact"}
    for control in invalid:
        described_by = (
            f"{control.get('aria-describedby') or ''} {control.get('group-describedby') or ''}"
        )
        assert "-error-" in described_by, control


def test_pages_are_never_cached(app: Flask, client: FlaskClient) -> None:
    for url in ["/report/", "/my-case/"]:
        assert client.get(url).headers["Cache-Control"] == "no-store, private"


def test_the_language_switch_turns_the_form_french(client: FlaskClient) -> None:
    response = client.post("/language", data={"lang": "fr", "next": "/report/"})
    assert response.headers["Location"].endswith("/report/")
    html = page_text(client.get("/report/"))
    assert 'lang="fr"' in html and "Qui fait ce signalement ?" in html
    assert "Je suis la personne sur les images" in html
