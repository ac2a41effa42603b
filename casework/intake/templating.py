"""Template helpers shared by the public pages: the error list that links to each field."""

from __future__ import annotations

from wtforms import Field, FieldList, Form, FormField, RadioField, SelectMultipleField
from wtforms.widgets import ListWidget


def anchor_id(field: Field) -> str:
    """Where an error link should land: the first option of a group, else the field itself."""
    if isinstance(field, RadioField) or (
        isinstance(field, SelectMultipleField) and isinstance(field.widget, ListWidget)
    ):
        return f"{field.id}-0"
    return str(field.id)


def _walk(field: Field) -> list[tuple[str, str]]:
    if isinstance(field, FieldList):
        found: list[tuple[str, str]] = []
        for entry in field.entries:
            found.extend(_walk(entry))
        return found
    if isinstance(field, FormField):
        found = []
        for sub in field.form:
            found.extend(_walk(sub))
        return found
    return [(anchor_id(field), str(message)) for message in field.errors]


def error_list(*forms: Form | None) -> list[tuple[str, str]]:
    """(anchor id, message) for every error of the given forms, in page order."""
    found: list[tuple[str, str]] = []
    for form in forms:
        if form is None:
            continue
        for field in form:
            found.extend(_walk(field))
    return found
