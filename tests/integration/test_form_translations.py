"""WTForms' own messages and the region names follow each request's language, although
their translations are worked out once per process and language."""

from __future__ import annotations

from flask import Flask
from flask_wtf.i18n import translations

from casework.intake.choices import region_names
from casework.intake.forms import WhereForm


def _where_form(app: Flask, language: str) -> tuple[str, str, str]:
    with app.test_request_context("/report/where", headers={"Accept-Language": language}):
        app.preprocess_request()
        form = WhereForm(meta={"csrf": False})
        regions = dict(form.region.choices or [])
        return translations.gettext("Not a valid choice."), str(regions["GB-NIR"]), form.region()


def test_wtforms_messages_and_region_names_are_in_the_reader_language(app: Flask) -> None:
    for _ in range(2):  # the second time from what the first left behind
        message, region, html = _where_form(app, "fr")
        assert message == "N'est pas un choix valide."
        assert region == "Irlande du Nord"
        assert ">Irlande du Nord</option>" in html
        message, region, html = _where_form(app, "en")
        assert message == "Not a valid choice."
        assert region == "Northern Ireland"
        assert ">Northern Ireland</option>" in html


def test_the_where_pages_region_list_is_in_the_reader_language(app: Flask) -> None:
    for _ in range(2):  # the second time from what the first left behind
        for language, wales, california in (
            ("fr", "Pays de Galles", "Californie"),
            ("en", "Wales", "California"),
        ):
            with app.test_request_context("/report/where", headers={"Accept-Language": language}):
                app.preprocess_request()
                names = region_names()
                assert names["GB"]["WLS"] == wales
                assert names["US"]["CA"] == california
