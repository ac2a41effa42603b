"""Settings from the environment, in one place."""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

REPO_ROOT = Path(__file__).resolve().parent.parent
# Where `flask run` serves by default: the public address when none is configured outside
# production, so that links in emails never come from a request.
DEVELOPMENT_BASE_URL = "http://127.0.0.1:5000"
# Names a developer's browser or test client uses, trusted as Host outside production only.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class ConfigError(RuntimeError):
    """Configuration that cannot work; the message is one plain sentence."""


@dataclass(frozen=True)
class _Secret:
    env_name: str
    file_name: str
    generate: Any


def _generate_secret_key() -> str:
    return secrets.token_urlsafe(48)


def _generate_evidence_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


_SECRETS = (
    _Secret("SECRET_KEY", "secret_key", _generate_secret_key),
    _Secret("CASEWORK_EVIDENCE_KEY", "evidence_key", _generate_evidence_key),
    # Signs the audit chain and its anchors; kept out of the database it protects.
    _Secret("CASEWORK_AUDIT_KEY", "audit_key", _generate_secret_key),
)


# Rate limits per client address (Flask-Limiter syntax), each overridable with
# CASEWORK_<KEY>, e.g. CASEWORK_RATELIMIT_SIGN_IN="5 per 15 minutes".
RATE_LIMITS = {
    # Staff sign-in: refused attempts per typed address match the account lockout, so an
    # unknown address and a locked account answer alike; per IP, enough for one office.
    "RATELIMIT_SIGN_IN": "30 per 15 minutes",
    "RATELIMIT_SIGN_IN_PER_EMAIL": "5 per 15 minutes",
    "RATELIMIT_TOTP": "30 per 15 minutes",
    # Victims: reference + access code checks, report steps and uploads, submissions.
    "RATELIMIT_ACCESS_CODE": "10 per 15 minutes",
    "RATELIMIT_INTAKE_STEPS": "300 per hour",
    "RATELIMIT_INTAKE": "20 per hour",
    "RATELIMIT_LANGUAGE": "30 per minute",
    # Per API token (per address for requests without a known token).
    "RATELIMIT_API": "120 per minute",
}
# Password-reset links: rates, not secrets, whatever a linter makes of PASSWORD in the key.
RATE_LIMITS["RATELIMIT_PASSWORD_LINK"] = "20 per hour"  # noqa: S105  # nosec B105
RATE_LIMITS["RATELIMIT_PASSWORD_LINK_PER_EMAIL"] = "3 per hour"  # noqa: S105  # nosec B105


def _dev_secret(instance_path: Path, secret: _Secret) -> str:
    """Read or create a development secret kept (0600) in the instance folder."""
    path = instance_path / secret.file_name
    if path.exists():
        return path.read_text().strip()
    value = secret.generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}.") from None


