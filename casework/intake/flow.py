"""The order of the report form's pages, which of them a draft still needs, and where to go next."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from casework.intake.drafts import Draft


@dataclass(frozen=True)
class Page:
    name: str
    endpoint: str
    title: LazyString  # its step's name in the progress indicator


# One numbered step per page, so "Step 3 of 8" is never shown on three pages in a row.
PAGES: Final = (
    Page("who", "intake.start", _l("Who is filing")),
    Page("age", "intake.age", _l("Age")),
    Page("posts", "intake.posts", _l("Links to the posts")),
    Page("details", "intake.details", _l("About each post")),
    Page("screenshots", "intake.screenshots", _l("Screenshots")),
    Page("where", "intake.where", _l("Where and how to reach you")),
    Page("wishes", "intake.wishes", _l("What you want done")),
    Page("review", "intake.review", _l("Check and send")),
)
BY_NAME: Final = {page.name: page for page in PAGES}


def may_be_minor(draft: Draft | None) -> bool:
    """True once the person filing has said yes or not sure, even before the page is finished.

    Erring this way means an image can never slip in while the answer is being changed.
    """
    if draft is None:
        return False
    return draft.answers.get("age", {}).get("minor") in ("yes", "unsure")


def required_pages(draft: Draft | None) -> list[Page]:
    """The pages this draft must pass through before review (no screenshots for a minor)."""
    minor = may_be_minor(draft)
    return [p for p in PAGES if p.name != "review" and not (minor and p.name == "screenshots")]


def first_incomplete(draft: Draft | None) -> Page:
    for page in required_pages(draft):
        if draft is None or not draft.is_complete(page.name):
            return page
    return BY_NAME["review"]


def can_open(draft: Draft | None, name: str) -> bool:
    """A page opens once every required page before it is complete."""
    for page in [*required_pages(draft), BY_NAME["review"]]:
        if page.name == name:
            return True
        if draft is None or not draft.is_complete(page.name):
            return False
    # Not a required page for this draft (screenshots for a minor).
    return False


def previous_page(draft: Draft | None, name: str) -> Page | None:
    pages = [*required_pages(draft), BY_NAME["review"]]
    names = [p.name for p in pages]
    if name not in names:
        return None
    index = names.index(name)
    return pages[index - 1] if index > 0 else None


def steps(draft: Draft | None) -> list[Page]:
    """The numbered steps of this draft: every page it passes through, review last."""
    return [*required_pages(draft), BY_NAME["review"]]
