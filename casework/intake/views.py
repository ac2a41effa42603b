"""The public report form: one page per question, the review, and the confirmation."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.wrappers import Response

from casework.evidence.files import delete_files, evidence_storage, unreferenced_keys
from casework.extensions import db, limiter
from casework.intake import flow, messages, services
from casework.intake.choices import (
    ITEM_KINDS,
    LANGUAGES,
    RELATIONSHIPS,
    WANTED_ACTIONS,
    country_name,
    region_name,
    region_names,
)
from casework.intake.drafts import Draft, DraftPartMissing, DraftStore
from casework.intake.forms import (
    NOT_SAYING,
    AgeForm,
    PostsForm,
    ScreenshotsForm,
    SubmitForm,
    WhereForm,
    WhoForm,
    WishesForm,
    post_details_form,
)
from casework.intake.limits import (
    client_key,
    intake_steps_limit,
    intake_submit_limit,
    register_public_error_pages,
)
from casework.intake.services import IntakeError
from casework.intake.templating import error_list
from casework.intake.uploads import MAX_FILES_PER_REQUEST, MAX_IMAGES_PER_CASE
from casework.intake.victim.session import start_victim_session
from casework.notifications.jobs import deliver_soon
from casework.registry import default_registry
from casework.saving import keeping_loaded, saving
from casework.urls import absolute_url

log = logging.getLogger(__name__)

bp = Blueprint("intake", __name__, url_prefix="/report")

DRAFT_KEY = "intake_draft"

step_limit = limiter.limit(intake_steps_limit, key_func=client_key, methods=["POST"])


# ---------------------------------------------------------------- helpers


def _store() -> DraftStore:
    return services.draft_store(current_app.config)


def _draft() -> Draft | None:
    draft_id = session.get(DRAFT_KEY)
    if draft_id is None:
        return None
    draft = _store().load(draft_id)
    if draft is None:
        # The browser still points at a draft the server has let go of.
        session.pop(DRAFT_KEY, None)
        flash(
            _(
                "For your privacy, what you had entered was deleted after %(hours)s hours "
                "without use. Please start again.",
                hours=current_app.config["DRAFT_MAX_AGE_HOURS"],
            ),
            "error",
        )
    return draft


def _draft_or_new(draft: Draft | None) -> Draft:
    if draft is not None:
        return draft
    draft = _store().new()
    session[DRAFT_KEY] = draft.id
    return draft


def _action() -> str:
    return request.form.get("action", "continue")


# The pages whose language buttons send their form, so what is typed survives the switch.
STEP_FORM_PAGES = frozenset({"who", "age", "posts", "details", "where", "wishes"})


def _switched_language(name: str) -> Response | None:
    """After a language button sent the page's form (answers already saved): the page again."""
    lang = request.form.get("lang")
    if lang is None:
        return None
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return _go(flow.BY_NAME[name])


def _go(page: flow.Page) -> Response:
    return redirect(url_for(page.endpoint))


def _next(draft: Draft) -> Response:
    return _go(flow.first_incomplete(draft))


def _back(draft: Draft, name: str) -> Response:
    previous = flow.previous_page(draft, name)
    return _go(previous or flow.PAGES[0])


def _formdata() -> Any:
    return CombinedMultiDict([request.files, request.form])


def _country(draft: Draft | None) -> str | None:
    if draft is None:
        return None
    code = draft.answers.get("where", {}).get("country")
    return None if code in (None, "", NOT_SAYING) else str(code)


def _progress(draft: Draft | None, current: flow.Page) -> list[dict[str, Any]]:
    pages = flow.steps(draft)
    at = pages.index(current) if current in pages else 0
    steps = []
    for index, page in enumerate(pages):
        state = "done" if index < at else "current" if index == at else "todo"
        opens = state == "done" and flow.can_open(draft, page.name)
        url = url_for(page.endpoint) if opens else None
        steps.append({"number": index + 1, "title": page.title, "state": state, "url": url})
    return steps