def _rate_limit(env: dict[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(
            f"{name} must be a rate limit such as '10 per 15 minutes', not {value!r}."
        ) from None
    return value


def normalise_database_url(url: str) -> str:
    """Check a database URL and pick the psycopg 3 driver for plain postgres URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            "DATABASE_URL is not a database URL "
            "(expected e.g. postgresql://user@host/dbname or sqlite:////path/to/file.db)."
        ) from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ConfigError(
            f"DATABASE_URL uses {parsed.get_backend_name()!r}; Casework supports "
            "SQLite and PostgreSQL."
        )
    return parsed.render_as_string(hide_password=False)


def public_address(raw: str, *, production: bool) -> tuple[str, str]:
    """The public address links in emails point at, and its host name.

    Required in production: without it the only other source is the request's Host
    header, which whoever sends the request chooses.
    """
    value = raw.strip()
    if not value:
        if production:
            raise ConfigError(
                "CASEWORK_BASE_URL is not set; in production Casework refuses to start without "
                "its public address (e.g. https://casework.example.org), which every link in "
                "its emails is built from."
            )
        value = DEVELOPMENT_BASE_URL
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.query
        or parts.fragment
    ):
        raise ConfigError(
            "CASEWORK_BASE_URL must be the site's public address, such as "
            f"https://casework.example.org, not {value!r}."
        )
    if production and parts.scheme != "https":
        raise ConfigError("CASEWORK_BASE_URL must start with https:// in production.")
    host = parts.hostname  # lower-cased, without the port
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return f"{parts.scheme}://{netloc}{parts.path}".rstrip("/"), host


def load_config(instance_path: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config from environment variables with safe defaults."""
    env = dict(os.environ if env is None else env)
    instance_path.mkdir(parents=True, exist_ok=True)
    production = env.get("CASEWORK_ENV", "development").strip().lower() == "production"

    values: dict[str, Any] = {"CASEWORK_ENV": "production" if production else "development"}
    for secret in _SECRETS:
        value = env.get(secret.env_name, "").strip()
        if not value:
            if production:
                raise ConfigError(
                    f"{secret.env_name} is not set; in production Casework refuses to start "
                    "without a real one."
                )
            value = _dev_secret(instance_path, secret)
        values[secret.env_name] = value

    database_url = env.get("DATABASE_URL", "").strip() or (
        "sqlite:///" + str(instance_path / "casework.db")
    )
    values["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(database_url)
    values["REDIS_URL"] = env.get("REDIS_URL", "").strip() or "redis://localhost:6379/0"
    values["EVIDENCE_DIR"] = env.get("CASEWORK_EVIDENCE_DIR", "") or str(instance_path / "evidence")
    # Where evidence files are kept: "local" (EVIDENCE_DIR, for one machine) or "database"
    # (the evidence_blobs table, for several hosts sharing one database).
    values["EVIDENCE_STORE"] = env.get("CASEWORK_EVIDENCE_STORE", "").strip().lower() or "local"
    if values["EVIDENCE_STORE"] not in {"local", "database"}:
        raise ConfigError(
            "CASEWORK_EVIDENCE_STORE must be local or database, "
            f"not {env['CASEWORK_EVIDENCE_STORE']!r}."
        )
    values["MAX_UPLOAD_BYTES"] = _int(env, "CASEWORK_MAX_UPLOAD_MB", 10) * 1024 * 1024
    # Several screenshots per request, plus form fields.
    values["MAX_CONTENT_LENGTH"] = values["MAX_UPLOAD_BYTES"] * 6 + 1024 * 1024
    # The public address links in emails point at (https://casework.example.org), and the
    # only Host requests may carry (any other gets 400); development also answers locally.
    values["BASE_URL"], host = public_address(
        env.get("CASEWORK_BASE_URL", ""), production=production
    )
    values["TRUSTED_HOSTS"] = (
        [host] if production else [host, *(name for name in LOCAL_HOSTS if name != host)]
    )

    # Half-finished reports: answers and screenshots, encrypted in the database, deleted
    # at submit or after this many hours (see casework/intake/drafts.py).
    values["DRAFT_MAX_AGE_HOURS"] = _int(env, "CASEWORK_DRAFT_HOURS", 6)
    # Signed-in sessions live on the server (casework/sessions): they end after this
    # long without a request, and after their absolute lifetime however busy they are.
    values["SESSION_IDLE_MINUTES"] = _int(env, "CASEWORK_SESSION_IDLE_MINUTES", 30)
    values["STAFF_SESSION_HOURS"] = _int(env, "CASEWORK_STAFF_SESSION_HOURS", 12)
    values["VICTIM_SESSION_MINUTES"] = _int(env, "CASEWORK_VICTIM_SESSION_MINUTES", 60)
    for key in ("SESSION_IDLE_MINUTES", "STAFF_SESSION_HOURS", "VICTIM_SESSION_MINUTES"):
        if values[key] < 1:
            raise ConfigError(f"CASEWORK_{key} must be at least 1, not {values[key]}.")
    values["RETENTION_DAYS_AFTER_CLOSE"] = _int(env, "CASEWORK_RETENTION_DAYS", 365)
    # Signed audit chain heads, appended daily by the worker (see casework/audit/anchors.py).
    values["AUDIT_ANCHOR_FILE"] = env.get("CASEWORK_AUDIT_ANCHOR_FILE", "") or str(
        instance_path / "audit-anchors.jsonl"
    )
    # An access code not emailed within this many hours of the report is never emailed.
    values["ACCESS_CODE_EMAIL_HOURS"] = _int(env, "CASEWORK_ACCESS_CODE_EMAIL_HOURS", 24)
    values["MAIL_SERVER"] = env.get("MAIL_SERVER", "localhost")
    values["MAIL_PORT"] = _int(env, "MAIL_PORT", 25)
    values["MAIL_USE_TLS"] = _bool(env.get("MAIL_USE_TLS"), False)
    values["MAIL_USERNAME"] = env.get("MAIL_USERNAME") or None
    values["MAIL_PASSWORD"] = env.get("MAIL_PASSWORD") or None
    values["MAIL_FROM"] = env.get("MAIL_FROM", "casework@localhost")
    values["MAIL_TIMEOUT"] = float(env.get("MAIL_TIMEOUT", "10"))
    # Outbox retries: base × 2^(attempt-1) seconds between attempts, then kept as failed.
    values["MAIL_RETRY_BASE_SECONDS"] = _int(env, "MAIL_RETRY_BASE_SECONDS", 30)
    values["MAIL_MAX_ATTEMPTS"] = _int(env, "MAIL_MAX_ATTEMPTS", 8)
    values["MAIL_LEASE_SECONDS"] = _int(env, "MAIL_LEASE_SECONDS", 600)
    values["SWEEP_INTERVAL_SECONDS"] = _int(env, "CASEWORK_SWEEP_INTERVAL", 60)
    values["SWEEP_BATCH_SIZE"] = _int(env, "CASEWORK_SWEEP_BATCH_SIZE", 500)
    # How long a fresh email waits for its own job before the sweep sends it instead.
    values["SWEEP_EMAIL_GRACE_SECONDS"] = _int(env, "CASEWORK_SWEEP_EMAIL_GRACE", 120)
    # A deadline this long past due and still pending means the worker is not keeping up.
    values["OVERDUE_GRACE_SECONDS"] = _int(env, "CASEWORK_OVERDUE_GRACE", 120)
    # No worker heartbeat for this long means deadline tracking is not running.
    values["WORKER_HEARTBEAT_STALE_SECONDS"] = _int(env, "CASEWORK_WORKER_STALE_AFTER", 120)
    # A token that lets a monitor outside this host read /readyz's worker and queue facts
    # (sent as "Authorization: Bearer <token>"); loopback callers read them without one.
    values["OPERATOR_TOKEN"] = env.get("CASEWORK_OPERATOR_TOKEN", "").strip() or None
    values["RATELIMIT_ENABLED"] = _bool(env.get("CASEWORK_RATELIMIT"), True)
    for key, default in RATE_LIMITS.items():
        values[key] = _rate_limit(env, "CASEWORK_" + key, default)
    # Reverse proxies in front of the app whose X-Forwarded-* headers are trusted; without
    # this every visitor shares the proxy's address for rate limits and HTTPS goes unseen.
    values["PROXY_HOPS"] = _int(env, "CASEWORK_PROXY_HOPS", 0)
    values["REMOVAL_CHECKS_ENABLED"] = _bool(env.get("CASEWORK_REMOVAL_CHECKS"), False)
    # Where the checks ask (a deployment may point them at a forward proxy's addresses).
    values["REMOVAL_CHECK_OEMBED_URL"] = env.get(
        "CASEWORK_REMOVAL_CHECK_OEMBED_URL", "https://publish.twitter.com/oembed"
    )
    values["REMOVAL_CHECK_SYNDICATION_URL"] = env.get(
        "CASEWORK_REMOVAL_CHECK_SYNDICATION_URL", "https://cdn.syndication.twimg.com/tweet-result"
    )
    values["REMOVAL_CHECK_TIMEOUT"] = float(env.get("CASEWORK_REMOVAL_CHECK_TIMEOUT", "10"))
    # At most one request per this many seconds to each host, shared by all workers: a
    # public endpoint tolerates far more, and a deadline's checks are a handful of posts.
    values["REMOVAL_CHECK_HOST_INTERVAL"] = float(
        env.get("CASEWORK_REMOVAL_CHECK_HOST_INTERVAL", "2")
    )
    values["REMOVAL_CHECK_FOLLOW_UP_DAYS"] = _int(env, "CASEWORK_REMOVAL_CHECK_FOLLOW_UP_DAYS", 30)
    values["QUICK_EXIT_URL"] = env.get("CASEWORK_QUICK_EXIT_URL", "https://www.bbc.co.uk/weather")
    values["JOBS_SYNC"] = _bool(env.get("CASEWORK_JOBS_SYNC"), False)
    values["PDQ_MATCH_DISTANCE"] = _int(env, "CASEWORK_PDQ_MATCH_DISTANCE", 31)
    values["LINK_IGNORED_HANDLES"] = tuple(
        handle.strip().lstrip("@").lower()
        for handle in env.get("CASEWORK_LINK_IGNORED_HANDLES", "grok").split(",")
        if handle.strip()
    )
    values["WORKLIST_COUNT_CACHE_SECONDS"] = _int(env, "CASEWORK_WORKLIST_COUNT_CACHE_SECONDS", 15)

    values["SESSION_COOKIE_HTTPONLY"] = True
    values["SESSION_COOKIE_SAMESITE"] = "Lax"
    values["SESSION_COOKIE_SECURE"] = production
    values["REMEMBER_COOKIE_SECURE"] = production
    values["REMEMBER_COOKIE_HTTPONLY"] = True
    values["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    values["PREFERRED_URL_SCHEME"] = "https" if production else "http"
    # hide_parameters: database errors are logged without the values, which may be personal.
    # No ping at every checkout: casework/dbpool.py pings connections that sat idle, and
    # pool_recycle replaces them before a server or proxy idle limit can close them.
    values["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_recycle": 1800, "hide_parameters": True}
    # A CSRF token lives in the session, and no longer than the longest session does.
    values["WTF_CSRF_TIME_LIMIT"] = values["STAFF_SESSION_HOURS"] * 3600
    # Pages send no Referer (Referrer-Policy: no-referrer), so Flask-WTF's HTTPS referrer
    # check would refuse every form; the token and SameSite cookies do that job.
    values["WTF_CSRF_SSL_STRICT"] = False
    values["BABEL_DEFAULT_LOCALE"] = "en"
    values["BABEL_TRANSLATION_DIRECTORIES"] = str(REPO_ROOT / "casework" / "translations")
    values["LANGUAGES"] = ("en", "fr")
    return values
