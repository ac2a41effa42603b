"""Check, strip and re-encode uploaded evidence images, and hash them with SHA-256 and PDQ."""

from __future__ import annotations

import ctypes
import hashlib
import io
import struct
import threading
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import pdqhash
from PIL import Image, ImageFilter, ImageOps

MediaType = Literal["image/jpeg", "image/png", "image/webp"]
RejectionCode = Literal[
    "too_large",
    "not_an_image",
    "unsupported_format",
    "too_many_pixels",
    "decompression_bomb",
    "corrupt",
]

# The blur is applied to a copy no larger than this, so `radius` means the same
# thing (heavy) whatever the size of the original.
BLUR_PREVIEW_SIDE: Final = 512
# PDQ is computed on a copy whose long side is shrunk towards this by an integer
# box reduction: PDQ's own Jarosz filter is box-based, so the hash moves by a bit
# or two at most, while memory drops from gigabytes to megabytes for big photos.
_PDQ_WORKING_SIDE: Final = 1024
# Screenshots and photos larger than this are refused: decoded at 4 bytes a pixel,
# 20 megapixels is 80 MB, and sanitising briefly holds two such copies.
MAX_PIXELS: Final = 20_000_000
# Stored images sanitised before MAX_PIXELS was lowered may be up to this size.
_STORED_MAX_PIXELS: Final = 40_000_000
# A file expanding to more than this many pixels per byte is a crafted
# decompression bomb rather than a photo or screenshot: even a flat 20-megapixel
# screenshot must then weigh 100 KB. Pictures under _SMALL_PIXELS cost little to
# decode whatever their size, so a nearly blank phone screenshot is never refused.
_BOMB_PIXELS_PER_BYTE: Final = 200
_SMALL_PIXELS: Final = 4_000_000

# Pillow's own guard for every other use of Pillow in the process (WeasyPrint
# included): a warning above this many pixels, an error above twice as many.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# glibc's mallopt parameter number, and the size from which blocks are mmapped.
_M_MMAP_THRESHOLD: Final = -3
_MMAP_THRESHOLD_BYTES: Final = 1024 * 1024

MESSAGES: Final[dict[RejectionCode, str]] = {
    "too_large": (
        "This file is too big for us to accept. Please choose a smaller picture, "
        "or take a screenshot and upload that instead."
    ),
    "not_an_image": (
        "This file is not a picture we can read. Please choose a JPEG, PNG or WebP image."
    ),
    "unsupported_format": (
        "We cannot accept this type of picture. Please choose a JPEG, PNG or WebP image, "
        "or take a screenshot of the picture and upload that instead."
    ),
    "too_many_pixels": (
        "This picture is too large for us to process. Please choose a smaller version, "
        "or take a screenshot and upload that instead."
    ),
    "decompression_bomb": (
        "We could not open this picture safely. Please take a screenshot of it "
        "and upload that instead."
    ),
    "corrupt": (
        "This picture seems to be damaged or incomplete, so we could not open it. "
        "Please try saving it again, or take a screenshot and upload that instead."
    ),
}

# Pillow format name -> (output format, media type). MPO is what Pillow calls the
# multi-picture JPEGs many phones write; it is a JPEG and we keep its first picture.
_ACCEPTED: Final[dict[str, tuple[str, MediaType]]] = {
    "JPEG": ("JPEG", "image/jpeg"),
    "MPO": ("JPEG", "image/jpeg"),
    "PNG": ("PNG", "image/png"),
    "WEBP": ("WEBP", "image/webp"),
}
# Only these parsers ever see the bytes: fewer parsers, less attack surface.
_PILLOW_FORMATS: Final = ("JPEG", "PNG", "WEBP")

# Hostile input makes Pillow's parsers fail in many different ways; every one of
# them means "we cannot read this", never a server error.
_PARSE_ERRORS: Final = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    EOFError,
    struct.error,
    zlib.error,
)

