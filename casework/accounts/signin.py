"""Signing in: the password with lockout, the second factor, enrolment, and their audit events.

Nothing here commits. The caller commits after every call, the refused ones too: a
refused attempt must leave its failure count and audit event behind even though the
caller only shows an error.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import or_, select, update

from casework.accounts import totp
from casework.accounts.models import Role, User
from casework.accounts.passwords import hash_password, needs_rehash, verify_password
from casework.accounts.services import end_all_sessions
from casework.actors import SYSTEM, Actor
from casework.audit.events import chain_event, user_event
from casework.audit.services import SYSTEM_CHAIN
from casework.orm import DbSession
from casework.sqlutil import rowcount

LOCKOUT_THRESHOLD = 5
# Roles that never sign in on a password alone: admins hold every account of their
# organisation, lawyers download unblurred evidence.
SECOND_FACTOR_REQUIRED = frozenset({Role.ADMIN, Role.LAWYER})
LOCKOUT_PERIOD = timedelta(minutes=15)


class SignInError(Exception):
    """A refused sign-in step."""


class BadCredentials(SignInError):
    """Unknown email, wrong password, no password yet or deactivated: deliberately one error."""


class AccountLocked(SignInError):
    def __init__(self, until: datetime) -> None:
        super().__init__("locked")
        self.until = until


class BadCode(SignInError):
    """The one-time code is not the current one."""


class CodeReused(SignInError):
    """The one-time code was right but has been used already."""


class NextStep(enum.StrEnum):
    DONE = "done"
    TOTP = "totp"
    ENROL = "enrol"


@dataclass(frozen=True)
class PasswordResult:
    user: User
    next_step: NextStep


def actor_for(user: User) -> Actor:
    return Actor.staff(user.id, user.role.value)


@cache
def _dummy_hash() -> str:
    return hash_password("casework-timing-equaliser")


def _record_failure(session: DbSession, user: User | None, reason: str) -> None:
    """A failed attempt: the account's id if there is one, never what was typed."""
    if user is None:
        chain_event(session, SYSTEM, SYSTEM_CHAIN, "auth.sign_in_failed", reason=reason)
    else:
        user_event(session, SYSTEM, user, "auth.sign_in_failed", reason=reason)


def _count_failure(session: DbSession, user: User, reason: str, *, now: datetime) -> None:
    """Add one failure atomically; the threshold-th locks the account for a while."""
    failures = session.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins)
    ).scalar_one()
    _record_failure(session, user, reason)
    if failures >= LOCKOUT_THRESHOLD:
        user.locked_until = now + LOCKOUT_PERIOD
        user.failed_logins = 0
        minutes = int(LOCKOUT_PERIOD.total_seconds() // 60)
        user_event(session, SYSTEM, user, "auth.locked", minutes=minutes)


def _refuse_if_locked(session: DbSession, user: User, *, now: datetime) -> None:
    if user.locked_until is not None and user.locked_until > now:
        _record_failure(session, user, "locked")
        raise AccountLocked(user.locked_until)


def check_password(
    session: DbSession, email: str, password: str, *, now: datetime
) -> PasswordResult:
    """The first factor. Raises BadCredentials or AccountLocked; says what step comes next.

    The caller commits, after a refusal too: the failure counts towards the lockout.

    Takes as long for an unknown address as for a known one, so timing does not
    tell which addresses have accounts.
    """
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or user.password_hash is None or not user.is_active_user:
        verify_password(_dummy_hash(), password)
        reason = (
            "unknown_account"
            if user is None
            else ("no_password" if user.password_hash is None else "inactive")
        )
        _record_failure(session, user, reason)
        raise BadCredentials
    _refuse_if_locked(session, user, now=now)
    if not verify_password(user.password_hash, password):
        _count_failure(session, user, "wrong_password", now=now)
        raise BadCredentials
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    if user.has_totp:
        return PasswordResult(user, NextStep.TOTP)
    if user.role in SECOND_FACTOR_REQUIRED:
        return PasswordResult(user, NextStep.ENROL)
    return PasswordResult(user, NextStep.DONE)


def complete_sign_in(session: DbSession, user: User, *, now: datetime, second_factor: bool) -> None:
    """Every factor passed: clear the failure count and record the sign-in. The caller commits."""
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    user_event(session, actor_for(user), user, "auth.sign_in", second_factor=second_factor)


def _claim_step(session: DbSession, user: User, step: int) -> bool:
    """Mark this time step used; False if it (or a later one) was used already.

    One conditional UPDATE, so two requests racing with the same code cannot both win.
    """
    claimed = rowcount(
        session.execute(
            update(User)
            .where(
                User.id == user.id,
                or_(User.totp_last_counter.is_(None), User.totp_last_counter < step),
            )
            .values(totp_last_counter=step)
            .execution_options(synchronize_session=False)
        )
    )
    session.refresh(user)
    return bool(claimed)


def check_code(session: DbSession, user: User, code: str, *, now: datetime) -> None:
    """The second factor for an enrolled user; completes the sign-in when it is right.

    Wrong codes count towards the lockout like wrong passwords: whoever is here
    already knows the password. The caller commits, after a refusal too.
    """
    _refuse_if_locked(session, user, now=now)
    secret = user.totp_secret
    step = totp.matching_counter(secret, code, now) if secret else None
    if step is None:
        _count_failure(session, user, "wrong_code", now=now)
        raise BadCode
    if not _claim_step(session, user, step):
        _count_failure(session, user, "code_reused", now=now)
        raise CodeReused
    complete_sign_in(session, user, now=now, second_factor=True)


def pending_secret(session: DbSession, user: User) -> str:
    """The secret to show for enrolment, the same across page reloads once the caller commits."""
    if user.totp_pending_secret is None:
        user.totp_pending_secret = totp.new_secret()
    return user.totp_pending_secret


def confirm_enrolment(session: DbSession, user: User, code: str, *, now: datetime) -> None:
    """Switch the second factor on once a code from the new secret is confirmed.

    The session version moves on, so sessions signed in without the second
    factor end; the caller commits and signs the current one in again.
    """
    secret = user.totp_pending_secret
    step = totp.matching_counter(secret, code, now) if secret else None
    if secret is None or step is None:
        raise BadCode
    user.totp_secret = secret
    user.totp_pending_secret = None
    user.totp_last_counter = step
    end_all_sessions(session, user)
    user_event(session, actor_for(user), user, "auth.totp_enrolled")


def record_sign_out(session: DbSession, user: User, *, expired: bool = False) -> None:
    """A sign-out, by the person or by the idle timeout. The caller commits."""
    action = "auth.session_expired" if expired else "auth.sign_out"
    user_event(session, actor_for(user), user, action)
