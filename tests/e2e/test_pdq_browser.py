"""PDQ computed in Chromium by casework/static/js/pdq.js agrees with the server's pdqhash.

A corpus of synthetic photos (gradients, shapes, text, noise) and their resized,
re-compressed, slightly cropped, turned (EXIF orientation), transparent and grey
variants is hashed twice: by the server's own sanitise_image (pdqhash) and by the
report form's script in the browser, which decodes each file itself. Every image
must come out within PDQ distance 8, and most identical.
"""

from __future__ import annotations

import base64
import io
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from casework.evidence.images import pdq_distance, sanitise_image
from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e

MAX_DISTANCE = 8
# Identical hashes for at least this share of the corpus: decoders may differ by a
# rounding here and there, the arithmetic may not.
IDENTICAL_SHARE = 0.8
MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Sample:
    name: str
    data: bytes


def _base_photo(seed: int, size: tuple[int, int]) -> Image.Image:
    """A photo-like picture: a gradient sky, shapes, a line of text and sensor noise."""
    rng = random.Random(seed)
    width, height = size
    img = Image.linear_gradient("L").resize(size).convert("RGB")
    tint = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    img = Image.blend(img, tint, 0.5)
    draw = ImageDraw.Draw(img)
    for _ in range(6 + seed % 5):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1 = x0 + rng.randrange(width // 8, width // 2)
        y1 = y0 + rng.randrange(height // 8, height // 2)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    font = ImageFont.load_default(size=max(12, height // 12))
    draw.text((width // 10, height // 2), f"Case {seed} evidence", fill=(250, 250, 250), font=font)
    noise = Image.effect_noise(size, 24 + seed % 20).convert("RGB")
    img = Image.blend(img, noise, 0.15)
    return img.filter(ImageFilter.SMOOTH) if seed % 2 else img


def _encode(img: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **params)
    return buffer.getvalue()


def _turned(img: Image.Image, orientation: int) -> bytes:
    """A JPEG stored sideways with the EXIF orientation that turns it upright."""
    stored = {
        3: Image.Transpose.ROTATE_180,
        6: Image.Transpose.ROTATE_90,
        8: Image.Transpose.ROTATE_270,
    }
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _encode(img.transpose(stored[orientation]), "JPEG", quality=92, exif=exif)


def corpus() -> Iterator[Sample]:
    sizes = [(480, 360), (360, 480), (512, 384), (400, 400), (300, 600)]
    for seed, size in enumerate(sizes, start=1):
        base = _base_photo(seed, size)
        width, height = size
        yield Sample(f"{seed}-original.png", _encode(base, "PNG", compress_level=1))
        for quality in (95, 75, 50, 30):
            yield Sample(f"{seed}-jpeg-q{quality}.jpg", _encode(base, "JPEG", quality=quality))
        half = base.resize((width // 2, height // 2), Image.Resampling.LANCZOS)
        yield Sample(f"{seed}-resized-half.jpg", _encode(half, "JPEG", quality=85))
        larger = base.resize((width * 3 // 2, height * 3 // 2), Image.Resampling.BICUBIC)
        yield Sample(f"{seed}-resized-larger.jpg", _encode(larger, "JPEG", quality=90))
        crop = base.crop((width // 25, height // 25, width - width // 30, height - height // 20))
        yield Sample(f"{seed}-cropped.jpg", _encode(crop, "JPEG", quality=88))
        recompressed = Image.open(io.BytesIO(_encode(base, "JPEG", quality=60)))
        yield Sample(f"{seed}-recompressed-twice.jpg", _encode(recompressed, "JPEG", quality=80))
        yield Sample(f"{seed}-turned.jpg", _turned(base, (6, 3, 8)[seed % 3]))
        yield Sample(f"{seed}-lossy.webp", _encode(base, "WEBP", quality=80))
    # Big enough for the server to shrink it by a box reduction before hashing.
    big = _base_photo(7, (2300, 1000))
    yield Sample("7-big.jpg", _encode(big, "JPEG", quality=85))
    grey = _base_photo(8, (500, 360)).convert("L")
    yield Sample("8-grey.jpg", _encode(grey, "JPEG", quality=90))
    yield Sample("8-grey.png", _encode(grey, "PNG", compress_level=1))
    # A screenshot with a transparent margin, as some phones save them.
    shot = _base_photo(9, (480, 320)).convert("RGBA")
    shot.paste((0, 0, 0, 0), (0, 0, 480, 40))
    yield Sample("9-transparent.png", _encode(shot, "PNG", compress_level=1))
    # Fading out, and large enough to be shrunk: premultiplied by Pillow's reduction.
    fading = _base_photo(10, (2060, 900)).convert("RGBA")
    fading.putalpha(Image.linear_gradient("L").rotate(90).resize(fading.size))
    yield Sample("10-fading.png", _encode(fading, "PNG", compress_level=1))
    yield Sample("9-lossless.webp", _encode(_base_photo(9, (480, 320)), "WEBP", lossless=True))


HASH_IN_BROWSER = """async (samples) => {
  const out = [];
  for (const [name, b64] of samples) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const result = await window.CaseworkPdq.fromFile(new Blob([bytes]));
    out.push([name, result.pdq, result.quality]);
  }
  return out;
}"""


def test_browser_pdq_matches_the_server_on_a_corpus(page: Any, live_server: LiveServer) -> None:
    samples = list(corpus())
    assert len(samples) >= 50
    server = {}
    for sample in samples:
        image = sanitise_image(sample.data, max_bytes=MAX_BYTES)
        server[sample.name] = (image.pdq, image.pdq_quality)

    page.goto("/report/")
    page.add_script_tag(url="/static/js/pdq.js")
    payload = [[s.name, base64.b64encode(s.data).decode()] for s in samples]
    hashed = page.evaluate(HASH_IN_BROWSER, payload)
    browser = {name: (pdq, quality) for name, pdq, quality in hashed}

    distances = {name: pdq_distance(server[name][0], browser[name][0]) for name in server}
    spread = Counter(distances.values())
    report = ", ".join(f"distance {d}: {n}" for d, n in sorted(spread.items()))
    print(f"\nPDQ browser vs server over {len(samples)} images: {report}")
    far = {name: d for name, d in distances.items() if d > MAX_DISTANCE}
    assert far == {}, f"beyond distance {MAX_DISTANCE}: {far} ({report})"
    identical = spread[0] / len(samples)
    assert identical >= IDENTICAL_SHARE, f"only {identical:.0%} identical ({report})"
    # Quality is the same measure on the same 64x64 picture: at most a point or two apart.
    qualities = {name: abs(server[name][1] - browser[name][1]) for name in server}
    assert max(qualities.values()) <= 2, qualities
