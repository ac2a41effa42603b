"""Letters and notices screens: ready-for-legal-action, letters per case, notices, bundles."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from pypdf import PdfReader
from werkzeug.wrappers import Response

from casework.accounts.access import current_actor, current_staff, get_case_or_404, roles_required
from casework.accounts.models import Role
from casework.cases.labels import CATEGORY_LABELS, notice_state_label
from casework.cases.models import Case
from casework.cases.worklists import Cursor
from casework.extensions import db
from casework.notices.bundles import BundleError, build_bundle
from casework.notices.completeness import (
    STATEMENT_ELEMENTS,
    TEXT_ELEMENTS,
    MissingElement,
    missing_for,
)
from casework.notices.coverage import post_coverage
from casework.notices.describe import describe_deadline
from casework.notices.forms import (
    BundleForm,
    GenerateLetterForm,
    NewNoticeForm,
    NoticeDetailsForm,
    RecordSentForm,
    RegulatorNoticeForm,
    aware,
    local_now,
)
from casework.notices.letters import create_letter, letter_filename, record_download
from casework.notices.models import Letter, Notice, NoticeState
from casework.notices.queries import (
    letters_by_route,
    letters_of_notice,
    notices_of_case,
    ready_for_legal_action,
)
from casework.notices.rendering import LetterRenderError, page_image, statement_texts
from casework.notices.services import (
    IncompleteNotice,
    NoticeDetails,
    NoticeError,
    available_routes,
    create_notice,
    notice_facts,
    record_regulator_notice,
    record_sent,
    related_of,
    schedule_deadlines,
    update_notice,
)
from casework.notices.signatures import (
    SignatureError,
    ask_for_signature,
    signature_of,
    statements_to_sign,
)
from casework.notices.snapshot import letter_language
from casework.notifications.jobs import deliver_soon
from casework.registry import Route, default_registry
from casework.saving import saving
from casework.urls import absolute_url

bp = Blueprint("notices", __name__, url_prefix="/staff/notices")


def _language() -> str:
    """The page's language, for registry titles (English where a route has no title in it)."""
    return str(get_locale() or "en")


STAFF = (Role.CASEWORKER, Role.LAWYER, Role.ADMIN)
PREVIEW_DPI = 80


def _scoped(model: type[Any], object_id: int) -> Any:
    row = db.session.get(model, object_id)
    if row is None:
        abort(404)
    get_case_or_404(row.case_id)
    return row


def _route_or_404(key: str) -> Route:
    route = _route(key)
    if route is None:
        abort(404)  # a notice under a route the registry no longer has
    return route


def _route(key: str) -> Route | None:
    try:
        return default_registry().route(key)
    except KeyError:
        return None


def _route_choices(case: Case) -> list[tuple[str, str]]:
    language = _language()
    return [
        (r.key, f"{r.title_in(language)} · {r.citation_in(language)} · {describe_deadline(r)}")
        for r in available_routes(case)
    ]


def _apply_error(form: Any, exc: NoticeError) -> None:
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, str(exc)]
    else:
        form.form_errors.append(str(exc))


@bp.get("/")
@roles_required(*STAFF)
def ready() -> str:
    user = current_staff()
    after = Cursor.decode(request.args.get("after"))
    before = None if after else Cursor.decode(request.args.get("before"))
    page = ready_for_legal_action(
        db.session, user.organisation_id, user.id, after=after, before=before
    )
    return render_template(
        "notices/ready.html",
        rows=page.rows,
        next_url=url_for(".ready", after=page.next_cursor.encode()) if page.next_cursor else None,
        prev_url=url_for(".ready", before=page.prev_cursor.encode()) if page.prev_cursor else None,
    )


@bp.get("/cases/<int:case_id>")
@roles_required(*STAFF)
def case_letters(case_id: int) -> str:
    case = get_case_or_404(case_id)
    form = GenerateLetterForm()
    form.route_key.choices = _route_choices(case)
    return render_template(
        "notices/case.html",
        case=case,
        form=form,
        bundle_form=BundleForm(),
        routes=available_routes(case),
        notices=notices_of_case(db.session, case.id),
        letters=letters_by_route(db.session, case.id),
        route_of=_route,
        describe_deadline=describe_deadline,
        decrypted=current_staff().role is Role.LAWYER,
    )


