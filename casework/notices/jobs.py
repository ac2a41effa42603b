"""Background jobs for letters: they take ids, reload, and can run twice without harm."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from casework.accounts.models import User
from casework.actors import SYSTEM, Actor
from casework.cases.models import Case
from casework.extensions import db
from casework.jobs import app_job
from casework.notices.letters import create_letter
from casework.registry import default_registry

log = logging.getLogger(__name__)


@app_job
def generate_letter_job(case_id: int, route_key: str, actor_user_id: int | None) -> int | None:
    """Draft the route's letter for a case; return the letter id, or None when skipped.

    Returns quietly when the case, the user or the route is gone, or when the user no
    longer belongs to the case's organisation. A second run with nothing changed returns
    the letter the first run made instead of adding an identical version. Commits once.
    """
    session = db.session
    case = session.get(Case, case_id)
    if case is None:
        log.info("letter job: case %s is gone", case_id)
        return None
    try:
        default_registry().route(route_key)
    except KeyError:
        log.warning("letter job: no route %s in the registry", route_key)
        return None
    actor: Actor = SYSTEM
    if actor_user_id is not None:
        user = session.get(User, actor_user_id)
        if user is None or not user.is_active or user.organisation_id != case.organisation_id:
            log.info("letter job: user %s may not act on case %s", actor_user_id, case_id)
            return None
        actor = Actor.staff(user.id, user.role.value)
    try:
        letter = create_letter(
            session, case=case, route_key=route_key, actor=actor, skip_if_unchanged=True
        )
        letter_id = letter.id
        session.commit()
    except Exception:
        session.rollback()
        raise
    return letter_id


@app_job
def generate_letters_job(
    case_ids: Sequence[int], route_key: str, actor_user_id: int | None
) -> list[int | None]:
    """generate_letter_job for several cases in one job, each committed on its own."""
    return [generate_letter_job(case_id, route_key, actor_user_id) for case_id in case_ids]
