"""Templates translate into the request's language, and follow a forced or changed one.

The catalog a template uses is kept per request beside the locale it was found for
(casework/template_translations.py); these would fail if a kept catalog outlived a
change of locale within the request.
"""

from __future__ import annotations

from flask import Flask, render_template_string, session
from flask_babel import force_locale, refresh

from casework.template_translations import request_catalog

PAGE = '{{ _("Privacy") }} {{ ngettext("%(num)d day", "%(num)d days", 2) }}'


def test_a_template_speaks_the_requests_language(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        app.preprocess_request()  # as every request does: the locale chosen afresh
        assert render_template_string(PAGE).startswith("Confidentialité")
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        app.preprocess_request()  # as every request does: the locale chosen afresh
        assert render_template_string(PAGE).startswith("Privacy")


def test_a_forced_language_is_followed_and_then_left(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        app.preprocess_request()  # as every request does: the locale chosen afresh
        assert render_template_string(PAGE).startswith("Privacy")
        with force_locale("fr"):
            assert render_template_string(PAGE).startswith("Confidentialité")
        assert render_template_string(PAGE).startswith("Privacy")


def test_a_language_chosen_during_the_request_is_followed(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        app.preprocess_request()  # as every request does: the locale chosen afresh
        assert render_template_string(PAGE).startswith("Privacy")
        session["lang"] = "fr"
        refresh()
        assert render_template_string(PAGE).startswith("Confidentialité")


def test_the_catalog_is_looked_up_once_per_locale(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        app.preprocess_request()  # as every request does: the locale chosen afresh
        assert request_catalog() is request_catalog()
        assert request_catalog().ugettext("Privacy") == "Confidentialité"


def test_outside_a_request_templates_speak_english(app: Flask) -> None:
    assert render_template_string(PAGE).startswith("Privacy")
