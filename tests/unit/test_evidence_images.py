"""Evidence images: metadata stripping, refusals, polyglots, PDQ and previews."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import struct
import warnings
import zipfile

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageCms, ImageDraw
from PIL.PngImagePlugin import PngInfo

from casework.evidence.images import (
    BLUR_PREVIEW_SIDE,
    MESSAGES,
    ImageRejected,
    SanitisedImage,
    blurred_copy,
    pdq_distance,
    sanitise_image,
    thumbnail,
)
from tests.hostile_files import crafted_png, png_chunk, zip_bytes

MAX_BYTES = 20 * 1024 * 1024
GPS_MARKER = "CaseworkGPSArea"
MAKE_MARKER = "CaseworkCameraMake"
MODEL_MARKER = "CaseworkCameraModel"
XMP_MARKER = b"CaseworkXmpPacket"
COMMENT_MARKER = b"CaseworkJpegComment"
TEXT_MARKER = "CaseworkPngText"


# --- building real images in memory -------------------------------------------------------


def photo(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A photo-like RGB picture: smooth colour fields, shapes and a little grain."""
    rng = np.random.default_rng(seed)
    base = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8))
    img = base.resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x, y = int(rng.integers(0, size[0])), int(rng.integers(0, size[1]))
        r = int(rng.integers(size[0] // 20, size[0] // 4))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    grain = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.blend(img, Image.fromarray(grain), 0.08)


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **params)
    return buffer.getvalue()


def exif_with_gps(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = MAKE_MARKER
    exif[ExifTags.Base.Model] = MODEL_MARKER
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)  # tag 0x8825
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 26.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 39.0)
    gps[ExifTags.GPS.GPSAreaInformation] = GPS_MARKER
    return exif


def icc_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def jpeg_with_metadata() -> bytes:
    data = encode(
        photo(1),
        "JPEG",
        quality=92,
        exif=exif_with_gps(),
        icc_profile=icc_profile(),
        xmp=b"<x:xmpmeta>" + XMP_MARKER + b"</x:xmpmeta>",
        comment=COMMENT_MARKER,
    )
    # Prove the fixture really carries what the sanitiser must remove.
    with Image.open(io.BytesIO(data)) as img:
        assert img.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
        assert img.getexif()[ExifTags.Base.Make] == MAKE_MARKER
        assert "icc_profile" in img.info
    for marker in (MAKE_MARKER.encode(), GPS_MARKER.encode(), XMP_MARKER, COMMENT_MARKER):
        assert marker in data
    return data


def png_with_metadata() -> bytes:
    info = PngInfo()
    info.add_text("Comment", TEXT_MARKER)
    info.add_text("Software", TEXT_MARKER + "Software")
    data = encode(
        photo(2).convert("RGBA"),
        "PNG",
        pnginfo=info,
        icc_profile=icc_profile(),
        exif=exif_with_gps(),
    )
    with Image.open(io.BytesIO(data)) as img:
        assert img.info["Comment"] == TEXT_MARKER
        assert "icc_profile" in img.info
        assert img.getexif()[ExifTags.Base.Make] == MAKE_MARKER
    assert TEXT_MARKER.encode() in data
    return data


def png_chunk_types(data: bytes) -> list[bytes]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    types, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        types.append(data[offset + 4 : offset + 8])
        offset += 12 + length
    return types


def jpeg_markers(data: bytes) -> list[int]:
    """The segment markers before the image data starts (SOS)."""
    assert data.startswith(b"\xff\xd8")
    markers, offset = [], 2
    while True:
        assert data[offset] == 0xFF
        marker = data[offset + 1]
        markers.append(marker)
        if marker == 0xDA:
            return markers
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        offset += 2 + length


def reopen(result: SanitisedImage) -> Image.Image:
    img = Image.open(io.BytesIO(result.data))
    img.load()
    return img


def sanitise(data: bytes, **limits: int) -> SanitisedImage:
    return sanitise_image(data, max_bytes=limits.pop("max_bytes", MAX_BYTES), **limits)


