"""Parse the links people paste to posts on X (Twitter) into a canonical form, one or a list."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

__all__ = [
    "LAST_SEQUENTIAL_ID",
    "MAX_LINKS_PER_REPORT",
    "MAX_LINK_TEXT_CHARS",
    "MAX_STATUS_ID",
    "MESSAGES",
    "SNOWFLAKE_EPOCH_MS",
    "Duplicate",
    "LineProblem",
    "LinkList",
    "XLinkCode",
    "XLinkError",
    "XPost",
    "parse_x_link",
    "read_link_lines",
    "snowflake_time",
]

XLinkCode = Literal["empty", "not_x_link", "profile_not_post", "malformed_id", "not_a_post"]

# Kept as plain literals: the web layer looks these up by code and translates them.
MESSAGES: dict[str, str] = {
    "empty": "Please paste the link to the post on X.",
    "not_x_link": (
        "This is not a link to a post on X (Twitter). Open the post on X, copy its link "
        "and paste it here. If you have a short t.co link, open it first and paste the "
        "address it leads to."
    ),
    "profile_not_post": (
        "This is a link to a profile, not to a post. Open the post itself and copy its link."
    ),
    "malformed_id": (
        "This link to a post on X looks incomplete or damaged. Please copy the link again from X."
    ),
    "not_a_post": (
        "This is a link to a page on X, not to a post. Open the post itself and copy its link."
    ),
}

SNOWFLAKE_EPOCH_MS = 1288834974657  # 2010-11-04T01:42:54.657Z
MAX_STATUS_ID = 2**63 - 1

# Tweets from before November 2010 have sequential ids that carry no timestamp; read
# as snowflakes they would all be dated to the first seconds of 4 Nov 2010, which would
# be false evidence. This is the last sequential id (the boundary TweetedAt uses,
# github.com/oduwsdl/tweetedat); for it and below, the date is reported as unknown.
LAST_SEQUENTIAL_ID = 29_700_859_247

_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Nobody pastes a link this long; capping it keeps the work per request bounded.
_MAX_INPUT_CHARS = 4096

# Hosts whose /<handle>/status/<id> pages are posts. Subdomains must be matched whole,
# never by suffix, so that lookalikes such as x.com.evil.com or evilx.com are refused.
_POST_HOSTS = frozenset(
    {
        *(
            f"{sub}{base}"
            for sub in ("", "www.", "mobile.", "m.")
            for base in ("x.com", "twitter.com")
        ),
        *(
            f"{sub}{base}"
            for sub in ("", "www.", "d.")
            for base in ("fxtwitter.com", "vxtwitter.com", "fixupx.com", "fixvx.com")
        ),
    }
)

# First path segments that are X's own pages and can never be a handle.
_RESERVED_PATHS = frozenset(
    {
        "home",
        "explore",
        "search",
        "settings",
        "messages",
        "notifications",
        "hashtag",
        "compose",
        "login",
        "logout",
        "signup",
        "intent",
        "share",
        "tos",
        "privacy",
        "account",
    }
)

# Apps wrap copied links in quotes, brackets, invisible direction marks or sentence
# punctuation; none of these can start or end a post link, so they are safe to drop.
_INVISIBLE = (
    "\u200b\u200c\u200d\u2060\ufeff"  # zero-width spaces and joiners, BOM
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # direction marks
)
_LEADING_JUNK = "<([{\"'\u201c\u2018" + _INVISIBLE
_TRAILING_JUNK = ">)]}\"'\u201d\u2019.,;:!?" + _INVISIBLE

# Explicit ASCII classes: \w and \d would also accept non-ASCII letters and digits.
_HANDLE_RE = re.compile(r"[A-Za-z0-9_]{1,15}")
_STATUS_ID_RE = re.compile(r"[1-9][0-9]{0,18}")
_SCHEME_RE = re.compile(r"(https?)://", re.IGNORECASE | re.ASCII)
# Any other scheme at the start (ftp://); "://" later on, in a query or fragment, is harmless.
_ANY_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://", re.ASCII)


@dataclass(frozen=True, slots=True)
class XPost:
    """A post on X, identified by its status id."""

    url: str  # https://x.com/<handle>/status/<id>, or https://x.com/i/status/<id>
    handle: str | None  # without "@", case as written; None for /i/status links
    status_id: int
    posted_at: datetime | None  # UTC; None for pre-2010 ids (see LAST_SEQUENTIAL_ID)


class XLinkError(ValueError):
    """A pasted text is not a usable link to a post on X; str() explains why."""

    code: str

    def __init__(self, code: XLinkCode) -> None:
        super().__init__(MESSAGES[code])
        self.code = code

    def __reduce__(self) -> tuple[type[XLinkError], tuple[str]]:
        # The default would call XLinkError(message) and fail when unpickled (e.g. in a job queue).
        return (type(self), (self.code,))


def snowflake_time(status_id: int) -> datetime:
    """Return the UTC creation time encoded in a snowflake id (millisecond precision)."""
    if not 0 <= status_id <= MAX_STATUS_ID:
        raise ValueError(f"status id out of range: {status_id}")
    # Integer timedelta arithmetic, not fromtimestamp(float), so milliseconds are exact.
    return _UNIX_EPOCH + timedelta(milliseconds=(status_id >> 22) + SNOWFLAKE_EPOCH_MS)


def parse_x_link(text: str) -> XPost:
    """Parse a pasted link to a post on X; raise XLinkError saying what is wrong otherwise."""
    if not isinstance(text, str):
        # Form code may hand us None for a missing field; treat it as nothing pasted.
        raise XLinkError("empty")
    text = _trim(text)
    if not text:
        raise XLinkError("empty")
    if len(text) > _MAX_INPUT_CHARS or any(ch.isspace() for ch in text):
        raise XLinkError("not_x_link")

    scheme_match = _SCHEME_RE.match(text)
    if scheme_match:
        scheme = scheme_match.group(1).lower()
        rest = text[scheme_match.end() :]
    elif _ANY_SCHEME_RE.match(text):
        raise XLinkError("not_x_link")
    else:
        scheme = "https"
        rest = text.removeprefix("//")

    authority, path, fragment = _split_rest(rest)
    host_kind = _classify_authority(authority, scheme)
    if host_kind == "other_x":
        raise XLinkError("not_a_post")

    # Links saved before 2012 look like twitter.com/#!/jack/status/20.
    if path.strip("/") == "" and fragment.startswith("!/"):
        path = fragment[1:].split("?", 1)[0]

    return _parse_path(path)


def _trim(text: str) -> str:
    # Repeat because whitespace and wrapping characters can be interleaved: '( x.com/… ).'
    while True:
        trimmed = text.strip().lstrip(_LEADING_JUNK).rstrip(_TRAILING_JUNK)
        if trimmed == text:
            return text
        text = trimmed


def _split_rest(rest: str) -> tuple[str, str, str]:
    """Split what follows the scheme into authority, path (query dropped) and fragment."""
    fragment = ""
    if "#" in rest:
        rest, fragment = rest.split("#", 1)
    rest = rest.split("?", 1)[0]
    authority, slash, path = rest.partition("/")
    return authority, slash + path, fragment


def _classify_authority(authority: str, scheme: str) -> Literal["post_host", "other_x"]:
    # Non-ASCII is refused before lower(): Unicode case folding maps some symbols (e.g.
    # the Kelvin sign) onto ASCII letters, which would let lookalike hosts through.
    if not authority.isascii() or "@" in authority or "\\" in authority:
        raise XLinkError("not_x_link")
    host, _, port = authority.lower().partition(":")
    if port not in ("", "443" if scheme == "https" else "80"):
        raise XLinkError("not_x_link")
    host = host.removesuffix(".")  # "x.com." is the same host written fully qualified
    if host in _POST_HOSTS:
        return "post_host"
    if host == "t.co":
        raise XLinkError("not_x_link")
    if host in ("x.com", "twitter.com") or host.endswith((".x.com", ".twitter.com")):
        # help.x.com, pic.twitter.com and the like: X, but never a post page.
        return "other_x"
    raise XLinkError("not_x_link")


def _parse_path(path: str) -> XPost:
    # Empty segments are ignored so that trailing or doubled slashes do not matter.
    segments = [s for s in path.split("/") if s]
    if not segments:
        raise XLinkError("not_a_post")

    first = segments[0]
    if first.lower() == "i":
        tail = [s.lower() for s in segments[1:3]]
        if tail[:2] == ["web", "status"]:
            return _make_post(None, segments[3:])
        if tail[:1] == ["status"]:
            return _make_post(None, segments[2:])
        raise XLinkError("not_a_post")

    if first.lower() in _RESERVED_PATHS:
        raise XLinkError("not_a_post")

    is_status = len(segments) >= 2 and segments[1].lower() in ("status", "statuses")
    if not _HANDLE_RE.fullmatch(first):
        if is_status:
            raise XLinkError("malformed_id")
        raise XLinkError("not_a_post")
    if not is_status:
        # /jack, /jack/likes, /jack/media ...: all pages about an account.
        raise XLinkError("profile_not_post")
    # Anything after the id (/photo/1, /video/1, /analytics, ...) is a view of the same
    # post, and the canonical URL is rebuilt from the id, so it is ignored.
    return _make_post(first, segments[2:])


def _make_post(handle: str | None, id_and_after: list[str]) -> XPost:
    if not id_and_after or not _STATUS_ID_RE.fullmatch(id_and_after[0]):
        raise XLinkError("malformed_id")
    status_id = int(id_and_after[0])
    if status_id > MAX_STATUS_ID:
        raise XLinkError("malformed_id")
    posted_at = snowflake_time(status_id) if status_id > LAST_SEQUENTIAL_ID else None
    owner = handle if handle is not None else "i"
    return XPost(
        url=f"https://x.com/{owner}/status/{status_id}",
        handle=handle,
        status_id=status_id,
        posted_at=posted_at,
    )


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
