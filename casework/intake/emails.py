"""The confirmation email, in the person's language: reference and access code, never evidence."""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template
from flask_babel import force_locale, gettext

from casework.registry import default_registry


@dataclass(frozen=True)
class EmailText:
    subject: str
    body: str


def confirmation_email(
    *,
    reference: str,
    access_code: str,
    language: str,
    sign_in_url: str,
    minor: bool,
    country: str | None,
) -> EmailText:
    """Render the confirmation in the case's language (needs an app context, not a request)."""
    with force_locale(language):
        subject = gettext("Your report: case %(reference)s", reference=reference)
        body = render_template(
            "email/intake_confirmation.txt",
            reference=reference,
            access_code=access_code,
            sign_in_url=sign_in_url,
            minor=minor,
            routes=default_registry().minor_routes_shown(country) if minor else (),
        )
    return EmailText(subject=subject, body=body)
