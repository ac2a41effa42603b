"""The French catalogue is complete: every string the code and templates can show is translated.

Strings are read from the sources with the same extraction settings as
`make translations`, so a newly wrapped string without a French translation
fails here, and so does a catalogue left with fuzzy, obsolete or half-done
entries, or a translation that drops or invents a placeholder.
"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parents[2]
PO_PATH = REPO / "casework/translations/fr/LC_MESSAGES/messages.po"
POT_PATH = REPO / "casework/translations/messages.pot"
# The keywords `make translations` adds to Babel's defaults (gettext, ngettext, pgettext, ...).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
# French sets ":", ";", "?", "!" and "»" apart from the word before with a no-break space.
LOOSE_SPACE = re.compile(r" [:;?!»]|« ")

Key = tuple[str | None, str | tuple[str, ...]]


def load(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def key(message: Message) -> Key:
    msgid = message.id if isinstance(message.id, str) else tuple(message.id)
    return (message.context, msgid)


def source_messages() -> set[Key]:
    """Every translatable string in casework/ and the templates, as `pybabel extract` finds it."""
    with (REPO / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: set[Key] = set()
    for _file, _line, msgid, _comments, context in extract_from_dir(
        str(REPO), method_map, options_map, keywords=KEYWORDS
    ):
        found.add((context, msgid if isinstance(msgid, str) else tuple(msgid)))
    return found


def forms(message: Message) -> tuple[str, ...]:
    return (message.string,) if isinstance(message.string, str) else tuple(message.string)


def english(message: Message) -> tuple[str, ...]:
    return (message.id,) if isinstance(message.id, str) else tuple(message.id)


def test_every_string_in_the_sources_is_in_the_french_catalogue() -> None:
    wanted = source_messages()
    catalogue = {key(m) for m in load(PO_PATH) if m.id}
    # The staff workspace, the public pages, their emails and the error pages.
    assert len(wanted) > 900
    assert sorted(wanted - catalogue, key=str) == []
    # Nothing is kept that no page can show any more.
    assert sorted(catalogue - wanted, key=str) == []


def test_the_template_matches_the_catalogue() -> None:
    template = {key(m) for m in load(POT_PATH) if m.id}
    catalogue = {key(m) for m in load(PO_PATH) if m.id}
    assert template == catalogue


def test_every_entry_is_translated_and_none_is_fuzzy_or_obsolete() -> None:
    catalogue = load(PO_PATH)
    assert catalogue.locale is not None and str(catalogue.locale) == "fr"
    assert catalogue.num_plurals == 2
    assert not catalogue.obsolete
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert fuzzy == []
    untranslated = [m.id for m in catalogue if m.id and not all(forms(m))]
    assert untranslated == []
    # Babel's own checks: plural forms complete, python-format placeholders compatible.
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalogue.check()]
    assert problems == []


def test_translations_keep_exactly_the_placeholders_of_the_english() -> None:
    for message in load(PO_PATH):
        if not message.id:
            continue
        wanted = set(PLACEHOLDER.findall(" ".join(english(message))))
        for form in forms(message):
            found = set(PLACEHOLDER.findall(form))
            # A plural form may spell the count out ("une heure"), never drop anything else.
            assert wanted - {"%(num)d", "%(num)s"} <= found <= wanted, (message.id, form)


def test_french_typography_is_consistent() -> None:
    for message in load(PO_PATH):
        for form in forms(message) if message.id else ():
            assert "'" not in form, (message.id, form)  # the typographic apostrophe is ’
            assert not LOOSE_SPACE.search(form), (message.id, form)


# Case references, the names of services and authorities, and commands stay as written.
KEPT_AS_IS = re.compile(
    r"CW-\d{4}-\d{6}|\b(?:Casework|NCMEC|CyberTipline|IWF|Yoti|Ofcom|Arcom|eSafety|PHAROS"
    r"|FreeOTP|Aegis|SHA-256|PDQ|CSV|Redis)\b|python worker\.py|\bon X\b"
)


def test_references_names_and_commands_are_left_as_they_are() -> None:
    """Case references, the names of services and authorities, and commands stay as written."""
    kept_as_is = KEPT_AS_IS
    checked = 0
    for message in load(PO_PATH):
        if not message.id:
            continue
        target = " ".join(forms(message))
        for kept in kept_as_is.findall(" ".join(english(message))):
            checked += 1
            assert kept.removeprefix("on ") in target, (message.id, kept)
    assert checked > 20


def test_x_link_and_image_messages_match_the_domain_wording() -> None:
    """The web layer's translatable copies say exactly what the domain modules say."""
    from casework.evidence.images import MESSAGES as IMAGE_ENGLISH
    from casework.evidence.xlinks import MESSAGES as LINK_ENGLISH
    from casework.intake.messages import IMAGE_MESSAGES, X_LINK_MESSAGES

    assert {k: v._args[0] for k, v in X_LINK_MESSAGES.items()} == LINK_ENGLISH
    assert {k: v._args[0] for k, v in IMAGE_MESSAGES.items()} == IMAGE_ENGLISH


def test_the_registrys_words_for_the_person_are_translated_like_the_catalogue() -> None:
    """Help services carry their own words per language in letters/registry/*.toml; they are
    held to the catalogue's rules: every language of the app, French typography, names kept."""
    from casework.registry import default_registry

    languages = {"en", str(load(PO_PATH).locale)}

    wordings: list[tuple[str, dict[str, str]]] = []
    for jurisdiction in default_registry().jurisdictions:
        for service in (*jurisdiction.minor_routes, *jurisdiction.support):
            if service.shown is None:
                continue
            wordings.append((service.name, dict(service.shown.text)))
            if service.shown.caveat is not None:
                wordings.append((service.name, dict(service.shown.caveat)))
    assert len(wordings) >= 12
    names_checked = 0
    for name, wording in wordings:
        assert set(wording) == languages, name
        french = wording["fr"]
        assert "'" not in french and not LOOSE_SPACE.search(french), (name, french)
        for kept in KEPT_AS_IS.findall(wording["en"]):
            names_checked += 1
            assert kept.removeprefix("on ") in french, (name, kept)
    assert names_checked >= 5
