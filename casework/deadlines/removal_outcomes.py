"""What X's public answers about a post mean: the outcome of a removal check, as data.

Two public, unauthenticated endpoints answer differently for a post that is up and one
that is gone (the post's own page does not: it is an application shell served with 200
whatever became of the post):

- oEmbed, ``GET https://publish.twitter.com/oembed?url=<post url>`` (X's developer
  documentation, "GET statuses/oembed"): 200 with a JSON object whose ``html`` holds
  the embeddable post when the post is up; 404 when the post was deleted or does not
  exist; 403 when the post cannot be embedded because its account is protected or
  suspended. The documentation's general response codes also give 429 with
  ``Retry-After`` for too many requests.
- Syndication, ``GET https://cdn.syndication.twimg.com/tweet-result?id=<id>&token=<t>``
  (undocumented: the embedded-post widget's own data source; its answers here are
  inferred from public client code that reads it): 200 with JSON whose ``__typename``
  is ``"Tweet"`` when the post is up, or ``"TweetTombstone"`` with a tombstone text
  (``{"tombstone": {"text": {"text": ...}}}``) saying why it is not shown; 404 when the
  post was deleted or does not exist.

Syndication is asked only where oEmbed cannot tell (its 403 covers both a protected
and a suspended account). Only the status and the outcome are kept, never the post.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

from casework.cases.models import RemovalState


class CheckOutcome(enum.StrEnum):
    UP = "up"
    REMOVED = "removed"
    WITHHELD = "withheld"  # withheld in the country the check was made from
    SUSPENDED = "suspended"  # the posting account is suspended
    PROTECTED = "protected"  # the posting account is protected: followers still see it
    UNKNOWN = "unknown"  # no usable answer: a timeout, a rate limit, a body that does not parse


class CheckMethod(enum.StrEnum):
    OEMBED = "oembed"
    SYNDICATION = "syndication"


class CheckReason(enum.StrEnum):
    """Why a check ran, so its history reads as the deadline's story."""

    SENT = "sent"
    REMINDER = "reminder"
    BEFORE_DEADLINE = "before_deadline"
    AFTER_DEADLINE = "after_deadline"
    FOLLOW_UP = "follow_up"


# The platform acted: nobody can see the post where it was checked from. A withheld post
# is still up elsewhere; X withholds per country to comply with a legal demand, which is
# the action a notice asks for, so it counts as removed for the deadline.
GONE_OUTCOMES = frozenset({CheckOutcome.REMOVED, CheckOutcome.WITHHELD, CheckOutcome.SUSPENDED})
# The post still exists and someone can see it: a protected account is the poster's
# choice, not the platform's action.
STILL_UP_OUTCOMES = frozenset({CheckOutcome.UP, CheckOutcome.PROTECTED})


def removal_state(outcome: CheckOutcome) -> RemovalState | None:
    """The item's removal state an outcome proves; None for unknown, which proves nothing."""
    if outcome in GONE_OUTCOMES:
        return RemovalState.REMOVED
    if outcome in STILL_UP_OUTCOMES:
        return RemovalState.UP
    return None


@dataclass(frozen=True)
class Answer:
    """What came back from one request: its status, body and Retry-After, or no answer."""

    status: int | None  # None: no answer at all (timeout, reset, refused)
    body: bytes = b""
    retry_after: float | None = None


def _json_object(body: bytes) -> dict[str, object] | None:
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def interpret_oembed(answer: Answer) -> CheckOutcome | None:
    """The outcome an oEmbed answer proves; None when syndication must be asked (403)."""
    if answer.status == 200:
        document = _json_object(answer.body)
        # An embeddable post is an object with its markup; anything else is not an answer.
        if document is not None and isinstance(document.get("html"), str) and document["html"]:
            return CheckOutcome.UP
        return CheckOutcome.UNKNOWN
    if answer.status == 404:
        return CheckOutcome.REMOVED
    if answer.status == 403:
        return None
    return CheckOutcome.UNKNOWN


# Tombstone texts as public client code shows them (inferred, not documented by X); the
# first phrase found decides. Age-restricted adult content is still up (shown to
# signed-in adults), and it is exactly the content notices are about.
_TOMBSTONES: tuple[tuple[str, CheckOutcome], ...] = (
    ("age-restricted", CheckOutcome.UP),
    ("withheld", CheckOutcome.WITHHELD),
    ("suspended", CheckOutcome.SUSPENDED),
    ("limits who can view", CheckOutcome.PROTECTED),
    ("protected", CheckOutcome.PROTECTED),
    ("violated", CheckOutcome.REMOVED),
    ("deleted", CheckOutcome.REMOVED),
    ("unavailable", CheckOutcome.REMOVED),
    ("no longer available", CheckOutcome.REMOVED),
)


def interpret_syndication(answer: Answer) -> CheckOutcome:
    """The outcome a syndication answer proves (unknown when it proves nothing)."""
    if answer.status == 404:
        return CheckOutcome.REMOVED
    if answer.status != 200:
        return CheckOutcome.UNKNOWN
    document = _json_object(answer.body)
    if document is None:
        return CheckOutcome.UNKNOWN
    kind = document.get("__typename")
    if kind == "Tweet":
        return CheckOutcome.UP
    if kind != "TweetTombstone":
        return CheckOutcome.UNKNOWN
    tombstone = document.get("tombstone")
    text = tombstone.get("text") if isinstance(tombstone, dict) else None
    if isinstance(text, dict):  # {"text": "...", "entities": [...], "rtl": false}
        text = text.get("text")
    if not isinstance(text, str):
        return CheckOutcome.UNKNOWN
    lowered = text.lower()
    for phrase, outcome in _TOMBSTONES:
        if phrase in lowered:
            return outcome
    return CheckOutcome.UNKNOWN
