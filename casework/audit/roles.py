"""The PostgreSQL role the app runs as: it may add to the audit trail, never rewrite it.

Migrations run as the tables' owner; the app connects as this role. It may read and
write every table, except that audit_events takes INSERT and SELECT only and
audit_chains INSERT, SELECT and UPDATE: appending moves a chain's head, so the head row
must be updatable. A forged head gains nothing: verify-audit recomputes every HMAC link
from the events, which this role cannot change, and checks the chain against the
anchored heads kept outside the database.
"""

from __future__ import annotations

import re

_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def app_role_statements(role: str) -> list[str]:
    """SQL, for the tables' owner to run once after each migration, granting the role."""
    if not _ROLE_NAME.fullmatch(role):
        raise ValueError("a role name is lower-case letters, digits and underscores")
    return [
        f"DO $$ BEGIN CREATE ROLE {role} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {role}",
        f"REVOKE UPDATE, DELETE ON audit_events FROM {role}",
        f"REVOKE DELETE ON audit_chains FROM {role}",
        f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {role}",
    ]
