"""The staff case workspace: queues, the case screen, case actions, bulk actions, merging."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date, get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from casework.accounts.access import current_actor, current_staff, get_case_or_404, roles_required
from casework.accounts.models import Role, User
from casework.cases import labels, link_import, services
from casework.cases.forms import (
    PRIORITY_LABELS,
    AssignForm,
    BulkForm,
    ConfirmImportForm,
    DismissForm,
    FileEvidenceForm,
    FilterForm,
    ImportForm,
    ItemsForm,
    LogLookupForm,
    LogPostForm,
    MergeForm,
    NoteForm,
    RemovalForm,
    ReplyForm,
    ScreenshotsForm,
    StatusForm,
    to_utc,
)
from casework.cases.lookup import (
    cases_holding_post,
    is_open_for_logging,
    open_cases_to_log_in,
    reference_search,
)
from casework.cases.merge import MergeError, check_merge, merge_cases
from casework.cases.models import Case, CaseLink, CaseStatus, ContentCategory, Item, RemovalState
from casework.cases.overview import organisation_overview
from casework.cases.references import normalise_reference
from casework.cases.screen import assignable_staff, case_screen
from casework.cases.workflow import TransitionError, allowed_targets
from casework.cases.worklists import (
    WORKLIST_HINTS,
    WORKLIST_LABELS,
    Cursor,
    FilterError,
    WorklistKey,
    fetch_page,
    worklist_counts,
    worklist_spec,
)
from casework.charts import Bar, bar_chart
from casework.evidence.files import (
    ImagesNotAccepted,
    delete_files,
    evidence_storage,
    image_count,
    images_allowed,
    unreferenced_keys,
)
from casework.evidence.models import EvidenceFile
from casework.evidence.storage import EvidenceNotFoundError
from casework.evidence.xlinks import XLinkError, XPost, parse_x_link, read_link_lines
from casework.extensions import db
from casework.intake import assisted_views, messages
from casework.intake.choices import RELATIONSHIPS, country_name, region_name
from casework.intake.messages import X_LINK_MESSAGES
from casework.intake.uploads import (
    MAX_FILES_PER_REQUEST,
    MAX_IMAGES_PER_CASE,
    chosen_files,
    sanitise_uploads,
)
from casework.notices.bulk import enqueue_letters
from casework.notices.coverage import coverage_by_notice
from casework.notices.forms import CHANNEL_LABELS
from casework.notices.models import Letter, Notice
from casework.notices.recommend import recommendations_for
from casework.notices.services import NoticeError, available_routes
from casework.orm import utcnow
from casework.registry import default_registry
from casework.saving import saving
from casework.timefmt import zone_or_utc
from casework.urls import safe_next

log = logging.getLogger(__name__)

bp = Blueprint("cases", __name__, url_prefix="/staff/cases")
# "Log this post", where the bookmarklet on the account page leads from a post on X.
log_bp = Blueprint("log", __name__, url_prefix="/staff/log")

CASEWORK_ROLES = (Role.CASEWORKER, Role.ADMIN)


def _reader_zone() -> ZoneInfo:
    zone = g.get("reader_zone")
    if zone is None:
        zone = g.reader_zone = zone_or_utc(current_staff().timezone)
    return zone


@bp.app_template_filter("case_time")
def case_time(value: datetime | None) -> str:
    """A UTC time shown in the signed-in reader's time zone."""
    if value is None:
        return "–"
    return value.astimezone(_reader_zone()).strftime("%Y-%m-%d %H:%M %Z")


def _staff_choices(organisation_id: int) -> list[tuple[int, str]]:
    return [(u.id, u.name) for u in assignable_staff(db.session, organisation_id)]


def letter_url(letter: Letter) -> str:
    return url_for("notices.download", letter_id=letter.id)


# --- worklists -------------------------------------------------------------------------


def _worklist_key(raw: str | None) -> WorklistKey:
    try:
        return WorklistKey(raw or WorklistKey.OPEN)
    except ValueError:
        return WorklistKey.OPEN


