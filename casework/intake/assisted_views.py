"""Assisted intake's staff pages: a caseworker opens a case for a person who phoned, wrote or
came in. Registered on the staff cases blueprint (casework/cases/views.py), under /staff/cases.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from casework.accounts.access import current_actor, current_staff, roles_required
from casework.accounts.models import Role
from casework.cases import link_import
from casework.cases.forms import ImportForm
from casework.cases.models import Case
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
    AssistedIntakeForm,
    ListCaseForm,
    details_form,
    open_case_from_list,
    report_from_form,
    staff_filing,
)
from casework.intake.choices import ITEM_KINDS, country_name
from casework.intake.drafts import Draft, DraftPartMissing, DraftStore
from casework.intake.services import IntakeError, Submission, submit_report
from casework.intake.uploads import chosen_files
from casework.notifications.jobs import deliver_soon
from casework.registry import default_registry
from casework.saving import saving
from casework.urls import absolute_url

log = logging.getLogger(__name__)


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
    staff = staff_filing(user.organisation, current_actor(), access)

    def read_screenshot(sha256: str) -> bytes:
        if draft is None:
            raise IntakeError("no_screenshot")
        return store.read_screenshot(draft, sha256)

    if draft is not None and not store.claim(draft):
        # Another submit of this page (a second click, another tab) is opening the case.
        flash(_("This case is being opened already. Look for it in the list of cases."), "error")
        return _new_case_page(form, details, posts, [], draft), 409
    storage = evidence_storage(current_app.config, db.session)
    new_keys: list[str] = []
    with saving(IntakeError, DraftPartMissing, SQLAlchemyError, OSError) as saved:
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
        if draft is not None:
            store.release(draft)  # nothing was written: it may be filed again
        delete_files(storage, unreferenced_keys(db.session, new_keys))
        flash(_("The case could not be opened. Nothing was saved; please try again."), "error")
        return _new_case_page(form, details, posts, [], draft), 500
    _drop_assisted_draft(store)
    if submission.email_id is not None:
        deliver_soon([submission.email_id])
    return _filed_page(submission.case, access, submission), 200


def _filed_page(
    case: Case, access: str | None, submission: Submission, progress_url: str | None = None
) -> str:
    """The case's reference and, shown this once, the person's access code."""
    return render_template(
        "cases/filed.html",
        case=case,
        access_code=None if access == ACCESS_EMAIL else submission.access_code,
        emailed_to=case.contact_email if submission.email_id is not None else None,
        case_page_address=absolute_url("victim.sign_in"),
        minor=not images_allowed(case.minor),
        routes=default_registry().minor_routes_shown(case.country),
        country_name=country_name,
        progress_url=progress_url,
    )


# --- a new case from a list of links ------------------------------------------------------


@roles_required(Role.CASEWORKER, Role.ADMIN)
def new_case_import() -> tuple[str, int]:
    """A pasted or uploaded list of links for a new case: read and previewed as an import
    into a case is, then the person's questions. Nothing is written before they are
    answered and the caseworker confirms."""
    form = ImportForm()
    if request.method == "GET" or not form.validate():
        return _list_case_page(form, status=200 if request.method == "GET" else 400)
    try:
        links = link_import.read_submitted(
            form.links.data or "", request.files.get(form.upload.name)
        )
    except link_import.ImportListError as exc:
        form[exc.field].errors = [exc.message]
        return _list_case_page(form, status=400)
    user = current_staff()
    result = link_import.preview_for_new_case(db.session, user.organisation_id, links)
    case_form = ListCaseForm(
        formdata=None,
        data={"preview": link_import.sign_new_case_preview(result, user.organisation_id, user.id)},
    )
    return _list_case_page(form, result=result, case_form=case_form)


@roles_required(Role.CASEWORKER, Role.ADMIN)
def confirm_new_case_import() -> Response | tuple[str, int]:
    """Open the case: the person's answers checked as assisted intake checks them, the
    list as previewed (signed for this caseworker, used once)."""
    user = current_staff()
    form = ListCaseForm()
    try:
        confirmed = link_import.load_new_case_preview(
            form.preview.data or "", user.organisation_id, user.id
        )
    except link_import.ImportListError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for(".new_case_import"))
    to_add, _linked_only = confirmed.split(bool(form.include_elsewhere.data))
    valid = form.validate()
    if not to_add:
        form.include_elsewhere.errors = [
            _(
                "Every post of this list is already in another case. Tick the box to add "
                "them to the new case as well, or add them to the cases that hold them."
            )
        ]
        valid = False
    if not valid:
        return _list_case_page_again(form, confirmed, status=400)
    if not link_import.claim_preview(confirmed):
        flash(
            _(
                "This list has already opened a case, or it could not be checked just now. "
                "Nothing was saved; please check the list again."
            ),
            "error",
        )
        return redirect(url_for(".new_case_import"))
    access = form.access.data
    staff = staff_filing(user.organisation, current_actor(), access)
    with saving(IntakeError, SQLAlchemyError) as saved:
        opened = open_case_from_list(
            db.session,
            form,
            confirmed,
            storage=evidence_storage(current_app.config, db.session),
            sign_in_url=absolute_url("victim.sign_in"),
            staff=staff,
        )
    if saved.error is not None:
        log.error("case from a list not opened: %s", type(saved.error).__name__)
        flash(_("The case could not be opened. Nothing was saved; please try again."), "error")
        return _list_case_page_again(form, confirmed, status=500, fresh=True)
    submission = opened.submission
    if submission.email_id is not None:
        deliver_soon([submission.email_id])
    case = submission.case
    progress_url = None
    if opened.rest.new or opened.rest.elsewhere:
        run_id = link_import.start_job(case, opened.rest, False, user)
        if run_id is None:
            flash(
                ngettext(
                    "The case was opened with %(num)d post, but the rest of the list could "
                    "not be queued. Import it from the case screen.",
                    "The case was opened with %(num)d posts, but the rest of the list could "
                    "not be queued. Import it from the case screen.",
                    opened.outcome.added,
                ),
                "error",
            )
        elif current_app.config.get("JOBS_SYNC"):
            flash(_("The list was imported."), "info")
        else:
            progress_url = url_for(".import_progress", case_id=case.id, run_id=run_id)
    else:
        for message in link_import.outcome_messages(opened.outcome):
            flash(message, "info")
    return _filed_page(case, access, submission, progress_url=progress_url), 200


def _list_case_page(form: ImportForm, status: int = 200, **context: Any) -> tuple[str, int]:
    return (
        render_template(
            "cases/new_import.html",
            form=form,
            messages=intake_messages.x_link_message_texts(),
            threshold=link_import.JOB_THRESHOLD,
            **context,
        ),
        status,
    )


def _list_case_page_again(
    case_form: ListCaseForm, confirmed: link_import.Confirmed, status: int, fresh: bool = False
) -> tuple[str, int]:
    """The page again, with the errors beside the answers and the list still previewed.

    fresh signs the list anew, for a confirmation that used it up without opening a case.
    """
    text = "\n".join(p.url for p in confirmed.new + confirmed.elsewhere)
    posts = link_import.read_list(text)
    user = current_staff()
    result = link_import.preview_for_new_case(db.session, user.organisation_id, posts)
    if fresh:
        case_form.preview.data = link_import.sign_new_case_preview(
            result, user.organisation_id, user.id
        )
    return _list_case_page(
        ImportForm(formdata=None, data={"links": text}),
        status=status,
        result=result,
        case_form=case_form,
    )
