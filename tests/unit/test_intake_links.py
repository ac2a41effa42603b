"""Reading a pasted list of links: a problem per bad line, good lines kept, duplicates merged."""

from __future__ import annotations

from casework.evidence.xlinks import MAX_LINK_TEXT_CHARS, MAX_LINKS_PER_REPORT, read_link_lines


def test_good_lines_are_kept_and_each_bad_line_is_named_with_its_reason() -> None:
    text = "\n".join(
        [
            "https://x.com/a/status/2008000000000000001",
            "   ",
            "https://x.com/a",
            "https://example.com/a/status/2",
            "x.com/b/status/2008000000000000002?s=46",
        ]
    )
    links = read_link_lines(text)
    assert [p.status_id for p in links.posts] == [2008000000000000001, 2008000000000000002]
    assert [(p.line, p.code) for p in links.problems] == [
        (3, "profile_not_post"),
        (4, "not_x_link"),
    ]
    assert not links.ok


def test_a_post_pasted_twice_is_kept_once_preferring_the_copy_that_names_the_account() -> None:
    links = read_link_lines(
        "https://x.com/i/status/2008000000000000001\nhttps://twitter.com/Poster/status/2008000000000000001"
    )
    assert len(links.posts) == 1
    assert links.posts[0].handle == "Poster"
    assert [(d.line, d.same_as_line) for d in links.duplicates] == [(2, 1)]
    assert links.ok


def test_too_many_lines_are_refused_before_any_parsing() -> None:
    text = "\n".join(f"https://x.com/a/status/{2008000000000000000 + n}" for n in range(2000))
    links = read_link_lines(text)
    assert links.too_many == 2000
    assert links.posts == [] and links.problems == []
    exactly_enough = "\n".join(text.splitlines()[:MAX_LINKS_PER_REPORT])
    assert len(read_link_lines(exactly_enough).posts) == MAX_LINKS_PER_REPORT


def test_a_wall_of_text_is_refused_as_a_whole() -> None:
    links = read_link_lines("x" * (MAX_LINK_TEXT_CHARS + 1))
    assert links.too_long and not links.ok


def test_good_lines_text_is_one_canonical_link_per_line() -> None:
    links = read_link_lines("twitter.com/a/status/2008000000000000001/photo/1\nnope")
    assert links.good_lines_text() == "https://x.com/a/status/2008000000000000001"
