"""Forms of the letters and notices screens; choices come from the registry and the case."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from casework.notices.services import CHANNELS
from casework.timefmt import zone_or_utc

CHANNEL_LABELS = {
    "web_form": _l("The platform's web form"),
    "in_app": _l("In the app"),
    "email": _l("Email"),
    "post": _l("Postal mail"),
    "portal": _l("A regulator's or authority's portal"),
    "in_person": _l("In person"),
    "other": _l("Another way"),
}


class CheckboxList(SelectMultipleField):
    """Several choices as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class GenerateLetterForm(FlaskForm):
    route_key = SelectField(_l("Letter"), validators=[DataRequired()])
    notice_id = HiddenField()
    include_screenshots = BooleanField(_l("Show the screenshots in the annex"))
    unblurred = BooleanField(_l("Show them unblurred (they are blurred otherwise)"))


class NewNoticeForm(FlaskForm):
    route_key = SelectField(_l("Legal route"), validators=[DataRequired()])
    item_ids = CheckboxList(
        _l("Items the notice covers"),
        coerce=int,
        validators=[DataRequired(message=_l("Choose at least one item."))],
    )


class NoticeDetailsForm(FlaskForm):
    signature_name = StringField(
        _l("Typed signature: the full name of the person signing"),
        validators=[Optional(), Length(max=200)],
    )
    capacity = RadioField(
        _l("Who signs"),
        choices=[
            ("subject", _l("The person depicted")),
            ("representative", _l("Their authorised representative")),
            ("legal_representative", _l("For a minor: the parents, as legal representatives")),
        ],
        validators=[Optional()],
    )
    contact = TextAreaField(
        _l("Contact information for the reply"), validators=[Optional(), Length(max=5000)]
    )
    statements = CheckboxList(_l("Statements the signatory confirms"), choices=[])
    explanation = TextAreaField(
        _l("Why the content is illegal, or supporting information"),
        validators=[Optional(), Length(max=5000)],
    )
    copyrighted_work = TextAreaField(
        _l("The copyrighted work (the original photo)"), validators=[Optional(), Length(max=5000)]
    )
    complainant_identity = TextAreaField(
        _l("Identity of the complainant (names, date and place of birth, address)"),
        validators=[Optional(), Length(max=5000)],
    )
    facts_dates_places = TextAreaField(
        _l("Dates and places of the facts"), validators=[Optional(), Length(max=5000)]
    )
    harm_suffered = TextAreaField(
        _l("The harm the person suffered"), validators=[Optional(), Length(max=5000)]
    )
    depicted_person = StringField(
        _l("The name of the person depicted"), validators=[Optional(), Length(max=200)]
    )
    addressee_name = StringField(_l("Addressee"), validators=[Optional(), Length(max=200)])
    addressee_address = TextAreaField(
        _l("Addressee's address"), validators=[Optional(), Length(max=1000)]
    )


class RecordSentForm(FlaskForm):
    letter_id = SelectField(
        _l("The letter version that went out"),
        coerce=int,
        choices=[],
        validate_choice=False,
        validators=[DataRequired(message=_l("Choose the letter version that was sent."))],
    )
    channel = SelectField(
        _l("How it was sent"),
        choices=[(code, CHANNEL_LABELS[code]) for code in CHANNELS],
        validators=[DataRequired()],
    )
    received_at = DateTimeLocalField(
        _l("When the addressee received it"),
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired(message=_l("Give the date and time it was received."))],
    )
    sent_at = DateTimeLocalField(
        _l("When it was sent, if earlier"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    clock_started_at = DateTimeLocalField(
        _l("When the regulator issued its notice to the platform, if it has"),
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
    )


class RegulatorNoticeForm(FlaskForm):
    issued_at = DateTimeLocalField(
        _l("When the regulator issued its notice to the platform"),
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired(message=_l("Give the date and time of the regulator's notice."))],
    )


class BundleForm(FlaskForm):
    """A POST with its CSRF token: exporting a bundle is audited, so never a plain link."""


def aware(local: datetime | None, timezone_name: str | None) -> datetime | None:
    """A datetime-local value, read in the user's time zone."""
    if local is None:
        return None
    return local.replace(tzinfo=zone_or_utc(timezone_name))


def local_now(timezone_name: str | None) -> datetime:
    """Now, to the minute, as a datetime-local field shows it in the user's time zone."""
    return datetime.now(zone_or_utc(timezone_name)).replace(tzinfo=None, second=0, microsecond=0)
