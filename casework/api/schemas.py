"""What the API takes and gives: the pydantic models the endpoints validate with, from which
the OpenAPI description is generated.

Shapes and codes are checked here; what the answers mean together (who may file, the
minors rule, a known country) is checked by the same domain code as assisted intake.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from casework.evidence.xlinks import MAX_LINKS_PER_REPORT
from casework.intake.forms import MAX_PROMPT_CHARS
from casework.intake.uploads import MAX_FILES_PER_REQUEST

# The stored codes of casework.intake.choices and the case models; a unit test keeps them equal.
Relationship = Literal[
    "parent_guardian", "partner", "family", "friend", "lawyer", "advocate", "other"
]
WantedAction = Literal["takedown", "regulator_complaint", "police_report", "legal_advice"]
Language = Literal["en", "fr"]
Shows = Literal["ai_image", "prompt_reply", "repost", "original_photo", "unknown"]
CaseStatusCode = Literal[
    "new",
    "triage",
    "action",
    "awaiting_platform",
    "escalated",
    "resolved",
    "closed",
    "withdrawn",
]
MinorAnswer = Literal["no", "yes", "unsure"]
RemovalStateCode = Literal["unknown", "up", "removed"]
NoticeStateCode = Literal["draft", "sent", "answered", "closed"]
DeadlineStateCode = Literal["pending", "met", "missed", "lapsed", "cancelled"]

URL_MAX_CHARS = 4096


class _Strict(BaseModel):
    # Unknown fields are refused, so a misspelt field name is an error, not silently lost.
    model_config = ConfigDict(extra="forbid")


class PostIn(_Strict):
    url: str = Field(max_length=URL_MAX_CHARS, description="A link to the post on X.")
    shows: Shows = Field("unknown", description="What the post shows.")
    prompt: str | None = Field(
        None,
        max_length=MAX_PROMPT_CHARS,
        description="The text of the reply that asked for the image, if any.",
    )


class NewCaseIn(_Strict):
    """A report filed for the person, with the questions of assisted intake."""

    filer: Literal["subject", "representative"] = Field(
        description="Who asked for the case: the person in the images, or someone for them."
    )
    relationship: Relationship | None = Field(
        None, description="The representative's relationship to the person."
    )
    authority: bool = Field(
        False,
        description="A representative has the person's consent or the legal authority to act.",
    )
    minor: MinorAnswer = Field(
        description="Is the person under 18? 'yes' or 'unsure': links only, never images."
    )
    posts: list[PostIn] = Field(min_length=1, max_length=MAX_LINKS_PER_REPORT)
    country: str = Field(
        max_length=8,
        description="ISO 3166-1 alpha-2 code of the country where the person lives, "
        "or '-' if they would rather not say.",
    )
    region: str | None = Field(
        None, max_length=10, description="ISO 3166-2 code of a region whose law differs."
    )
    language: Language = Field(description="The language of our messages to the person.")
    contact: Literal["email", "none"] = Field(
        "none", description="Whether we may write to the person by email."
    )
    email: str | None = Field(None, max_length=254, description="With contact 'email'.")
    actions: list[WantedAction] = Field(min_length=1, max_length=len(get_args(WantedAction)))
    consent: bool = Field(description="The person agrees that we act for them.")
    access: Literal["show", "email", "none"] = Field(
        "none",
        description="An access code for the person's case page: returned once in the "
        "answer ('show'), emailed to them ('email'), or none.",
    )


class NewPostsIn(_Strict):
    links: list[str] = Field(min_length=1, max_length=MAX_LINKS_PER_REPORT)


class ImageIn(_Strict):
    filename: str = Field(max_length=255)
    content_base64: str = Field(description="The image file, base64-encoded (RFC 4648).")


class ScreenshotsIn(_Strict):
    post: str = Field(
        max_length=URL_MAX_CHARS,
        description="The post of the case the images show: its link or its status id.",
    )
    images: list[ImageIn] = Field(min_length=1, max_length=MAX_FILES_PER_REQUEST)


class PostOut(BaseModel):
    status_id: str = Field(description="The post's id on X, as a string (it exceeds 2^53).")
    url: str
    shows: Shows
    removal_state: RemovalStateCode
    removal_checked_at: datetime | None


class CaseOut(BaseModel):
    reference: str
    status: CaseStatusCode
    minor: MinorAnswer
    created_at: datetime
    status_changed_at: datetime
    posts: list[PostOut]
    screenshots: int = Field(description="How many images the case holds.")


class NewCaseOut(CaseOut):
    access_code: str | None = Field(
        None, description="Shown once, with access 'show'; give it to the person."
    )


class NewPostsOut(BaseModel):
    added: list[PostOut]
    already_in_case: int


class ScreenshotsOut(BaseModel):
    added: int
    already_in_case: int


class NoticeOut(BaseModel):
    id: int
    route: str
    jurisdiction: str
    state: NoticeStateCode
    channel: str | None
    sent_at: datetime | None
    response_at: datetime | None


class NoticesOut(BaseModel):
    notices: list[NoticeOut]


class DeadlineOut(BaseModel):
    id: int
    notice_id: int
    stage: str
    due_at: datetime
    state: DeadlineStateCode
    handled_at: datetime | None


class DeadlinesOut(BaseModel):
    deadlines: list[DeadlineOut]


class ErrorOut(BaseModel):
    """Every refusal: a code, a sentence, and what is wrong with each field named."""

    error: str = Field(description="A stable code, e.g. 'invalid', 'not_found'.")
    message: str
    fields: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Messages by field path, e.g. 'posts.0.url' or 'email'.",
    )
