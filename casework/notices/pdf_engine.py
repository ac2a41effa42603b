"""WeasyPrint, set up once per thread: shipped fonts, one stylesheet, PDF/A-3b, no network."""

from __future__ import annotations

import io
import logging
import threading
import types
import zlib
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlsplit

# WeasyPrint logs six progress lines per document at INFO; letters are many.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

import pydyf  # noqa: E402
from PIL import ImageFile  # noqa: E402
from pypdf import PdfReader, PdfWriter  # noqa: E402
from weasyprint import CSS, HTML, Attachment  # noqa: E402
from weasyprint.html import UA_COUNTER_STYLE  # noqa: E402
from weasyprint.text.fonts import FontConfiguration  # noqa: E402
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse  # noqa: E402

from casework.notices.rendering import (  # noqa: E402
    EXHIBIT_SCHEME,
    LETTERS_DIR,
    PDF_VARIANT,
    STYLESHEET,
    TEMPLATES_DIR,
    LetterRenderError,
)

# Importing WeasyPrint switches Pillow to accepting truncated images, process-wide. Evidence
# uploads are checked with Pillow in the same processes, and a truncated upload must stay
# refused; the letters only ever embed complete previews we made ourselves.
ImageFile.LOAD_TRUNCATED_IMAGES = False

# pydyf compresses every stream at zlib level 9, a seventh of a letter's render time for a
# file 0.6 % smaller than at the default level 6. Compression levels do not change what a
# PDF reader decodes, and the output stays the same for the same input.
pydyf.zlib = types.SimpleNamespace(
    compress=zlib.compress,
    compressobj=lambda level=6, **options: zlib.compressobj(min(level, 6), **options),
)

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


def write_pdf(
    html: str,
    *,
    manifest: bytes,
    created: datetime,
    images: Mapping[str, bytes] | None,
    label: str,
) -> bytes:
    """The letter's HTML as PDF/A-3b, with the manifest attached and the given dates."""
    attachment = Attachment(
        file_obj=io.BytesIO(manifest),
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
        raise LetterRenderError(f"{label}: {exc} ({exc.__cause__})") from None
    if not isinstance(pdf, bytes):  # pragma: no cover - write_pdf without a target returns bytes
        raise LetterRenderError("WeasyPrint returned no PDF")
    return pdf


@lru_cache(maxsize=8)
def _stamp(word: str) -> bytes:
    """One transparent A4 page carrying the draft watermark, to lay over annexed pages."""
    renderer = _renderer()
    html = f'<body class="draft"><div class="watermark">{escape(word)}</div></body>'
    pdf = _LetterHTML(string=html, base_url=TEMPLATES_DIR.as_uri() + "/").write_pdf(
        stylesheets=[renderer.stylesheet], font_config=renderer.font_config
    )
    if not isinstance(pdf, bytes):  # pragma: no cover - write_pdf without a target returns bytes
        raise LetterRenderError("WeasyPrint returned no PDF")
    return pdf


def append_annex(pdf: bytes, annex: bytes, *, stamp: str | None) -> bytes:
    """The letter followed by every page of `annex`, unchanged unless stamped as a draft.

    The result keeps the letter's own document (its metadata, manifest attachment and
    identifier), so the same inputs give the same bytes.
    """
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    overlay = PdfReader(io.BytesIO(_stamp(stamp))).pages[0] if stamp else None
    for page in PdfReader(io.BytesIO(annex)).pages:
        added = writer.add_page(page)
        if overlay is not None:
            added.merge_page(overlay)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
