"""Time-based one-time codes (RFC 6238): secrets, enrolment URIs, QR codes and code matching."""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from datetime import datetime

import pyotp
import segno
from markupsafe import Markup

from casework.evidence import crypto

ISSUER = "Casework"
# One step either side of now, so a phone clock 30 seconds off still works.
VALID_WINDOW = 1
_CODE_RE = re.compile(r"^\d{6}$")


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account_name: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=ISSUER)


def qr_svg(uri: str) -> Markup:
    """The URI as an inline SVG QR code, drawn here: no script, no third party.

    A viewBox and no fixed size, so the stylesheet can size it without cropping it.
    """
    svg = segno.make(uri, error="m").svg_inline(
        scale=5, border=4, dark="#000", light="#fff", omitsize=True
    )
    # segno draws this SVG itself; no user text is in it.
    return Markup(svg)  # noqa: S704  # nosec B704


def grouped(secret: str) -> str:
    """The secret in blocks of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def normalise_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "")


def matching_counter(secret: str, code: str, at: datetime) -> int | None:
    """The time step whose code this is, within the valid window of `at`, or None.

    Returning the step (not just True) lets the caller refuse a code already used.
    """
    code = normalise_code(code)
    if not _CODE_RE.match(code):
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(at)
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def code_at(secret: str, at: datetime) -> str:
    """The code an authenticator app shows at `at` (for tests and the demo)."""
    return pyotp.TOTP(secret).at(at)


def seal_secret(key: bytes, secret: str, *, user_id: int, slot: str) -> str:
    """The secret encrypted for storage (AES-256-GCM, the evidence envelope), as text.

    The associated data names the user and the slot (active or pending), so a
    stored value copied onto another account, or from one slot to the other, fails.
    """
    blob = crypto.encrypt(key, secret.encode("ascii"), associated_data=_aad(user_id, slot))
    return base64.urlsafe_b64encode(blob).decode("ascii")


def open_secret(key: bytes, sealed: str, *, user_id: int, slot: str) -> str:
    """The secret back from seal_secret(); raises EvidenceDecryptError if it was altered."""
    try:
        blob = base64.urlsafe_b64decode(sealed.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise crypto.EvidenceDecryptError("stored second-factor secret is malformed") from None
    return crypto.decrypt(key, blob, associated_data=_aad(user_id, slot)).decode("ascii")


def _aad(user_id: int, slot: str) -> bytes:
    return f"totp:{slot}:{user_id}".encode("ascii")
