"""Who does something: a staff user, the victim through their access code, or the system."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ActorKind(enum.StrEnum):
    USER = "user"
    VICTIM = "victim"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: int | None = None
    role: str | None = None  # a staff Role value for users

    @classmethod
    def staff(cls, user_id: int, role: str) -> Actor:
        return cls(ActorKind.USER, user_id, str(role))

    @property
    def permission(self) -> str:
        """The name used in permission tables: a staff role, "victim" or "system"."""
        if self.kind is ActorKind.USER:
            return self.role or ""
        return self.kind.value


VICTIM = Actor(ActorKind.VICTIM)
SYSTEM = Actor(ActorKind.SYSTEM)
