"""A report's submit talks to the database in as few statements as it can.

Each statement is a round trip to PostgreSQL, and under load a submit spends most of
its time waiting on them. The budget counts every statement of one submit of a report
of links, so a change that adds a query, reads back what was just written, or opens a
transaction again to show the confirmation fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from casework.extensions import db
from tests.intake_support import Answers, fill_report, filled_report, submit

# The draft read; its claim, so that a second submit of the same draft opens no case;
# organisation lookup; reference; case, its jurisdictions, its readiness, its posts; two
# lookups of other cases with the same post or account; the confirmation email; the
# audit chain's head, its events, its new head; the draft deleted; the victim's session.
# (Drafts live in the database so that any host can continue them.)
SUBMIT_STATEMENTS = 17


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(" ".join(statement.split())[:80])

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_submit_stays_within_its_statements(app: Flask, client: FlaskClient) -> None:
    filled_report(client)
    # The audit chain's head row and the sessions purge are first-time costs; another
    # person's report, of another post, pays them.
    first = app.test_client()
    fill_report(first, Answers(links=("https://x.com/someone/status/2008000000000000099",)))
    submit(first)
    with statements(app) as seen:
        confirmation = submit(client)
    assert confirmation.reference
    assert len(seen) <= SUBMIT_STATEMENTS, "\n".join(seen)


def test_the_confirmation_is_shown_without_reading_the_case_back(
    app: Flask, client: FlaskClient
) -> None:
    filled_report(client)
    with statements(app) as seen:
        submit(client)
    assert not [s for s in seen if s.startswith("SELECT cases.")], "\n".join(seen)
