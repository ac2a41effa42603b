"""French letters in French typography, and in the words a French lawyer expects."""

from __future__ import annotations

import html
import re

import pytest

from casework.notices.rendering import french_typography, render_letter_html
from casework.notices.snapshot import sample_snapshot
from casework.registry import Route, default_registry

REGISTRY = default_registry()
FRENCH = [route for route in REGISTRY.routes if route.language == "fr"]


def letter_text(route: Route, *, minor: bool) -> str:
    snapshot = sample_snapshot(route, REGISTRY)
    snapshot["case"]["minor"] = minor
    page = render_letter_html(snapshot, route.templates[0])
    page = re.sub(r"<style\b.*?</style>", " ", page, flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]*>", " ", page))


@pytest.mark.parametrize("minor", [False, True], ids=["adult", "minor"])
@pytest.mark.parametrize("route", FRENCH, ids=lambda route: route.key)
def test_every_french_letter_is_set_in_french_typography(route: Route, minor: bool) -> None:
    text = letter_text(route, minor=minor)
    assert "'" not in text
    assert "’" in text
    assert re.search(r"[ \t][:;!?»]", text) is None
    assert re.search(r"\w[:;!?](\s|$)", text) is None
    assert "\u00a0:" in text or "\u00a0;" in text
    assert "représentée" not in text
    # Text the typography pass cannot reach (attributes, the running page header) is
    # written typographically at the source.
    snapshot = sample_snapshot(route, REGISTRY)
    snapshot["case"]["minor"] = minor
    assert "avant l'envoi" not in html.unescape(render_letter_html(snapshot, route.templates[0]))


def test_french_typography_leaves_addresses_times_and_markup_alone() -> None:
    page = (
        '<p class="x">Objet: l\'article 16 ; voir https://x.com/a/status/1?s=20 à 10:30 '
        "« texte » !</p><style>a:hover { color: red; }</style>"
    )
    assert french_typography(page) == (
        '<p class="x">Objet\u00a0: l’article 16\u00a0; voir https://x.com/a/status/1?s=20 '
        "à 10:30 «\u00a0texte\u00a0»\u00a0!</p><style>a:hover { color: red; }</style>"
    )


def test_english_letters_keep_their_own_typography() -> None:
    route = REGISTRY.route("us.tida.removal")
    text = letter_text(route, minor=False)
    assert "’" not in text
    assert "\u00a0:" not in text
