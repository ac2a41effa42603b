"""Letter templates: Jinja HTML from letters/templates, and the PDF made from it (no network)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess  # nosec B404  (only to run poppler's pdftoppm on our own PDF)
import tempfile
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound
from jinja2.exceptions import UndefinedError

from casework.config import REPO_ROOT
from casework.notices.snapshot import sample_snapshot
from casework.registry import default_registry

__all__ = [
    "LETTERS_DIR",
    "TEMPLATES_DIR",
    "LetterRenderError",
    "has_placeholder",
    "letter_is_draft",
    "manifest_bytes",
    "page_image",
    "render_letter_html",
    "render_letter_pdf",
    "statement_texts",
    "template_version",
    "warm_up",
]

LETTERS_DIR: Final = REPO_ROOT / "letters"
TEMPLATES_DIR: Final = LETTERS_DIR / "templates"
STYLESHEET: Final = TEMPLATES_DIR / "letter.css"
# Files every letter is built from besides its own template; all count in its version.
SHARED_FILES: Final = ("base.html", "_blocks.html", "_statements.html", "letter.css")
EXHIBIT_SCHEME: Final = "exhibit"
PDF_VARIANT: Final = "pdf/a-3b"
# Every placeholder a template prints ("[Signature required before sending]") carries this
# class: the one mark a draft is recognised by.
_PLACEHOLDER_RE: Final = re.compile(r'class="[^"]*\bplaceholder\b')


class LetterRenderError(Exception):
    """A letter could not be rendered: missing template, missing value or refused resource."""


_DATE_LOCALES: Final = {"en": "en_GB", "fr": "fr_FR", "de": "de_DE"}


def _parse_moment(value: str | datetime | date) -> datetime | date:
    if isinstance(value, datetime | date):
        return value
    if "T" in value:
        return datetime.fromisoformat(value)
    return date.fromisoformat(value)


def _format_date(value: str | datetime | date | None, language: str) -> str:
    if value is None:
        return ""
    moment = _parse_moment(value)
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    return format_date(moment, format="long", locale=_DATE_LOCALES.get(language, "en_GB"))


def _format_datetime(value: str | datetime | None, language: str) -> str:
    if value is None:
        return ""
    moment = _parse_moment(value)
    if not isinstance(moment, datetime):
        return _format_date(moment, language)
    moment = moment.astimezone(UTC)
    return f"{_format_date(moment, language)}, {moment:%H:%M} UTC"


def _country_name(code: str | None, language: str) -> str:
    if not code:
        return ""
    try:
        names = Locale.parse(_DATE_LOCALES.get(language, "en_GB")).territories
    except (UnknownLocaleError, ValueError):
        return code
    return str(names.get(code.upper(), code))


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        # A value the template needs but the snapshot lacks raises, never prints blank.
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        extensions=["jinja2.ext.do"],
    )
    env.filters["letter_date"] = _format_date
    env.filters["letter_datetime"] = _format_datetime
    env.filters["country_name"] = _country_name
    return env


def statement_texts(language: str) -> dict[str, str]:
    """The statements exactly as letters in this language print them (for the sign screen)."""
    module: Any = _environment().get_template("_statements.html").module
    texts: dict[str, dict[str, str]] = module.STATEMENTS
    return dict(texts.get(language) or texts["en"])


def template_version(template: str) -> str:
    """A short SHA-256 of the template and the shared files: any edit makes a new version."""
    digest = hashlib.sha256()
    for name in (*SHARED_FILES, template):
        path = TEMPLATES_DIR / name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise LetterRenderError(f"letter template {name!r} does not exist") from None
        digest.update(name.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()[:12]


def render_letter_html(snapshot: Mapping[str, Any], template: str) -> str:
    """The letter's HTML from its data snapshot; pure, so the same data gives the same text."""
    try:
        html = _environment().get_template(template).render(s=snapshot)
    except TemplateNotFound:
        raise LetterRenderError(f"letter template {template!r} does not exist") from None
    except UndefinedError as exc:
        raise LetterRenderError(f"{template}: {exc}") from None
    if snapshot.get("route", {}).get("language") == "fr":
        return french_typography(html)
    return html


# Text between tags, outside <style>: the only part typography may touch.
_MARKUP = re.compile(r"(<style\b.*?</style>|<[^>]*>)", re.DOTALL | re.IGNORECASE)
_SPACE_THEN_MARK = re.compile(r"[ \t]+([:;!?»])")
# "Objet: x" but not "https://", "10:30" or "?lang=fr": a mark right after a word and
# before a space or the end of the text.
_WORD_THEN_MARK = re.compile(r"(?<=\w)([:;!?])(?=\s|$)")
_GUILLEMET_THEN_SPACE = re.compile(r"«[ \t]*")