@bp.post("/cases/<int:case_id>/generate")
@roles_required(*STAFF)
def generate(case_id: int) -> Response:
    case = get_case_or_404(case_id)
    form = GenerateLetterForm()
    form.route_key.choices = _route_choices(case)
    back = url_for(".case_letters", case_id=case.id)
    if not form.validate_on_submit():
        flash(_("Choose a letter from the list."), "error")
        return redirect(back)
    notice = _scoped(Notice, int(form.notice_id.data)) if form.notice_id.data else None
    if notice is not None:
        back = url_for(".notice", notice_id=notice.id)
    with saving(NoticeError, LetterRenderError, flash_error=True) as saved:
        letter = create_letter(
            db.session,
            case=case,
            route_key=form.route_key.data or "",
            actor=current_actor(),
            notice=notice,
            include_screenshots=form.include_screenshots.data,
            blur_screenshots=not form.unblurred.data,
        )
    if saved.error is not None:
        return redirect(back)
    flash(_("Version %(version)d of the letter is ready.", version=letter.version))
    return redirect(url_for(".letter", letter_id=letter.id))


@bp.get("/<int:letter_id>")
@roles_required(*STAFF)
def letter(letter_id: int) -> str:
    row: Letter = _scoped(Letter, letter_id)
    snapshot = row.data_snapshot
    route = _route(row.route_key)
    return render_template(
        "notices/letter.html",
        letter=row,
        case=row.case,
        route=route,
        snapshot=snapshot,
        pages=0 if row.destroyed_at else len(PdfReader(io.BytesIO(row.pdf)).pages),
        missing=[
            MissingElement(code, law=snapshot["route"]["citation"]).label
            for code in snapshot.get("missing", [])
        ],
        unverified=snapshot.get("route", {}).get("unverified_facts", []),
        form=GenerateLetterForm(),
    )


def _pdf_response(row: Letter, *, inline: bool) -> Response:
    if row.destroyed_at is not None:
        abort(410)
    record_download(db.session, row, current_actor(), inline=inline)
    db.session.commit()
    response = send_file(
        io.BytesIO(row.pdf),
        mimetype="application/pdf",
        as_attachment=not inline,
        download_name=letter_filename(row),
        max_age=0,
    )
    if inline:
        # Browsers' PDF viewers are plugins: let this one response embed its own PDF.
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; object-src 'self'; frame-ancestors 'none'"
        )
    return response


@bp.get("/<int:letter_id>/download")
@roles_required(*STAFF)
def download(letter_id: int) -> Response:
    return _pdf_response(_scoped(Letter, letter_id), inline=False)


@bp.get("/<int:letter_id>/view.pdf")
@roles_required(*STAFF)
def inline(letter_id: int) -> Response:
    return _pdf_response(_scoped(Letter, letter_id), inline=True)


@bp.get("/<int:letter_id>/page-<int:page>.png")
@roles_required(*STAFF)
def preview(letter_id: int, page: int) -> Response:
    row: Letter = _scoped(Letter, letter_id)
    if row.destroyed_at is not None:
        abort(410)
    data = page_image(row.pdf, page, dpi=PREVIEW_DPI)
    if data is None:
        abort(404)
    return send_file(io.BytesIO(data), mimetype="image/png", max_age=0)


@bp.post("/cases/<int:case_id>/bundle")
@roles_required(*STAFF)
def bundle(case_id: int) -> Response:
    case = get_case_or_404(case_id)
    if not BundleForm().validate_on_submit():
        abort(400)
    with saving(BundleError, flash_error=True) as saved:
        made = build_bundle(db.session, case, current_actor())
    if saved.error is not None:
        return redirect(url_for(".case_letters", case_id=case.id))
    return send_file(
        io.BytesIO(made.data),
        mimetype="application/zip",
        as_attachment=True,
        download_name=made.filename,
        max_age=0,
    )