_ACCEPTED_SIGNATURES: Final = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")
# Pictures we recognise but do not accept, so the victim is told to convert them
# rather than that their file is not a picture at all.
_OTHER_IMAGE_SIGNATURES: Final = (
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"\x00\x00\x01\x00",  # ICO
    b"8BPS",  # Photoshop
    b"\xff\x0a",  # JPEG XL codestream
    b"\x00\x00\x00\x0cJXL \r\n\x87\n",
    b"\x00\x00\x00\x0cjP  \r\n\x87\n",  # JPEG 2000
    b"\xff\x4f\xff\x51",
)
_ISO_MEDIA_IMAGE_BRANDS: Final = frozenset(
    b"heic heix hevc heim heis hevm hevs mif1 msf1 avif avis".split()
)


def _return_freed_pixels_to_the_system() -> None:
    """Have glibc give large freed blocks straight back to the system.

    glibc raises its mmap threshold after each large free, so the next pictures'
    pixel blocks come from per-thread heaps that keep them: a few decodes across
    gunicorn's threads then hold hundreds of megabytes for good. A fixed threshold
    keeps each block of a decoded picture mmapped, and unmapped when freed.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return  # not glibc (musl, macOS): their allocators return large blocks anyway
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)


_return_freed_pixels_to_the_system()


class ImageRejected(ValueError):
    """An upload we refuse; `message` is a plain sentence that can be shown to the victim."""

    def __init__(self, code: RejectionCode, message: str | None = None) -> None:
        self.code: RejectionCode = code
        self.message: str = message if message is not None else MESSAGES[code]
        super().__init__(self.message)


@dataclass(frozen=True)
class SanitisedImage:
    """A re-encoded image holding pixels only, with its hashes."""

    # Kept out of repr so evidence never lands in logs or tracebacks.
    data: bytes = field(repr=False)
    media_type: MediaType
    width: int
    height: int
    sha256: str
    pdq: str
    pdq_quality: int


def sanitise_image(
    data: bytes,
    *,
    max_bytes: int,
    max_pixels: int = MAX_PIXELS,
    max_side: int = 12_000,
) -> SanitisedImage:
    """Verify an uploaded image and rebuild it from its pixels alone, or raise ImageRejected.

    The declared size is checked before any pixel is decoded; decoding then waits
    for its share of a process-wide pixel budget, and drops each intermediate copy
    as soon as the next exists, so peak memory stays near two copies of the largest
    picture accepted, however many uploads arrive at once.
    """
    if max_bytes <= 0 or max_pixels <= 0 or max_side <= 0:
        raise ValueError("max_bytes, max_pixels and max_side must be positive")
    # Before any parsing: the size limit must hold whatever the bytes claim to be.
    if len(data) > max_bytes:
        raise ImageRejected("too_large")
    if not data:
        raise ImageRejected("not_an_image")

    with _bomb_guard():
        img = _open_checked(data, max_pixels=max_pixels, max_side=max_side, bomb_ratio=True)
    out_format, media_type = _ACCEPTED[str(img.format)]
    with _DECODE_BUDGET.reserve(img.width * img.height), _bomb_guard():
        work = img
        try:
            _load(work)
            work = _replace(work, _upright(work))
            work = _replace(work, _convert_for(out_format, work))
            work = _replace(work, _pixels_only(work))
            encoded = _encode(work, out_format, lossless=_is_lossless_webp(data))
            pdq, quality = _pdq(work)
            width, height = work.size
        finally:
            work.close()
            img.close()
    return SanitisedImage(
        data=encoded,
        media_type=media_type,
        width=width,
        height=height,
        sha256=hashlib.sha256(encoded).hexdigest(),
        pdq=pdq,
        pdq_quality=quality,
    )


def blurred_copy(data: bytes, radius: int = 24) -> bytes:
    """A small, heavily blurred JPEG of a sanitised image, for staff previews."""
    if radius <= 0:
        raise ValueError("radius must be positive")
    img = _preview_source(data, BLUR_PREVIEW_SIDE)
    try:
        blurred = img.filter(ImageFilter.GaussianBlur(radius))
    finally:
        img.close()
    return _encode_preview(blurred)


def thumbnail(data: bytes, size: int = 320) -> bytes:
    """A JPEG no larger than size x size pixels of a sanitised image."""
    if size <= 0:
        raise ValueError("size must be positive")
    return _encode_preview(_preview_source(data, size))


def pdq_distance(a: str, b: str) -> int:
    """The Hamming distance between two PDQ hashes in hex; 31 or less is the usual match."""
    if len(a) != 64 or len(b) != 64:
        raise ValueError("a PDQ hash is 64 hexadecimal characters")
    return (int(a, 16) ^ int(b, 16)).bit_count()


class _PixelBudget:
    """How many pixels this process may be decoding at once, across all threads."""

    def __init__(self, pixels: int) -> None:
        self._total = pixels
        self._free = pixels
        self._changed = threading.Condition()

    @contextmanager
    def reserve(self, pixels: int) -> Iterator[None]:
        # A picture larger than the whole budget waits until it can decode alone.
        wanted = min(pixels, self._total)
        with self._changed:
            self._changed.wait_for(lambda: self._free >= wanted)
            self._free -= wanted
        try:
            yield
        finally:
            with self._changed:
                self._free += wanted
                self._changed.notify_all()


# gunicorn runs several threads per worker: together they decode one picture of
# the largest size we accept, or several smaller ones, never more.
_DECODE_BUDGET: Final = _PixelBudget(MAX_PIXELS)


def _replace(old: Image.Image, new: Image.Image) -> Image.Image:
    """Free the previous step's pixels as soon as the next step has its own."""
    if new is not old:
        old.close()
    return new


