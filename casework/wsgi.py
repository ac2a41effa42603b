"""Entry point for servers and the flask CLI: bad configuration stops with one line."""

from __future__ import annotations

import sys

from flask import Flask
from sqlalchemy.engine import make_url

from casework import ConfigError, create_app
from casework.health import check_database


def _fail(message: str) -> None:
    print(f"casework: cannot start: {message}", file=sys.stderr)
    raise SystemExit(2)


def create_app_or_exit() -> Flask:
    """Create the app and make sure its database answers before serving anything."""
    try:
        app = create_app()
    except ConfigError as exc:
        _fail(str(exc))
        raise  # unreachable; keeps type checkers content
    check = check_database(app)
    if not check.ok:
        where = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True)
        _fail(f"the database at {where} is {check.detail}; check DATABASE_URL.")
    return app


app = create_app_or_exit()
