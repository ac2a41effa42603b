"""Plain words for a route's deadline, for staff screens and the command line."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext

from casework.registry import Registry, Route, Unit

__all__ = ["describe_deadline", "describe_period", "letters_table"]


def describe_period(amount: int, unit: Unit) -> str:
    if unit == "hours":
        return ngettext("%(num)d hour", "%(num)d hours", amount)
    if unit == "days":
        return ngettext("%(num)d day", "%(num)d days", amount)
    if unit == "months":
        return ngettext("%(num)d month", "%(num)d months", amount)
    return ngettext("%(num)d business day", "%(num)d business days", amount)


def _clock(clock: str | None) -> str:
    return {
        "platform_receipt": _("from receipt"),
        "regulator_notice": _("from the regulator's notice"),
        "decision_notified": _("from the decision"),
        "request": _("from the request"),
        "knowledge_of_act_and_offender": _("from learning of the act and the offender"),
    }.get(clock or "", "")


def describe_deadline(route: Route) -> str:
    """ "48 hours from receipt", "1 month (+2 months) from the request", "none (we follow up…)"."""
    rule = route.deadline
    if rule.kind == "fixed" and rule.amount is not None and rule.unit is not None:
        text = describe_period(rule.amount, rule.unit)
        if rule.extension is not None:
            text += " (+" + describe_period(rule.extension.amount, rule.extension.unit) + ")"
        text = f"{text} {_clock(rule.clock_starts)}".strip()
        for old in rule.superseded:
            text += " " + _(
                "(%(period)s before %(date)s)",
                period=describe_period(old.amount, old.unit),
                date=old.until.isoformat(),
            )
        return text
    if rule.kind == "staged":
        stages = " / ".join(describe_period(s.amount, s.unit) for s in rule.stages)
        return f"{stages} {_clock(rule.clock_starts)}".strip()
    if route.follow_up_days:
        return _("none fixed by law (we follow up after %(days)d days)", days=route.follow_up_days)
    return _("none fixed by law")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def letters_table(registry: Registry) -> str:
    """Every route as a Markdown table row: jurisdiction, letter, addressee, law, deadline.

    The README's table of letters is this text, so a route added or changed in the
    registry shows there as soon as the README is regenerated (a test compares them).
    """
    names = {j.code: j.name for j in registry.jurisdictions}
    lines = [
        "| Jurisdiction | Letter | Addressee | Law | Deadline |",
        "|---|---|---|---|---|",
    ]
    for route in registry.routes:
        addressee = route.addressee.name
        if route.addressee.select == "per_case":
            addressee += " (named per case)"
        elif route.addressee.select == "dsc_by_victim_country":
            addressee += " (the victim's country's coordinator)"
        cells = (
            names[route.jurisdiction],
            f"{route.title_in('en')} (`{route.key}`)",
            addressee,
            route.citation,
            describe_deadline(route),
        )
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"
