"""Worker heartbeats in Redis: written by every running worker, read by the health checks.

RQ's own worker heartbeat is written only between blocking pops, which last up to
seven minutes when a worker is idle, so it cannot tell a live idle worker from a dead
one within two minutes. Each worker therefore writes its own small heartbeat every few
seconds from a housekeeping thread, under a key that expires on its own when the
worker stops writing it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from redis import Redis

KEY_PREFIX = "casework:worker-heartbeat:"
# Seconds a heartbeat key outlives its last write: a dead worker's key disappears.
KEY_TTL_SECONDS = 600
# Seconds between two heartbeats of one worker.
INTERVAL_SECONDS = 5.0


@dataclass(frozen=True)
class Heartbeat:
    worker: str
    hostname: str
    pid: int
    at: datetime
    sweeping: bool

    def to_json(self) -> str:
        return json.dumps(
            {
                "worker": self.worker,
                "hostname": self.hostname,
                "pid": self.pid,
                "at": self.at.isoformat(),
                "sweeping": self.sweeping,
            }
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> Heartbeat | None:
        try:
            data = json.loads(raw)
            return cls(
                worker=str(data["worker"]),
                hostname=str(data["hostname"]),
                pid=int(data["pid"]),
                at=datetime.fromisoformat(data["at"]),
                sweeping=bool(data["sweeping"]),
            )
        except (ValueError, KeyError, TypeError):
            return None


def write(connection: Redis, beat: Heartbeat) -> None:
    connection.set(KEY_PREFIX + beat.worker, beat.to_json(), ex=KEY_TTL_SECONDS)


def remove(connection: Redis, worker: str) -> None:
    connection.delete(KEY_PREFIX + worker)


def read_all(connection: Redis) -> list[Heartbeat]:
    """Every worker's latest heartbeat, newest first."""
    keys = list(connection.scan_iter(match=KEY_PREFIX + "*", count=200))
    beats = [Heartbeat.from_json(raw) for raw in connection.mget(keys) if raw] if keys else []
    return sorted((b for b in beats if b is not None), key=lambda b: b.at, reverse=True)