def _render(name: str, draft: Draft | None, form: FlaskForm | None, **context: Any) -> str:
    page = flow.BY_NAME[name]
    country = _country(draft)
    registry = default_registry()
    return render_template(
        f"intake/{name}.html",
        page=page,
        form=form,
        errors=error_list(form) if form is not None else [],
        draft=draft,
        steps=(steps := _progress(draft, page)),
        step=next(step for step in steps if step["state"] == "current"),
        back_url=url_for(prev.endpoint) if (prev := flow.previous_page(draft, name)) else None,
        minor=flow.may_be_minor(draft),
        country=country,
        routes=registry.minor_routes_shown(country),
        all_routes=registry.minor_routes_shown_by_country(),
        country_name=country_name,
        regions=region_names(),
        step_form=name in STEP_FORM_PAGES,
        **context,
    )


def _simple_page(name: str, form_class: type[FlaskForm]) -> Response | str:
    """The pattern of every plain page: show saved answers; on POST keep them, check, move on."""
    draft = _draft()
    if not flow.can_open(draft, name):
        return _go(flow.first_incomplete(draft))
    if request.method == "GET":
        return _render(name, draft, form_class(data=draft.answers.get(name, {}) if draft else {}))
    form = form_class(formdata=request.form)
    draft = _draft_or_new(draft)
    valid = form.validate()
    answers = dict(form.data)
    if name == "where" and answers.get("contact") != "email":
        answers["email"] = ""  # only kept when the person wants email
    services.save_answers(draft, name, answers)
    draft.mark_complete(name, valid)
    _store().save(draft)
    if switched := _switched_language(name):
        return switched
    if _action() == "back":
        return _back(draft, name)
    if valid:
        return _next(draft)
    return _render(name, draft, form)


# ---------------------------------------------------------------- pages


@bp.route("/", methods=["GET", "POST"], endpoint="start")
@step_limit
def who() -> Response | str:
    """Who is filing; the questions for someone acting for another follow only for them.

    With JavaScript they appear on this page once chosen. Without it they stay disabled,
    so are not sent, and the page comes back with them shown: a follow-up, not an error.
    """
    draft = _draft()
    if request.method == "GET":
        return _render("who", draft, WhoForm(data=draft.answers.get("who", {}) if draft else {}))
    form = WhoForm(formdata=request.form)
    draft = _draft_or_new(draft)
    acting_for_other = form.filer.data == "representative"
    follow_up = acting_for_other and "relationship" not in request.form
    valid = form.validate() and not follow_up
    answers = dict(form.data)
    if not acting_for_other:
        answers.update(relationship="", authority=False)  # never kept for the person themselves
    services.save_answers(draft, "who", answers)
    draft.mark_complete("who", valid)
    _store().save(draft)
    if switched := _switched_language("who"):
        return switched
    if _action() == "back":
        return _back(draft, "who")
    if valid:
        return _next(draft)
    if follow_up:
        form.relationship.errors, form.authority.errors = [], []
        return _render("who", draft, form, follow_up=True)
    return _render("who", draft, form)


@bp.route("/age", methods=["GET", "POST"])
@step_limit
def age() -> Response | str:
    draft = _draft()
    if not flow.can_open(draft, "age"):
        return _go(flow.first_incomplete(draft))
    if request.method == "GET":
        return _render("age", draft, AgeForm(data=draft.answers.get("age", {}) if draft else {}))
    form = AgeForm(formdata=request.form)
    draft = _draft_or_new(draft)
    valid = form.validate()
    dropped = services.save_age(_store(), draft, form.minor.data if valid else None)
    draft.mark_complete("age", valid)
    _store().save(draft)
    if dropped:
        flash(messages.minor_images_deleted(dropped), "error")
    if switched := _switched_language("age"):
        return switched
    if _action() == "back":
        return _back(draft, "age")
    if valid:
        return _next(draft)
    return _render("age", draft, form)


