"""How views, and the request hooks that run before them, store what they changed.

Services leave the commit to their caller; the web layer commits here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import flash

from casework.extensions import db

E = TypeVar("E", bound=Exception)


@dataclass
class Saved(Generic[E]):
    """What became of a `saving` block: committed, or rolled back with the error."""

    error: E | None = None


@contextmanager
def saving(*errors: type[E], flash_error: bool = False) -> Iterator[Saved[E]]:
    """Commit what the block changed; on one of these errors roll it all back instead.

    The error is kept for the view to show, next to a field or as a page; with
    flash_error it is flashed as an error message. Any other exception goes on up.
    """
    saved: Saved[E] = Saved()
    try:
        yield saved
        db.session.commit()
    except errors as exc:
        db.session.rollback()
        saved.error = exc
        if flash_error:
            flash(str(exc), "error")


def commit_if_changed() -> None:
    """Store what a request's bookkeeping changed (a session's last-seen time, an expired
    session gone), and spend no round trip when it changed nothing."""
    if db.session.dirty or db.session.deleted:
        db.session.commit()


@contextmanager
def keeping_loaded() -> Iterator[None]:
    """Commits within the block leave the objects loaded in the session as they are.

    By default a commit expires every object, so a view that commits a new row and
    then shows it reads the row straight back, one round trip per object. Inside this
    block what was just written is what the page shows; a rollback still expires all.
    """
    current = db.session()
    before = current.expire_on_commit
    current.expire_on_commit = False
    try:
        yield
    finally:
        current.expire_on_commit = before
