"""Assisted intake's staff pages: a caseworker opens a case for a person who phoned, wrote or
came in. Registered on the staff cases blueprint (casework/cases/views.py), under /staff/cases.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, render_template, request, session
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from casework.accounts.access import current_actor, current_staff, roles_required
from casework.accounts.models import Role
from casework.evidence.files import (
    delete_files,
    evidence_storage,
    images_allowed,
    unreferenced_keys,
)
from casework.evidence.xlinks import read_link_lines
from casework.extensions import db
from casework.intake import messages as intake_messages
from casework.intake import services as intake_services
from casework.intake.assisted import (
    ACCESS_EMAIL,
    ACCESS_NONE,
    AssistedIntakeForm,
    details_form,
    report_from_form,
)
from casework.intake.choices import ITEM_KINDS, country_name
from casework.intake.drafts import Draft, DraftStore
from casework.intake.services import IntakeError, StaffFiling, submit_report
from casework.intake.uploads import chosen_files
from casework.notifications.jobs import deliver_soon
from casework.registry import default_registry
from casework.saving import saving
from casework.urls import absolute_url


@roles_required(Role.CASEWORKER, Role.ADMIN)
def new_case() -> Response | str | tuple[str, int]:
    """Open a case for a person who phoned, wrote or came in: the report form's questions on
    one page, then the posts one by one, then the case, filed by this caseworker for them.

    Screenshots are kept, sanitised and encrypted, in a draft of this browser session
    until the case is opened, as the public form keeps them; nothing reaches the case
    tables before then.
    """
    store = intake_services.draft_store(current_app.config)
    if request.method == "GET":
        _drop_assisted_draft(store)  # a new page is a new case
        return _new_case_page(AssistedIntakeForm(formdata=None), None, [], [], None)
    form = AssistedIntakeForm()
    valid = form.validate()
    links = read_link_lines(form.links.data or "")
    if request.form.get("action") == "keep_good" and links.posts and not links.too_long:
        form.links.data = links.good_lines_text()
        links = read_link_lines(form.links.data)
    link_errors = intake_messages.link_errors(links) if not links.ok else []
    if link_errors and not form.links.errors:
        form.links.errors = link_errors
        valid = False
    posts = links.posts if links.too_many is None and not links.too_long else []
    draft = _assisted_screenshots(store, form, posts)
    if form.screenshots.errors:
        valid = False
    details, seen_all = details_form(posts, request.form)
    details_valid = details.validate()
    if not valid or not details_valid or not seen_all or request.form.get("action") != "save":
        notes = intake_messages.duplicate_notes(links)
        status = 400 if not valid or not details_valid else 200
        page = _new_case_page(form, details, posts, notes, draft, bad_links=bool(link_errors))
        return page, status
    return _file_case(store, form, posts, details, draft)


ASSISTED_DRAFT = "assisted_draft"


def _drop_assisted_draft(store: DraftStore) -> None:
    draft_id = session.pop(ASSISTED_DRAFT, None)
    if isinstance(draft_id, str):
        store.delete(draft_id)


def _assisted_screenshots(
    store: DraftStore, form: AssistedIntakeForm, posts: list[Any]
) -> Draft | None:
    """Keep the screenshots sent, answer which post each shows, apply the minors rule.

    Problems are set as the screenshots field's errors. The same services as the
    public form's screenshots page: an image is refused unread when the person may be
    a minor, and any kept already are deleted once the answer says they may be.
    """
    files = request.files.getlist("screenshots")
    draft = store.load(session.get(ASSISTED_DRAFT))
    if draft is None:
        if not chosen_files(files):
            return None
        draft = store.new()
        session[ASSISTED_DRAFT] = draft.id
    if posts:
        draft.posts = list(posts)
    errors: list[str] = []
    dropped = intake_services.save_age(store, draft, form.minor.data or None)
    if dropped:
        errors.append(intake_messages.minor_images_deleted(dropped))
    if request.form.get("remove"):
        intake_services.remove_image(store, draft, request.form["remove"])
    intake_services.assign_screenshots(draft, request.form)
    try:
        outcome = intake_services.add_screenshots(
            store,
            draft,
            files,
            device_files_json="",
            keep_on_device=False,
            max_bytes=current_app.config["MAX_UPLOAD_BYTES"],
        )
        errors += [intake_messages.file_error(problem) for problem in outcome.problems]
    except IntakeError:
        errors.append(intake_messages.minor_images_refused())
    store.save(draft)
    form.screenshots.errors = errors
    return draft


def _new_case_page(
    form: AssistedIntakeForm,
    details: Any,
    posts: list[Any],
    notes: list[str],
    draft: Draft | None,
    bad_links: bool = False,
) -> str:
    return render_template(
        "cases/new.html",
        form=form,
        details=details,
        posts=posts,
        notes=notes,
        bad_links=bad_links,
        kinds=ITEM_KINDS,
        draft=draft,
        shows=intake_services.screenshot_posts(draft) if draft else {},
        max_mb=current_app.config["MAX_UPLOAD_BYTES"] // (1024 * 1024) or 1,
    )


def _file_case(
    store: DraftStore,
    form: AssistedIntakeForm,
    posts: list[Any],
    details: Any,
    draft: Draft | None,
) -> tuple[str, int]:
    user = current_staff()
    try:
        report = report_from_form(form, posts, details, draft)
    except IntakeError as exc:
        # The form checks the same things first; this is the domain's own word.
        flash(_("The case could not be opened (%(code)s).", code=exc.code), "error")
        return _new_case_page(form, details, posts, [], draft), 400
    access = form.access.data
    staff = StaffFiling(
        organisation=user.organisation,
        actor=current_actor(),
        access_code=access != ACCESS_NONE,
        email_code=access == ACCESS_EMAIL,
    )

    def read_screenshot(sha256: str) -> bytes:
        if draft is None:
            raise IntakeError("no_screenshot")
        return store.read_screenshot(draft, sha256)

    storage = evidence_storage(current_app.config)
    new_keys: list[str] = []
    with saving(IntakeError, SQLAlchemyError, OSError) as saved:
        submission = submit_report(
            db.session,
            report,
            read_screenshot=read_screenshot,
            storage=storage,
            sign_in_url=absolute_url("victim.sign_in"),
            new_keys=new_keys,
            staff=staff,
        )
    if saved.error is not None:
        delete_files(storage, unreferenced_keys(db.session, new_keys))
        flash(_("The case could not be opened. Nothing was saved; please try again."), "error")
        return _new_case_page(form, details, posts, [], draft), 500
    _drop_assisted_draft(store)
    if submission.email_id is not None:
        deliver_soon([submission.email_id])
    case = submission.case
    registry = default_registry()
    return (
        render_template(
            "cases/filed.html",
            case=case,
            access_code=None if access == ACCESS_EMAIL else submission.access_code,
            emailed_to=case.contact_email if submission.email_id is not None else None,
            case_page_address=absolute_url("victim.sign_in"),
            minor=not images_allowed(case.minor),
            routes=registry.minor_routes_shown(case.country),
            country_name=country_name,
        ),
        200,
    )