def rejection(data: bytes, **limits: int) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        sanitise(data, **limits)
    return caught.value


# --- metadata is gone -------------------------------------------------------------------------


def test_jpeg_exif_gps_icc_xmp_and_comment_are_removed() -> None:
    result = sanitise(jpeg_with_metadata())

    assert result.media_type == "image/jpeg"
    img = reopen(result)
    assert img.format == "JPEG"
    assert len(img.getexif()) == 0
    assert img.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    for key in ("exif", "icc_profile", "xmp", "comment", "XML:com.adobe.xmp"):
        assert key not in img.info
    for marker in (MAKE_MARKER.encode(), MODEL_MARKER.encode(), GPS_MARKER.encode()):
        assert marker not in result.data
    assert XMP_MARKER not in result.data
    assert COMMENT_MARKER not in result.data
    assert b"Exif\x00\x00" not in result.data
    assert b"ICC_PROFILE" not in result.data
    # Only structural segments: no APPn other than JFIF's APP0, no COM.
    assert set(jpeg_markers(result.data)) <= {0xE0, 0xDB, 0xC0, 0xC4, 0xDA}


def test_png_text_icc_and_exif_are_removed() -> None:
    result = sanitise(png_with_metadata())

    assert result.media_type == "image/png"
    img = reopen(result)
    assert img.format == "PNG"
    assert img.mode == "RGBA"
    assert len(img.getexif()) == 0
    for key in ("Comment", "Software", "icc_profile", "exif"):
        assert key not in img.info
    assert TEXT_MARKER.encode() not in result.data
    assert MAKE_MARKER.encode() not in result.data
    chunks = png_chunk_types(result.data)
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND"
    assert set(chunks) == {b"IHDR", b"IDAT", b"IEND"}  # no tEXt, iCCP, eXIf, ...


def test_webp_exif_icc_and_xmp_are_removed() -> None:
    data = encode(
        photo(3),
        "WEBP",
        quality=90,
        exif=exif_with_gps(),
        icc_profile=icc_profile(),
        xmp=b"<x:xmpmeta>" + XMP_MARKER + b"</x:xmpmeta>",
    )
    assert MAKE_MARKER.encode() in data and XMP_MARKER in data

    result = sanitise(data)

    assert result.media_type == "image/webp"
    img = reopen(result)
    assert img.format == "WEBP"
    assert len(img.getexif()) == 0
    for key in ("exif", "icc_profile", "xmp"):
        assert key not in img.info
    for marker in (MAKE_MARKER.encode(), GPS_MARKER.encode(), XMP_MARKER):
        assert marker not in result.data
    for chunk in (b"EXIF", b"ICCP", b"XMP "):
        assert chunk not in result.data


def test_exif_orientation_is_applied_before_the_exif_is_dropped() -> None:
    img = photo(4, (60, 30))
    img.paste((255, 0, 0), (0, 0, 10, 10))  # a red mark in the stored top-left corner
    data = encode(img, "JPEG", quality=95, exif=exif_with_gps(orientation=6))

    result = sanitise(data)

    # Orientation 6 means "rotate 90° clockwise to display": 60x30 becomes 30x60
    # and the stored top-left corner ends up at the top right.
    assert (result.width, result.height) == (30, 60)
    out = reopen(result).convert("RGB")
    red, green, blue = (int(v) for v in np.asarray(out)[3, 26])
    assert red > 200 and green < 60 and blue < 60
    assert ExifTags.Base.Orientation not in out.getexif()


def test_result_fields_describe_the_reencoded_bytes() -> None:
    result = sanitise(encode(photo(5, (320, 200)), "PNG"))

    assert hashlib.sha256(result.data).hexdigest() == result.sha256
    assert (result.width, result.height) == (320, 200)
    assert len(result.pdq) == 64 and int(result.pdq, 16) >= 0
    assert result.pdq == result.pdq.lower()
    assert 0 <= result.pdq_quality <= 100
    assert "data=" not in repr(result)  # evidence bytes never reach logs
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.sha256 = "0" * 64  # type: ignore[misc]


