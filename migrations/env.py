"""Alembic environment: runs inside the Flask app so it uses the app's database and models."""

from __future__ import annotations

from alembic import context
from flask import current_app

target_db = current_app.extensions["migrate"].db


def run_migrations_online() -> None:
    engine = target_db.engine
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table by dropping the old one; with foreign keys on,
            # SQLite would first delete its rows and cascade that into every child table.
            # The pragma only takes effect outside a transaction, hence the commit.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        options = {
            "compare_type": True,
            # SQLite cannot ALTER most things; batch mode copies the table instead.
            "render_as_batch": sqlite,
            **current_app.extensions["migrate"].configure_args,
        }
        context.configure(connection=connection, target_metadata=target_db.metadata, **options)
        try:
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run against a database.")
run_migrations_online()
