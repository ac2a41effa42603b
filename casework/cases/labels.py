"""Words for the codes the case screen shows: stored values stay codes, people read labels."""

from __future__ import annotations

from typing import Final

from flask_babel import LazyString, get_locale, pgettext
from flask_babel import lazy_gettext as _l

from casework.cases.models import ContentCategory, ItemKind
from casework.deadlines.models import DeadlineState
from casework.notices.models import NoticeState

ITEM_KIND_LABELS: Final[dict[str, LazyString]] = {
    ItemKind.AI_IMAGE.value: _l("AI-generated image"),
    ItemKind.PROMPT_REPLY.value: _l("reply asking for the image"),
    ItemKind.REPOST.value: _l("repost"),
    ItemKind.ORIGINAL_PHOTO.value: _l("original photo"),
    ItemKind.UNKNOWN.value: _l("not known"),
}

# What an image shows decides which laws cover it, so each post is classified before a notice.
CATEGORY_LABELS: Final[dict[str, LazyString]] = {
    ContentCategory.NUDE_SEXUAL.value: _l("nude or sexual"),
    ContentCategory.REVEALING_ATTIRE.value: _l("revealing clothing (e.g. a bikini), not nude"),
    ContentCategory.MINOR.value: _l("a minor"),
    ContentCategory.UNKNOWN.value: _l("not classified yet"),
}

# Why a jurisdiction's law applies: where the person lives, or where the platform is established.
JURISDICTION_BASIS_LABELS: Final[dict[str, LazyString]] = {
    "subject": _l("where the person lives"),
    "platform": _l("where the platform is established"),
}

DEADLINE_STATE_LABELS: Final[dict[str, LazyString]] = {
    DeadlineState.PENDING.value: _l("running"),
    DeadlineState.MET.value: _l("met"),
    DeadlineState.MISSED.value: _l("missed"),
    DeadlineState.LAPSED.value: _l("follow-up date passed"),
    DeadlineState.CANCELLED.value: _l("cancelled"),
}

WANTED_ACTION_LABELS: Final[dict[str, LazyString]] = {
    "takedown": _l("takedown"),
    "regulator_complaint": _l("complaint to the regulator"),
    "police_report": _l("report to the police"),
    "legal_advice": _l("legal advice"),
}


def notice_state_label(state: NoticeState) -> str:
    """A notice's state; the context keeps it apart from a case's (French genders differ)."""
    labels = {
        NoticeState.DRAFT: pgettext("notice state", "draft"),
        NoticeState.SENT: pgettext("notice state", "sent"),
        NoticeState.ANSWERED: pgettext("notice state", "answered"),
        NoticeState.CLOSED: pgettext("notice state", "closed"),
    }
    return labels.get(state, str(state))


def language_name(code: str) -> str:
    """A language named in the reader's own language ("anglais" for "en" to a French reader)."""
    locale = get_locale()
    return str(locale.languages.get(code, code)) if locale is not None else code