# --- polyglots ---------------------------------------------------------------------------------


def test_jpeg_with_zip_appended_comes_out_as_pixels_only() -> None:
    payload = zip_bytes()
    polyglot = encode(photo(6), "JPEG", quality=90) + payload
    assert zipfile.is_zipfile(io.BytesIO(polyglot))  # really is both

    result = sanitise(polyglot)

    assert result.media_type == "image/jpeg"
    assert b"PK\x03\x04" not in result.data
    assert b"PK\x05\x06" not in result.data
    assert b"CaseworkZipEntry" not in result.data
    assert result.data.endswith(b"\xff\xd9")
    assert not zipfile.is_zipfile(io.BytesIO(result.data))


def test_jpeg_with_html_appended_and_in_a_comment_is_cleaned() -> None:
    html = b"<html><script>document.write('CaseworkHtml')</script></html>"
    polyglot = encode(photo(7), "JPEG", comment=html) + html

    result = sanitise(polyglot)

    assert b"<script" not in result.data
    assert b"CaseworkHtml" not in result.data


def test_png_with_trailing_data_is_cleaned() -> None:
    polyglot = encode(photo(8, (200, 150)), "PNG") + b"CaseworkTrailer" + zip_bytes()

    result = sanitise(polyglot)

    assert b"CaseworkTrailer" not in result.data
    assert b"PK\x03\x04" not in result.data
    assert result.data.endswith(png_chunk(b"IEND", b""))


# --- refusals ----------------------------------------------------------------------------------


def test_renamed_pdf_is_not_an_image() -> None:
    pdf = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n%%EOF\n"
    error = rejection(pdf)
    assert error.code == "not_an_image"
    assert error.message == (
        "This file is not a picture we can read. Please choose a JPEG, PNG or WebP image."
    )
    assert str(error) == error.message
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    "data",
    [b"", b"hello", b"<html><body>not a picture</body></html>", b"PK\x03\x04" + b"\x00" * 40],
)
def test_other_non_images_are_refused(data: bytes) -> None:
    assert rejection(data).code == "not_an_image"


@pytest.mark.parametrize(
    ("fmt", "params"),
    [("GIF", {}), ("BMP", {}), ("TIFF", {}), ("ICO", {})],
)
def test_real_images_in_other_formats_are_unsupported(fmt: str, params: dict[str, object]) -> None:
    data = encode(photo(9, (64, 48)), fmt, **params)
    assert rejection(data).code == "unsupported_format"


def test_heic_is_unsupported_rather_than_not_an_image() -> None:
    heic_header = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    assert rejection(heic_header).code == "unsupported_format"


def test_oversized_bytes_are_refused_before_any_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode(photo(10, (200, 150)), "PNG")

    def must_not_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoded an oversized upload")

    monkeypatch.setattr(Image, "open", must_not_open)
    error = rejection(data, max_bytes=len(data) - 1)
    assert error.code == "too_large"
    assert error.message == MESSAGES["too_large"]


def test_size_limit_is_inclusive() -> None:
    data = encode(photo(10, (64, 48)), "PNG")
    assert sanitise(data, max_bytes=len(data)).width == 64


def test_decompression_bomb_over_pillows_hard_limit_is_refused() -> None:
    bomb = crafted_png(30_000, 30_000)
    assert len(bomb) < 1_000
    error = rejection(bomb, max_pixels=10**10, max_side=10**6)
    assert error.code == "decompression_bomb"


def test_pillow_bomb_warning_is_an_error_without_changing_global_state() -> None:
    # 100 million pixels: over Image.MAX_IMAGE_PIXELS (warning range) but under twice it.
    bomb = crafted_png(10_000, 10_000)
    limit_before = Image.MAX_IMAGE_PIXELS
    filters_before = list(warnings.filters)

    error = rejection(bomb, max_pixels=10**9, max_side=10**6)

    assert error.code == "decompression_bomb"
    assert limit_before == Image.MAX_IMAGE_PIXELS
    assert warnings.filters == filters_before


