"""WTForms' own messages ("Not a valid choice.", ...) from one catalog per language.

Flask-WTF reads WTForms' message catalog from disk on every request that builds a form
and keeps it on that request only: under load that was a fifteenth of a form page's
time. Each language's catalog is read once per process here instead, and handed to
Flask-WTF where it looks for it, on the request.
"""

from __future__ import annotations

from functools import cache

from babel import support
from flask import request
from flask_babel import get_locale
from wtforms.i18n import messages_path


@cache
def _catalog(language: str) -> support.NullTranslations:
    return support.Translations.load(messages_path(), [language], domain="wtforms")


class _RequestLanguage:
    """The catalog of the request's language, chosen when a message is looked up."""

    def ugettext(self, string: str) -> str:
        return str(_catalog(_language()).ugettext(string))

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return str(_catalog(_language()).ungettext(singular, plural, n))


def _language() -> str:
    return str(get_locale() or "en")


_SHARED = _RequestLanguage()


def share_form_translations() -> None:
    """Before each request: where Flask-WTF looks first (flask_wtf.i18n)."""
    setattr(request, "wtforms_translations", _SHARED)  # noqa: B010 - not a Request field