@bp.route("/cases/<int:case_id>/notices/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def new_notice(case_id: int) -> Response | tuple[str, int] | str:
    case = get_case_or_404(case_id)
    form = NewNoticeForm()
    form.route_key.choices = _route_choices(case)
    form.item_ids.choices = [
        (item.id, f"{item.url} · {item.category.value}") for item in case.items
    ]
    if request.method == "GET":
        form.route_key.data = request.args.get("route") or None
        form.item_ids.data = [item.id for item in case.items]
    elif form.validate_on_submit():
        with saving(NoticeError) as saved:
            created = create_notice(
                db.session,
                case,
                form.route_key.data or "",
                form.item_ids.data or [],
                current_actor(),
            )
        if saved.error is not None:
            _apply_error(form, saved.error)
        else:
            flash(_("Notice opened. Fill in what it must say, then generate the letter."))
            return redirect(url_for(".notice", notice_id=created.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("notices/notice_new.html", case=case, form=form), status


def _details_form(notice: Notice, route: Route) -> NoticeDetailsForm:
    form = NoticeDetailsForm()
    # The words the letter will print: a complaint to a coordinator is in its language.
    texts = statement_texts(letter_language(route, default_registry(), notice.case, notice))
    form.statements.choices = [(code, texts[code]) for code in statements_to_sign(route)]
    if request.method == "GET":
        staff = current_staff()
        form.signature_name.data = notice.signature_name
        form.capacity.data = notice.signatory_capacity
        form.contact.data = (
            notice.contact_details or f"{notice.case.organisation.name}\n{staff.email}"
        )
        form.statements.data = list(notice.statements or [])
        form.explanation.data = notice.explanation
        form.copyrighted_work.data = notice.copyrighted_work
        for code in TEXT_ELEMENTS:
            form[code].data = (notice.particulars or {}).get(code)
        form.depicted_person.data = notice.depicted_person
        form.addressee_name.data = notice.addressee_name or (
            route.addressee.name if route.addressee.select == "per_case" else None
        )
        form.addressee_address.data = notice.addressee_address
    return form


def _notice_page(
    notice: Notice, route: Route, form: NoticeDetailsForm, status: int = 200
) -> tuple[str, int]:
    case = notice.case
    registry = default_registry()
    facts = notice_facts(db.session, notice, registry=registry)
    items = [link.item for link in notice.items]
    generate = GenerateLetterForm()
    generate.route_key.choices = [(route.key, route.title_in(_language()))]
    generate.route_key.data = route.key
    generate.notice_id.data = str(notice.id)
    return (
        render_template(
            "notices/notice.html",
            case=case,
            notice=notice,
            route=route,
            form=form,
            generate=generate,
            missing=missing_for(route, facts),
            coverage=post_coverage(
                route,
                items,
                registry,
                jurisdiction_codes=case.jurisdiction_codes,
                open_routes=available_routes(case, registry),
            ),
            categories=CATEGORY_LABELS,
            route_of=_route,
            letters=letters_of_notice(db.session, notice.id),
            describe_deadline=describe_deadline,
            statement_elements=set(STATEMENT_ELEMENTS),
            elements={*route.required_elements, *route.recommended_elements},
            regulator_form=RegulatorNoticeForm(),
            related=related_of(db.session, notice, registry=registry),
            person_signature=signature_of(db.session, notice),
            notice_state=notice_state_label,
        ),
        status,
    )


@bp.route("/notices/<int:notice_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def notice(notice_id: int) -> Response | tuple[str, int]:
    row: Notice = _scoped(Notice, notice_id)
    route = _route_or_404(row.route_key)
    form = _details_form(row, route)
    elements = {*route.required_elements, *route.recommended_elements}
    if request.method == "POST":
        if form.validate_on_submit():
            with saving(NoticeError) as saved:
                update_notice(
                    db.session,
                    row,
                    NoticeDetails(
                        signature_name=form.signature_name.data,
                        capacity=form.capacity.data or None,
                        contact=form.contact.data,
                        statements=tuple(form.statements.data or ()),
                        explanation=form.explanation.data,
                        copyrighted_work=form.copyrighted_work.data,
                        depicted_person=form.depicted_person.data,
                        addressee_name=form.addressee_name.data,
                        addressee_address=form.addressee_address.data,
                        particulars={
                            code: form[code].data for code in TEXT_ELEMENTS if code in elements
                        },
                    ),
                    current_actor(),
                )
            if saved.error is not None:
                _apply_error(form, saved.error)
            else:
                flash(_("Notice saved."))
                return redirect(url_for(".notice", notice_id=row.id))
        return _notice_page(row, route, form, 422)
    return _notice_page(row, route, form)


@bp.route("/notices/<int:notice_id>/sent", methods=["GET", "POST"])
@roles_required(*STAFF)
def mark_sent(notice_id: int) -> Response | tuple[str, int]:
    row: Notice = _scoped(Notice, notice_id)
    route = _route_or_404(row.route_key)
    if row.state is not NoticeState.DRAFT:
        flash(_("This notice is already recorded as sent."))
        return redirect(url_for(".notice", notice_id=row.id))
    form = RecordSentForm()
    versions = letters_of_notice(db.session, row.id)
    form.letter_id.choices = [(v.id, _version_label(v)) for v in versions]
    if request.method == "GET":
        # Most notices are recorded as they go out: received now, unless they say otherwise.
        form.received_at.data = local_now(current_staff().timezone)
        form.letter_id.data = next((v.id for v in versions if not v.draft), None)
    missing = missing_for(route, notice_facts(db.session, row))
    if form.validate_on_submit():
        zone_name = current_staff().timezone
        chosen = next((v for v in versions if v.id == form.letter_id.data), None)
        with saving(NoticeError) as saved:
            if chosen is None:
                raise NoticeError(_("Choose a letter version of this notice."), "letter_id")
            deadlines = record_sent(
                db.session,
                row,
                letter=chosen,
                channel=form.channel.data or "",
                received_at=aware(form.received_at.data, zone_name),  # type: ignore[arg-type]
                sent_at=aware(form.sent_at.data, zone_name),
                clock_started_at=aware(form.clock_started_at.data, zone_name),
                actor=current_actor(),
            )
        if isinstance(saved.error, IncompleteNotice):
            missing = saved.error.missing
            form.form_errors.append(str(saved.error))
        elif saved.error is not None:
            _apply_error(form, saved.error)
        else:
            schedule_deadlines([d.id for d in deadlines])
            flash(_("Recorded as sent. The deadline clock has started."))
            return redirect(url_for(".notice", notice_id=row.id))
    status = 422 if request.method == "POST" else 200
    return (
        render_template(
            "notices/record_sent.html",
            case=row.case,
            notice=row,
            route=route,
            form=form,
            missing=missing,
            describe_deadline=describe_deadline,
            versions=versions,
        ),
        status,
    )


def _version_label(letter: Letter) -> str:
    dated = (letter.data_snapshot.get("letter") or {}).get("date", "")
    label = f"v{letter.version} · {dated} · SHA-256 {letter.sha256[:12]}…"
    return f"{label} · {_('draft')}" if letter.draft else label


@bp.post("/notices/<int:notice_id>/ask-signature")
@roles_required(*STAFF)
def ask_signature(notice_id: int) -> Response:
    """Ask the person to sign this notice's statements on their case page."""
    row: Notice = _scoped(Notice, notice_id)
    route = _route_or_404(row.route_key)
    with saving(SignatureError, flash_error=True) as saved:
        _request, email = ask_for_signature(
            db.session,
            row,
            route,
            current_actor(),
            case_page_url=absolute_url("victim.sign_in"),
            requested_by_id=current_staff().id,
        )
    if saved.error is None:
        if email is not None:
            deliver_soon([email.id])
        flash(_("The person has been asked to sign."))
    return redirect(url_for(".notice", notice_id=row.id))


@bp.post("/notices/<int:notice_id>/regulator-notice")
@roles_required(*STAFF)
def regulator_notice(notice_id: int) -> Response:
    row: Notice = _scoped(Notice, notice_id)
    form = RegulatorNoticeForm()
    if not form.validate_on_submit():
        flash(_("Give the date and time of the regulator's notice."), "error")
        return redirect(url_for(".notice", notice_id=row.id))
    with saving(NoticeError, flash_error=True) as saved:
        deadlines = record_regulator_notice(
            db.session,
            row,
            issued_at=aware(form.issued_at.data, current_staff().timezone),  # type: ignore[arg-type]
            actor=current_actor(),
        )
    if saved.error is not None:
        return redirect(url_for(".notice", notice_id=row.id))
    schedule_deadlines([d.id for d in deadlines])
    flash(_("The deadline clock has started."))
    return redirect(url_for(".notice", notice_id=row.id))
