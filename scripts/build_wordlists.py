"""Build the access-code word lists in casework/intake/wordlists/ from xkcdpass's lists.

English: the EFF long list. French: the freelang list, common words of 4 to 8 letters,
without proper nouns, plurals or feminine forms whose base word is also listed, and one
spelling per word once accents are removed (a code is accepted typed without accents).
Both lose every word that `excluded.txt` names. Run it again after editing that file:

    .venv/bin/python scripts/build_wordlists.py
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from xkcdpass import xkcd_password

HERE = Path(__file__).resolve().parent.parent / "casework" / "intake" / "wordlists"
SOURCES = Path(xkcd_password.__file__).parent / "static"


def plain(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def exclusions() -> tuple[set[str], tuple[str, ...]]:
    exact: set[str] = set()
    prefixes: list[str] = []
    for line in (HERE / "excluded.txt").read_text(encoding="utf-8").splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if entry.endswith("*"):
            prefixes.append(plain(entry[:-1]))
        else:
            exact.add(plain(entry))
    return exact, tuple(prefixes)


def keep(words: list[str]) -> list[str]:
    exact, prefixes = exclusions()
    return [w for w in words if plain(w) not in exact and not plain(w).startswith(prefixes)]


def english() -> list[str]:
    words = (SOURCES / "eff-long").read_text(encoding="utf-8").split()
    return sorted(w for w in words if re.fullmatch(r"[a-z]{3,9}", w))


def french() -> list[str]:
    raw = (SOURCES / "fr-freelang").read_text(encoding="utf-8-sig").split()
    by_plain: dict[str, str] = {}
    for word in raw:
        if re.fullmatch(r"[a-zàâäçéèêëîïôöùûüÿ]{4,8}", word):
            by_plain.setdefault(plain(word), word)
    return sorted(
        word
        for key, word in by_plain.items()
        if not (key.endswith("s") and key[:-1] in by_plain)
        and not (key.endswith("e") and key[:-1] in by_plain)
    )


def main() -> None:
    for language, words in (("en", english()), ("fr", french())):
        kept = keep(words)
        (HERE / f"{language}.txt").write_text("\n".join(kept) + "\n", encoding="utf-8")
        print(f"{language}: {len(kept)} words ({len(words) - len(kept)} excluded)")


if __name__ == "__main__":
    main()
