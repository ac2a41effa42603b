"""Letter templates to PDF: Jinja HTML from letters/templates, WeasyPrint, PDF/A-3b, no network."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound
from jinja2.exceptions import UndefinedError
from weasyprint import CSS, HTML, Attachment
from weasyprint.html import UA_COUNTER_STYLE
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from casework.config import REPO_ROOT

__all__ = [
    "LETTERS_DIR",
    "TEMPLATES_DIR",
    "LetterRenderError",
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

# The parts of the HTML user-agent stylesheet the letters use. WeasyPrint's full one styles
# every HTML element, and matching it against each box is a tenth of a letter's render time.
_UA_CSS: Final = """
html, body, div, p, h1, h2, h3, section, header, footer, address, blockquote, ol, ul, dl, dt, dd,
figure, figcaption, pre { display: block }
pre { white-space: pre; margin: 1em 0 }
head, title, meta, link, style, script, template { display: none }
table { display: table; box-sizing: border-box; border-spacing: 2px; text-indent: initial }
caption { display: table-caption; text-align: center }
colgroup { display: table-column-group } col { display: table-column }
thead { display: table-header-group } tbody { display: table-row-group }
tfoot { display: table-footer-group } tr { display: table-row }
td, th { display: table-cell; padding: 1px } th { font-weight: bold; text-align: center }
li { display: list-item } ol { list-style-type: decimal } ul { list-style-type: disc }
ol, ul { padding-left: 40px; margin: 1em 0 }
strong, b { font-weight: bold } em, i, cite { font-style: italic } small { font-size: smaller }
h1 { font-size: 2em; font-weight: bold; margin: .67em 0 }
h2 { font-size: 1.5em; font-weight: bold; margin: .83em 0 }
h3 { font-size: 1.17em; font-weight: bold; margin: 1em 0 }
p, dl, blockquote, figure { margin: 1em 0 } dd { margin-left: 40px } body { margin: 8px }
img { display: inline-block }
br::before { content: '\\A'; white-space: pre-line }
"""


class LetterRenderError(Exception):
    """A letter could not be rendered: missing template, missing value or refused resource."""


class _LetterFetcher(URLFetcher):
    """Serves files under letters/ and the exhibit images given; refuses every other address.

    No network and no file outside letters/: a letter depends only on the repository and
    the data it was made from.
    """

    def __init__(self, images: Mapping[str, bytes] | None = None) -> None:
        super().__init__(fail_on_errors=True)
        self._images = dict(images or {})

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.scheme == EXHIBIT_SCHEME:
            data = self._images.get(parts.path)
            if data is None:
                raise LookupError(f"no image for exhibit {parts.path[:12]}")
            return URLFetcherResponse(url, data, {"Content-Type": "image/jpeg"})
        if parts.scheme == "file" and not parts.netloc:
            path = Path(unquote(parts.path)).resolve()
            if path.is_relative_to(LETTERS_DIR.resolve()) and path.is_file():
                return URLFetcherResponse(url, path.read_bytes(), {})
        raise PermissionError(f"letters may only use files under letters/, not {url}")


class _LetterHTML(HTML):
    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        return [_ua_stylesheet()]


@lru_cache(maxsize=1)
def _ua_stylesheet() -> CSS:
    return CSS(string=_UA_CSS, counter_style=UA_COUNTER_STYLE)


class _Renderer:
    """One font configuration and one parsed print stylesheet, reused for every letter.

    A FontConfiguration per render leaks memory and reloads the fonts each time; keeping
    one per thread keeps a worker's memory flat over thousands of letters.
    """

    def __init__(self) -> None:
        self.fetcher = _LetterFetcher()
        self.font_config = FontConfiguration()
        self.stylesheet = CSS(
            filename=str(STYLESHEET), font_config=self.font_config, url_fetcher=self.fetcher
        )


_local = threading.local()


def _renderer() -> _Renderer:
    renderer: _Renderer | None = getattr(_local, "renderer", None)
    if renderer is None:
        renderer = _Renderer()
        _local.renderer = renderer
    return renderer


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


def _break_long(text: str, every: int = 32) -> str:
    """A hash split in fixed chunks so it wraps in a narrow cell without a line-break search."""
    return " ".join(text[i : i + every] for i in range(0, len(text), every))


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
    env.filters["chunks"] = _break_long
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
        return _environment().get_template(template).render(s=snapshot)
    except TemplateNotFound:
        raise LetterRenderError(f"letter template {template!r} does not exist") from None
    except UndefinedError as exc:
        raise LetterRenderError(f"{template}: {exc}") from None


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
) -> bytes:
    """Render a letter as PDF/A-3b with its item manifest attached as `manifest.json`.

    Pure: no database and no network. The PDF's dates come from the snapshot, so the same
    snapshot and template give the same text. `images` maps an exhibit's SHA-256 to the
    (blurred) JPEG shown in the annex; the template refers to them as exhibit:<sha256>.
    """
    html = render_letter_html(snapshot, template)
    created = datetime.fromisoformat(snapshot["letter"]["generated_at"])
    attachment = Attachment(
        file_obj=io.BytesIO(manifest_bytes(snapshot)),
        name="manifest.json",
        description="Item manifest: URL, status id, SHA-256 and PDQ of each item",
        created=created,
        modified=created,
        relationship="Data",
    )
    renderer = _renderer()
    try:
        document = _LetterHTML(
            string=html,
            base_url=TEMPLATES_DIR.as_uri() + "/",
            url_fetcher=_LetterFetcher(images) if images else renderer.fetcher,
        )
        pdf = document.write_pdf(
            stylesheets=[renderer.stylesheet],
            font_config=renderer.font_config,
            pdf_variant=PDF_VARIANT,
            attachments=[attachment],
        )
    except FatalURLFetchingError as exc:
        raise LetterRenderError(f"{template}: {exc} ({exc.__cause__})") from None
    if not isinstance(pdf, bytes):  # pragma: no cover - write_pdf without a target returns bytes
        raise LetterRenderError("WeasyPrint returned no PDF")
    return pdf


def warm_up(templates: tuple[str, ...] = ()) -> None:
    """Load the fonts, parse the stylesheet, compile templates and lay out one page, now.

    A worker calls this before it forks for each job, so every job starts with the warm
    renderer instead of spending half a second building its own.
    """
    renderer = _renderer()
    for template in templates:
        _environment().get_template(template)
    _LetterHTML(
        string="<p>Casework · é à ü ß œ</p>", base_url=TEMPLATES_DIR.as_uri() + "/"
    ).write_pdf(stylesheets=[renderer.stylesheet], font_config=renderer.font_config)


def page_image(pdf: bytes, page: int, *, dpi: int = 80) -> bytes | None:
    """One page of a PDF as PNG, drawn by poppler's pdftoppm; None if there is no such page."""
    program = shutil.which("pdftoppm")
    if program is None or page < 1:
        return None
    with tempfile.TemporaryDirectory(prefix="casework-preview-") as directory:
        source = Path(directory) / "letter.pdf"
        source.write_bytes(pdf)
        target = Path(directory) / "page"
        result = subprocess.run(  # noqa: S603  (a resolved program and our own file names)
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
