"""Admin pages: invite staff, set roles, deactivate, reset a second factor, issue and revoke
API tokens, read the audit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from casework.accounts.access import current_actor, current_staff, roles_required
from casework.accounts.api_tokens import (
    TokenError,
    issue_token,
    organisation_token,
    organisation_tokens,
    revoke_token,
)
from casework.accounts.models import Role, User
from casework.accounts.recovery import invite_user, resend_invitation
from casework.accounts.services import (
    AccountError,
    change_role,
    deactivate_user,
    organisation_user,
    organisation_users,
    reactivate_user,
    reset_user_totp,
    sign_out_everywhere,
)
from casework.admin.forms import AuditFilterForm, InviteForm, RoleForm, TokenForm
from casework.audit.review import (
    UnknownCase,
    chain_actions,
    recent_events,
    verify_organisation_chain,
)
from casework.extensions import db
from casework.orm import utcnow
from casework.saving import saving
from casework.timefmt import zone_or_utc
from casework.urls import absolute_url

bp = Blueprint("admin", __name__, url_prefix="/staff/admin")


@bp.before_request
@roles_required(Role.ADMIN)
def _admins_only() -> None:
    """Every admin page is for admins; the staff gate has already checked the sign-in."""


def _user_or_404(user_id: int) -> User:
    user = organisation_user(db.session, current_staff(), user_id)
    if user is None:
        abort(404)
    return user


def _link_for(token: str) -> str:
    return absolute_url("auth.reset_confirm", token=token)


def _index(invite: InviteForm, status: int = 200) -> tuple[str, int]:
    admin = current_staff()
    users = organisation_users(db.session, admin.organisation_id)
    return render_template("admin/index.html", users=users, invite=invite, me=admin), status


@bp.get("/")
def index() -> tuple[str, int]:
    form = InviteForm()
    form.locale.data = str(get_locale() or "en")
    return _index(form)


@bp.post("/users/invite")
def invite() -> Response | tuple[str, int]:
    form = InviteForm()
    if form.validate_on_submit():
        with saving(AccountError) as saved:
            user = invite_user(
                db.session,
                admin=current_staff(),
                email=form.email.data,
                name=form.name.data,
                role=Role(form.role.data),
                locale=form.locale.data,
                secret_key=current_app.config["SECRET_KEY"],
                link_for=_link_for,
                now=utcnow(),
            )
        if saved.error is not None:
            form.email.errors = [str(saved.error)]
        else:
            # The same answer whether or not the address was staff elsewhere (user is None):
            # the name as create_user keeps it, and back to the list.
            shown = user.name if user is not None else form.name.data.strip() or form.email.data
            flash(
                _("%(name)s is invited: they have an email to choose a password.", name=shown),
                "success",
            )
            return redirect(url_for("admin.index"))
    return _index(form, 400)


@bp.get("/users/<int:user_id>")
def user(user_id: int) -> str:
    person = _user_or_404(user_id)
    form = RoleForm(role=person.role.value)
    return render_template("admin/user.html", person=person, role_form=form, me=current_staff())


def _act(user_id: int, action: Callable[[User], None], done: str) -> Response:
    """Run one admin action on a user of this organisation, then back to their page."""
    person = _user_or_404(user_id)
    with saving(AccountError, flash_error=True) as saved:
        action(person)
    if saved.error is None:
        flash(done, "success")
    return redirect(url_for("admin.user", user_id=person.id))


@bp.post("/users/<int:user_id>/role")
def set_role(user_id: int) -> Response:
    _user_or_404(user_id)  # another organisation's id is unknown here, whatever the form says
    form = RoleForm()
    if not form.validate_on_submit():
        flash(_("Choose one of the roles."), "error")
        return redirect(url_for("admin.user", user_id=user_id))
    role = Role(form.role.data)
    return _act(
        user_id,
        lambda person: change_role(db.session, admin=current_staff(), user=person, role=role),
        _("Role changed. The person signs in again to work with it."),
    )


@bp.post("/users/<int:user_id>/deactivate")
def deactivate(user_id: int) -> Response:
    return _act(
        user_id,
        lambda person: deactivate_user(db.session, admin=current_staff(), user=person),
        _("Account deactivated. Its sessions have ended."),
    )


@bp.post("/users/<int:user_id>/reactivate")
def reactivate(user_id: int) -> Response:
    return _act(
        user_id,
        lambda person: reactivate_user(db.session, admin=current_staff(), user=person),
        _("Account reactivated."),
    )


@bp.post("/users/<int:user_id>/sign-out-everywhere", endpoint="sign_out_everywhere")
def sign_out_everywhere_view(user_id: int) -> Response:
    return _act(
        user_id,
        lambda person: sign_out_everywhere(db.session, admin=current_staff(), user=person),
        _("Every session of this account has ended."),
    )


@bp.post("/users/<int:user_id>/reset-two-step")
def reset_totp(user_id: int) -> Response:
    return _act(
        user_id,
        lambda person: reset_user_totp(db.session, admin=current_staff(), user=person),
        _("Two-step sign-in removed. The person sets it up again when they next sign in."),
    )


@bp.post("/users/<int:user_id>/invite-again")
def invite_again(user_id: int) -> Response:
    return _act(
        user_id,
        lambda person: resend_invitation(
            db.session,
            admin=current_staff(),
            user=person,
            secret_key=current_app.config["SECRET_KEY"],
            link_for=_link_for,
            now=utcnow(),
        ),
        _("A new invitation is on its way."),
    )


def _token_form(*, submitted: bool) -> TokenForm:
    """The issue form, as sent or empty, offering the organisation's active staff."""
    admin = current_staff()
    form = TokenForm() if submitted else TokenForm(formdata=None)
    form.user.choices = [
        (person.id, f"{person.name} ({person.email})")
        for person in organisation_users(db.session, admin.organisation_id)
        if person.is_active_user
    ]
    return form


