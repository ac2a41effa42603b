"""Assisted intake: the report form's questions on one staff page, for a caseworker filing
for a person who phoned, wrote or came in.

The answers are put in a draft held in memory (never stored) and checked by
services.report_from_draft, the public form's own check, so both ways in give the same
report and services.submit_report opens the case the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    TextAreaField,
)
from wtforms.validators import DataRequired, ValidationError

from casework.accounts.models import Organisation
from casework.actors import Actor
from casework.cases import link_import
from casework.cases.grouping import linked_case_count
from casework.cases.link_import import Confirmed, Outcome
from casework.evidence.storage import EvidenceStorage
from casework.evidence.xlinks import XPost
from casework.intake import flow, services
from casework.intake.choices import LANGUAGES, RELATIONSHIPS, WANTED_ACTIONS, country_choices
from casework.intake.drafts import Draft
from casework.intake.forms import (
    NOT_SAYING,
    MultiCheckboxField,
    PostDetailsForm,
    _check_email,
    _region_choices,
    post_details_form,
)
from casework.orm import DbSession

# How the person is given a way to follow the case.
ACCESS_SHOW: Final = "show"
ACCESS_EMAIL: Final = "email"
ACCESS_NONE: Final = "none"
# The status id sent beside each "about this post" entry.
_ENTRY: Final = re.compile(r"posts-(\d{1,4})-status_id")


class AssistedIntakeForm(FlaskForm):
    """Every question of the public form but the screenshots, asked about the person."""

    filer = RadioField(
        _l("Who asked us to file this case?"),
        choices=[
            ("subject", _l("The person in the images")),
            ("representative", _l("Someone acting for the person in the images")),
        ],
        validators=[DataRequired(_l("Say who asked us to file this case."))],
    )
    relationship = SelectField(
        _l("Their relationship to the person"),
        choices=[("", _l("Choose one")), *RELATIONSHIPS.items()],
        validate_choice=True,
        default="",
    )
    authority = BooleanField(
        _l(
            "They have the person's consent to report this, or the legal authority to act "
            "for them (for example as their parent or guardian)."
        )
    )
    minor = RadioField(
        _l("Is the person in the images under 18, or could they be?"),
        choices=[
            ("no", _l("No, they are 18 or older")),
            ("yes", _l("Yes, they are under 18")),
            ("unsure", _l("Not sure")),
        ],
        validators=[
            DataRequired(_l("Say whether the person is under 18, or that it is not sure."))
        ],
    )
    links = TextAreaField(
        _l("Links to the posts on X, one per line"),
        validators=[DataRequired(_l("Paste at least one link to a post on X."))],
    )
    country = SelectField(
        _l("Country where the person lives"),
        validators=[DataRequired(_l("Choose a country, or that the person would rather not say."))],
        default="",
    )
    region = SelectField(_l("State, province or nation"), default="")
    language = RadioField(
        _l("Language for our messages"),
        choices=list(LANGUAGES.items()),
        validators=[DataRequired(_l("Choose a language for our messages."))],
    )
    contact = RadioField(
        _l("How can we contact the person?"),
        choices=[
            ("email", _l("By email")),
            ("none", _l("Not by email: they will check their case page, or we call them")),
        ],
        validators=[DataRequired(_l("Choose how we can contact the person."))],
    )
    email = EmailField(_l("Email address"))
    actions = MultiCheckboxField(
        _l("What does the person want us to do?"),
        choices=list(WANTED_ACTIONS.items()),
        validators=[DataRequired(_l("Choose at least one thing the person wants us to do."))],
    )
    consent = BooleanField(
        _l(
            "The person agrees that we may act for them: keep this report, send notices to X "
            "and, if asked above, to regulators."
        ),
        validators=[
            DataRequired(
                _l("We can only act with the person's agreement. Tick the box to confirm.")
            )
        ],
    )
    screenshots = MultipleFileField(_l("Screenshots (optional)"))
    access = RadioField(
        _l("How will the person follow the case?"),
        choices=[
            (ACCESS_SHOW, _l("Show me an access code once, to give to the person")),
            (ACCESS_EMAIL, _l("Email the access code to the address above")),
            (ACCESS_NONE, _l("No access code: only staff follow the case")),
        ],
        default=ACCESS_SHOW,
        validators=[DataRequired(_l("Choose how the person will follow the case."))],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = [
            ("", _l("Choose a country")),
            (NOT_SAYING, _l("The person would rather not say")),
            *country_choices(),
        ]
        self.region.choices = _region_choices()

    def validate_relationship(self, field: Field) -> None:
        if self.filer.data == "representative" and not field.data:
            raise ValidationError(_l("Choose their relationship to the person."))

    def validate_authority(self, field: Field) -> None:
        if self.filer.data == "representative" and not field.data:
            raise ValidationError(
                _l(
                    "We can only act when the person agrees, or when whoever acts for them "
                    "has the legal authority to. Tick the box to confirm."
                )
            )

    def validate_region(self, field: Field) -> None:
        if field.data and field.data.split("-", 1)[0] != self.country.data:
            raise ValidationError(
                _l("This state or region is not in the country chosen. Choose another, or none.")
            )

    def validate_email(self, field: Field) -> None:
        _check_email(self, field)

    def validate_access(self, field: Field) -> None:
        if field.data == ACCESS_EMAIL and self.contact.data != "email":
            raise ValidationError(
                _l("To email the access code, choose contact by email and give the address.")
            )


def staff_filing(
    organisation: Organisation, actor: Actor, access: str | None
) -> services.StaffFiling:
    """The filing in this caseworker's name, with the way chosen for the person to follow
    the case."""
    return services.StaffFiling(
        organisation=organisation,
        actor=actor,
        access_code=access != ACCESS_NONE,
        email_code=access == ACCESS_EMAIL,
    )


def details_form(
    posts: Sequence[XPost], sent: Mapping[str, Any] | None
) -> tuple[PostDetailsForm, bool]:
    """The "about each post" entries for these posts, filled from what was sent for each.

    Entries are matched by the status id sent beside them, so editing the links keeps
    what was chosen for the posts that stayed. The flag says whether every post had an
    entry, that is whether the caseworker has seen the question for each.
    """
    sent = sent or {}
    by_status: dict[str, dict[str, str]] = {}
    for name in sent:
        index = _ENTRY.fullmatch(str(name))
        if index is None or not (status := str(sent.get(name) or "")):
            continue
        by_status[status] = {
            "kind": str(sent.get(f"posts-{index[1]}-kind") or "unknown"),
            "prompt": str(sent.get(f"posts-{index[1]}-prompt") or ""),
        }
    entries = [by_status.get(str(p.status_id), {"kind": "unknown", "prompt": ""}) for p in posts]
    form = post_details_form(
        len(posts), formdata=None, data={"posts": entries}, meta={"csrf": False}
    )
    return form, all(str(p.status_id) in by_status for p in posts)


def report_from_form(
    form: AssistedIntakeForm,
    posts: Sequence[XPost],
    details: PostDetailsForm,
    draft: Draft | None = None,
) -> services.Report:
    """The report these answers make, checked by the public form's own check.

    draft holds the screenshots kept so far, and which post each shows. Raises
    services.IntakeError as that check does.
    """
    draft = draft or Draft(id="assisted")
    representative = form.filer.data == "representative"
    draft.answers |= {
        "who": {
            "filer": form.filer.data,
            "relationship": form.relationship.data if representative else "",
            "authority": bool(form.authority.data) if representative else False,
        },
        "age": {"minor": form.minor.data},
        "posts": {"links": "\n".join(post.url for post in posts)},
        "where": {
            "country": form.country.data,
            "region": form.region.data,
            "language": form.language.data,
            "contact": form.contact.data,
            "email": form.email.data if form.contact.data == "email" else "",
        },
        "wishes": {"actions": list(form.actions.data or []), "consent": bool(form.consent.data)},
    }
    draft.posts = list(posts)
    services.save_details(draft, [entry.data for entry in details.posts.entries])
    for page in flow.required_pages(draft):
        draft.mark_complete(page.name)
    return services.report_from_draft(draft)


class ListCaseForm(AssistedIntakeForm):
    """The person's answers for a case opened from an imported list of links.

    The posts come from the list previewed (signed in preview); there are no screenshots
    and no "about each post" questions: the posts are classified on the case screen.
    """

    links = None
    screenshots = None
    preview = HiddenField()
    include_elsewhere = BooleanField(
        _l("Also add the posts already in other cases to the new case")
    )


@dataclass(frozen=True)
class ListCase:
    """A case opened from a list: the filing, the posts it opened with, and what is left
    for the import job (nothing when the whole list was written)."""

    submission: services.Submission
    outcome: Outcome
    rest: Confirmed


def open_case_from_list(
    session: DbSession,
    form: ListCaseForm,
    confirmed: Confirmed,
    *,
    storage: EvidenceStorage,
    sign_in_url: str,
    staff: services.StaffFiling,
) -> ListCase:
    """Open the case the person's answers and a confirmed list make, in the caseworker's name.

    The answers go through the public form's own check (report_from_form), the case opens
    through submit_report, with its audit events. Posts already in other cases of the
    organisation are added only if include_elsewhere was ticked; otherwise those cases are
    proposed as links. A list too long for one request opens the case with its first
    BATCH posts; the rest is returned for the import job. Raises services.IntakeError
    ("no_posts") when no post of the list is to be added. The caller commits.
    """
    include = bool(form.include_elsewhere.data)
    to_add, linked_only = confirmed.split(include)
    if not to_add:
        raise services.IntakeError("no_posts", "posts")
    if link_import.needs_job(confirmed):
        first, rest = to_add[: link_import.BATCH], to_add[link_import.BATCH :]
        later = Confirmed(new=rest, elsewhere=linked_only)
        linked_now: list[XPost] = []
    else:
        first, later, linked_now = to_add, Confirmed(new=[], elsewhere=[]), linked_only
    details, _seen = details_form(first, None)
    report = report_from_form(form, first, details)

    def no_screenshots(_sha256: str) -> bytes:
        raise services.IntakeError("no_screenshot")

    submission = services.submit_report(
        session,
        report,
        read_screenshot=no_screenshots,
        storage=storage,
        sign_in_url=sign_in_url,
        staff=staff,
    )
    case = submission.case
    link_import.propose_for(session, case, linked_now)
    outcome = Outcome(added=len(case.items), linked_cases=linked_case_count(session, case))
    if not later.new and not later.elsewhere:
        link_import.record_import(
            session, case, staff.actor, outcome, len(to_add) + len(linked_only)
        )
    return ListCase(submission=submission, outcome=outcome, rest=later)