@bp.get("/")
def worklist() -> str:
    user = current_staff()
    key = _worklist_key(request.args.get("worklist"))
    staff = _staff_choices(user.organisation_id)
    form = FilterForm(formdata=request.args, staff=staff)
    form.validate()
    filters = form.filters()
    spec = worklist_spec(key, organisation_id=user.organisation_id, user_id=user.id)
    after = Cursor.decode(request.args.get("after"))
    before = None if after else Cursor.decode(request.args.get("before"))
    try:
        page = fetch_page(db.session, spec, filters, after=after, before=before)
    except FilterError as exc:
        form[exc.field].errors = [*form[exc.field].errors, exc.message]
        filters = replace(filters, text=None)
        page = fetch_page(db.session, spec, filters, after=after, before=before)
    counts = worklist_counts(
        db.session,
        organisation_id=user.organisation_id,
        user_id=user.id,
        cache_seconds=float(current_app.config.get("WORKLIST_COUNT_CACHE_SECONDS", 0)),
    )
    # Any, not str: to mypy, a str dict spread into url_for could fill its bool _external.
    keep: dict[str, Any] = {
        k: v for k, v in request.args.items() if v and k not in ("after", "before")
    }
    keep["worklist"] = key.value
    filter_args = {k: v for k, v in keep.items() if k != "worklist"}
    bulk = BulkForm(formdata=None, staff=staff, letters=True)
    bulk.back.data = request.full_path
    return render_template(
        "cases/worklist.html",
        key=key,
        worklists=list(WorklistKey),
        labels=WORKLIST_LABELS,
        hints=WORKLIST_HINTS,
        counts=counts,
        form=form,
        filters=filters,
        filter_args=filter_args,
        page=page,
        next_url=url_for(".worklist", **keep, after=page.next_cursor.encode())
        if page.next_cursor
        else None,
        prev_url=url_for(".worklist", **keep, before=page.prev_cursor.encode())
        if page.prev_cursor
        else None,
        bulk=bulk,
        priority_labels=PRIORITY_LABELS,
        status_labels=services.STATUS_LABELS,
        now=utcnow(),
    )


@bp.post("/bulk")
def bulk() -> Response:
    user = current_staff()
    form = BulkForm(staff=_staff_choices(user.organisation_id), letters=True)
    back = safe_next(form.back.data, default=url_for(".worklist"))
    if not form.validate():
        for name, errors in form.errors.items():
            for error in errors:
                label = form[name].label.text if name in form else name
                flash(_("%(label)s: %(value)s", label=label, value=error), "error")
        return redirect(back)
    cases = services.cases_of_organisation(db.session, user.organisation_id, form.selected_ids())
    if not cases:
        flash(_("Select at least one case."), "error")
        return redirect(back)
    actor = current_actor()
    action = form.action.data
    if action == "assign":
        if user.role not in CASEWORK_ROLES:
            abort(403)
        assignee = _assignee(form.assignee.data)
        result = services.bulk_assign(db.session, cases, assignee, actor)
    elif action == "status":
        if not form.status.data:
            flash(_("Choose the status to move the cases to."), "error")
            return redirect(back)
        result = services.bulk_change_status(db.session, cases, CaseStatus(form.status.data), actor)
    else:
        if not form.route_key.data:
            flash(_("Choose the letter to generate."), "error")
            return redirect(back)
        try:
            enqueue_letters([c.id for c in cases], form.route_key.data, actor)
        except NoticeError as exc:
            flash(_("%(label)s: %(value)s", label=form.route_key.label.text, value=exc), "error")
            return redirect(back)
        db.session.commit()
        flash(
            ngettext(
                "A letter is being generated for %(num)d case.",
                "Letters are being generated for %(num)d cases.",
                len(cases),
            ),
            "info",
        )
        return redirect(back)
    db.session.commit()
    if result.done:
        flash(ngettext("%(num)d case updated.", "%(num)d cases updated.", len(result.done)), "info")
    if result.unchanged:
        flash(
            ngettext(
                "%(num)d case was already like that.",
                "%(num)d cases were already like that.",
                len(result.unchanged),
            ),
            "info",
        )
    for case, message in result.failed:
        flash(_("%(reference)s: %(reason)s", reference=case.reference, reason=message), "error")
    return redirect(back)


def _assignee(raw: str | None) -> User | None:
    if not raw:
        return None
    if not raw.isdigit():
        abort(400)
    assignee = db.session.get(User, int(raw))
    if assignee is None or assignee.organisation_id != current_staff().organisation_id:
        abort(400)
    return assignee


# --- assisted intake: its views live with intake, under this blueprint's URLs ------------

bp.add_url_rule("/new", view_func=assisted_views.new_case, methods=["GET", "POST"])
bp.add_url_rule("/new/import", view_func=assisted_views.new_case_import, methods=["GET", "POST"])
bp.add_url_rule(
    "/new/import/confirm", view_func=assisted_views.confirm_new_case_import, methods=["POST"]
)


