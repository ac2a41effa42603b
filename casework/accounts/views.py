"""Staff sign-in, the second factor, sign-out, forgotten passwords and the account page."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.wrappers import Response as FlaskResponse
from flask_babel import gettext as _
from flask_limiter import RequestLimit, RouteLimit
from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response

from casework.accounts import sessions, totp
from casework.accounts.access import current_staff
from casework.accounts.forms import CodeForm, NewPasswordForm, ResetRequestForm, SignInForm
from casework.accounts.jobs import request_password_reset
from casework.accounts.models import Role, User
from casework.accounts.recovery import InvalidLink, set_password_with_link, user_for_link
from casework.accounts.services import AccountError
from casework.accounts.signin import (
    AccountLocked,
    BadCode,
    BadCredentials,
    CodeReused,
    NextStep,
    check_code,
    check_password,
    complete_sign_in,
    confirm_enrolment,
    pending_secret,
    record_sign_out,
)
from casework.extensions import db, limiter
from casework.orm import utcnow
from casework.urls import absolute_url, safe_next

bp = Blueprint("auth", __name__, url_prefix="/staff")
# Stands for the token in a link built here whose token the worker makes later.
LINK_PLACEHOLDER = "T"


def _submitted_email_key() -> str:
    """The submitted address, keyed with the app secret so limiter storage holds no addresses."""
    email = (request.form.get("email") or "").strip().lower()
    if not email:
        return ""
    key = current_app.config["SECRET_KEY"].encode()
    return "email:" + hmac.new(key, email.encode(), hashlib.sha256).hexdigest()[:32]


def _refused(response: Response) -> bool:
    """Only attempts that did not get through count against the limits."""
    return response.status_code != 302


def _too_many_attempts(seconds: float) -> FlaskResponse:
    # A few seconds of slack, so a fresh 15-minute pause reads "15 minutes", not 16.
    minutes = max(1, math.ceil((seconds - 5) / 60))
    response = current_app.make_response(
        render_template("auth/too_many_attempts.html", minutes=minutes)
    )
    response.status_code = 429
    response.headers["Retry-After"] = str(minutes * 60)
    return response


def _on_breach(limit: RequestLimit) -> FlaskResponse:
    return _too_many_attempts(limit.reset_at - time.time())


def _locked(exc: AccountLocked) -> Response:
    return _too_many_attempts((exc.until - utcnow()).total_seconds())


def _limit(config_key: str, *, by_email: bool = False, failures_only: bool = True) -> RouteLimit:
    """Limit POSTs with the limit named in config (see RATE_LIMITS in casework/config.py)."""
    return limiter.limit(
        lambda: str(current_app.config[config_key]),
        key_func=_submitted_email_key if by_email else get_remote_address,
        methods=["POST"],
        deduct_when=_refused if failures_only else None,
        on_breach=_on_breach,
    )


def home_url(user: User) -> str:
    """Where someone lands after signing in: a lawyer on the cases ready for legal action,
    everyone else on the queues."""
    return url_for("notices.ready" if user.role is Role.LAWYER else "cases.worklist")


def _signed_in(user: User, next_url: str) -> Response:
    sessions.start_session(user)
    db.session.commit()
    return redirect(safe_next(next_url, default=home_url(user)))


@bp.get("/")
def home() -> Response:
    """/staff itself: the signed-in person's starting page."""
    return redirect(home_url(current_staff()))


@bp.route("/sign-in", methods=["GET", "POST"])
@_limit("RATELIMIT_SIGN_IN")
@_limit("RATELIMIT_SIGN_IN_PER_EMAIL", by_email=True)
def login() -> Response | str:
    user = sessions.current_signed_in_user()
    if user is not None:
        return redirect(safe_next(request.args.get("next"), default=home_url(user)))
    form = SignInForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"), default="")
    if form.validate_on_submit():
        next_url = safe_next(form.next.data, default="")
        try:
            result = check_password(db.session, form.email.data, form.password.data, now=utcnow())
        except AccountLocked as exc:
            db.session.commit()  # the refused attempt is audited all the same
            return _locked(exc)
        except BadCredentials:
            db.session.commit()  # the failure counts towards the lockout all the same
            form.password.errors = [_("The email address or password is not right.")]
        else:
            db.session.commit()  # keeps the password if it was hashed again, stronger
            if result.next_step is NextStep.DONE:
                complete_sign_in(db.session, result.user, now=utcnow(), second_factor=False)
                db.session.commit()
                return _signed_in(result.user, next_url)
            sessions.set_pending(result.user, result.next_step, next_url)
            endpoint = "auth.totp" if result.next_step is NextStep.TOTP else "auth.enrol"
            return redirect(url_for(endpoint))
    return render_template("auth/login.html", form=form)


