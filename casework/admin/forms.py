"""Forms for managing staff accounts and API tokens, and filtering the audit trail."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from casework.accounts.models import Role

ROLE_LABELS = {
    Role.CASEWORKER: _l("Caseworker"),
    Role.LAWYER: _l("Lawyer"),
    Role.ADMIN: _l("Administrator"),
}
LANGUAGE_CHOICES = [("en", "English"), ("fr", "Français")]


def role_choices() -> list[tuple[str, str]]:
    return [(role.value, str(label)) for role, label in ROLE_LABELS.items()]


class InviteForm(FlaskForm):
    email = StringField(
        _l("Email address"),
        validators=[
            DataRequired(_l("Enter the person's email address.")),
            Email(_l("Enter an email address, like name@example.org.")),
            Length(max=254),
        ],
    )
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Enter the person's name.")), Length(max=200)]
    )
    role = SelectField(_l("Role"), choices=role_choices, default=Role.CASEWORKER.value)
    locale = SelectField(_l("Language of the invitation"), choices=LANGUAGE_CHOICES)


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=role_choices)


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    reference = StringField(_l("Case reference"), validators=[Optional(), Length(max=20)])
    action = SelectField(_l("Action"), choices=[], validators=[Optional()])


class TokenForm(FlaskForm):
    """A new API token: whose, what it is for, and until when (no date: until revoked)."""

    user = SelectField(
        _l("Acts as"), coerce=int, validators=[DataRequired(_l("Choose whose token it is."))]
    )
    name = StringField(
        _l("What it is for"),
        validators=[
            DataRequired(_l("Name the token, for example after the system that will use it.")),
            Length(max=100, message=_l("A token's name can be at most 100 characters.")),
        ],
    )
    expires_on = DateField(_l("Expires on (optional)"), validators=[Optional()])