@bp.route("/posts", methods=["GET", "POST"])
@step_limit
def posts() -> Response | str:
    draft = _draft()
    if not flow.can_open(draft, "posts"):
        return _go(flow.first_incomplete(draft))
    if request.method == "GET":
        return _render(
            "posts", draft, PostsForm(data=draft.answers.get("posts", {}) if draft else {})
        )
    form = PostsForm(formdata=request.form)
    draft = _draft_or_new(draft)
    form.validate()
    text = form.links.data or ""
    links = services.save_posts(draft, text, keep_good_only=_action() == "keep_good")
    _store().save(draft)
    if switched := _switched_language("posts"):
        return switched
    if _action() == "back":
        return _back(draft, "posts")
    if draft.is_complete("posts"):
        for note in messages.duplicate_notes(links):
            flash(note)
        return _next(draft)
    if not form.links.errors:
        form.links.errors = messages.link_errors(links)
    form.links.data = draft.answers["posts"]["links"]
    return _render(
        "posts",
        draft,
        form,
        good_count=len(links.posts) if links.problems else 0,
        duplicates=messages.duplicate_notes(links),
    )


@bp.route("/posts/details", methods=["GET", "POST"])
@step_limit
def details() -> Response | str:
    draft = _draft()
    if draft is None or not flow.can_open(draft, "details"):
        return _go(flow.first_incomplete(draft))
    count = len(draft.posts)
    if request.method == "GET":
        form = post_details_form(count, data={"posts": services.details_data(draft)})
        return _render("details", draft, form, posts=draft.posts, kinds=ITEM_KINDS)
    form = post_details_form(count, formdata=request.form)
    valid = form.validate()
    services.save_details(draft, [entry.data for entry in form.posts.entries])
    draft.mark_complete("details", valid)
    _store().save(draft)
    if switched := _switched_language("details"):
        return switched
    if _action() == "back":
        return _back(draft, "details")
    if valid:
        return _next(draft)
    return _render("details", draft, form, posts=draft.posts, kinds=ITEM_KINDS)


@bp.route("/screenshots", methods=["GET", "POST"])
@step_limit
def screenshots() -> Response | str:
    draft = _draft()
    if draft is not None and request.method == "POST" and flow.may_be_minor(draft):
        # Checked before anything else: no image is read for a child's case.
        flash(messages.minor_images_refused(), "error")
        return _next(draft)
    if draft is None or not flow.can_open(draft, "screenshots"):
        return _go(flow.first_incomplete(draft))
    store = _store()
    if request.method == "GET":
        return _screenshots_page(draft, ScreenshotsForm(), [])
    form = ScreenshotsForm(formdata=_formdata())
    form.validate()
    services.assign_screenshots(draft, request.form)
    to_remove = request.form.get("remove", "")
    if to_remove:
        services.remove_image(store, draft, to_remove)
        store.save(draft)
        return redirect(url_for("intake.screenshots"))
    try:
        outcome = services.add_screenshots(
            store,
            draft,
            request.files.getlist("screenshots"),
            device_files_json=form.device_files.data or "",
            keep_on_device=bool(form.keep_on_device.data),
            max_bytes=current_app.config["MAX_UPLOAD_BYTES"],
        )
    except IntakeError:
        flash(messages.minor_images_refused(), "error")
        return _next(draft)
    errors = [messages.file_error(problem) for problem in outcome.problems]
    if outcome.discarded_for_device:
        errors.append(
            ngettext(
                "You chose to keep your images on your device, so we did not keep the file "
                "that was sent. Nothing was stored.",
                "You chose to keep your images on your device, so we did not keep the %(num)s "
                "files that were sent. Nothing was stored.",
                outcome.discarded_for_device,
            )
        )
    draft.mark_complete("screenshots", not errors)
    store.save(draft)
    if outcome.added:
        flash(_("Added: %(count)s.", count=outcome.added))
    if errors:
        form.screenshots.errors = errors
        return _screenshots_page(draft, form, errors)
    if _action() == "back":
        return _back(draft, "screenshots")
    if _action() == "upload":
        return redirect(url_for("intake.screenshots"))
    return _next(draft)


def _screenshots_page(draft: Draft, form: ScreenshotsForm, errors: list[str]) -> str:
    return _render(
        "screenshots",
        draft,
        form,
        max_mb=current_app.config["MAX_UPLOAD_BYTES"] // (1024 * 1024) or 1,
        max_bytes=current_app.config["MAX_UPLOAD_BYTES"],
        per_request=MAX_FILES_PER_REQUEST,
        max_images=MAX_IMAGES_PER_CASE,
        shows=services.screenshot_posts(draft),
    )