# --- the case screen ---------------------------------------------------------------------


def _render_detail(case: Case, status: int = 200, **context: Any) -> tuple[str, int]:
    user = current_staff()
    actor = current_actor()
    screen = case_screen(db.session, case)
    staff = [(u.id, u.name) for u in screen.staff]
    targets = allowed_targets(case.status, actor) if case.merged_into_id is None else []
    forms: dict[str, Any] = {
        "assign_form": AssignForm(
            formdata=None, staff=staff, data={"assignee": str(case.assignee_id or "")}
        ),
        "status_form": StatusForm(formdata=None, targets=targets),
        "items_form": ItemsForm(formdata=None),
        "screenshots_form": ScreenshotsForm(formdata=None, posts=_posts_of(case)),
        "note_form": NoteForm(formdata=None),
        "merge_form": MergeForm(formdata=None),
        "action_form": DismissForm(formdata=None),
        "link_errors": [],
        "removal_failed": {},
        "reply_failed": {},
        "classify_failed": None,
    }
    forms.update(context)
    registry = default_registry()
    return (
        render_template(
            "cases/detail.html",
            case=case,
            screen=screen,
            coverage=coverage_by_notice(
                [(row.notice, row.items) for row in screen.notices],
                registry,
                jurisdiction_codes=case.jurisdiction_codes,
                open_routes=available_routes(case, registry),
            ),
            can_casework=user.role in CASEWORK_ROLES,
            targets=targets,
            status_labels=services.STATUS_LABELS,
            priority_labels=PRIORITY_LABELS,
            letter_url=letter_url,
            removal_states=RemovalState,
            item_kinds=labels.ITEM_KIND_LABELS,
            categories=labels.CATEGORY_LABELS,
            channel_labels=CHANNEL_LABELS,
            bases=labels.JURISDICTION_BASIS_LABELS,
            notice_state=labels.notice_state_label,
            deadline_states=labels.DEADLINE_STATE_LABELS,
            wanted_actions=labels.WANTED_ACTION_LABELS,
            relationships=RELATIONSHIPS,
            language_name=labels.language_name,
            country_name=country_name,
            region_name=region_name,
            now_local=_local_now_input(),
            upload_limits={
                "max_mb": current_app.config["MAX_UPLOAD_BYTES"] // (1024 * 1024) or 1,
                "per_request": MAX_FILES_PER_REQUEST,
                "per_case": MAX_IMAGES_PER_CASE,
            },
            now=utcnow(),
            recommendations=recommendations_for(db.session, case, default_registry(), utcnow()),
            route_title=route_title,
            **forms,
        ),
        status,
    )


def route_title(route_key: str) -> str:
    """A route's title in the page's language; the key only for a route no longer listed."""
    try:
        route = default_registry().route(route_key)
    except KeyError:
        return route_key
    return route.title_in(str(get_locale() or "en"))


def _local_now_input() -> str:
    return utcnow().astimezone(_reader_zone()).strftime("%Y-%m-%dT%H:%M")


@bp.get("/<int:case_id>")
def detail(case_id: int) -> tuple[str, int]:
    return _render_detail(get_case_or_404(case_id))


def _back(case: Case, anchor: str = "") -> Response:
    return redirect(url_for(".detail", case_id=case.id) + (f"#{anchor}" if anchor else ""))


@bp.post("/<int:case_id>/assign")
@roles_required(*CASEWORK_ROLES)
def assign(case_id: int) -> Response:
    case = get_case_or_404(case_id)
    form = AssignForm(staff=_staff_choices(case.organisation_id))
    if not form.validate():
        flash(_("Choose someone from the list."), "error")
        return _back(case, "assign")
    with saving(services.CaseError, flash_error=True) as saved:
        changed = services.assign_case(
            db.session, case, _assignee(form.assignee.data), current_actor()
        )
    if saved.error is not None:
        return _back(case, "assign")
    if changed:
        flash(_("Assignment saved."), "info")
    return _back(case)


@bp.post("/<int:case_id>/status")
def change_status(case_id: int) -> Response:
    case = get_case_or_404(case_id)
    actor = current_actor()
    form = StatusForm(targets=allowed_targets(case.status, actor))
    try:
        target = CaseStatus(form.target.data or "")
    except ValueError:
        flash(_("Choose the status to move the case to."), "error")
        return _back(case, "status")
    current = case.status
    with saving(TransitionError, services.CaseError) as saved:
        services.change_status(db.session, case, target, actor)
    if saved.error is not None:
        flash(str(services.transition_message(current, target, saved.error)), "error")
        return _back(case, "status")
    flash(_("The case is now %(status)s.", status=services.STATUS_LABELS[target]), "info")
    return _back(case)


