"""Read a pasted list of X post links, one per line: good posts, and a problem per bad line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from casework.evidence.xlinks import XLinkError, XPost, parse_x_link

# Enough for a bad day on X; more can be added later from the case page.
MAX_LINKS_PER_REPORT: Final = 100
# Pasting whole web pages is refused before any parsing, to bound the work per request.
MAX_LINK_TEXT_CHARS: Final = 200_000


@dataclass(frozen=True)
class LineProblem:
    line: int  # 1-based, as people count
    text: str
    code: str  # an XLinkError code


@dataclass(frozen=True)
class Duplicate:
    line: int
    same_as_line: int


@dataclass
class LinkList:
    """What a pasted text contained. Good posts are kept whatever else is wrong."""

    posts: list[XPost] = field(default_factory=list)
    problems: list[LineProblem] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    # The number of links pasted when there were too many to read one by one.
    too_many: int | None = None
    too_long: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and self.too_many is None and not self.too_long

    def good_lines_text(self) -> str:
        return "\n".join(post.url for post in self.posts)


def read_link_lines(text: str, *, max_links: int = MAX_LINKS_PER_REPORT) -> LinkList:
    """Parse each non-empty line; posts repeating a status id are merged into the first.

    When one line and a later one name the same post, the first is kept, unless
    only the later one says which account posted it.
    """
    result = LinkList()
    if len(text) > MAX_LINK_TEXT_CHARS:
        result.too_long = True
        return result
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if len(lines) > max_links:
        result.too_many = len(lines)
        return result
    first_line: dict[int, int] = {}
    position: dict[int, int] = {}
    for number, line in lines:
        try:
            post = parse_x_link(line)
        except XLinkError as exc:
            result.problems.append(LineProblem(number, line.strip()[:200], exc.code))
            continue
        if post.status_id in first_line:
            result.duplicates.append(Duplicate(number, first_line[post.status_id]))
            index = position[post.status_id]
            if result.posts[index].handle is None and post.handle is not None:
                result.posts[index] = post
            continue
        first_line[post.status_id] = number
        position[post.status_id] = len(result.posts)
        result.posts.append(post)
    return result
