"""Which posts a route's legal definition covers: what a letter lists, what screens mark."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from casework.cases.models import Item
from casework.notices.completeness import in_letter
from casework.registry import Route

__all__ = ["PostSplit", "split_posts"]


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