def test_tiny_file_declaring_more_than_our_pixel_limit_is_a_bomb() -> None:
    bomb = crafted_png(
        7_000, 7_000
    )  # 49 MP from 100 bytes: far beyond any honest ratio of pixels to bytes
    assert rejection(bomb).code == "decompression_bomb"


def test_huge_dimension_is_refused() -> None:
    long_strip = crafted_png(20_000, 2)  # only 40,000 pixels, but wider than 12,000
    assert rejection(long_strip).code == "too_many_pixels"


def test_honest_but_too_big_pictures_are_too_many_pixels() -> None:
    data = encode(photo(11, (400, 300)), "JPEG", quality=95)
    assert rejection(data, max_pixels=100_000).code == "too_many_pixels"
    assert rejection(data, max_side=399).code == "too_many_pixels"
    assert sanitise(data, max_pixels=120_000, max_side=400).width == 400


def test_truncated_jpeg_is_corrupt() -> None:
    data = encode(photo(12), "JPEG")
    assert rejection(data[: len(data) // 2]).code == "corrupt"


def test_truncated_png_is_corrupt() -> None:
    data = encode(photo(12, (200, 150)), "PNG")
    assert rejection(data[:100]).code == "corrupt"


def test_garbage_after_a_png_signature_is_corrupt() -> None:
    assert rejection(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50).code == "corrupt"


def test_every_rejection_has_a_plain_message() -> None:
    for code, message in MESSAGES.items():
        assert message.endswith(".")
        assert ImageRejected(code).message == message
        assert ImageRejected(code, "Custom.").message == "Custom."


# --- formats and modes -------------------------------------------------------------------------


def test_cmyk_jpeg_becomes_rgb_jpeg() -> None:
    result = sanitise(encode(photo(13, (120, 80)).convert("CMYK"), "JPEG"))
    img = reopen(result)
    assert (result.media_type, img.mode) == ("image/jpeg", "RGB")


def test_greyscale_jpeg_stays_greyscale() -> None:
    result = sanitise(encode(photo(13, (120, 80)).convert("L"), "JPEG"))
    assert reopen(result).mode == "L"


def test_palette_png_with_transparency_becomes_rgba_png() -> None:
    img = photo(14, (80, 60)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    result = sanitise(encode(img, "PNG", transparency=0))
    out = reopen(result)
    assert (result.media_type, out.mode) == ("image/png", "RGBA")
    assert "transparency" not in out.info


def test_palette_png_without_transparency_becomes_rgb_png() -> None:
    img = photo(14, (80, 60)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    assert reopen(sanitise(encode(img, "PNG"))).mode == "RGB"


def test_la_png_becomes_rgba() -> None:
    assert reopen(sanitise(encode(photo(15, (50, 40)).convert("LA"), "PNG"))).mode == "RGBA"


def test_sixteen_bit_greyscale_png_is_scaled_not_clipped() -> None:
    ramp = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (16, 1))
    result = sanitise(encode(Image.fromarray(ramp), "PNG"))
    out = np.asarray(reopen(result))
    assert out.dtype == np.uint8
    assert out[0, 0] == 0 and out[0, -1] == 255
    assert 100 < out[0, 128] < 156  # the middle of the ramp stays mid-grey


def test_webp_alpha_is_kept_and_lossless_stays_lossless() -> None:
    img = photo(16, (100, 80)).convert("RGBA")
    img.putalpha(128)
    result = sanitise(encode(img, "WEBP", lossless=True))
    assert result.media_type == "image/webp"
    assert result.data[12:16] == b"VP8L"
    assert reopen(result).mode == "RGBA"


def test_multi_picture_jpeg_from_a_phone_is_accepted_as_jpeg() -> None:
    first, second = photo(17, (96, 64)), photo(18, (96, 64))
    data = encode(first, "MPO", save_all=True, append_images=[second])
    result = sanitise(data)
    assert result.media_type == "image/jpeg"
    assert reopen(result).format == "JPEG"


def test_format_is_decided_by_content_not_by_what_the_caller_thinks() -> None:
    # A PNG is a PNG even when the upload claimed to be a JPEG: there is no name
    # or content type to pass in at all.
    result = sanitise(encode(photo(19, (64, 48)), "PNG"))
    assert result.media_type == "image/png"


# --- PDQ ---------------------------------------------------------------------------------------


def test_pdq_survives_recompression_and_resizing_but_separates_other_pictures() -> None:
    original = photo(20)
    altered = original.resize((480, 360), Image.Resampling.BILINEAR)
    unrelated = photo(21)

    a = sanitise(encode(original, "JPEG", quality=95))
    b = sanitise(encode(altered, "JPEG", quality=60))
    c = sanitise(encode(unrelated, "JPEG", quality=95))

    assert pdq_distance(a.pdq, b.pdq) <= 31
    assert pdq_distance(a.pdq, c.pdq) > 64
    assert a.pdq_quality >= 50


def test_pdq_of_a_png_matches_a_jpeg_of_the_same_picture() -> None:
    img = photo(22)
    as_png = sanitise(encode(img, "PNG"))
    as_jpeg = sanitise(encode(img, "JPEG", quality=70))
    assert pdq_distance(as_png.pdq, as_jpeg.pdq) <= 31


def test_pdq_distance_checks_its_input() -> None:
    assert pdq_distance("0" * 64, "f" * 64) == 256
    assert pdq_distance("a" * 64, "a" * 64) == 0
    with pytest.raises(ValueError):
        pdq_distance("abc", "0" * 64)


# --- previews ----------------------------------------------------------------------------------


def checkerboard(size: int = 640, square: int = 8) -> Image.Image:
    cells = (np.indices((size, size)) // square).sum(axis=0) % 2
    return Image.fromarray((cells * 255).astype(np.uint8)).convert("RGB")


def test_blurred_copy_is_a_small_heavily_blurred_jpeg() -> None:
    sanitised = sanitise(encode(checkerboard(), "PNG"))

    preview = blurred_copy(sanitised.data)

    img = Image.open(io.BytesIO(preview))
    assert img.format == "JPEG"
    assert max(img.size) <= BLUR_PREVIEW_SIDE
    assert np.asarray(img.convert("L"), dtype=np.float64).std() < 10  # the 0/255 squares are gone


def test_thumbnail_keeps_aspect_and_flattens_transparency() -> None:
    img = photo(23, (800, 400)).convert("RGBA")
    img.putalpha(0)  # fully transparent: must come out white, not the hidden colours
    sanitised = sanitise(encode(img, "PNG"))

    thumb = Image.open(io.BytesIO(thumbnail(sanitised.data)))

    assert thumb.format == "JPEG"
    assert thumb.size == (320, 160)
    assert thumb.mode == "RGB"
    assert np.asarray(thumb).min() > 240


def test_thumbnail_of_jpeg_and_custom_size() -> None:
    sanitised = sanitise(encode(photo(24, (1200, 900)), "JPEG"))
    thumb = Image.open(io.BytesIO(thumbnail(sanitised.data, size=100)))
    assert thumb.size == (100, 75)


def test_previews_refuse_non_images_and_bad_arguments() -> None:
    with pytest.raises(ImageRejected):
        thumbnail(b"%PDF-1.7")
    with pytest.raises(ImageRejected):
        blurred_copy(crafted_png(30_000, 30_000))
    sanitised = sanitise(encode(photo(25, (64, 48)), "PNG"))
    with pytest.raises(ValueError):
        thumbnail(sanitised.data, size=0)
    with pytest.raises(ValueError):
        blurred_copy(sanitised.data, radius=0)
