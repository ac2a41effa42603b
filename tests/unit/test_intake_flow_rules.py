"""Which pages a draft still needs, and the order it may open them in."""

from __future__ import annotations

from casework.intake import flow
from casework.intake.drafts import Draft


def draft(*complete: str, minor: str | None = None) -> Draft:
    d = Draft(id="x" * 32, complete=list(complete))
    if minor is not None:
        d.answers["age"] = {"minor": minor}
    return d


def test_pages_open_in_order() -> None:
    assert flow.can_open(None, "who")
    assert not flow.can_open(None, "age")
    d = draft("who", "age")
    assert flow.can_open(d, "posts")
    assert not flow.can_open(d, "details")
    assert flow.first_incomplete(d).name == "posts"


def test_a_minor_has_no_screenshots_page() -> None:
    d = draft("who", "age", "posts", "details", minor="unsure")
    assert flow.may_be_minor(d)
    assert not flow.can_open(d, "screenshots")
    assert flow.first_incomplete(d).name == "where"
    assert flow.previous_page(d, "where").name == "details"  # type: ignore[union-attr]


def test_review_opens_when_every_required_page_is_complete() -> None:
    everything = ["who", "age", "posts", "details", "screenshots", "where", "wishes"]
    assert flow.first_incomplete(draft(*everything, minor="no")).name == "review"
    assert flow.can_open(draft(*everything, minor="no"), "review")
    assert not flow.can_open(draft(*everything[:-1], minor="no"), "review")


def test_every_page_is_its_own_numbered_step() -> None:
    adult = [page.name for page in flow.steps(draft("who", minor="no"))]
    assert adult == [
        "who", "age", "posts", "details", "screenshots", "where", "wishes", "review"
    ]  # fmt: skip
    # A minor's report has no screenshots page, so one step fewer, none skipped.
    minor = [page.name for page in flow.steps(draft("who", minor="yes"))]
    assert minor == ["who", "age", "posts", "details", "where", "wishes", "review"]
    assert len({page.title for page in flow.PAGES}) == len(flow.PAGES)
