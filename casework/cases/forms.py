"""Forms of the staff case workspace: worklist filters, case actions, bulk actions, merge."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FileField,
    HiddenField,
    MultipleFileField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from casework.cases.models import CaseStatus, Priority, RemovalState
from casework.cases.services import NOTE_MAX_CHARS, REPLY_MAX_CHARS, STATUS_LABELS
from casework.cases.worklists import Filters
from casework.registry import default_registry
from casework.timefmt import zone_or_utc

PRIORITY_LABELS = {
    Priority.URGENT: _l("urgent"),
    Priority.HIGH: _l("high"),
    Priority.NORMAL: _l("normal"),
    Priority.LOW: _l("low"),
}


def route_choices(blank: Any) -> list[tuple[str, Any]]:
    """Every letter the registry knows, by its jurisdiction and its title in the page's
    language."""
    registry = default_registry()
    language = str(get_locale() or "en")
    names = {j.code: j.name for j in registry.jurisdictions}
    return [("", blank)] + [
        (route.key, f"{names[route.jurisdiction]}: {route.title_in(language)}")
        for route in registry.routes
    ]


def status_choices(blank: Any = None) -> list[tuple[str, Any]]:
    choices = [(s.value, STATUS_LABELS[s]) for s in CaseStatus]
    return [("", blank), *choices] if blank is not None else choices


def to_utc(value: datetime | None, timezone: str) -> datetime | None:
    """A time typed in the reader's zone (datetime-local has none) as aware UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=zone_or_utc(timezone)).astimezone(ZoneInfo("UTC"))


