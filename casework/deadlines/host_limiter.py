"""A per-host request slot shared by every worker: one "next free slot" key per host in Redis.

Each caller reserves the next slot atomically (a Lua script: read the key, take
max(key, now), push the key one interval on); slots handed out are `interval` apart
whatever the number of workers. A 429's Retry-After pushes the host's next slot out for
everyone. Times are the caller's clock in seconds since the epoch, like RQ's scheduler.
"""

from __future__ import annotations

from redis import Redis

_KEY = "casework:removal-checks:next-slot:{host}"

_RESERVE = """
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local slot = math.max(next_free, now)
redis.call('SET', KEYS[1], tostring(slot + interval), 'EX', math.ceil(slot + interval - now) + 60)
return tostring(slot)
"""

_PUSH_BACK = """
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
local until_ = tonumber(ARGV[1])
if until_ > next_free then
  redis.call('SET', KEYS[1], tostring(until_), 'EX', math.ceil(until_ - tonumber(ARGV[2])) + 60)
end
return 1
"""


def reserve(redis: Redis, host: str, *, interval: float, now: float) -> float:
    """The time of the caller's slot on `host` (now, or later when others went first)."""
    slot = redis.eval(_RESERVE, 1, _KEY.format(host=host), repr(now), repr(interval))
    return float(slot.decode() if isinstance(slot, bytes) else slot)


def push_back(redis: Redis, host: str, *, until: float, now: float) -> None:
    """No slot on `host` before `until`: the host asked everyone to wait (Retry-After)."""
    redis.eval(_PUSH_BACK, 1, _KEY.format(host=host), repr(until), repr(now))