@bp.route("/where", methods=["GET", "POST"])
@step_limit
def where() -> Response | str:
    return _simple_page("where", WhereForm)


@bp.route("/wishes", methods=["GET", "POST"])
@step_limit
def wishes() -> Response | str:
    return _simple_page("wishes", WishesForm)


@bp.get("/review")
def review() -> Response | str:
    draft = _draft()
    if draft is None or not flow.can_open(draft, "review"):
        return _go(flow.first_incomplete(draft))
    try:
        report = services.report_from_draft(draft)
    except IntakeError as exc:
        return _go(flow.BY_NAME.get(exc.page or "", flow.PAGES[0]))
    return _render(
        "review",
        draft,
        SubmitForm(),
        report=report,
        relationships=RELATIONSHIPS,
        kinds=ITEM_KINDS,
        actions=WANTED_ACTIONS,
        languages=LANGUAGES,
        region_name=region_name,
    )


@bp.post("/submit")
@limiter.limit(intake_submit_limit, key_func=client_key)
def submit() -> Response | str | tuple[str, int]:
    store = _store()
    draft = _draft()
    if draft is None:
        return _nothing_to_send()
    try:
        report = services.report_from_draft(draft)
    except IntakeError as exc:
        return _go(flow.BY_NAME.get(exc.page or "", flow.PAGES[0]))
    if not store.claim(draft):
        # Another submit of this draft (a second click, another tab) is writing its case.
        return _nothing_to_send()
    # The case just written is what the confirmation shows: no reading it back.
    with keeping_loaded():
        storage = evidence_storage(current_app.config, db.session)
        new_keys: list[str] = []
        with saving(IntakeError, DraftPartMissing, SQLAlchemyError, OSError) as saved:
            submission = services.submit_report(
                db.session,
                report,
                read_screenshot=lambda sha256: store.read_screenshot(draft, sha256),
                storage=storage,
                sign_in_url=absolute_url("victim.sign_in"),
                new_keys=new_keys,
            )
        if saved.error is not None:
            store.release(draft)  # nothing was written: the person may send it again
        if isinstance(saved.error, IntakeError):
            log.error("report not saved: %s", saved.error.code)
            return render_template("intake/not_saved.html"), 503
        if saved.error is not None:
            delete_files(storage, unreferenced_keys(db.session, new_keys))
            log.error("report not saved: %s", type(saved.error).__name__)
            return render_template("intake/not_saved.html"), 500
        store.delete(draft.id)
        if submission.email_id is not None:
            deliver_soon([submission.email_id])  # the person may be waiting for their code
        case = submission.case
        start_victim_session(case)
        db.session.commit()
    registry = default_registry()
    return render_template(
        "intake/done.html",
        reference=case.reference,
        access_code=submission.access_code,
        code_language=report.language,
        case_page_address=absolute_url("victim.sign_in"),
        emailed=bool(case.contact_email),
        minor=flow.may_be_minor(draft),
        routes=registry.minor_routes_shown(case.country),
        all_routes=registry.minor_routes_shown_by_country(),
        adult_services=registry.support_shown(case.country),
        country=case.country,
        country_name=country_name,
    )


def _nothing_to_send() -> Response:
    flash(
        _(
            "There is no report in progress in this browser: it was sent already, or it "
            "expired after some hours without use. You can start a new one."
        ),
        "error",
    )
    return redirect(url_for("intake.start"))


@bp.route("/discard", methods=["GET", "POST"])
def discard() -> Response | str:
    """Delete the draft on request, for people on a shared device, once they confirm it."""
    back = flow.BY_NAME.get(request.args.get("from", ""), flow.PAGES[0])
    if request.method == "GET" or request.form.get("confirm") != "yes":
        return render_template("intake/discard.html", back_url=url_for(back.endpoint))
    draft_id = session.pop(DRAFT_KEY, None)
    if isinstance(draft_id, str):
        _store().delete(draft_id)
    flash(_("What you entered has been deleted from this device and from our server."))
    return redirect(url_for("intake.start"))


# The public pages' answers to an expired form, a too-large upload and a limit.
register_public_error_pages(bp, back_url=lambda: request.path)
