"""Hostile pictures cannot make a web worker's memory balloon.

A 116 KB PNG of 6,320 x 6,320 black pixels once decoded to about 450 MiB; a few of
them at once exhausted the machine. Here such files, and the largest pictures we still
accept, go through the real report form in a fresh process, one after another and
four at once; that process's peak resident memory must stay within what sanitising
one picture of the largest size we accept needs.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from casework.config import REPO_ROOT
from casework.evidence.images import MAX_PIXELS
from tests.hostile_files import crafted_png, flat_png
from tests.upload_memory_probe import VISITORS_AT_ONCE

MIB = 1024 * 1024
# Two copies of a 20-megapixel picture at 4 bytes a pixel (decoded, then rebuilt from
# its pixels alone), the re-encoded file, and interpreter slack.
DECODE_BOUND_MIB = 2 * MAX_PIXELS * 4 / MIB + 24
# Each request in flight holds its upload in memory (never on disk) about three times:
# the request body, the parsed file, and the bytes read from it.
COPIES_PER_UPLOAD = 3


def encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def noisy_jpeg(width: int, height: int, *, orientation: int = 1) -> bytes:
    """An honest-looking large photo: noise in blocks, so it is not a bomb by ratio."""
    rng = np.random.default_rng(7)
    small = rng.integers(0, 256, size=(height // 8, width // 8, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((width, height), Image.Resampling.NEAREST)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encoded(image, "JPEG", quality=70, exif=exif)


def hostile_files() -> dict[str, bytes]:
    return {
        "black-40-megapixels.png": flat_png(6_320, 6_320),
        "black-20-megapixels.png": flat_png(4_470, 4_470),
        "bomb-900-megapixels.png": crafted_png(30_000, 30_000),
        "photo-20-megapixels.jpg": noisy_jpeg(5_160, 3_870),
        "rotated-photo-20-megapixels.jpg": noisy_jpeg(5_160, 3_870, orientation=6),
    }


def test_peak_memory_stays_bounded_across_hostile_uploads(tmp_path: Path) -> None:
    files = hostile_files()
    assert len(files["black-40-megapixels.png"]) < 120 * 1024
    paths = []
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(str(path))
    together = tmp_path / "rotated-photo-20-megapixels.jpg"
    workdir = tmp_path / "app"
    workdir.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "tests.upload_memory_probe", str(workdir), str(together), *paths],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # The three black and crafted files are refused with the form shown again (200);
    # the honest photos are accepted and the visitor moves on (302).
    assert report["statuses"] == [200, 200, 200, 302, 302] + [302] * 4, report
    uploads_mib = COPIES_PER_UPLOAD * VISITORS_AT_ONCE * together.stat().st_size / MIB
    growth_mib = (report["after"] - report["before"]) * 1024 / MIB
    assert growth_mib < DECODE_BOUND_MIB + uploads_mib, f"peak grew by {growth_mib:.0f} MiB"
