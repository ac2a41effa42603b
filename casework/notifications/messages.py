"""The sentence each kind of staff notification reads as, in the reader's language and zone.

Notifications store a kind and parameters, never text, so each reader sees
them in their own language. Parameters: "reference" (the case reference) and
"due_at" (ISO 8601 UTC) for deadlines, "at" for when something happened.
"""

from __future__ import annotations

from flask_babel import gettext

from casework.notifications.models import Notification
from casework.timefmt import local_time


def describe(notification: Notification, timezone: str) -> str:
    params = notification.params or {}
    reference = str(params.get("reference") or "")
    due = local_time(params.get("due_at"), timezone)
    at = local_time(params.get("at"), timezone)
    kind = notification.kind
    if kind == "deadline_reminder":
        if due:
            return gettext(
                "Case %(reference)s: the platform's deadline is %(due)s.",
                reference=reference,
                due=due,
            )
        return gettext(
            "Case %(reference)s: the platform's deadline is coming up.", reference=reference
        )
    if kind == "deadline_missed":
        if due:
            return gettext(
                "Case %(reference)s: the platform missed its deadline of %(due)s. "
                "The case has been escalated.",
                reference=reference,
                due=due,
            )
        return gettext(
            "Case %(reference)s: the platform missed its deadline. The case has been escalated.",
            reference=reference,
        )
    if kind == "follow_up_due":
        if due:
            return gettext(
                "Case %(reference)s: time to follow up the notice sent with no legal deadline "
                "(follow-up date %(due)s).",
                reference=reference,
                due=due,
            )
        return gettext(
            "Case %(reference)s: time to follow up the notice sent with no legal deadline.",
            reference=reference,
        )
    if kind == "case_assigned":
        return gettext("Case %(reference)s has been assigned to you.", reference=reference)
    if kind == "platform_replied":
        if at:
            return gettext(
                "Case %(reference)s: the platform replied on %(at)s.", reference=reference, at=at
            )
        return gettext("Case %(reference)s: the platform replied.", reference=reference)
    if kind == "post_reinstated":
        return gettext(
            "Case %(reference)s: post %(post)s was removed and is up again (checked %(at)s).",
            reference=reference,
            post=str(params.get("status_id") or ""),
            at=at,
        )
    if kind == "removal_check_unknown":
        return gettext(
            "Case %(reference)s: the last two automatic checks of post %(post)s got no usable "
            "answer from X. Look at the post yourself.",
            reference=reference,
            post=str(params.get("status_id") or ""),
        )
    if reference:
        return gettext("Case %(reference)s has an update.", reference=reference)
    return gettext("You have an update.")