@bp.post("/<int:case_id>/items")
@roles_required(*CASEWORK_ROLES)
def add_items(case_id: int) -> Response | tuple[str, int]:
    case = get_case_or_404(case_id)
    form = ItemsForm()
    if not form.validate():
        return _render_detail(case, 400, items_form=form)
    links = read_link_lines(form.links.data or "", max_links=services.LINKS_MAX_LINES)
    errors = services.link_errors(links)
    if errors:
        return _render_detail(case, 400, items_form=form, link_errors=errors)
    with saving(services.CaseError) as saved:
        added = services.add_staff_items(db.session, case, links.posts, current_actor())
    if saved.error is not None:
        form.links.errors = [saved.error.message]
        return _render_detail(case, 400, items_form=form)
    known = len(links.posts) - len(added)
    flash(ngettext("%(num)d post added.", "%(num)d posts added.", len(added)), "info")
    if known:
        flash(
            ngettext(
                "%(num)d post was already in this case.",
                "%(num)d posts were already in this case.",
                known,
            ),
            "info",
        )
    return _back(case, "items")


@bp.route("/<int:case_id>/import", methods=["GET", "POST"])
@roles_required(*CASEWORK_ROLES)
def import_links(case_id: int) -> tuple[str, int]:
    """A pasted or uploaded list of links, read and shown before anything is written."""
    case = get_case_or_404(case_id)
    if case.merged_into_id is not None:
        abort(404)
    form = ImportForm()
    if request.method == "GET" or not form.validate():
        return _render_import(case, form, status=200 if request.method == "GET" else 400)
    try:
        links = link_import.read_submitted(
            form.links.data or "", request.files.get(form.upload.name)
        )
    except link_import.ImportListError as exc:
        form[exc.field].errors = [exc.message]
        return _render_import(case, form, status=400)
    result = link_import.preview(db.session, case, links)
    confirm = ConfirmImportForm(
        formdata=None,
        data={"preview": link_import.sign_preview(result, case, current_staff().id)},
    )
    return _render_import(case, form, result=result, confirm_form=confirm)


def _render_import(
    case: Case, form: ImportForm, status: int = 200, **context: Any
) -> tuple[str, int]:
    return (
        render_template(
            "cases/import.html",
            case=case,
            form=form,
            messages=messages.x_link_message_texts(),
            threshold=link_import.JOB_THRESHOLD,
            **context,
        ),
        status,
    )


@bp.post("/<int:case_id>/import/confirm")
@roles_required(*CASEWORK_ROLES)
def confirm_import(case_id: int) -> Response | tuple[str, int]:
    case = get_case_or_404(case_id)
    if case.merged_into_id is not None:
        abort(404)
    form = ConfirmImportForm()
    user = current_staff()
    if not form.validate():
        abort(400)
    try:
        confirmed = link_import.load_preview(form.preview.data or "", case, user.id)
    except link_import.ImportListError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for(".import_links", case_id=case.id))
    include = bool(form.include_elsewhere.data)
    if link_import.needs_job(confirmed):
        run_id = link_import.start_job(case, confirmed, include, user)
        if run_id is None:
            flash(_("The import could not be started. Please try again in a minute."), "error")
            return redirect(url_for(".import_links", case_id=case.id))
        if current_app.config.get("JOBS_SYNC"):
            flash(_("The list was imported."), "info")
            return _back(case, "items")
        return redirect(url_for(".import_progress", case_id=case.id, run_id=run_id))
    with saving(services.CaseError) as saved:
        outcome = link_import.import_now(db.session, case, confirmed, include, current_actor())
    if saved.error is not None:
        flash(str(saved.error.message), "error")
        return _back(case)
    for message in link_import.outcome_messages(outcome):
        flash(message, "info")
    return _back(case, "items")


@bp.get("/<int:case_id>/import/<run_id>")
@roles_required(*CASEWORK_ROLES)
def import_progress(case_id: int, run_id: str) -> tuple[str, int]:
    case = get_case_or_404(case_id)
    run = link_import.progress(run_id)
    if run is None or run.case_id != case.id or run.user_id != current_staff().id:
        abort(404)
    return render_template("cases/import_progress.html", case=case, run=run), 200


