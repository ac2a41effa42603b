"""Reading the registry files: TOML in, validated records out, every problem named.

A file is checked against `schema` on its own first; cross-references (`checks`) are checked
once every file reads, so a broken file is never half-linked.
"""

from __future__ import annotations

import hashlib
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Final

from pydantic import ValidationError

from casework.registry.checks import cross_check
from casework.registry.errors import RegistryError, schema_problems
from casework.registry.model import Jurisdiction, Registry
from casework.registry.schema import JurisdictionFile, read_jurisdiction

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
DEFAULT_DIRECTORY: Final = REPO_ROOT / "letters" / "registry"


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def load_registry(directory: Path) -> Registry:
    """Load and validate every `*.toml` in `directory`; errors name the file and the field."""
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise RegistryError([f"{_display(directory)}: no *.toml registry files found"])
    errors: list[str] = []
    loaded: list[tuple[str, Jurisdiction]] = []
    digest = hashlib.sha256()
    for path in files:
        shown = _display(path)
        data = path.read_bytes()
        # Names and bytes both count: renaming a file changes the registry too.
        digest.update(path.name.encode() + b"\0" + data + b"\0")
        try:
            table = tomllib.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            errors.append(f"{shown}: invalid TOML: {exc}")
            continue
        try:
            loaded.append((shown, read_jurisdiction(table, path.stem)))
        except ValidationError as exc:
            errors.extend(
                f"{shown}: {problem}" for problem in schema_problems(JurisdictionFile, exc)
            )
    if errors:
        raise RegistryError(errors)
    cross_errors = cross_check(loaded)
    if cross_errors:
        raise RegistryError(cross_errors)
    return Registry(jurisdictions=tuple(j for _, j in loaded), version=digest.hexdigest()[:12])


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The shipped registry in <repo>/letters/registry, loaded once per process."""
    return load_registry(DEFAULT_DIRECTORY)
