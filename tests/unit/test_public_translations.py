"""Every string of the public pages, their emails and messages has a French translation."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parents[2]
PUBLIC_TEMPLATES = ["templates/public", "templates/intake", "templates/victim", "templates/email"]
PUBLIC_CODE = ["casework/intake", "casework/victim"]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")


def public_messages() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    for folder in PUBLIC_TEMPLATES:
        for path in sorted((REPO / folder).glob("*.*")):
            for _, message, _, _ in extract_from_file(
                "jinja2.ext:babel_extract", str(path), keywords=KEYWORDS
            ):
                found.add(message)
    for folder in PUBLIC_CODE:
        for path in sorted((REPO / folder).glob("*.py")):
            for _, message, _, _ in extract_from_file("python", str(path), keywords=KEYWORDS):
                found.add(message)
    return found


def french() -> dict[object, object]:
    path = REPO / "casework/translations/fr/LC_MESSAGES/messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    return {message.id: message.string for message in catalog if message.id}


def test_every_public_string_is_translated_with_the_same_placeholders() -> None:
    messages, catalogue = public_messages(), french()
    assert len(messages) > 300
    missing = [m for m in messages if not catalogue.get(m)]
    assert missing == []
    for message in messages:
        english = message if isinstance(message, tuple) else (message,)
        translated = catalogue[message]
        forms = translated if isinstance(translated, tuple) else (translated,)
        wanted = set(PLACEHOLDER.findall(" ".join(english)))
        plural_count = {"%(num)s"} if isinstance(message, tuple) else set()
        for form in forms:
            assert isinstance(form, str) and form
            assert wanted - plural_count <= set(PLACEHOLDER.findall(form)), message


def test_x_link_and_image_messages_match_the_domain_wording() -> None:
    """The web layer's translatable copies say exactly what the domain modules say."""
    from casework.evidence.images import MESSAGES as IMAGE_ENGLISH
    from casework.evidence.xlinks import MESSAGES as LINK_ENGLISH
    from casework.intake.messages import IMAGE_MESSAGES, X_LINK_MESSAGES

    assert {k: v._args[0] for k, v in X_LINK_MESSAGES.items()} == LINK_ENGLISH
    assert {k: v._args[0] for k, v in IMAGE_MESSAGES.items()} == IMAGE_ENGLISH
