"""The public report form, one form class per page (CSRF on each through Flask-WTF)."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from casework.intake.choices import (
    ITEM_KINDS,
    LANGUAGES,
    REGIONS,
    RELATIONSHIPS,
    WANTED_ACTIONS,
    country_choices,
)

MAX_PROMPT_CHARS = 2000
NOT_SAYING = "-"


class MaxLength(Length):
    """Length with a message that says how long the text is now, so people know how much to cut."""

    def __call__(self, form: Any, field: Field) -> None:
        length = len(field.data or "")
        if length > self.max:
            raise ValidationError(
                _l(
                    "This can be at most %(max)s characters; it is %(length)s now. "
                    "Please shorten it.",
                    max=f"{self.max:,}",
                    length=f"{length:,}",
                )
            )


def _page_language() -> str:
    """The language the person is reading in is the likeliest one for our messages."""
    language = str(get_locale() or "en")
    return language if language in LANGUAGES else "en"


def _check_email(form: Any, field: Field) -> None:
    """Required, and a real address, only when the person chose to be contacted by email."""
    if form.contact.data != "email":
        return
    field.data = (field.data or "").strip()
    if not field.data:
        raise ValidationError(_l("Enter the email address we should write to."))
    Length(max=254, message=_l("An email address can be at most 254 characters."))(form, field)
    Email(_l("Enter an email address like name@example.org."))(form, field)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class WhoForm(FlaskForm):
    filer = RadioField(
        _l("Who is filing this report?"),
        choices=[
            ("subject", _l("I am the person in the images")),
            ("representative", _l("I am acting for the person in the images")),
        ],
        validators=[DataRequired(_l("Say whether you are the person in the images."))],
    )
    relationship = SelectField(
        _l("Your relationship to the person"),
        choices=[("", _l("Choose one")), *RELATIONSHIPS.items()],
        validate_choice=True,
        default="",
    )
    authority = BooleanField(
        _l(
            "I have the person's consent to report this, or the legal authority to act for "
            "them (for example as their parent or guardian)."
        )
    )

    def validate_relationship(self, field: Field) -> None:
        if self.filer.data == "representative" and not field.data:
            raise ValidationError(_l("Choose your relationship to the person."))

    def validate_authority(self, field: Field) -> None:
        if self.filer.data == "representative" and not field.data:
            raise ValidationError(
                _l(
                    "We can only act when the person agrees, or when you have the legal "
                    "authority to act for them. Tick the box to confirm."
                )
            )


class AgeForm(FlaskForm):
    minor = RadioField(
        _l("Is the person in the images under 18, or could they be?"),
        choices=[
            ("no", _l("No, they are 18 or older")),
            ("yes", _l("Yes, they are under 18")),
            ("unsure", _l("I am not sure")),
        ],
        validators=[
            DataRequired(_l("Say whether the person is under 18, or that you are not sure."))
        ],
    )


class PostsForm(FlaskForm):
    links = TextAreaField(
        _l("Links to the posts on X, one per line"),
        validators=[DataRequired(_l("Paste at least one link to a post on X."))],
    )


class PostDetailForm(Form):
    kind = SelectField(
        _l("What is this post?"), choices=list(ITEM_KINDS.items()), default="unknown"
    )
    prompt = TextAreaField(
        _l("The words used to ask for the image, if you saw them (optional)"),
        validators=[Optional(), MaxLength(max=MAX_PROMPT_CHARS)],
    )


class PostDetailsForm(FlaskForm):
    """One entry per post kept on the previous page, in the same order."""

    posts: FieldList


def post_details_form(count: int, **kwargs: Any) -> PostDetailsForm:
    """A details form sized to the posts: extra entries sent by a client are ignored."""

    class SizedPostDetailsForm(PostDetailsForm):
        posts = FieldList(FormField(PostDetailForm), min_entries=count, max_entries=count)

    return SizedPostDetailsForm(**kwargs)


class ScreenshotsForm(FlaskForm):
    screenshots = MultipleFileField(_l("Screenshots"))
    keep_on_device = BooleanField(
        _l("Keep my images on my device: send only their fingerprints (hashes)")
    )
    device_files = HiddenField()


def _region_choices() -> list[tuple[str, Any]]:
    return list(_region_choices_in(str(get_locale() or "en")))


@cache
def _region_choices_in(language: str) -> tuple[tuple[str, str], ...]:
    # Translated once per language: a hundred lazy names translated on every "where"
    # page were a fifth of its time under load. The caller's locale is `language`.
    choices = [("", str(_l("Not applicable, or I would rather not say")))]
    for country, regions in REGIONS.items():
        choices.extend((f"{country}-{code}", str(label)) for code, label in regions.items())
    return tuple(choices)


class WhereForm(FlaskForm):
    country = SelectField(
        _l("Country where the person lives"),
        validators=[DataRequired(_l("Choose a country, or that you would rather not say."))],
        default="",
    )
    region = SelectField(_l("State, province or nation"), default="")
    language = RadioField(
        _l("Language for our messages"),
        choices=list(LANGUAGES.items()),
        validators=[DataRequired(_l("Choose a language for our messages."))],
        default=_page_language,
    )
    contact = RadioField(
        _l("How can we contact you?"),
        choices=[
            ("email", _l("By email")),
            ("none", _l("Do not contact me: I will check my case page myself")),
        ],
        validators=[DataRequired(_l("Choose how we can contact you, or that we should not."))],
    )
    email = EmailField(_l("Email address"))
    timezone = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = [
            ("", _l("Choose a country")),
            (NOT_SAYING, _l("I would rather not say")),
            *country_choices(),
        ]
        self.region.choices = _region_choices()

    def validate_region(self, field: Field) -> None:
        if field.data and field.data.split("-", 1)[0] != self.country.data:
            raise ValidationError(
                _l("This state or region is not in the country you chose. Choose another, or none.")
            )

    def validate_email(self, field: Field) -> None:
        _check_email(self, field)


class WishesForm(FlaskForm):
    actions = MultiCheckboxField(
        _l("What do you want us to do?"),
        choices=list(WANTED_ACTIONS.items()),
        validators=[DataRequired(_l("Choose at least one thing you want us to do."))],
    )
    consent = BooleanField(
        _l(
            "I agree that the support organisation may act for the person in the images: "
            "keep this report, send notices to X and, if asked above, to regulators."
        ),
        validators=[
            DataRequired(_l("We can only act with your agreement. Tick the box to agree."))
        ],
    )


class SubmitForm(FlaskForm):
    """The review page's send button: nothing but the CSRF token."""


