"""Which posts a route's legal definition covers: what a letter lists, what screens mark."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from casework.cases.models import Item
from casework.notices.completeness import Verdict, in_letter, item_coverage
from casework.notices.models import Notice
from casework.registry import Registry, Route

__all__ = [
    "OtherRoute",
    "PostCoverage",
    "PostSplit",
    "coverage_by_notice",
    "post_coverage",
    "split_posts",
]


@dataclass(frozen=True)
class PostSplit:
    """The posts chosen for a letter: those it lists, and those it leaves out."""

    kept: list[Item]
    left_out: list[Item]


def split_posts(route: Route, items: Iterable[Item]) -> PostSplit:
    """Keep, in order, the posts the route's law covers or may cover; leave out the rest.

    The rule is completeness.verdict: a grey zone is kept (the lawyer's call), a post
    outside the definition or not classified yet is left out.
    """
    kept: list[Item] = []
    left_out: list[Item] = []
    for item in items:
        (kept if in_letter(route, item.category.value) else left_out).append(item)
    return PostSplit(kept, left_out)


@dataclass(frozen=True)
class OtherRoute:
    """A route to turn to for a post: whether its law covers the post or only may cover it,
    and whether it is one of the case's routes (a notice can be opened under it)."""

    route: Route
    covers: bool
    open: bool
    jurisdiction: str


@dataclass(frozen=True)
class PostCoverage:
    """One post of a notice as the route's legal definition treats it."""

    item: Item
    verdict: Verdict
    others: tuple[OtherRoute, ...] = ()

    @property
    def covering(self) -> tuple[OtherRoute, ...]:
        return tuple(other for other in self.others if other.covers)

    @property
    def maybe_covering(self) -> tuple[OtherRoute, ...]:
        return tuple(other for other in self.others if not other.covers)


def post_coverage(
    route: Route,
    items: Sequence[Item],
    registry: Registry,
    *,
    jurisdiction_codes: Iterable[str],
    open_routes: Iterable[Route],
) -> list[PostCoverage]:
    """Each post's verdict under the route, with the routes that cover it or may cover it.

    The routes come from completeness.item_coverage; a listed route whose law neither
    covers nor may cover the post's category is not offered. `open_routes` are the
    routes of the case's jurisdictions, under which a notice can be opened.
    """
    open_keys = {r.key for r in open_routes}
    flags = item_coverage(
        route, [(item.id, item.category.value) for item in items], registry, jurisdiction_codes
    )
    rows: list[PostCoverage] = []
    for item, flag in zip(items, flags, strict=True):
        others: list[OtherRoute] = []
        for key in flag.alternatives:
            try:
                other = registry.route(key)
            except KeyError:
                continue
            if flag.category in other.covers or flag.category in other.may_cover:
                others.append(
                    OtherRoute(
                        other,
                        covers=flag.category in other.covers,
                        open=key in open_keys,
                        jurisdiction=registry.jurisdiction(other.jurisdiction).name,
                    )
                )
        rows.append(PostCoverage(item, flag.verdict, tuple(others)))
    return rows


def coverage_by_notice(
    notices: Iterable[tuple[Notice, Sequence[Item]]],
    registry: Registry,
    *,
    jurisdiction_codes: Iterable[str],
    open_routes: Iterable[Route],
) -> dict[int, tuple[Route, list[PostCoverage]]]:
    """Each notice's route and its posts' coverage under it, by notice id.

    A notice under a route the registry no longer has is left out: nothing says what
    that route covers.
    """
    codes, routes = tuple(jurisdiction_codes), tuple(open_routes)
    found: dict[int, tuple[Route, list[PostCoverage]]] = {}
    for notice, items in notices:
        try:
            route = registry.route(notice.route_key)
        except KeyError:
            continue
        found[notice.id] = (
            route,
            post_coverage(route, items, registry, jurisdiction_codes=codes, open_routes=routes),
        )
    return found
