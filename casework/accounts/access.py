"""Who may reach what: staff-only views, role checks, organisation scoping (404), and audit."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from casework.accounts.models import Role, User
from casework.actors import Actor
from casework.audit.models import AuditEvent
from casework.audit.services import record_event
from casework.cases.models import Case
from casework.extensions import db

P = ParamSpec("P")
R = TypeVar("R")


def current_staff() -> User:
    """The signed-in staff user; the staff gate guarantees there is one."""
    user = current_user._get_current_object()
    if not isinstance(user, User):
        abort(401)
    return user


def current_actor() -> Actor:
    user = current_staff()
    return Actor.staff(user.id, user.role.value)


def roles_required(*roles: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Allow only these roles; others get 403 (their own organisation's page exists)."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            if current_staff().role not in roles:
                abort(403)
            return view(*args, **kwargs)

        # Read by the access-matrix test, so every role-restricted route is checked. mypy
        # knows no attributes set on a function, hence the ignore.
        wrapped.required_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapped

    return decorator


def get_case_or_404(case_id: int) -> Case:
    """A case of the signed-in user's organisation, or 404 so ids leak nothing."""
    case = db.session.scalar(
        select(Case).where(
            Case.id == case_id, Case.organisation_id == current_staff().organisation_id
        )
    )
    if case is None:
        abort(404)
    return case


def audit_staff_action(
    action: str,
    *,
    case_id: int | None = None,
    object_type: str | None = None,
    object_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record what the signed-in user did (viewed evidence, downloaded a letter) on their
    organisation's chain. The caller commits, with the change it records if there is one.

    details hold ids, codes and counts only.
    """
    user = current_staff()
    return record_event(
        db.session,
        action,
        Actor.staff(user.id, user.role.value),
        chain_id=user.organisation_id,
        case_id=case_id,
        object_type=object_type,
        object_id=object_id,
        details=details,
    )
