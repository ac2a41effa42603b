"""Casework: takedown case management for non-consensual AI-generated intimate images."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask, has_request_context, request, session
from flask_babel import get_locale, refresh
from sqlalchemy import event

from casework import jobs
from casework.config import REPO_ROOT, ConfigError, load_config, normalise_database_url
from casework.errors import init_error_pages
from casework.extensions import babel, csrf, db, login_manager, migrate
from casework.form_translations import share_form_translations
from casework.ratelimit import init_rate_limits
from casework.security import init_security
from casework.template_translations import install_template_gettext
from casework.timefmt import local_time

__all__ = ["ConfigError", "create_app"]


def _select_locale() -> str:
    if not has_request_context():
        return "en"  # commands and jobs without a reader: the default language
    chosen = session.get("lang")
    if chosen in ("en", "fr"):
        return str(chosen)
    return request.accept_languages.best_match(["en", "fr"]) or "en"


def create_app(
    overrides: dict[str, Any] | None = None, *, instance_path: str | None = None
) -> Flask:
    """Build the app: config, extensions, security, blueprints, CLI, nothing else."""
    app = Flask(
        __name__,
        instance_path=instance_path or os.environ.get("CASEWORK_INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder=str(REPO_ROOT / "templates"),
        static_folder="static",
    )
    app.config.update(load_config(Path(app.instance_path)))
    if overrides:
        app.config.update(overrides)
        if "SQLALCHEMY_DATABASE_URI" in overrides:
            app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
                overrides["SQLALCHEMY_DATABASE_URI"]
            )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    # The domain and its pages are imported here, not at the top: Python imports this
    # package before any of its modules, and importing one of them must not load the app.
    import casework.models  # noqa: F401  (register every table with the metadata)

    db.init_app(app)
    _configure_sqlite(app)
    _configure_pool(app)
    migrate.init_app(app, db, directory=str(REPO_ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    _configure_login(app)
    babel.init_app(app, locale_selector=_select_locale)
    # The locale is cached on `g`; choose it afresh per request even when one app
    # context serves several (tests, scripts).
    app.before_request(refresh)
    app.before_request(share_form_translations)
    app.jinja_env.globals["get_locale"] = get_locale
    install_template_gettext(app)

    init_rate_limits(app)
    init_security(app)
    init_error_pages(app)

    from casework.accounts.gate import init_staff_gate

    init_staff_gate(app)

    app.add_template_filter(local_time, "local_time")

    from casework.accounts.views import bp as auth_bp
    from casework.admin.views import bp as admin_bp
    from casework.notifications.views import bp as notifications_bp
    from casework.site import bp as site_bp

    app.register_blueprint(site_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(notifications_bp)

    from casework.cases.views import bp as cases_bp
    from casework.cases.views import log_bp

    app.register_blueprint(cases_bp)
    app.register_blueprint(log_bp)

    from casework.intake.victim.views import bp as victim_bp
    from casework.intake.views import bp as intake_bp

    app.register_blueprint(intake_bp)
    app.register_blueprint(victim_bp)

    from casework.ops.views import bp as ops_bp

    app.register_blueprint(ops_bp)

    from casework.notices.views import bp as letters_bp

    app.register_blueprint(letters_bp)

    from casework.api.views import bp as api_bp

    app.register_blueprint(api_bp)

    from casework.cli import cli_group

    app.cli.add_command(cli_group)

    # A missed deadline's escalation letter is drafted by notices, a layer above deadlines.
    from casework.deadlines.jobs import use_letter_drafter
    from casework.notices.letters import create_letter

    use_letter_drafter(create_letter)
    return app


# Python imports this package before any of its modules, so a job that RQ's own CLI or a
# worker pool runs, outside worker.py, finds the factory to build its app with.
jobs.use_app_factory(create_app)


def _configure_login(app: Flask) -> None:
    # Imported here, like the rest of the app in create_app.
    from casework.accounts.models import User
    from casework.accounts.sessions import load_signed_in_user
    from casework.saving import commit_if_changed

    def _load_user(token: str) -> User | None:
        user = load_signed_in_user(token)
        commit_if_changed()
        return user

    login_manager.user_loader(_load_user)


def _configure_pool(app: Flask) -> None:
    """Server connections are pinged only after sitting idle (casework/dbpool.py)."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from casework.dbpool import ping_idle_connections

    with app.app_context():
        ping_idle_connections(db.engine)


def _configure_sqlite(app: Flask) -> None:
    """Foreign keys on and a busy timeout, so SQLite behaves like the server database."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()