def _start_again() -> Response:
    flash(_("Your sign-in took too long or was interrupted. Please sign in again."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/sign-in/code", methods=["GET", "POST"], endpoint="totp")
@_limit("RATELIMIT_TOTP")
def code_step() -> Response | str:
    user = sessions.pending_user(db.session, NextStep.TOTP)
    if user is None:
        return _start_again()
    form = CodeForm()
    if form.validate_on_submit():
        try:
            check_code(db.session, user, form.code.data, now=utcnow())
        except AccountLocked as exc:
            db.session.commit()  # the refused attempt is audited all the same
            sessions.end_session()
            db.session.commit()
            return _locked(exc)
        except BadCode:
            db.session.commit()  # the failure counts towards the lockout all the same
            form.code.errors = [_("That code is not right. Enter the code your app shows now.")]
        except CodeReused:
            db.session.commit()  # the failure counts towards the lockout all the same
            form.code.errors = [
                _("That code has been used already. Wait for the next one and enter it.")
            ]
        else:
            db.session.commit()
            return _signed_in(user, sessions.pending_next())
    return render_template("auth/code.html", form=form)


@bp.route("/sign-in/set-up-two-step", methods=["GET", "POST"])
@_limit("RATELIMIT_TOTP")
def enrol() -> Response | str:
    """Admins and lawyers must set up the second factor before anything else."""
    user = sessions.pending_user(db.session, NextStep.ENROL)
    if user is None:
        return _start_again()
    form = CodeForm()
    if form.validate_on_submit():
        try:
            confirm_enrolment(db.session, user, form.code.data, now=utcnow())
        except BadCode:
            form.code.errors = [_("That code is not right. Enter the code your app shows now.")]
        else:
            db.session.commit()
            complete_sign_in(db.session, user, now=utcnow(), second_factor=True)
            db.session.commit()
            next_url = sessions.pending_next()
            response = _signed_in(user, next_url)
            flash(_("Two-step sign-in is on."), "success")
            return response
    return render_template("auth/enrol.html", form=form, setup=_setup(user), required=True)


def _setup(user: User) -> dict[str, object]:
    secret = pending_secret(db.session, user)
    db.session.commit()
    uri = totp.provisioning_uri(secret, user.email)
    return {"secret": totp.grouped(secret), "uri": uri, "qr": totp.qr_svg(uri)}


@bp.post("/sign-out")
def logout() -> Response:
    record_sign_out(db.session, current_staff())
    db.session.commit()
    sessions.end_session()
    db.session.commit()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


def bookmarklet(user: User) -> str | None:
    """The "Casework: log this post" bookmark for staff who log posts: on a post on X it opens the
    log page with the post's link. It only navigates: nothing runs inside Casework."""
    if user.role not in (Role.CASEWORKER, Role.ADMIN):
        return None
    target = json.dumps(absolute_url("log.log_post") + "?url=")
    return f"javascript:void(location.href={target}+encodeURIComponent(location.href))"


@bp.get("/account")
def account() -> str:
    user = current_staff()
    form = CodeForm()
    setup = None if user.has_totp else _setup(user)
    return render_template(
        "auth/account.html", user=user, form=form, setup=setup, bookmarklet=bookmarklet(user)
    )


@bp.post("/account/two-step")
def account_enrol() -> Response | str:
    user = current_staff()
    form = CodeForm()
    if user.has_totp:
        return redirect(url_for("auth.account"))
    if form.validate_on_submit():
        try:
            confirm_enrolment(db.session, user, form.code.data, now=utcnow())
        except BadCode:
            form.code.errors = [_("That code is not right. Enter the code your app shows now.")]
        else:
            db.session.commit()
            # The session version moved on: sign this session in again on it.
            sessions.start_session(user)
            db.session.commit()
            flash(_("Two-step sign-in is on."), "success")
            return redirect(url_for("auth.account"))
    return render_template(
        "auth/account.html",
        user=user,
        form=form,
        setup=_setup(user),
        bookmarklet=bookmarklet(user),
    )


@bp.route("/password/forgotten", methods=["GET", "POST"])
@_limit("RATELIMIT_PASSWORD_LINK", failures_only=False)
@_limit("RATELIMIT_PASSWORD_LINK_PER_EMAIL", by_email=True, failures_only=False)
def reset_request() -> Response | str:
    form = ResetRequestForm()
    if form.validate_on_submit():
        request_password_reset(
            db.session,
            form.email.data,
            link_prefix=absolute_url("auth.reset_confirm", token=LINK_PLACEHOLDER)[
                : -len(LINK_PLACEHOLDER)
            ],
        )
        return render_template("auth/reset_sent.html")
    return render_template("auth/reset_request.html", form=form)


@bp.route("/password/new/<token>", methods=["GET", "POST"])
def reset_confirm(token: str) -> Response | str | tuple[str, int]:
    secret_key = current_app.config["SECRET_KEY"]
    try:
        user = user_for_link(db.session, token, secret_key=secret_key, now=utcnow())
    except InvalidLink:
        return render_template("auth/link_invalid.html"), 400
    first_password = user.password_hash is None
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            set_password_with_link(
                db.session, token, form.password.data, secret_key=secret_key, now=utcnow()
            )
        except InvalidLink:
            return render_template("auth/link_invalid.html"), 400
        except AccountError as exc:
            form.password.errors = [str(exc)]
        else:
            db.session.commit()
            sessions.end_session()
            db.session.commit()
            flash(_("Your password is set. Sign in with it now."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_confirm.html", form=form, first_password=first_password)
