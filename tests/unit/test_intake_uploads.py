"""Screenshots as they arrive: each sanitised alone, hashes from the device checked strictly."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass

from casework.intake.uploads import (
    MAX_FILES_PER_REQUEST,
    chosen_files,
    clean_file_name,
    parse_device_files,
    sanitise_uploads,
)
from tests.intake_support import pdf_bytes, photo


@dataclass
class FakeUpload:
    filename: str | None
    data: bytes

    def read(self, size: int = -1) -> bytes:
        return io.BytesIO(self.data).read(size)


def test_each_file_is_judged_alone() -> None:
    files = [FakeUpload("ok.jpg", photo(1)), FakeUpload("doc.jpg", pdf_bytes())]
    result = sanitise_uploads(files, max_bytes=1_000_000, room=10)
    assert [name for name, _ in result.images] == ["ok.jpg"]
    assert [(p.name, p.code) for p in result.problems] == [("doc.jpg", "not_an_image")]


def test_an_oversized_file_is_refused_after_reading_one_byte_past_the_limit() -> None:
    reads: list[int] = []

    class Counting(FakeUpload):
        def read(self, size: int = -1) -> bytes:
            reads.append(size)
            return super().read(size)

    result = sanitise_uploads(
        [Counting("big.png", b"\x89PNG" + bytes(5000))], max_bytes=100, room=5
    )
    assert reads == [101]
    assert result.problems[0].code == "too_large"


def test_files_beyond_the_room_left_are_refused() -> None:
    files = [FakeUpload(f"{n}.jpg", photo(n)) for n in range(MAX_FILES_PER_REQUEST + 1)]
    result = sanitise_uploads(files, max_bytes=1_000_000, room=2)
    assert len(result.images) == 2
    assert {p.code for p in result.problems} == {"too_many_files"}


def test_empty_file_inputs_are_ignored() -> None:
    assert chosen_files([FakeUpload("", b""), FakeUpload(None, b""), FakeUpload("a", b"x")]) == [
        FakeUpload("a", b"x")
    ]


def test_file_names_lose_folders_and_control_characters() -> None:
    assert clean_file_name("C:\\Users\\me\\Desktop\\shot.png") == "shot.png"
    assert clean_file_name("../../etc/passwd") == "passwd"
    assert clean_file_name("a\u202eb\x00c.png") == "abc.png"
    assert clean_file_name("") == "image"
    assert len(clean_file_name("x" * 500)) == 120


def test_device_hashes_are_read_and_anything_malformed_refuses_the_whole_list() -> None:
    digest = hashlib.sha256(b"img").hexdigest()
    good = {"sha256": digest, "name": "a.jpg", "size": 3, "type": "image/jpeg"}
    files, problems = parse_device_files(json.dumps([good, good]), room=5)
    assert [(f.sha256, f.name, f.size, f.media_type) for f in files] == [
        (digest, "a.jpg", 3, "image/jpeg")
    ]
    assert problems == []
    for bad in (
        "not json",
        json.dumps({"sha256": digest}),
        json.dumps([{**good, "sha256": digest.upper()}]),
        json.dumps([{**good, "size": True}]),
        json.dumps([{**good, "size": 0}]),
        json.dumps([{**good, "type": "application/pdf"}]),
        json.dumps([{**good, "name": 7}]),
    ):
        files, problems = parse_device_files(bad, room=5)
        assert files == [] and [p.code for p in problems] == ["bad_hash_list"], bad
    assert parse_device_files("  ", room=5) == ([], [])


def test_a_device_pdq_is_read_with_its_quality_and_anything_malformed_refuses_the_list() -> None:
    digest = hashlib.sha256(b"img").hexdigest()
    pdq = "f0e1d2c3b4a59687" * 4
    good = {"sha256": digest, "name": "a.jpg", "size": 3, "pdq": pdq, "quality": 100}
    files, problems = parse_device_files(json.dumps([good]), room=5)
    assert [(f.pdq, f.pdq_quality) for f in files] == [(pdq, 100)] and problems == []
    files, _ = parse_device_files(json.dumps([{**good, "quality": 0}]), room=5)
    assert files[0].pdq_quality == 0
    # A browser that could not decode the picture sends its SHA-256 alone.
    without = {k: v for k, v in good.items() if k not in {"pdq", "quality"}}
    files, _ = parse_device_files(json.dumps([without]), room=5)
    assert [(f.pdq, f.pdq_quality) for f in files] == [(None, None)]
    for bad in (
        {**good, "pdq": pdq.upper()},
        {**good, "pdq": pdq[:-1]},
        {**good, "pdq": pdq + "0"},
        {**good, "pdq": "g" + pdq[1:]},
        {**good, "pdq": 7},
        {**good, "quality": 101},
        {**good, "quality": -1},
        {**good, "quality": True},
        {**good, "quality": "50"},
        {**good, "quality": 50.5},
        {**good, "quality": None},
        {**good, "pdq": None},
    ):
        files, problems = parse_device_files(json.dumps([good, bad]), room=5)
        assert files == [] and [p.code for p in problems] == ["bad_hash_list"], bad
