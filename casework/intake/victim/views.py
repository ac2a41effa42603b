"""The victim's case page: sign in with reference and code, see progress, add, change, leave."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import refresh
from flask_wtf import FlaskForm
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from casework.actors import VICTIM
from casework.cases.models import Case
from casework.cases.workflow import allowed_targets
from casework.evidence.files import (
    ImagesNotAccepted,
    delete_files,
    evidence_storage,
    images_allowed,
    unreferenced_keys,
)
from casework.evidence.xlinks import read_link_lines
from casework.extensions import db, limiter
from casework.intake import messages
from casework.intake.choices import country_name
from casework.intake.forms import (
    AccessForm,
    AddLinksForm,
    ContactForm,
    DeleteForm,
    ScreenshotsForm,
    SignStatementForm,
    WithdrawForm,
)
from casework.intake.limits import (
    client_key,
    intake_steps_limit,
    register_public_error_pages,
    victim_sign_in_limit,
)
from casework.intake.templating import error_list
from casework.intake.uploads import (
    MAX_DEVICE_FILES_PER_CASE,
    MAX_FILES_PER_REQUEST,
    MAX_IMAGES_PER_CASE,
    chosen_files,
    parse_device_files,
    sanitise_uploads,
)
from casework.intake.victim import services
from casework.intake.victim.session import end_victim_session, signed_in_case, start_victim_session
from casework.intake.victim.timeline import case_timeline
from casework.intake.victim.wording import (
    STATUS_WORDS,
    jurisdiction_label,
    local_date,
    local_datetime,
)
from casework.notices.signatures import SignatureError, SignedWord, open_requests, sign
from casework.registry import default_registry
from casework.saving import commit_if_changed, saving

log = logging.getLogger(__name__)

bp = Blueprint("victim", __name__, url_prefix="/my-case")
bp.add_app_template_global(error_list, "error_list")

_PUBLIC_ENDPOINTS = frozenset({"victim.sign_in", "victim.deleted"})

action_limit = limiter.limit(intake_steps_limit, key_func=client_key, methods=["POST"])


def _failed_sign_in(response: Response) -> bool:
    # Only attempts that did not open a case count towards the limit.
    return response.status_code != 302


@bp.before_request
def _load_case() -> Response | None:
    if request.endpoint in _PUBLIC_ENDPOINTS:
        return None
    case = signed_in_case()
    if case is None:
        end_victim_session()
        db.session.commit()
        flash(_("Please enter your case reference and access code."))
        return redirect(url_for("victim.sign_in"))
    commit_if_changed()
    g.victim_case = case
    return None


def _case() -> Case:
    case: Case = g.victim_case
    return case


@bp.route("/", methods=["GET", "POST"])
@limiter.limit(
    victim_sign_in_limit, key_func=client_key, methods=["POST"], deduct_when=_failed_sign_in
)
def sign_in() -> Response | str:
    form = AccessForm()
    if request.method == "POST" and form.validate():
        case = services.case_for_access(db.session, form.reference.data, form.code.data)
        if case is not None:
            services.record_sign_in(db.session, case)
            db.session.commit()
            start_victim_session(case)
            db.session.commit()
            return redirect(url_for("victim.case_page"))
        form.code.errors = [
            _(
                "We could not open a case with this reference and access code. Check both and "
                "try again: the code is the six words you were given."
            )
        ]
    return render_template("victim/sign_in.html", form=form)


@bp.get("/case")
def case_page() -> str:
    return _render_case()


def _render_case(**forms: FlaskForm) -> str:
    case = _case()
    contact = forms.get("contact_form") or ContactForm(
        data={
            "language": case.language,
            "contact": "email" if case.contact_email else "none",
            "email": case.contact_email or "",
        }
    )
    stored, hash_only = services.image_count(db.session, case)
    timeline = case_timeline(db.session, case)
    registry = default_registry()
    return render_template(
        "victim/case.html",
        case=case,
        timeline=timeline,
        removed_on={e.params["url"]: e.at for e in timeline.past if e.kind == "removed"},
        items=case.items,
        links_form=forms.get("links_form") or AddLinksForm(),
        images_form=forms.get("images_form") or ScreenshotsForm(),
        contact_form=contact,
        images_allowed=images_allowed(case.minor),
        stored_images=stored,
        hash_only_images=hash_only,
        routes=registry.minor_routes_shown(case.country),
        country_name=country_name,
        max_mb=current_app.config["MAX_UPLOAD_BYTES"] // (1024 * 1024) or 1,
        max_bytes=current_app.config["MAX_UPLOAD_BYTES"],
        per_request=MAX_FILES_PER_REQUEST,
        minor=not images_allowed(case.minor),
        all_routes=registry.minor_routes_shown_by_country(),
        adult_services=registry.support_shown(case.country),
        status_words=STATUS_WORDS,
        jurisdiction_label=jurisdiction_label,
        when=lambda value: local_datetime(value, case.timezone),
        on_day=lambda value: local_date(value, case.timezone),
        can_withdraw=bool(allowed_targets(case.status, VICTIM)),
        to_sign=open_requests(db.session, case),
        sign_form=forms.get("sign_form") or SignStatementForm(),
        signing=forms.get("signing_id"),
    )


@bp.post("/sign/<int:request_id>")
@action_limit
def sign_statement(request_id: int) -> Response | str:
    """Sign the statements staff asked for: only a request of this case, still open."""
    case = _case()
    request_row = next((r for r in open_requests(db.session, case) if r.id == request_id), None)
    if request_row is None:
        abort(404)
    form = SignStatementForm()
    if not form.validate():  # the CSRF token
        return _render_case(sign_form=form, signing_id=request_id)
    word = SignedWord(
        name=form.name.data or "",
        typed_signature=form.typed_signature.data or "",
        confirmed=bool(form.confirm.data),
    )
    with saving(SignatureError) as saved:
        sign(db.session, request_row, word, VICTIM)
    if isinstance(saved.error, SignatureError):
        field = getattr(form, saved.error.field or "", None) or form.confirm
        field.errors = [str(saved.error)]
        return _render_case(sign_form=form, signing_id=request_id)
    flash(_("Thank you. Your signature was added to the letter."))
    return redirect(url_for("victim.case_page"))


@bp.post("/links")
@action_limit
def add_links() -> Response | str:
    case = _case()
    form = AddLinksForm()
    if (lang := request.form.get("lang")) is not None:
        # A language button: the page again in that language, with the links as typed.
        if lang in current_app.config["LANGUAGES"]:
            session["lang"] = lang
            refresh()
        return _render_case(links_form=form)
    if not form.validate():
        return _render_case(links_form=form)
    links = read_link_lines(form.links.data)
    if links.problems and request.form.get("action") == "add_good" and links.posts:
        links = read_link_lines(links.good_lines_text())
    if not links.ok:
        form.links.errors = messages.link_errors(links)
        return _render_case(links_form=form)
    added = services.add_links(db.session, case, links.posts)
    db.session.commit()
    if added.added:
        flash(_("Links added: %(count)s.", count=added.added))
    if added.already_there:
        flash(_("Already in your case, so not added again: %(count)s.", count=added.already_there))
    return redirect(url_for("victim.case_page"))


@bp.post("/images")
@action_limit
def add_images() -> Response | str:
    case = _case()
    if not images_allowed(case.minor):
        flash(messages.minor_images_refused(), "error")
        return redirect(url_for("victim.case_page"))
    form = ScreenshotsForm()
    form.validate()
    stored, hash_only = services.image_count(db.session, case)
    files = [] if form.keep_on_device.data else chosen_files(request.files.getlist("screenshots"))
    cleaned = sanitise_uploads(
        files, max_bytes=current_app.config["MAX_UPLOAD_BYTES"], room=MAX_IMAGES_PER_CASE - stored
    )
    device_files, device_problems = parse_device_files(
        form.device_files.data or "", room=MAX_DEVICE_FILES_PER_CASE - hash_only
    )
    errors = [messages.file_error(p) for p in [*cleaned.problems, *device_problems]]
    if errors:
        form.screenshots.errors = errors
        return _render_case(images_form=form)
    if not cleaned.images and not device_files:
        form.screenshots.errors = [_("Choose at least one image.")]
        return _render_case(images_form=form)
    storage = evidence_storage(current_app.config, db.session)
    new_keys: list[str] = []
    with saving(ImagesNotAccepted, SQLAlchemyError, OSError) as saved:
        count = services.add_images(
            db.session,
            case,
            storage,
            images=cleaned.images,
            device_files=device_files,
            new_keys=new_keys,
        )
    if isinstance(saved.error, ImagesNotAccepted):
        flash(messages.minor_images_refused(), "error")
        return redirect(url_for("victim.case_page"))
    if saved.error is not None:
        delete_files(storage, unreferenced_keys(db.session, new_keys))
        log.error("images not saved: %s", type(saved.error).__name__)
        flash(_("We could not save the images. Nothing was changed; please try again."), "error")
        return redirect(url_for("victim.case_page"))
    flash(_("Images added: %(count)s.", count=count))
    return redirect(url_for("victim.case_page"))


@bp.post("/contact")
@action_limit
def contact() -> Response | str:
    form = ContactForm()
    if not form.validate():
        return _render_case(contact_form=form)
    email = form.email.data if form.contact.data == "email" else None
    services.update_contact(db.session, _case(), language=form.language.data, email=email)
    db.session.commit()
    flash(_("Your contact preferences were saved."))
    return redirect(url_for("victim.case_page"))


@bp.route("/withdraw", methods=["GET", "POST"])
@action_limit
def withdraw() -> Response | str:
    form = WithdrawForm()
    if form.validate_on_submit():
        with saving(services.CannotWithdraw) as saved:
            services.withdraw_case(db.session, _case())
        if saved.error is not None:
            flash(_("This case is already finished, so it cannot be withdrawn."), "error")
            return redirect(url_for("victim.case_page"))
        start_victim_session(_case())
        db.session.commit()
        flash(_("Your case was withdrawn. Nothing more will be done for it."))
        return redirect(url_for("victim.case_page"))
    return render_template("victim/withdraw.html", form=form, case=_case())


@bp.route("/delete", methods=["GET", "POST"])
@action_limit
def delete() -> Response | str:
    form = DeleteForm()
    if form.validate_on_submit():
        storage = evidence_storage(current_app.config, db.session)
        with saving(SQLAlchemyError) as saved:
            keys = services.delete_case(db.session, _case())
        if saved.error is not None:
            log.error("case not deleted: %s", type(saved.error).__name__)
            flash(
                _("We could not delete your case just now. Nothing was changed; please try again."),
                "error",
            )
            return redirect(url_for("victim.case_page"))
        delete_files(storage, keys)
        end_victim_session()
        db.session.commit()
        return redirect(url_for("victim.deleted"))
    return render_template("victim/delete.html", form=form, case=_case())


@bp.get("/deleted")
def deleted() -> str:
    return render_template("victim/deleted.html")


@bp.post("/sign-out")
def sign_out() -> Response:
    end_victim_session()
    db.session.commit()
    flash(_("You are signed out."))
    return redirect(url_for("victim.sign_in"))


# The public pages' answers to an expired form, a too-large upload and a limit.
register_public_error_pages(bp, back_url=lambda: url_for("victim.case_page"))
