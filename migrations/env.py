"""Alembic environment: runs inside the Flask app so it uses the app's database and models."""

from __future__ import annotations

from alembic import context
from flask import current_app

target_db = current_app.extensions["migrate"].db


def run_migrations_online() -> None:
    engine = target_db.engine
    with engine.connect() as connection:
        options = {
            "compare_type": True,
            # SQLite cannot ALTER most things; batch mode copies the table instead.
            "render_as_batch": connection.dialect.name == "sqlite",
            **current_app.extensions["migrate"].configure_args,
        }
        context.configure(connection=connection, target_metadata=target_db.metadata, **options)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run against a database.")
run_migrations_online()
