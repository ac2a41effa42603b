"""What the public pages say about refused links, files and reports, in the reader's language.

The domain modules keep plain English codes and messages; these are the same
sentences wrapped for translation.
"""

from __future__ import annotations

from typing import Final

from flask_babel import LazyString, gettext, ngettext
from flask_babel import lazy_gettext as _l

from casework.evidence.xlinks import MAX_LINKS_PER_REPORT, LinkList
from casework.intake.uploads import MAX_FILES_PER_REQUEST, MAX_IMAGES_PER_CASE, FileProblem

X_LINK_MESSAGES: Final[dict[str, LazyString]] = {
    "empty": _l("Please paste the link to the post on X."),
    "not_x_link": _l(
        "This is not a link to a post on X (Twitter). Open the post on X, copy its link "
        "and paste it here. If you have a short t.co link, open it first and paste the "
        "address it leads to."
    ),
    "profile_not_post": _l(
        "This is a link to a profile, not to a post. Open the post itself and copy its link."
    ),
    "malformed_id": _l(
        "This link to a post on X looks incomplete or damaged. Please copy the link again from X."
    ),
    "not_a_post": _l(
        "This is a link to a page on X, not to a post. Open the post itself and copy its link."
    ),
}


def x_link_message_texts() -> dict[str, str]:
    """X_LINK_MESSAGES in the reader's language, for a page that names each line's problem."""
    return {code: str(message) for code, message in X_LINK_MESSAGES.items()}


IMAGE_MESSAGES: Final[dict[str, LazyString]] = {
    "too_large": _l(
        "This file is too big for us to accept. Please choose a smaller picture, "
        "or take a screenshot and upload that instead."
    ),
    "not_an_image": _l(
        "This file is not a picture we can read. Please choose a JPEG, PNG or WebP image."
    ),
    "unsupported_format": _l(
        "We cannot accept this type of picture. Please choose a JPEG, PNG or WebP image, "
        "or take a screenshot of the picture and upload that instead."
    ),
    "too_many_pixels": _l(
        "This picture is too large for us to process. Please choose a smaller version, "
        "or take a screenshot and upload that instead."
    ),
    "decompression_bomb": _l(
        "We could not open this picture safely. Please take a screenshot of it "
        "and upload that instead."
    ),
    "corrupt": _l(
        "This picture seems to be damaged or incomplete, so we could not open it. "
        "Please try saving it again, or take a screenshot and upload that instead."
    ),
}


def link_errors(links: LinkList) -> list[str]:
    """One message per bad line, naming the line and the reason; or one for the whole list."""
    if links.too_long:
        return [
            gettext("This is too much text to be a list of links. Please paste the links only.")
        ]
    if links.too_many is not None:
        return [
            gettext(
                "You pasted %(count)s links; one report can hold up to %(max)s. Please keep the "
                "first %(max)s here. After sending, you can add the rest from your case page.",
                count=f"{links.too_many:,}",
                max=MAX_LINKS_PER_REPORT,
            )
        ]
    messages = []
    for problem in links.problems:
        shown = problem.text if len(problem.text) <= 60 else problem.text[:57] + "..."
        messages.append(
            gettext(
                "Line %(line)s (“%(text)s”): %(reason)s",
                line=problem.line,
                text=shown,
                reason=X_LINK_MESSAGES.get(problem.code, X_LINK_MESSAGES["not_x_link"]),
            )
        )
    return messages


def duplicate_notes(links: LinkList) -> list[str]:
    return [
        gettext(
            "Line %(line)s is the same post as line %(first)s, so we kept it once.",
            line=d.line,
            first=d.same_as_line,
        )
        for d in links.duplicates
    ]


def file_error(problem: FileProblem) -> str:
    if problem.code == "bad_hash_list":
        return gettext(
            "The fingerprints of the images kept on your device did not arrive intact. "
            "Please choose the images again."
        )
    if problem.code == "too_many_files":
        return gettext(
            "%(name)s: not added. You can send up to %(per_request)s images at a time and "
            "%(max)s in all.",
            name=problem.name,
            per_request=MAX_FILES_PER_REQUEST,
            max=MAX_IMAGES_PER_CASE,
        )
    reason = IMAGE_MESSAGES.get(problem.code, IMAGE_MESSAGES["not_an_image"])
    return gettext("%(name)s: %(reason)s", name=problem.name, reason=reason)


def minor_images_deleted(count: int) -> str:
    """Said when answering "may be under 18" deletes images already added."""
    return ngettext(
        "Because the person may be under 18, we deleted the image you had added. "
        "We accept links only.",
        "Because the person may be under 18, we deleted the %(num)s images you had "
        "added. We accept links only.",
        count,
    )


def minor_images_refused() -> str:
    return gettext(
        "Because the person in the images is or may be under 18, we do not accept images or "
        "screenshots, only links. Nothing you sent was kept."
    )
