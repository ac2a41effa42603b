"""The jurisdiction registry: legal routes, deadlines and contacts, loaded and validated.

`vocabulary` holds the fixed vocabularies; `model` the frozen records the app uses and the
`Registry` with its queries. `loader` reads the TOML files under letters/registry, validates
each against `schema` (pydantic models of the files) and then across files (`checks`); every
problem becomes one line of a `RegistryError` (`errors`) naming the file and the field path.
The package is the app's core: it imports nothing else from `casework`.
"""

from __future__ import annotations

from casework.registry.errors import RegistryError
from casework.registry.loader import default_registry, load_registry
from casework.registry.model import (
    Addressee,
    Channel,
    ChildProtectionRoute,
    Counting,
    DeadlineRule,
    DeadlineStage,
    EscalationStep,
    Extension,
    FilingWindow,
    FollowedStep,
    Follows,
    Jurisdiction,
    Period,
    Registry,
    Route,
    Shown,
    SupersededRule,
    SupportService,
    iter_periods,
)
from casework.registry.vocabulary import (
    CATEGORIES,
    CLOCK_STARTS,
    DEFAULT_REMINDERS,
    FOLLOW_CONDITIONS,
    REQUIRED_ELEMENTS,
    ROUTE_KINDS,
    UNITS,
    Category,
    ClockStart,
    ReminderAt,
    RouteKind,
    Unit,
    parse_iso_duration,
)

__all__ = [
    "CATEGORIES",
    "CLOCK_STARTS",
    "DEFAULT_REMINDERS",
    "FOLLOW_CONDITIONS",
    "REQUIRED_ELEMENTS",
    "ROUTE_KINDS",
    "UNITS",
    "Addressee",
    "Category",
    "Channel",
    "ChildProtectionRoute",
    "ClockStart",
    "Counting",
    "DeadlineRule",
    "DeadlineStage",
    "EscalationStep",
    "Extension",
    "FilingWindow",
    "FollowedStep",
    "Follows",
    "Jurisdiction",
    "Period",
    "Registry",
    "RegistryError",
    "ReminderAt",
    "Route",
    "RouteKind",
    "Shown",
    "SupersededRule",
    "SupportService",
    "Unit",
    "default_registry",
    "iter_periods",
    "load_registry",
    "parse_iso_duration",
]