@contextmanager
def _bomb_guard() -> Iterator[None]:
    # Pillow only warns between MAX_IMAGE_PIXELS and twice that; make the warning
    # an error here without touching the process-wide Image.MAX_IMAGE_PIXELS.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def _open_checked(data: bytes, *, max_pixels: int, max_side: int, bomb_ratio: bool) -> Image.Image:
    """Parse the header only (Image.open is lazy) and check the declared size."""
    try:
        img = Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("decompression_bomb") from exc
    except _PARSE_ERRORS as exc:
        raise ImageRejected(_classify_unreadable(data)) from exc

    if img.format not in _ACCEPTED:
        img.close()
        raise ImageRejected("unsupported_format")
    width, height = img.size
    if width <= 0 or height <= 0:
        img.close()
        raise ImageRejected("corrupt")
    pixels = width * height
    if bomb_ratio and pixels > max(_SMALL_PIXELS, _BOMB_PIXELS_PER_BYTE * len(data)):
        img.close()
        raise ImageRejected("decompression_bomb")
    if width > max_side or height > max_side or pixels > max_pixels:
        img.close()
        raise ImageRejected("too_many_pixels")
    return img


def _classify_unreadable(data: bytes) -> RejectionCode:
    """Say why Pillow could not open the bytes, from their signature alone."""
    if data.startswith(_ACCEPTED_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return "corrupt"
    if data.startswith(_OTHER_IMAGE_SIGNATURES):
        return "unsupported_format"
    if data[4:8] == b"ftyp" and data[8:12] in _ISO_MEDIA_IMAGE_BRANDS:
        return "unsupported_format"  # HEIC/AVIF, as iPhones and Android phones save
    if b"<svg" in data[:1024].lower():
        return "unsupported_format"
    return "not_an_image"


def _load(img: Image.Image) -> None:
    try:
        img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("decompression_bomb") from exc
    except _PARSE_ERRORS as exc:
        raise ImageRejected("corrupt") from exc


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation, since the EXIF itself is about to be dropped."""
    # Broken metadata is no reason to refuse evidence; we discard it anyway.
    with suppress(*_PARSE_ERRORS):
        # In place: an upright picture is not copied, a turned one only while turning.
        ImageOps.exif_transpose(img, in_place=True)
    return img


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in {"RGBA", "RGBa", "LA", "La", "PA"} or "transparency" in img.info


def _convert_for(out_format: str, img: Image.Image) -> Image.Image:
    """Convert to a mode the output format stores well."""
    mode = img.mode
    if mode.startswith("I;16"):
        # Pillow clips 16-bit greys to 8 bits instead of scaling, so scale here.
        grey = np.asarray(img).astype(np.uint16) >> 8
        return Image.fromarray(grey.astype(np.uint8), mode="L")
    if out_format == "JPEG":
        if mode in {"L", "RGB"}:
            return img
        return img.convert("L" if mode == "1" else "RGB")
    if out_format == "PNG":
        if mode in {"1", "L", "RGB", "RGBA"} and "transparency" not in img.info:
            return img
        return img.convert("RGBA" if _has_alpha(img) else "RGB")
    if mode in {"RGB", "RGBA"} and "transparency" not in img.info:
        return img
    return img.convert("RGBA" if _has_alpha(img) else "RGB")


def _pixels_only(img: Image.Image) -> Image.Image:
    """Copy the pixels into a brand-new image, leaving every kind of metadata behind."""
    # A fresh Image has an empty .info, no EXIF, palette, ICC profile or text, so
    # nothing from the upload can be carried into the encoder by accident.
    fresh = Image.new(img.mode, img.size)
    fresh.paste(img, (0, 0))
    return fresh


def _encode(img: Image.Image, out_format: str, *, lossless: bool) -> bytes:
    buffer = io.BytesIO()
    if out_format == "JPEG":
        img.save(buffer, "JPEG", quality=90)
    elif out_format == "PNG":
        img.save(buffer, "PNG")
    else:
        img.save(buffer, "WEBP", quality=90, lossless=lossless)
    return buffer.getvalue()


def _is_lossless_webp(data: bytes) -> bool:
    # Keep lossless screenshots lossless rather than adding compression artefacts.
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:16] == b"VP8L"


def _flatten_rgb(img: Image.Image) -> Image.Image:
    """RGB as a person sees it: transparent areas become white, not hidden colours."""
    if img.mode == "RGB":
        return img
    if _has_alpha(img):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, (0, 0), rgba)
        return background
    return img.convert("RGB")


def _pdq(img: Image.Image) -> tuple[str, int]:
    # Shrink before flattening, so flattening a large transparent picture copies
    # megabytes rather than a full-size image twice.
    factor = max(img.size) // _PDQ_WORKING_SIDE
    small = img.reduce(factor) if factor > 1 else img
    rgb = _flatten_rgb(small)
    bits, quality = pdqhash.compute(np.ascontiguousarray(np.asarray(rgb)))
    # pdqhash returns the most significant bit first, so packing the bits gives
    # the canonical hex form other PDQ implementations print.
    packed = np.packbits(np.asarray(bits, dtype=np.uint8))
    return packed.tobytes().hex(), int(quality)


def _preview_source(data: bytes, side: int) -> Image.Image:
    """Decode a sanitised image into an opaque RGB copy no larger than side x side."""
    with warnings.catch_warnings():
        # Images stored before MAX_PIXELS was lowered may exceed it: our own check
        # below is the limit here, and Pillow's error still stops anything larger.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        img = _open_checked(data, max_pixels=_STORED_MAX_PIXELS, max_side=12_000, bomb_ratio=False)
    with _DECODE_BUDGET.reserve(img.width * img.height), warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            if img.format in {"JPEG", "MPO"}:
                # Let libjpeg decode at a reduced scale: faster and far less memory.
                img.draft("RGB", (side, side))
            _load(img)
            _upright(img)
            factor = max(img.size) // side
            reduced = img.reduce(factor) if factor > 1 else img
            try:
                small = _pixels_only(_flatten_rgb(reduced))
            finally:
                reduced.close()
        finally:
            img.close()
    small.thumbnail((side, side), Image.Resampling.LANCZOS)
    return small


def _encode_preview(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    try:
        img.save(buffer, "JPEG", quality=80)
    finally:
        img.close()
    return buffer.getvalue()
