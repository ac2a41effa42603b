"""Files made to hurt an image pipeline: bombs, absurd sizes, and files that are two things."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image

ZIP_MARKER = b"CaseworkZipEntry"


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def crafted_png(width: int, height: int, *, bit_depth: int = 1) -> bytes:
    """A tiny greyscale PNG whose header declares width x height pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * ((width * bit_depth + 7) // 8)
    idat = zlib.compress(row * 4, 9)  # a few rows: the decoder must never get that far
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def flat_png(width: int, height: int) -> bytes:
    """A real, fully decodable black PNG: flat colour compresses about a thousandfold."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, "PNG", compress_level=9)
    return buffer.getvalue()


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"payload/{ZIP_MARKER.decode()}.html", "<script>alert(1)</script>")
    return buffer.getvalue()


def picture(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    image = Image.new("RGB", size, (180, 40, 90))
    image.paste((20, 200, 120), (8, 8, size[0] // 2, size[1] // 2))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def jpeg_zip_polyglot() -> bytes:
    """A JPEG that is also a ZIP archive (with an HTML page inside): both tools open it."""
    data = picture("JPEG") + zip_bytes()
    assert zipfile.is_zipfile(io.BytesIO(data))
    return data


def gif_zip_polyglot() -> bytes:
    """The classic GIFAR: a GIF with an archive appended."""
    return picture("GIF") + zip_bytes()


def pdf_jpeg_polyglot() -> bytes:
    """A PDF that carries a whole JPEG in its body, named like a picture."""
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + picture("JPEG") + b"\ntrailer<<>>\n%%EOF\n"


def html_behind_png_magic() -> bytes:
    """The PNG signature, then an HTML page: a sniffing browser might render it."""
    return b"\x89PNG\r\n\x1a\n<html><script>alert(document.cookie)</script></html>"


def svg_with_script() -> bytes:
    return (
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
    )
