"""Tests for the X post-link parser."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework.evidence import xlinks
from casework.evidence.xlinks import (
    LAST_SEQUENTIAL_ID,
    MAX_STATUS_ID,
    MESSAGES,
    SNOWFLAKE_EPOCH_MS,
    XLinkError,
    XPost,
    parse_x_link,
    snowflake_time,
)

# No example database: the suite must not write .hypothesis/ into the tree, and a
# generous deadline keeps these from flaking on a loaded CI machine.
FAST = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

ID = 1445078208190291968
ID_TIME = datetime(2021, 10, 4, 17, 27, 47, 744000, tzinfo=UTC)
CANON = f"https://x.com/jack/status/{ID}"
EPOCH = datetime(2010, 11, 4, 1, 42, 54, 657000, tzinfo=UTC)


def _code(text: str) -> str:
    with pytest.raises(XLinkError) as info:
        parse_x_link(text)
    return info.value.code


# --- accepted forms -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        f"https://x.com/jack/status/{ID}",
        f"http://x.com/jack/status/{ID}",
        f"x.com/jack/status/{ID}",
        f"//x.com/jack/status/{ID}",
        f"https://www.x.com/jack/status/{ID}",
        f"https://mobile.x.com/jack/status/{ID}",
        f"https://twitter.com/jack/status/{ID}",
        f"https://www.twitter.com/jack/status/{ID}",
        f"https://mobile.twitter.com/jack/status/{ID}",
        f"https://m.twitter.com/jack/status/{ID}",
        f"twitter.com/jack/status/{ID}",
        f"HTTPS://X.COM/jack/status/{ID}",
        f"https://Mobile.Twitter.Com/jack/STATUS/{ID}",
        f"  https://x.com/jack/status/{ID}  ",
        f"\n\thttps://x.com/jack/status/{ID}\r\n",
        f"\u200bhttps://x.com/jack/status/{ID}\u200b",
        f"<https://x.com/jack/status/{ID}>",
        f"(https://x.com/jack/status/{ID}).",
        f'"https://x.com/jack/status/{ID}"',
        f"https://x.com/jack/status/{ID}/",
        f"https://x.com/jack/status/{ID}/photo/1",
        f"https://x.com/jack/status/{ID}/photo/2",
        f"https://x.com/jack/status/{ID}/photo/4/",
        f"https://x.com/jack/status/{ID}/video/1",
        f"https://x.com/jack/status/{ID}/analytics",
        f"https://x.com/jack/status/{ID}?s=20",
        f"https://x.com/jack/status/{ID}?s=20&t=AbC-dEf_123",
        f"https://twitter.com/jack/status/{ID}?ref_src=twsrc%5Etfw",
        f"https://x.com/jack/status/{ID}#m",
        f"https://x.com/jack/status/{ID}/photo/1?s=46&t=x#frag",
        f"https://x.com/jack/statuses/{ID}",
        f"https://x.com:443/jack/status/{ID}",
        f"http://x.com:80/jack/status/{ID}",
        f"https://x.com./jack/status/{ID}",
        f"https://x.com//jack//status//{ID}",
        f"https://twitter.com/#!/jack/status/{ID}",
        f"https://fxtwitter.com/jack/status/{ID}",
        f"https://www.fxtwitter.com/jack/status/{ID}",
        f"https://d.fxtwitter.com/jack/status/{ID}",
        f"https://vxtwitter.com/jack/status/{ID}",
        f"https://fixupx.com/jack/status/{ID}",
        f"https://fixvx.com/jack/status/{ID}",
        f"https://d.fixupx.com/jack/status/{ID}/photo/1",
    ],
)
def test_accepts_common_forms(text: str) -> None:
    assert parse_x_link(text) == XPost(url=CANON, handle="jack", status_id=ID, posted_at=ID_TIME)


@pytest.mark.parametrize(
    "text",
    [
        f"https://x.com/i/web/status/{ID}",
        f"https://twitter.com/i/web/status/{ID}?s=20",
        f"https://x.com/i/status/{ID}",
        f"https://x.com/i/status/{ID}/photo/1",
        f"mobile.twitter.com/I/Web/Status/{ID}/",
        f"d.fxtwitter.com/i/status/{ID}#://",  # "://" after the host is not a scheme
        f"x.com/i/status/{ID}?next=https://example.org",
    ],
)
def test_accepts_handleless_forms(text: str) -> None:
    post = parse_x_link(text)
    assert post == XPost(
        url=f"https://x.com/i/status/{ID}", handle=None, status_id=ID, posted_at=ID_TIME
    )


def test_handle_case_is_preserved() -> None:
    post = parse_x_link(f"https://x.com/Some_User_123/status/{ID}")
    assert post.handle == "Some_User_123"
    assert post.url == f"https://x.com/Some_User_123/status/{ID}"


@pytest.mark.parametrize("handle", ["a", "_", "0", "a" * 15, "Elon_Musk_2024_"])
def test_handle_lengths(handle: str) -> None:
    assert parse_x_link(f"x.com/{handle}/status/{ID}").handle == handle


def test_known_id_decodes_to_its_time() -> None:
    assert snowflake_time(ID) == ID_TIME
    assert snowflake_time(ID).tzinfo is UTC


def test_pre_snowflake_id_has_no_date() -> None:
    # Status 20 is jack's "just setting up my twttr" from March 2006; the snowflake
    # formula would misdate it to November 2010.
    post = parse_x_link("https://twitter.com/jack/status/20")
    assert post == XPost(
        url="https://x.com/jack/status/20", handle="jack", status_id=20, posted_at=None
    )
    assert parse_x_link(f"x.com/a/status/{LAST_SEQUENTIAL_ID}").posted_at is None
    first = parse_x_link(f"x.com/a/status/{LAST_SEQUENTIAL_ID + 1}")
    assert first.posted_at is not None
    assert EPOCH <= first.posted_at < EPOCH + timedelta(seconds=10)


def test_largest_id() -> None:
    post = parse_x_link(f"x.com/a/status/{MAX_STATUS_ID}")
    assert post.status_id == MAX_STATUS_ID
    assert post.posted_at == datetime(2080, 7, 10, 17, 30, 30, 208000, tzinfo=UTC)


def test_snowflake_time_range() -> None:
    assert snowflake_time(0) == EPOCH
    with pytest.raises(ValueError):
        snowflake_time(-1)
    with pytest.raises(ValueError):
        snowflake_time(MAX_STATUS_ID + 1)


# --- refusals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("\u200b", "empty"),
        ('""', "empty"),
        # Not X at all, or X lookalikes.
        (f"https://x.com.evil.com/jack/status/{ID}", "not_x_link"),
        (f"https://evilx.com/jack/status/{ID}", "not_x_link"),
        (f"https://twitter.com.evil.com/jack/status/{ID}", "not_x_link"),
        (f"https://nottwitter.com/jack/status/{ID}", "not_x_link"),
        (f"https://x.co/jack/status/{ID}", "not_x_link"),
        (f"https://x.org/jack/status/{ID}", "not_x_link"),
        (f"https://xcom/jack/status/{ID}", "not_x_link"),
        (f"https://fxtwitter.com.evil.com/jack/status/{ID}", "not_x_link"),
        ("https://t.co/AbCdEf123", "not_x_link"),
        ("t.co/AbCdEf123", "not_x_link"),
        ("https://example.com/", "not_x_link"),
        ("https://www.instagram.com/p/abc/", "not_x_link"),
        ("hello", "not_x_link"),
        (str(ID), "not_x_link"),
        ("@jack", "not_x_link"),
        (f"look at https://x.com/jack/status/{ID} please", "not_x_link"),
        # Userinfo, odd ports and odd schemes.
        (f"https://user@x.com/jack/status/{ID}", "not_x_link"),
        (f"https://x.com@evil.com/jack/status/{ID}", "not_x_link"),
        (f"https://evil.com@x.com/jack/status/{ID}", "not_x_link"),
        (f"https://user:pass@x.com/jack/status/{ID}", "not_x_link"),
        (f"https://x.com:8080/jack/status/{ID}", "not_x_link"),
        (f"https://x.com:80/jack/status/{ID}", "not_x_link"),
        (f"http://x.com:443/jack/status/{ID}", "not_x_link"),
        (f"ftp://x.com/jack/status/{ID}", "not_x_link"),
        (f"twitter://status?id={ID}", "not_x_link"),
        ("javascript:alert(1)", "not_x_link"),
        (f"https://x.com\\@evil.com/jack/status/{ID}", "not_x_link"),
        # Unicode lookalikes: Cyrillic х, fullwidth letters, the Kelvin sign.
        (f"https://\u0445.com/jack/status/{ID}", "not_x_link"),
        (f"https://\uff58.com/jack/status/{ID}", "not_x_link"),
        (f"https://\u212atwitter.com/jack/status/{ID}", "not_x_link"),
        ("https://x.com/jack/status/" + "1" * 5000, "not_x_link"),
        # Profiles.
        ("https://x.com/jack", "profile_not_post"),
        ("https://x.com/jack/", "profile_not_post"),
        ("x.com/jack?s=20", "profile_not_post"),
        ("https://twitter.com/jack/likes", "profile_not_post"),
        ("https://twitter.com/jack/media", "profile_not_post"),
        ("https://x.com/jack/with_replies", "profile_not_post"),
        # Broken ids.
        ("https://x.com/jack/status/", "malformed_id"),
        ("https://x.com/jack/status", "malformed_id"),
        ("https://x.com/jack/status/abc", "malformed_id"),
        (f"https://x.com/jack/status/{ID}abc", "malformed_id"),
        (f"https://x.com/jack/status/0{ID}", "malformed_id"),
        ("https://x.com/jack/status/0", "malformed_id"),
        ("https://x.com/jack/status/-5", "malformed_id"),
        ("https://x.com/jack/status/1e10", "malformed_id"),
        ("https://x.com/jack/status/12345678901234567890", "malformed_id"),
        (f"https://x.com/jack/status/{MAX_STATUS_ID + 1}", "malformed_id"),
        ("https://x.com/jack/status/\u0661\u0662\u0663", "malformed_id"),
        (f"https://x.com/jack/status/{ID}%20", "malformed_id"),
        ("https://x.com/i/web/status/", "malformed_id"),
        ("https://x.com/i/status/x", "malformed_id"),
        (f"https://x.com/a_handle_far_too_long/status/{ID}", "malformed_id"),
        (f"https://x.com/bad-handle/status/{ID}", "malformed_id"),
        # X pages that are not posts.
        ("https://x.com", "not_a_post"),
        ("https://x.com/", "not_a_post"),
        ("https://x.com/home", "not_a_post"),
        ("https://x.com/explore", "not_a_post"),
        ("https://x.com/search?q=jack", "not_a_post"),
        ("https://x.com/settings/account", "not_a_post"),
        ("https://x.com/messages", "not_a_post"),
        ("https://x.com/notifications", "not_a_post"),
        ("https://x.com/hashtag/news", "not_a_post"),
        ("https://x.com/Home", "not_a_post"),
        ("https://x.com/i/lists/123456", "not_a_post"),
        ("https://x.com/i/bookmarks", "not_a_post"),
        ("https://x.com/i/flow/login", "not_a_post"),
        ("https://x.com/i", "not_a_post"),
        (f"https://twitter.com/intent/tweet?in_reply_to={ID}", "not_a_post"),
        (f"https://x.com/home/status/{ID}", "not_a_post"),
        ("https://x.com/search-advanced", "not_a_post"),
        ("https://help.x.com/en/forms", "not_a_post"),
        ("https://pic.twitter.com/AbCdEf", "not_a_post"),
        (f"https://api.twitter.com/1.1/statuses/show/{ID}.json", "not_a_post"),
    ],
)
def test_refusals(text: str, code: str) -> None:
    assert _code(text) == code


def test_every_code_has_a_plain_sentence() -> None:
    assert set(MESSAGES) == {
        "empty",
        "not_x_link",
        "profile_not_post",
        "malformed_id",
        "not_a_post",
    }
    for message in MESSAGES.values():
        assert message[0].isupper()
        assert message.endswith(".")
    assert "t.co" in MESSAGES["not_x_link"]


def test_error_is_a_value_error_with_message() -> None:
    with pytest.raises(ValueError, match=r"^This is a link to a profile, not to a post\."):
        parse_x_link("https://x.com/jack")


def test_error_survives_pickling() -> None:
    err = pickle.loads(pickle.dumps(XLinkError("not_a_post")))  # noqa: S301 - own object
    assert isinstance(err, XLinkError)
    assert err.code == "not_a_post"
    assert str(err) == MESSAGES["not_a_post"]


def test_non_string_input_is_treated_as_empty() -> None:
    assert _code(None) == "empty"  # type: ignore[arg-type]


# --- properties ---------------------------------------------------------------------

# Handles that are X's own pages are refused by design; leave them out of generated ones.
RESERVED = xlinks._RESERVED_PATHS
HOSTS = [
    *(f"{sub}{base}" for sub in ("", "www.", "mobile.", "m.") for base in ("x.com", "twitter.com")),
    *(
        f"{sub}{base}"
        for sub in ("", "www.", "d.")
        for base in ("fxtwitter.com", "vxtwitter.com", "fixupx.com", "fixvx.com")
    ),
]
URL_CHARS = "abcXYZ0189-._~%=&+!$',;:@/"

# "i" in any case is X's path for a post without its author's handle, never a handle.
handles = st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True).filter(
    lambda h: h.lower() not in RESERVED and h.lower() != "i"
)
status_ids = st.integers(min_value=1, max_value=MAX_STATUS_ID)


@st.composite
def random_case(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips, strict=True))


@st.composite
def post_links(draw: st.DrawFn) -> tuple[str, str | None, int]:
    """A pasted link in any accepted form, with the handle and id it must yield."""
    status_id = draw(status_ids)
    handle = draw(st.one_of(st.none(), handles))
    scheme = draw(random_case(draw(st.sampled_from(["", "http://", "https://", "//"]))))
    host = draw(random_case(draw(st.sampled_from(HOSTS))))
    if scheme.lower().startswith("http") and draw(st.booleans()):
        host += ":443" if scheme.lower() == "https://" else ":80"
    if handle is None:
        prefix = draw(st.sampled_from(["i/status", "i/web/status", "I/Web/Status"]))
    else:
        prefix = f"{handle}/{draw(st.sampled_from(['status', 'statuses', 'Status']))}"
    suffix = draw(
        st.sampled_from(["", "/", "/photo/1", "/photo/2", "/photo/3/", "/video/1", "/analytics"])
    )
    query = draw(st.one_of(st.just(""), st.text(URL_CHARS, max_size=30).map("?{}".format)))
    fragment = draw(st.one_of(st.just(""), st.text(URL_CHARS + "?", max_size=20).map("#{}".format)))
    pad = st.sampled_from(["", " ", "\n", "\t ", "\u200b", "\r\n"])
    link = f"{draw(pad)}{scheme}{host}/{prefix}/{status_id}{suffix}{query}{fragment}{draw(pad)}"
    return link, handle, status_id


@FAST
@given(post_links())
def test_any_accepted_form_yields_handle_id_and_canonical_url(
    case: tuple[str, str | None, int],
) -> None:
    link, handle, status_id = case
    post = parse_x_link(link)
    assert post.handle == handle
    assert post.status_id == status_id
    assert post.url == f"https://x.com/{handle or 'i'}/status/{status_id}"
    if status_id > LAST_SEQUENTIAL_ID:
        assert post.posted_at == snowflake_time(status_id)
    else:
        assert post.posted_at is None


@FAST
@given(post_links())
def test_parsing_the_canonical_url_is_idempotent(case: tuple[str, str | None, int]) -> None:
    post = parse_x_link(case[0])
    assert parse_x_link(post.url) == post


# Arbitrary text, plus text grafted onto prefixes that get past the host check so that
# the path-handling code is exercised too.
arbitrary_input = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="ascii")),
    st.builds(
        str.__add__,
        st.sampled_from(
            [
                "https://x.com/",
                "x.com/",
                "https://x.com/jack/status/",
                "https://x.com/i/",
                "https://twitter.com/#!/",
                "https://",
                "http://x.com:",
            ]
        ),
        st.text(),
    ),
)


@FAST
@given(arbitrary_input)
def test_arbitrary_text_only_ever_raises_xlinkerror(text: str) -> None:
    try:
        post = parse_x_link(text)
    except XLinkError as err:
        assert err.code in MESSAGES
        assert str(err) == MESSAGES[err.code]
    else:
        assert parse_x_link(post.url) == post
        assert post.url.startswith("https://x.com/")


@FAST
@given(
    st.datetimes(
        min_value=EPOCH.replace(tzinfo=None),
        max_value=datetime(2080, 7, 10, 17, 30, 30),
        timezones=st.just(UTC),
    ),
    st.integers(min_value=0, max_value=2**22 - 1),
)
def test_posted_at_round_trips_to_the_millisecond(when: datetime, low_bits: int) -> None:
    when = when.replace(microsecond=when.microsecond // 1000 * 1000)
    millis = (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    status_id = ((millis - SNOWFLAKE_EPOCH_MS) << 22) | low_bits
    assert snowflake_time(status_id) == when
    if status_id > LAST_SEQUENTIAL_ID:
        assert parse_x_link(f"https://x.com/jack/status/{status_id}").posted_at == when
