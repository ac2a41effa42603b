"""One side of the letter comparison, in a process of its own; prints one JSON line.

    python bench/letter_run.py casework|floor LETTER.json --renders 20 [--memory 1000]

LETTER.json holds a letter's snapshot and template, the HTML Casework makes of them, the
print stylesheet and the base URL. `casework` renders the snapshot with
render_letter_pdf (PDF/A-3b, the manifest attached, Casework's WeasyPrint set-up);
`floor` hands the same HTML and stylesheet to WeasyPrint as its documentation shows,
one font configuration and one parsed stylesheet for every render. Separate processes,
because Casework's set-up changes WeasyPrint process-wide (pydyf's compression level).
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def renderer(side: str, letter: dict[str, object]) -> Callable[[], bytes]:
    if side == "casework":
        from casework.notices.rendering import render_letter_pdf

        snapshot, template = letter["snapshot"], str(letter["template"])
        return lambda: render_letter_pdf(snapshot, template)  # type: ignore[arg-type]
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    css = CSS(filename=str(letter["stylesheet"]), font_config=fonts)
    html, base_url = str(letter["html"]), str(letter["base_url"])

    def floor() -> bytes:
        pdf = HTML(string=html, base_url=base_url).write_pdf(stylesheets=[css], font_config=fonts)
        if not isinstance(pdf, bytes):
            raise SystemExit("WeasyPrint returned no PDF")
        return pdf

    return floor


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("side", choices=["casework", "floor"])
    parser.add_argument("letter", type=Path)
    parser.add_argument("--renders", type=int, default=20)
    parser.add_argument("--warm", type=int, default=3)
    parser.add_argument("--memory", type=int, default=0, help="renders for the memory check")
    args = parser.parse_args()
    import logging

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    render = renderer(args.side, json.loads(args.letter.read_text()))
    from pypdf import PdfReader

    pages = len(PdfReader(io.BytesIO(render())).pages)
    for _ in range(args.warm):
        render()
    times = []
    for _ in range(args.renders):
        started = time.perf_counter()
        render()
        times.append(time.perf_counter() - started)
    result: dict[str, float] = {"pages": pages, "ms": statistics.median(times) * 1000}
    if args.memory:
        gc.collect()
        before = rss_mib()
        for _ in range(args.memory):
            render()
        gc.collect()
        result.update(rss_before=before, rss_after=rss_mib())
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