@bp.post("/<int:case_id>/notes")
def add_note(case_id: int) -> Response | tuple[str, int]:
    case = get_case_or_404(case_id)
    form = NoteForm()
    if not form.validate():
        return _render_detail(case, 400, note_form=form)
    with saving(services.CaseError) as saved:
        services.add_note(db.session, case, form.body.data or "", current_actor())
    if saved.error is not None:
        form.body.errors = [saved.error.message]
        return _render_detail(case, 400, note_form=form)
    flash(_("Note saved."), "info")
    return _back(case, "timeline")


@bp.post("/<int:case_id>/items/<int:item_id>/removal")
def record_removal(case_id: int, item_id: int) -> Response | tuple[str, int]:
    case = get_case_or_404(case_id)
    item = db.session.scalar(select(Item).where(Item.id == item_id, Item.case_id == case.id))
    if item is None:
        abort(404)
    form = RemovalForm()
    if not form.validate():
        return _render_detail(case, 400, removal_failed={item.id: form})
    checked_at = to_utc(form.checked_at.data, current_staff().timezone) or utcnow()
    with saving(services.CaseError) as saved:
        services.record_removal_check(
            db.session, item, RemovalState(form.state.data), checked_at, current_actor()
        )
    if saved.error is not None:
        form.checked_at.errors = [saved.error.message]
        return _render_detail(case, 400, removal_failed={item.id: form})
    flash(_("Removal check recorded."), "info")
    return _back(case, f"item-{item.id}")


@dataclass
class ClassifyFailure:
    """What was chosen, kept for the page that says why it was not saved."""

    entered: dict[int, str]
    errors: dict[int, str]
    message: str | None = None


@bp.post("/<int:case_id>/items/categories")
@roles_required(*CASEWORK_ROLES)
def classify(case_id: int) -> Response | tuple[str, int]:
    case = get_case_or_404(case_id)
    entered = {
        item.id: raw
        for item in case.items
        if (raw := request.form.get(f"category-{item.id}")) is not None
    }
    categories: dict[int, ContentCategory] = {}
    errors: dict[int, str] = {}
    for item_id, raw in entered.items():
        try:
            categories[item_id] = ContentCategory(raw)
        except ValueError:
            errors[item_id] = _("Choose what the image shows from the list.")
    if errors:
        return _render_detail(case, 400, classify_failed=ClassifyFailure(entered, errors))
    with saving(services.CaseError) as saved:
        classified = services.classify_items(db.session, case, categories, current_actor())
    if saved.error is not None:
        failure = ClassifyFailure(entered, {}, str(saved.error.message))
        return _render_detail(case, 400, classify_failed=failure)
    _destroy_files(classified.destroyed_keys)
    changed = classified.changed
    flash(
        ngettext("%(num)d post classified.", "%(num)d posts classified.", changed)
        if changed
        else _("Nothing changed."),
        "info",
    )
    return _back(case, "items")


@bp.post("/<int:case_id>/minor")
@roles_required(*CASEWORK_ROLES)
def mark_minor(case_id: int) -> Response:
    case = get_case_or_404(case_id)
    if not DismissForm().validate():
        abort(400)
    with saving(services.CaseError, flash_error=True) as saved:
        destroyed = services.mark_minor(db.session, case, current_actor())
    if saved.error is not None:
        return _back(case, "subject")
    _destroy_files(destroyed)
    flash(
        ngettext(
            "This is now a minor's case. %(num)d stored image was destroyed; its hashes are kept.",
            "This is now a minor's case. %(num)d stored images were destroyed; their hashes are "
            "kept.",
            len(destroyed),
        ),
        "info",
    )
    return _back(case, "subject")


def _destroy_files(keys: list[str]) -> None:
    """Remove the files of destroyed images, once the rows that pointed at them are committed."""
    if keys:
        delete_files(evidence_storage(current_app.config, db.session), keys)


@bp.post("/<int:case_id>/notices/<int:notice_id>/reply")
def record_reply(case_id: int, notice_id: int) -> Response | tuple[str, int]:
    case = get_case_or_404(case_id)
    notice = db.session.scalar(
        select(Notice).where(Notice.id == notice_id, Notice.case_id == case.id)
    )
    if notice is None:
        abort(404)
    form = ReplyForm()
    if not form.validate():
        return _render_detail(case, 400, reply_failed={notice.id: form})
    received = to_utc(form.received_at.data, current_staff().timezone)
    with saving(services.CaseError) as saved:
        services.record_platform_reply(
            db.session, notice, form.text.data or "", received or utcnow(), current_actor()
        )
    if saved.error is not None:
        form.received_at.errors = [saved.error.message]
        return _render_detail(case, 400, reply_failed={notice.id: form})
    flash(_("The platform's reply was recorded."), "info")
    return _back(case, f"notice-{notice.id}")