class AccessForm(FlaskForm):
    reference = StringField(
        _l("Case reference"),
        validators=[DataRequired(_l("Enter your case reference.")), Length(max=40)],
    )
    code = StringField(
        _l("Access code"),
        validators=[DataRequired(_l("Enter your access code.")), Length(max=200)],
    )


class AddLinksForm(FlaskForm):
    links = TextAreaField(
        _l("More links to posts on X, one per line"),
        validators=[DataRequired(_l("Paste at least one link to a post on X."))],
    )


class SignStatementForm(FlaskForm):
    """The person's own signature for a notice: the checks are the domain's (signatures)."""

    name = StringField(_l("Your name, as it should appear in the letter"))
    typed_signature = StringField(_l("Type your name again to sign"))
    confirm = BooleanField(_l("I confirm that these statements are true."))


class ContactForm(FlaskForm):
    language = RadioField(
        _l("Language for our messages"),
        choices=list(LANGUAGES.items()),
        validators=[DataRequired(_l("Choose a language for our messages."))],
    )
    contact = RadioField(
        _l("How can we contact you?"),
        choices=[
            ("email", _l("By email")),
            ("none", _l("Do not contact me: I will check my case page myself")),
        ],
        validators=[DataRequired(_l("Choose how we can contact you, or that we should not."))],
    )
    email = EmailField(_l("Email address"))

    def validate_email(self, field: Field) -> None:
        _check_email(self, field)


class WithdrawForm(FlaskForm):
    confirm = BooleanField(
        _l("I want to withdraw this case: nothing more will be done for it."),
        validators=[DataRequired(_l("Tick the box to confirm that you want to withdraw."))],
    )


class DeleteForm(FlaskForm):
    confirm = BooleanField(
        _l(
            "I understand that this deletes my case, the links and all images for good, "
            "and that it cannot be undone."
        ),
        validators=[
            DataRequired(_l("Tick the box to confirm that you want to delete everything."))
        ],
    )