def french_typography(html: str) -> str:
    """French typography in the text of a letter: a no-break space before : ; ! ? and
    inside guillemets, typographic apostrophes. Tags and the stylesheet stay as they are."""
    parts = _MARKUP.split(html)
    for i in range(0, len(parts), 2):  # the text between two pieces of markup
        text = parts[i].replace("&#39;", "’").replace("'", "’")
        text = _SPACE_THEN_MARK.sub("\u00a0\\1", text)
        text = _WORD_THEN_MARK.sub("\u00a0\\1", text)
        parts[i] = _GUILLEMET_THEN_SPACE.sub("«\u00a0", text)
    return "".join(parts)


def has_placeholder(html: str) -> bool:
    return _PLACEHOLDER_RE.search(html) is not None


def letter_is_draft(snapshot: Mapping[str, Any], template: str) -> bool:
    """A draft lacks a required element or prints a placeholder: decided here only."""
    if snapshot.get("missing"):
        return True
    return has_placeholder(render_letter_html({**snapshot, "draft": False}, template))


def manifest_bytes(snapshot: Mapping[str, Any]) -> bytes:
    """The item manifest embedded in the PDF: URL, status id, SHA-256 and PDQ of each item."""
    manifest = {
        "case": snapshot["case"]["reference"],
        "letter": snapshot["letter"]["reference"],
        "route": snapshot["route"]["key"],
        "items": [
            {
                "url": item["url"],
                "status_id": item["status_id"],
                "files": [{"sha256": f["sha256"], "pdq": f["pdq"]} for f in item["files"]],
            }
            for item in snapshot["items"]
        ],
    }
    return json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False).encode() + b"\n"


def render_letter_pdf(
    snapshot: Mapping[str, Any],
    template: str,
    *,
    images: Mapping[str, bytes] | None = None,
    annex: bytes | None = None,
) -> bytes:
    """Render a letter as PDF/A-3b with its item manifest attached as `manifest.json`.

    Pure: no database and no network. The PDF's dates come from the snapshot, so the same
    snapshot and template give the same text. `images` maps an exhibit's SHA-256 to the
    (blurred) JPEG shown in the annex; the template refers to them as exhibit:<sha256>.
    `annex` is the earlier letter as sent, whose SHA-256 the snapshot names: its pages are
    appended unchanged (stamped as a draft too when this letter is one).
    """
    from casework.notices import pdf_engine  # WeasyPrint loads only where letters are made

    related = snapshot.get("related") or None
    expected = ((related or {}).get("letter") or {}).get("sha256")
    if expected is not None and (annex is None or hashlib.sha256(annex).hexdigest() != expected):
        raise LetterRenderError(
            f"{template}: the earlier letter to annex is missing or not the version sent"
        )
    if expected is None and annex is not None:
        raise LetterRenderError(f"{template}: an annex was given but the letter cites none")
    html = render_letter_html(snapshot, template)
    pdf = pdf_engine.write_pdf(
        html,
        manifest=manifest_bytes(snapshot),
        created=datetime.fromisoformat(snapshot["letter"]["generated_at"]),
        images=images,
        label=template,
    )
    if annex is None:
        return pdf
    stamp = None
    if snapshot.get("draft"):
        words: Any = _environment().get_template("_statements.html").module
        stamp = words.WORDS[snapshot["route"]["language"]]["watermark"]
    return pdf_engine.append_annex(pdf, annex, stamp=stamp)


def warm_up() -> None:
    """Compile every template and render a sample letter in each letter language, now.

    The worker calls this once when it starts and runs every job in that same process (it
    never forks), so every letter job starts with the fonts loaded, the stylesheet parsed,
    the templates compiled and the date formats read, instead of the first one spending
    half a second on them.
    """
    env = _environment()
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)
    registry = default_registry()
    languages: dict[str, str] = {}
    for route in registry.routes:
        languages.setdefault(route.language, route.key)
    for key in languages.values():
        route = registry.route(key)
        render_letter_pdf(sample_snapshot(route, registry), route.templates[0])


def page_image(pdf: bytes, page: int, *, dpi: int = 80) -> bytes | None:
    """One page of a PDF as PNG, drawn by poppler's pdftoppm; None if there is no such page."""
    program = shutil.which("pdftoppm")
    if program is None or page < 1:
        return None
    with tempfile.TemporaryDirectory(prefix="casework-preview-") as directory:
        source = Path(directory) / "letter.pdf"
        source.write_bytes(pdf)
        target = Path(directory) / "page"
        result = subprocess.run(  # noqa: S603  # nosec B603  (a resolved program, our own file names)
            [
                program,
                "-png",
                "-r",
                str(dpi),
                "-f",
                str(page),
                "-l",
                str(page),
                "-singlefile",
                str(source),
                str(target),
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
        image = target.with_suffix(".png")
        if result.returncode != 0 or not image.exists():
            return None
        return image.read_bytes()