# --- evidence ----------------------------------------------------------------------------


def _evidence_of(case: Case, evidence_id: int) -> EvidenceFile:
    evidence = db.session.scalar(
        select(EvidenceFile).where(EvidenceFile.id == evidence_id, EvidenceFile.case_id == case.id)
    )
    if evidence is None:
        abort(404)
    return evidence


def _posts_of(case: Case) -> list[tuple[int, str]]:
    return [(item.id, item.url.replace("https://", "")) for item in case.items]


@bp.post("/<int:case_id>/screenshots")
@roles_required(*CASEWORK_ROLES)
def add_screenshots(case_id: int) -> Response | tuple[str, int]:
    """Screenshots staff add to a case, through the upload pipeline of the victim's page:
    sanitised (EXIF gone), limited per request and per case, encrypted, matched with other
    cases, audited; never for a minor's case. Nothing stays written if saving fails."""
    case = get_case_or_404(case_id)
    if not images_allowed(case.minor):
        # Refused before a byte of the files is read.
        flash(messages.minor_images_refused(), "error")
        return _back(case, "items")
    form = ScreenshotsForm(posts=_posts_of(case))
    if not form.validate():
        return _render_detail(case, 400, screenshots_form=form)
    stored, _hash_only = image_count(db.session, case)
    cleaned = sanitise_uploads(
        chosen_files(request.files.getlist("screenshots")),
        max_bytes=current_app.config["MAX_UPLOAD_BYTES"],
        room=MAX_IMAGES_PER_CASE - stored,
    )
    if cleaned.problems:
        form.screenshots.errors = [messages.file_error(p) for p in cleaned.problems]
        return _render_detail(case, 400, screenshots_form=form)
    if not cleaned.images:
        form.screenshots.errors = [_("Choose at least one image.")]
        return _render_detail(case, 400, screenshots_form=form)
    item = db.session.get(Item, int(form.item.data)) if form.item.data else None
    storage = evidence_storage(current_app.config, db.session)
    new_keys: list[str] = []
    with saving(ImagesNotAccepted, services.CaseError, SQLAlchemyError, OSError) as saved:
        added = services.add_staff_images(
            db.session, case, storage, cleaned.images, current_actor(), item=item, new_keys=new_keys
        )
    if saved.error is not None:
        delete_files(storage, unreferenced_keys(db.session, new_keys))
        if isinstance(saved.error, ImagesNotAccepted):
            flash(messages.minor_images_refused(), "error")
            return _back(case, "items")
        if isinstance(saved.error, services.CaseError):
            form.screenshots.errors = [str(saved.error.message)]
        else:
            log.error("staff images not saved: %s", type(saved.error).__name__)
            form.screenshots.errors = [
                _("The images could not be saved. Nothing was changed; please try again.")
            ]
        return _render_detail(case, 400, screenshots_form=form)
    flash(ngettext("%(num)d image added.", "%(num)d images added.", len(added)), "info")
    known = len(cleaned.images) - len(added)
    if known:
        flash(
            ngettext(
                "%(num)d image was already in this case.",
                "%(num)d images were already in this case.",
                known,
            ),
            "info",
        )
    return _back(case, "items")


@bp.get("/<int:case_id>/evidence/<int:evidence_id>")
def evidence(case_id: int, evidence_id: int) -> str:
    case = get_case_or_404(case_id)
    file = _evidence_of(case, evidence_id)
    form = FileEvidenceForm(
        formdata=None, posts=_posts_of(case), data={"item": str(file.item_id or "")}
    )
    return render_template(
        "cases/evidence.html",
        case=case,
        evidence=file,
        clear=request.args.get("clear") == "1",
        file_form=form,
        can_casework=current_staff().role in CASEWORK_ROLES,
    )


