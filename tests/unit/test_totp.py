"""TOTP codes: the window either side of now, the step a code belongs to, and the QR code."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from casework.accounts import totp

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = datetime(2026, 3, 1, 12, 0, 10, tzinfo=UTC)


def test_a_code_from_now_or_one_step_either_side_matches_its_own_step() -> None:
    step = totp.matching_counter(SECRET, totp.code_at(SECRET, NOW), NOW)
    assert step is not None
    for offset in (-1, 1):
        code = totp.code_at(SECRET, NOW + timedelta(seconds=30 * offset))
        assert totp.matching_counter(SECRET, code, NOW) == step + offset


def test_a_code_two_steps_away_is_refused() -> None:
    for offset in (-2, 2):
        code = totp.code_at(SECRET, NOW + timedelta(seconds=30 * offset))
        assert totp.matching_counter(SECRET, code, NOW) is None


def test_spaces_and_dashes_are_forgiven_but_not_other_characters() -> None:
    code = totp.code_at(SECRET, NOW)
    assert totp.matching_counter(SECRET, f"{code[:3]} {code[3:]}", NOW) is not None
    assert totp.matching_counter(SECRET, f"{code[:3]}-{code[3:]}", NOW) is not None
    assert totp.matching_counter(SECRET, code + "0", NOW) is None
    assert totp.matching_counter(SECRET, "abcdef", NOW) is None
    assert totp.matching_counter(SECRET, "", NOW) is None


def test_the_enrolment_uri_and_qr_code() -> None:
    uri = totp.provisioning_uri(SECRET, "ana@example.org")
    assert uri.startswith("otpauth://totp/Casework:ana%40example.org?")
    assert f"secret={SECRET}" in uri
    svg = str(totp.qr_svg(uri))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    # Strict CSP: no inline style attributes or scripts in the drawing.
    assert "style=" not in svg and "<script" not in svg


def test_the_qr_code_scales_whole_to_whatever_size_css_gives_it() -> None:
    """A fixed width/height without a viewBox crops the code when CSS resizes it."""
    svg = str(totp.qr_svg(totp.provisioning_uri(SECRET, "ana@example.org")))
    opening = svg[: svg.index(">")]
    view_box = re.search(r'viewBox="0 0 (\d+) (\d+)"', opening)
    assert view_box is not None, opening
    assert view_box.group(1) == view_box.group(2)
    assert "width=" not in opening and "height=" not in opening


def test_new_secrets_are_long_and_different() -> None:
    first, second = totp.new_secret(), totp.new_secret()
    assert first != second
    assert len(first) >= 32
    assert totp.grouped("ABCDEFGHIJ") == "ABCD EFGH IJ"
