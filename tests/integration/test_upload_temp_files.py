"""An upload never touches the disk before it is cleaned.

Werkzeug writes a multipart file larger than 500 KB to an unnamed temporary file,
raw, GPS data and all; a crash, a swap-out or a disk image would then keep what
the victim was promised we would throw away. Uploads are kept in memory instead
(the request size limit bounds them).
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask, request, request_finished
from flask.testing import FlaskClient
from PIL import ExifTags, Image
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from tests.intake_support import GPS_MARKER, filled_report


def large_photo_with_gps() -> bytes:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, size=(700, 900, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSAreaInformation] = GPS_MARKER
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=95, exif=exif)
    return buffer.getvalue()


def open_files_under(folder: Path) -> list[str]:
    """What this process holds open in folder, deleted files included (Linux)."""
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(folder)):
            found.append(target)
    return found


def test_a_large_screenshot_is_held_in_memory_not_in_a_temporary_file(
    app: Flask, client: FlaskClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    filled_report(client)
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    photo = large_photo_with_gps()
    assert len(photo) > 600 * 1024

    # Encoded here, in memory: the test client would otherwise spool it to disk itself.
    boundary, body = encode_multipart(
        MultiDict(
            [("screenshots", FileStorage(io.BytesIO(photo), "holiday.jpg")), ("action", "upload")]
        )
    )
    seen: dict[str, Any] = {}

    def as_the_request_ends(*_: Any, **__: Any) -> None:
        # The request is still open: its parsed files and their streams are alive.
        files = request.files.getlist("screenshots")
        seen["streams"] = [type(f.stream) for f in files]
        seen["open"] = open_files_under(spool)

    with request_finished.connected_to(as_the_request_ends, app):
        response = client.post(
            "/report/screenshots",
            data=body,
            content_type=f'multipart/form-data; boundary="{boundary}"',
        )
    assert response.status_code == 302
    assert seen["open"] == []
    assert seen["streams"] == [io.BytesIO]
    assert list(spool.iterdir()) == []