@bp.post("/<int:case_id>/evidence/<int:evidence_id>/post")
@roles_required(*CASEWORK_ROLES)
def file_evidence(case_id: int, evidence_id: int) -> Response:
    """File an image under the post it shows, or under none."""
    case = get_case_or_404(case_id)
    file = _evidence_of(case, evidence_id)
    form = FileEvidenceForm(posts=_posts_of(case))
    back = redirect(url_for(".evidence", case_id=case.id, evidence_id=file.id))
    if not form.validate():
        flash(_("Choose one of the case's posts, or none."), "error")
        return back
    item = db.session.get(Item, int(form.item.data)) if form.item.data else None
    with saving(services.CaseError, flash_error=True) as saved:
        changed = services.file_evidence_under(db.session, file, item, current_actor())
    if saved.error is None and changed:
        flash(_("The image is filed under the post you chose."), "info")
    return back


@bp.get("/<int:case_id>/evidence/<int:evidence_id>/<any(blurred, clear):variant>.jpg")
def evidence_image(case_id: int, evidence_id: int, variant: str) -> Response:
    case = get_case_or_404(case_id)
    file = _evidence_of(case, evidence_id)
    # Never an image of a minor, even one whose file somehow survived.
    if file.storage_key is None or not images_allowed(case.minor):
        abort(404)
    try:
        body = services.evidence_preview(
            db.session,
            file,
            evidence_storage(current_app.config, db.session),
            current_actor(),
            blurred=variant == "blurred",
        )
    except (EvidenceNotFoundError, services.CaseError):
        abort(404)
    db.session.commit()
    response = Response(body, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "no-store, private, max-age=0"
    response.headers["Pragma"] = "no-cache"
    response.headers["Expires"] = "0"
    response.headers["Content-Disposition"] = f'inline; filename="evidence-{file.id}.jpg"'
    return response


# --- links and merging -------------------------------------------------------------------


def _find_target(case: Case, raw: str) -> Case | None:
    reference = normalise_reference(raw or "")
    if reference is None:
        return None
    return db.session.scalar(
        select(Case).where(
            Case.reference == reference, Case.organisation_id == case.organisation_id
        )
    )


@bp.route("/<int:case_id>/merge", methods=["GET", "POST"])
@roles_required(*CASEWORK_ROLES)
def merge(case_id: int) -> Response | tuple[str, int]:
    case = get_case_or_404(case_id)
    form = MergeForm() if request.method == "POST" else MergeForm(formdata=request.args)
    target: Case | None = None
    problem: Any = None
    if form.target.data:
        target = _find_target(case, form.target.data)
        if target is None:
            form.target.errors = [_("There is no case with that reference in your organisation.")]
        else:
            try:
                check_merge(db.session, case, target)
            except MergeError as exc:
                problem = exc.message
    if request.method == "POST" and target is not None and problem is None and form.validate():
        summary = merge_cases(db.session, case, target, current_actor())
        db.session.commit()
        _destroy_files(summary.destroyed_keys)
        moved = ngettext("%(num)d post moved", "%(num)d posts moved", summary.items_moved)
        combined = ngettext(
            "%(num)d already here", "%(num)d already here", len(summary.items_combined)
        )
        flash(
            _(
                "%(source)s was merged into this case (%(moved)s, %(combined)s).",
                source=case.reference,
                moved=moved,
                combined=combined,
            ),
            "info",
        )
        return redirect(url_for(".detail", case_id=target.id))
    status = 400 if request.method == "POST" else 200
    return (
        render_template(
            "cases/merge.html",
            case=case,
            target=target,
            form=form,
            problem=problem,
            status_labels=services.STATUS_LABELS,
            counts=services.case_sizes(db.session, [c for c in (case, target) if c is not None]),
        ),
        status,
    )


@bp.post("/<int:case_id>/links/<int:link_id>/dismiss")
@roles_required(*CASEWORK_ROLES)
def dismiss(case_id: int, link_id: int) -> Response:
    case = get_case_or_404(case_id)
    link = db.session.scalar(
        select(CaseLink).where(
            CaseLink.id == link_id,
            CaseLink.organisation_id == case.organisation_id,
            or_(CaseLink.case_a_id == case.id, CaseLink.case_b_id == case.id),
        )
    )
    if link is None:
        abort(404)
    with saving(services.CaseError, flash_error=True) as saved:
        services.dismiss_link(db.session, link, current_actor())
    if saved.error is not None:
        return _back(case, "links")
    flash(_("The link was dismissed."), "info")
    return _back(case, "links")


# --- overview ----------------------------------------------------------------------------


def _month_name(month: str) -> str:
    """A "YYYY-MM" month as the reader names it: "Mar 2026", "mars 2026"."""
    year, number = month.split("-")
    return format_date(date(int(year), int(number), 1), "LLL y")


@bp.get("/overview")
def overview() -> str:
    user = current_staff()
    figures = organisation_overview(db.session, user.organisation_id)
    charts = [
        bar_chart(
            "open-by-status",
            _("Open cases by status"),
            _("How many open cases are in each status."),
            [Bar(str(services.STATUS_LABELS[s]), n) for s, n in figures.open_by_status],
            value_header=_("Cases"),
        ),
        bar_chart(
            "overdue-notices",
            _("Overdue notices by jurisdiction"),
            _("Notices with a pending platform deadline that has passed."),
            [Bar(code, n) for code, n in figures.overdue_by_jurisdiction],
            value_header=_("Notices"),
        ),
        bar_chart(
            "time-to-notice",
            _("Median time from report to first notice, by month of report"),
            _("Hours between a case being reported and its first notice being sent."),
            [Bar(_month_name(m.month), round(m.median_hours, 1)) for m in figures.median_by_month],
            value_header=_("Median hours"),
        ),
    ]
    return render_template("cases/overview.html", figures=figures, charts=charts)


# --- logging a post found on X -----------------------------------------------------------

# The assisted-intake page, where a post can start a new case, where the app has one.
NEW_CASE_ENDPOINT = "cases.new_case"


def _post_or_error(raw: str | None) -> tuple[XPost | None, str | None]:
    """The post a link names, or the sentence saying why it names none."""
    try:
        return parse_x_link(raw or ""), None
    except XLinkError as exc:
        return None, str(X_LINK_MESSAGES.get(exc.code, X_LINK_MESSAGES["not_x_link"]))


def _render_log(
    lookup: LogLookupForm, post: XPost | None, add_form: LogPostForm, status: int = 200
) -> tuple[str, int]:
    user = current_staff()
    search = reference_search(lookup.q.data or "") if lookup.q.data else None
    if lookup.q.data and search is None:
        lookup.q.errors = [_("Type a case reference, such as CW-2026-000123, or part of one.")]
    known = cases_holding_post(db.session, user.organisation_id, post.status_id) if post else []
    offered = (
        open_cases_to_log_in(db.session, user.organisation_id, user.id, search=search)
        if post
        else []
    )
    new_case_url = (
        url_for(NEW_CASE_ENDPOINT) if NEW_CASE_ENDPOINT in current_app.view_functions else None
    )
    return (
        render_template(
            "cases/log.html",
            lookup=lookup,
            post=post,
            add_form=add_form,
            known=known,
            known_ids={c.id for c in known},
            offered=offered,
            searched=bool(search),
            new_case_url=new_case_url,
            status_labels=services.STATUS_LABELS,
            me=user,
        ),
        status,
    )


@log_bp.get("")
@roles_required(*CASEWORK_ROLES)
def log_post() -> tuple[str, int]:
    """The post whose link the bookmarklet (or a paste) brings: is it known, and which
    open case should it go to."""
    lookup = LogLookupForm(formdata=request.args)
    post: XPost | None = None
    status = 200
    if "url" in request.args:
        post, error = _post_or_error(lookup.url.data)
        if error is not None:
            lookup.url.errors = [error]
            status = 400
    add_form = LogPostForm(formdata=None, data={"url": post.url if post else ""})
    return _render_log(lookup, post, add_form, status)


@log_bp.post("")
@roles_required(*CASEWORK_ROLES)
def add_logged_post() -> Response | tuple[str, int]:
    """Add the post to the case chosen, through the case screen's "Add posts"."""
    form = LogPostForm()
    lookup = LogLookupForm(formdata=None, data={"url": form.url.data or ""})
    post, error = _post_or_error(form.url.data)
    if post is None:
        lookup.url.errors = [error or ""]
        return _render_log(lookup, None, form, 400)
    if not form.validate():
        return _render_log(lookup, post, form, 400)
    case = get_case_or_404(int(form.case.data or 0))
    if not is_open_for_logging(case):
        form.case.errors = [_("This case is no longer open; choose an open case.")]
        return _render_log(lookup, post, form, 400)
    with saving(services.CaseError) as saved:
        added = services.add_staff_items(db.session, case, [post], current_actor())
    if saved.error is not None:
        form.case.errors = [str(saved.error.message)]
        return _render_log(lookup, post, form, 400)
    if added:
        flash(_("The post was added to %(reference)s.", reference=case.reference), "info")
    else:
        flash(_("The post was already in %(reference)s.", reference=case.reference), "info")
    return redirect(url_for("cases.detail", case_id=case.id) + "#items")
