"""Bulk letters: queue the letters of many cases on the letters queue, BATCH cases per job."""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app

from casework.actors import Actor, ActorKind
from casework.jobs import QUEUE_LETTERS, enqueue
from casework.notices.jobs import generate_letters_job
from casework.notices.services import route_or_error

# Letters per job: the request queueing a bulk run makes one enqueue per BATCH cases,
# and a failure or a timeout touches only a handful.
BATCH = 20


def enqueue_letters(case_ids: Iterable[int], route_key: str, actor: Actor) -> int:
    """Queue the route's letter for each case (once each); return how many letters were queued.

    The cases go out in batches of BATCH per job (generate_letters_job), each letter made
    and committed as generate_letter_job makes it.

    The caller has checked the cases are the actor's organisation's; each job checks it
    again when it runs. An unknown route raises NoticeError before anything is queued.
    With Redis unreachable nothing is queued and the count says so.
    """
    route = route_or_error(route_key)
    user_id = actor.id if actor.kind is ActorKind.USER else None
    synchronous = bool(current_app.config.get("JOBS_SYNC"))
    unique = list(dict.fromkeys(int(c) for c in case_ids))
    queued = 0
    for start in range(0, len(unique), BATCH):
        batch = unique[start : start + BATCH]
        job = enqueue(QUEUE_LETTERS, generate_letters_job, batch, route.key, user_id)
        queued += len(batch) if job is not None or synchronous else 0
    return queued
