"""Configuration: safe defaults, production refusals, and one-line failures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from casework.config import ConfigError, load_config, normalise_database_url

AUDIT = {"CASEWORK_AUDIT_KEY": "a" * 40}

REPO = Path(__file__).resolve().parents[2]


def test_defaults_use_sqlite_in_the_instance_folder_and_local_redis(tmp_path: Path) -> None:
    config = load_config(tmp_path, env={})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'casework.db'}"
    assert config["REDIS_URL"] == "redis://localhost:6379/0"
    assert config["CASEWORK_ENV"] == "development"
    assert config["MAX_UPLOAD_BYTES"] == 10 * 1024 * 1024


def test_evidence_is_kept_in_the_local_folder_unless_the_database_is_chosen(
    tmp_path: Path,
) -> None:
    assert load_config(tmp_path, env={})["EVIDENCE_STORE"] == "local"
    chosen = load_config(tmp_path, env={"CASEWORK_EVIDENCE_STORE": " Database "})
    assert chosen["EVIDENCE_STORE"] == "database"
    with pytest.raises(ConfigError, match="CASEWORK_EVIDENCE_STORE must be local or database"):
        load_config(tmp_path, env={"CASEWORK_EVIDENCE_STORE": "s3"})


def test_development_secrets_are_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = load_config(tmp_path, env={})
    second = load_config(tmp_path, env={})
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert len(first["SECRET_KEY"]) >= 32
    assert first["CASEWORK_EVIDENCE_KEY"] == second["CASEWORK_EVIDENCE_KEY"]
    assert first["CASEWORK_AUDIT_KEY"] == second["CASEWORK_AUDIT_KEY"]
    for name in ("secret_key", "evidence_key", "audit_key"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600


PRODUCTION = {
    "CASEWORK_ENV": "production",
    "SECRET_KEY": "s" * 40,
    "CASEWORK_EVIDENCE_KEY": "k" * 44,
    "CASEWORK_BASE_URL": "https://casework.example.org",
    **AUDIT,
}


@pytest.mark.parametrize("missing", ["SECRET_KEY", "CASEWORK_EVIDENCE_KEY", "CASEWORK_AUDIT_KEY"])
def test_production_refuses_to_start_without_each_real_secret(tmp_path: Path, missing: str) -> None:
    env = dict(PRODUCTION)
    del env[missing]
    with pytest.raises(ConfigError, match=missing):
        load_config(tmp_path, env=env)
    assert not (tmp_path / "secret_key").exists()


def test_production_uses_secure_cookies(tmp_path: Path) -> None:
    config = load_config(tmp_path, env=PRODUCTION)
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] in {"Lax", "Strict"}


def test_production_refuses_to_start_without_its_public_address(tmp_path: Path) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "CASEWORK_BASE_URL"}
    with pytest.raises(ConfigError, match="CASEWORK_BASE_URL is not set"):
        load_config(tmp_path, env=env)


@pytest.mark.parametrize(
    "url",
    [
        "casework.example.org",
        "ftp://casework.example.org",
        "https://",
        "https://casework.example.org/?next=x",
        "https://user@casework.example.org",
    ],
)
def test_a_malformed_public_address_is_refused_plainly(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="CASEWORK_BASE_URL must be"):
        load_config(tmp_path, env={"CASEWORK_BASE_URL": url})


def test_production_wants_its_public_address_on_https(tmp_path: Path) -> None:
    env = {**PRODUCTION, "CASEWORK_BASE_URL": "http://casework.example.org"}
    with pytest.raises(ConfigError, match="https"):
        load_config(tmp_path, env=env)


def test_only_the_public_address_is_a_trusted_host_in_production(tmp_path: Path) -> None:
    config = load_config(
        tmp_path, env={**PRODUCTION, "CASEWORK_BASE_URL": "https://Cw.Example.org/"}
    )
    assert config["BASE_URL"] == "https://cw.example.org"
    assert config["TRUSTED_HOSTS"] == ["cw.example.org"]


def test_development_has_a_fixed_public_address_and_trusts_local_names(tmp_path: Path) -> None:
    config = load_config(tmp_path, env={})
    assert config["BASE_URL"] == "http://127.0.0.1:5000"
    assert set(config["TRUSTED_HOSTS"]) == {"127.0.0.1", "localhost", "::1"}
    configured = load_config(tmp_path, env={"CASEWORK_BASE_URL": "https://cw.example.org"})
    assert set(configured["TRUSTED_HOSTS"]) == {"cw.example.org", "127.0.0.1", "localhost", "::1"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u:p@h:5433/db", "postgresql+psycopg://u:p@h:5433/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_urls_are_normalised(url: str, expected: str) -> None:
    assert normalise_database_url(url) == expected


@pytest.mark.parametrize("url", ["not a url", "mysql://u@h/db", "localhost:5432"])
def test_bad_database_urls_are_refused_plainly(url: str) -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        normalise_database_url(url)


def _start(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK", "DATABASE"))}
    clean.update({"CASEWORK_INSTANCE_PATH": str(tmp_path / "instance")}, **env)
    return subprocess.run(
        [sys.executable, "-c", "import casework.wsgi"],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"DATABASE_URL": "definitely not a url"}, "DATABASE_URL is not a database URL"),
        ({"DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"}, "unreachable"),
        ({"CASEWORK_ENV": "production"}, "SECRET_KEY is not set"),
        (
            {k: v for k, v in PRODUCTION.items() if k != "CASEWORK_BASE_URL"},
            "CASEWORK_BASE_URL is not set",
        ),
    ],
)
def test_bad_configuration_stops_the_app_with_one_line(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    result = _start(tmp_path, env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("casework: cannot start:")
    assert says in lines[0]
    assert "Traceback" not in result.stderr


def test_good_configuration_starts(tmp_path: Path) -> None:
    result = _start(tmp_path, {})
    assert result.returncode == 0, result.stderr


def test_rate_limits_have_defaults_and_can_be_set_per_endpoint(tmp_path: Path) -> None:
    defaults = load_config(tmp_path, env={})
    assert defaults["RATELIMIT_ENABLED"] is True
    assert defaults["RATELIMIT_SIGN_IN"] == "30 per 15 minutes"
    tuned = load_config(tmp_path, env={"CASEWORK_RATELIMIT_SIGN_IN": "3 per hour"})
    assert tuned["RATELIMIT_SIGN_IN"] == "3 per hour"
    assert tuned["RATELIMIT_INTAKE"] == defaults["RATELIMIT_INTAKE"]


def test_a_malformed_rate_limit_is_refused_plainly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CASEWORK_RATELIMIT_INTAKE must be a rate limit"):
        load_config(tmp_path, env={"CASEWORK_RATELIMIT_INTAKE": "twenty an hour"})


def test_proxy_hops_default_to_none_trusted(tmp_path: Path) -> None:
    assert load_config(tmp_path, env={})["PROXY_HOPS"] == 0
    assert load_config(tmp_path, env={"CASEWORK_PROXY_HOPS": "1"})["PROXY_HOPS"] == 1