class FilterForm(FlaskForm):
    """Queue filters, read from the URL so a view can be bookmarked."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), choices=[], validators=[Optional()])
    jurisdiction = StringField(
        _l("Jurisdiction"),
        validators=[
            Optional(),
            Regexp(
                r"^[A-Za-z]{2}(-[A-Za-z]{1,3})?$", message=_l("Use a code such as FR or US-CA.")
            ),
        ],
    )
    priority = SelectField(_l("Priority"), choices=[], validators=[Optional()])
    assignee = SelectField(_l("Assigned to"), choices=[], validators=[Optional()])
    created_from = DateField(_l("Reported from"), validators=[Optional()])
    created_to = DateField(_l("Reported until"), validators=[Optional()])
    q = StringField(
        _l("Reference, @account, post number or link"), validators=[Optional(), Length(max=300)]
    )

    def __init__(self, *args: Any, staff: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = status_choices(_l("Any status"))
        self.priority.choices = [("", _l("Any priority"))] + [
            (str(int(p)), label) for p, label in PRIORITY_LABELS.items()
        ]
        self.assignee.choices = [
            ("", _l("Anyone")),
            ("unassigned", _l("Nobody")),
            *((str(uid), name) for uid, name in staff),
        ]

    def validate_created_to(self, field: DateField) -> None:
        if field.data and self.created_from.data and field.data < self.created_from.data:
            raise ValidationError(_l("The end date is before the start date."))

    def filters(self) -> Filters:
        """The filters from the fields that are valid; invalid ones are left out."""

        def ok(name: str) -> bool:
            return not self[name].errors

        assignee = self.assignee.data if ok("assignee") else ""
        return Filters(
            status=CaseStatus(self.status.data) if ok("status") and self.status.data else None,
            jurisdiction=(self.jurisdiction.data or "").upper() or None
            if ok("jurisdiction")
            else None,
            priority=int(self.priority.data) if ok("priority") and self.priority.data else None,
            assignee_id=int(assignee) if assignee and assignee.isdigit() else None,
            unassigned=assignee == "unassigned",
            created_from=self.created_from.data if ok("created_from") else None,
            created_to=self.created_to.data if ok("created_to") else None,
            text=(self.q.data or "").strip() or None if ok("q") else None,
        )


class AssignForm(FlaskForm):
    assignee = SelectField(_l("Assign to"), choices=[], validators=[Optional()])

    def __init__(self, *args: Any, staff: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.assignee.choices = [("", _l("Nobody"))] + [(str(i), n) for i, n in staff]


class StatusForm(FlaskForm):
    target = SelectField(_l("Move to"), choices=[], validators=[DataRequired()])

    def __init__(self, *args: Any, targets: list[CaseStatus], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only moves the workflow allows this person are offered; the service checks again.
        # Nothing is chosen beforehand, so a stray click cannot escalate or close a case.
        self.target.choices = [("", _l("Choose a status"))] + [
            (s.value, STATUS_LABELS[s]) for s in targets
        ]
        self.target.validate_choice = False


class FileEvidenceForm(FlaskForm):
    item = SelectField(_l("The post this image shows"), choices=[], validators=[Optional()])

    def __init__(self, *args: Any, posts: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.item.choices = [("", _l("None of the posts, or not sure"))] + [
            (str(item_id), url) for item_id, url in posts
        ]


class ScreenshotsForm(FlaskForm):
    """Screenshots staff add to a case, all filed under one post or under none."""

    screenshots = MultipleFileField(_l("Screenshots"), id="new-screenshots")
    item = SelectField(
        _l("The post these images show"), choices=[], validators=[Optional()], id="new-item"
    )

    def __init__(self, *args: Any, posts: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.item.choices = [("", _l("None of the posts, or not sure"))] + [
            (str(item_id), url) for item_id, url in posts
        ]


class ItemsForm(FlaskForm):
    links = TextAreaField(
        _l("Links to posts on X, one per line"),
        validators=[DataRequired(message=_l("Paste at least one link to a post on X."))],
        # The case screen's "links" is the section of proposed links to other cases.
        id="new-links",
    )


class ImportForm(FlaskForm):
    links = TextAreaField(_l("Paste links to posts on X, one per line"), id="import-links")
    upload = FileField(_l("Or upload a .csv or .txt file"))


class ConfirmImportForm(FlaskForm):
    preview = HiddenField()
    include_elsewhere = BooleanField(_l("Also add the posts already in other cases to this case"))


class NoteForm(FlaskForm):
    body = TextAreaField(
        _l("Note"),
        validators=[
            DataRequired(message=_l("Write the note before saving it.")),
            Length(max=NOTE_MAX_CHARS),
        ],
    )


class RemovalForm(FlaskForm):
    # No default: a check the victim will see is recorded only when someone chose its result.
    state = SelectField(
        _l("Result"),
        choices=[
            ("", _l("Choose one")),
            (RemovalState.REMOVED.value, _l("removed")),
            (RemovalState.UP.value, _l("still up")),
        ],
        validators=[DataRequired(_l("Choose whether the post was removed or is still up."))],
    )
    checked_at = DateTimeLocalField(
        _l("Checked at"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], validators=[Optional()]
    )


class ReplyForm(FlaskForm):
    text = TextAreaField(
        _l("The platform's reply"),
        validators=[
            DataRequired(message=_l("Paste or summarise the platform's reply.")),
            Length(max=REPLY_MAX_CHARS),
        ],
    )
    received_at = DateTimeLocalField(
        _l("Received at"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[DataRequired(message=_l("Say when the reply arrived."))],
    )


class MergeForm(FlaskForm):
    target = StringField(
        _l("Merge into case (reference)"),
        validators=[DataRequired(message=_l("Give the reference of the case to merge into."))],
    )


class DismissForm(FlaskForm):
    pass


class BulkForm(FlaskForm):
    case_ids = SelectMultipleField(_l("Cases"), choices=[], validate_choice=False, coerce=str)
    action = SelectField(_l("Action"), choices=[], validators=[DataRequired()])
    assignee = SelectField(_l("Assign to"), choices=[], validators=[Optional()])
    status = SelectField(_l("Move to"), choices=[], validators=[Optional()])
    route_key = SelectField(_l("Letter"), choices=[], validators=[Optional()])
    back = HiddenField()

    def __init__(
        self, *args: Any, staff: list[tuple[int, str]], letters: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        actions = [("assign", _l("Assign")), ("status", _l("Change status"))]
        if letters:
            actions.append(("letter", _l("Generate the same letter")))
        self.action.choices = actions
        self.assignee.choices = [("", _l("Nobody"))] + [(str(i), n) for i, n in staff]
        self.status.choices = status_choices(_l("Choose a status"))
        # The registry's route names, grouped by jurisdiction: staff never type a route key.
        self.route_key.choices = route_choices(_l("Choose a letter"))

    def selected_ids(self) -> list[int]:
        return sorted({int(v) for v in self.case_ids.data or [] if str(v).isdigit()})


class LogLookupForm(FlaskForm):
    """The "log this post" page's question, read from the URL the bookmarklet opens."""

    class Meta:
        csrf = False

    url = StringField(_l("Link to the post on X"), id="post-url")
    q = StringField(_l("Find an open case by reference"), id="case-search")


class LogPostForm(FlaskForm):
    """Add the post to the case chosen (a radio button per case offered)."""

    url = HiddenField()
    case = StringField(
        _l("Case to add the post to"),
        validators=[
            DataRequired(_l("Choose the case to add the post to.")),
            Regexp(r"^[0-9]{1,18}$", message=_l("Choose the case to add the post to.")),
        ],
    )