def _tokens_page(form: TokenForm, status: int = 200, secret: str | None = None) -> tuple[str, int]:
    admin = current_staff()
    return (
        render_template(
            "admin/tokens.html",
            tokens=organisation_tokens(db.session, admin.organisation_id),
            form=form,
            secret=secret,
            me=admin,
            now=utcnow(),
        ),
        status,
    )


def _end_of_day(day: date | None, zone: ZoneInfo) -> datetime | None:
    """A token chosen to expire on a day works until that day ends, in the admin's zone."""
    if day is None:
        return None
    return datetime.combine(day, time.max, tzinfo=zone).astimezone(UTC)


@bp.get("/tokens")
def tokens() -> tuple[str, int]:
    return _tokens_page(_token_form(submitted=False))


@bp.post("/tokens")
def issue() -> tuple[str, int]:
    """Issue a token and show its secret, once: only its hash is kept."""
    form = _token_form(submitted=True)
    if not form.validate_on_submit():
        return _tokens_page(form, 400)
    admin = current_staff()
    person = organisation_user(db.session, admin, int(form.user.data))
    if person is None:
        abort(404)
    expires_at = _end_of_day(form.expires_on.data, zone_or_utc(admin.timezone))
    with saving(TokenError) as saved:
        issued = issue_token(
            db.session,
            admin=admin,
            user=person,
            name=form.name.data or "",
            expires_at=expires_at,
            now=utcnow(),
        )
    if saved.error is not None:
        fields = {"user": form.user, "expires_at": form.expires_on}
        fields.get(saved.error.field, form.name).errors = [str(saved.error)]
        return _tokens_page(form, 400)
    return _tokens_page(_token_form(submitted=False), secret=issued.secret)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke(token_id: int) -> Response:
    admin = current_staff()
    token = organisation_token(db.session, admin, token_id)
    if token is None:
        abort(404)
    with saving(TokenError, flash_error=True) as saved:
        revoked = revoke_token(db.session, admin=admin, token=token, now=utcnow())
    if saved.error is None and revoked:
        flash(_("Token revoked: it no longer opens the API."), "success")
    return redirect(url_for("admin.tokens"))


@bp.get("/audit")
def audit() -> tuple[str, int]:
    organisation_id = current_staff().organisation_id
    form = AuditFilterForm(request.args)
    form.action.choices = [("", _("Any action"))] + [
        (action, action) for action in chain_actions(db.session, organisation_id)
    ]
    before = request.args.get("before", type=int)
    page = None
    status = 200
    if form.validate():
        try:
            page = recent_events(
                db.session,
                organisation_id,
                case_reference=form.reference.data or None,
                action=form.action.data or None,
                before_id=before,
            )
        except UnknownCase:
            form.reference.errors = [_("No case of your organisation has this reference.")]
            status = 404
    else:
        status = 400
    return render_template("admin/audit.html", form=form, page=page), status


def _broken_link_reason(reason: str) -> str:
    """The verifier's reason in the reader's language."""
    if reason.startswith("expected seq"):
        return _("events are missing before it")
    known = {
        "previous hash does not match": _("it does not follow from the event before it"),
        "content does not match its hash": _("its content was changed after it was written"),
        "events are missing from the end of the chain": _("events were removed from the end"),
    }
    return known.get(reason, reason)


@bp.post("/audit/verify")
def verify_audit() -> Response:
    report = verify_organisation_chain(db.session, current_staff().organisation_id, current_actor())
    db.session.commit()
    problem = report.problem
    if problem is None:
        flash(
            _("The audit trail is intact: %(count)d events checked.", count=report.events),
            "success",
        )
    else:
        flash(
            _(
                "The audit trail has been altered. First broken link: event %(event)s "
                "(number %(seq)d in the chain): %(reason)s.",
                event=problem.event_id if problem.event_id is not None else "-",
                seq=problem.seq,
                reason=_broken_link_reason(problem.reason),
            ),
            "error",
        )
    return redirect(url_for("admin.audit"))
