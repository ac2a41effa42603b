"""Checks across records that a schema of one table cannot express: unique route keys and
coordinators, parents that exist without cycles, and route keys named by other routes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from casework.registry.model import Addressee, Jurisdiction, Route


def cross_check(jurisdictions: Sequence[tuple[str, Jurisdiction]]) -> list[str]:
    """Problems across files, each named "<file>: <field path>: <what>"; `[]` if none."""
    errors: list[str] = []
    by_code = {j.code: j for _, j in jurisdictions}
    routes: dict[str, Route] = {}
    dscs: dict[str, Addressee] = {}
    where: dict[str, str] = {}
    for shown, j in jurisdictions:
        for i, route in enumerate(j.routes):
            if route.key in routes:
                errors.append(
                    f"{shown}: routes[{i}].key: {route.key!r} already defined in {where[route.key]}"
                )
            routes.setdefault(route.key, route)
            where.setdefault(route.key, shown)
        for i, dsc in enumerate(j.digital_services_coordinators):
            if dsc.country is None:  # required when read; this only narrows the type
                continue
            if dsc.country in dscs:
                errors.append(
                    f"{shown}: digital_services_coordinators[{i}].country: {dsc.country!r} "
                    "is listed twice"
                )
            dscs.setdefault(dsc.country, dsc)

    for shown, j in jurisdictions:
        if j.parent is not None and j.parent not in by_code:
            errors.append(f"{shown}: parent: {j.parent!r} is not a jurisdiction in the registry")
        chain = [j.code]
        parent = j.parent
        while parent is not None and parent in by_code:
            if parent in chain:
                errors.append(f"{shown}: parent: cycle {' → '.join([*chain, parent])}")
                break
            chain.append(parent)
            parent = by_code[parent].parent
        for i, route in enumerate(j.routes):
            here = f"{shown}: routes[{i}]"
            esc = route.escalation
            if esc is not None and esc.route is not None:
                if esc.route not in routes:
                    errors.append(
                        f"{here}.escalation.route: {esc.route!r} is not a route key in the registry"
                    )
                elif esc.route == route.key:
                    errors.append(f"{here}.escalation.route: a route cannot escalate to itself")
            errors.extend(_check_follows(here, route, routes))
            for category, keys in route.alternatives.items():
                for n, alt in enumerate(keys):
                    if alt not in routes:
                        errors.append(
                            f"{here}.alternatives.{category}[{n}]: {alt!r} is not a route key "
                            "in the registry"
                        )
                    elif alt == route.key:
                        errors.append(
                            f"{here}.alternatives.{category}[{n}]: a route is not its own "
                            "alternative"
                        )
            if route.addressee.select == "dsc_by_victim_country" and not dscs:
                errors.append(
                    f"{here}.addressee.select: no digital_services_coordinators are recorded"
                )
            if route.addressee.select == "dsc_by_victim_country":
                errors.extend(_check_coordinator_languages(here, route, dscs))
    # A member state whose file exists but whose DSC is missing would leave Art. 53
    # complaints from that country without an addressee.
    for shown, j in jurisdictions:
        if j.parent == "eu" and (j.country is None or j.country not in dscs):
            errors.append(
                f"{shown}: country: no entry in eu digital_services_coordinators for {j.country!r}"
            )
    return errors


def _check_coordinator_languages(
    here: str, route: Route, dscs: Mapping[str, Addressee]
) -> list[str]:
    """A letter to a coordinator is written in its language: the route needs a template
    in every language a coordinator takes complaints in."""
    errors: list[str] = []
    written = {route.language, *route.language_templates}
    for country, dsc in sorted(dscs.items()):
        if dsc.language is not None and dsc.language not in written:
            errors.append(
                f"{here}.language_templates: {dsc.name} ({country}) takes complaints in "
                f"{dsc.language!r}, but the route has no template in that language"
            )
    return errors


def _check_follows(here: str, route: Route, routes: Mapping[str, Route]) -> list[str]:
    """Followed routes exist, and a condition on a deadline names a route that has one."""
    errors: list[str] = []
    for n, step in enumerate(route.follows.steps if route.follows else ()):
        where = f"{here}.follows.steps[{n}]"
        earlier = routes.get(step.route)
        if earlier is None:
            errors.append(f"{where}.route: {step.route!r} is not a route key in the registry")
        elif earlier.key == route.key:
            errors.append(f"{where}.route: a route cannot follow itself")
        elif step.after in ("deadline", "decision_or_deadline") and earlier.deadline.kind != (
            "fixed"
        ):
            errors.append(
                f"{where}.after: {step.route!r} has no single deadline to wait for "
                f"(its deadline is {earlier.deadline.kind!r})"
            )
    # A route that escalates to another must be one the other may refer to.
    for other in routes.values():
        esc = other.escalation
        if esc is None or esc.route != route.key or other.key == route.key:
            continue
        if route.follows is None or other.key not in route.follows.routes:
            errors.append(
                f"{here}.follows: {other.key!r} escalates to this route but is not among "
                "the steps it follows"
            )
    return errors
