"""How views, and the request hooks that run before them, store what they changed.

Services leave the commit to their caller; the web layer commits here.
"""

from __future__ import annotations

from casework.extensions import db


def commit_if_changed() -> None:
    """Store what a request's bookkeeping changed (a session's last-seen time, an expired
    session gone), and spend no round trip when it changed nothing."""
    if db.session.dirty or db.session.deleted:
        db.session.commit()
