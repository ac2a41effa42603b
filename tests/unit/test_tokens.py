"""Set-password tokens: signed, time-limited by purpose, and dead once the password changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from casework.accounts.models import Role, User
from casework.accounts.tokens import TokenPurpose, make_token, read_token, token_is_current

KEY = "k" * 40
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _user() -> User:
    return User(
        id=7,
        organisation_id=1,
        email="a@b.org",
        name="A",
        role=Role.LAWYER,
        password_hash="$argon2id$old",
        session_version=3,
    )


def test_a_token_names_its_user_and_purpose_and_nothing_else() -> None:
    user = _user()
    token = make_token(KEY, user, TokenPurpose.RESET, now=NOW)
    claim = read_token(KEY, token)
    assert claim is not None
    assert (claim.user_id, claim.purpose) == (7, TokenPurpose.RESET)
    assert claim.issued_at == NOW
    assert "argon2" not in token and "a@b.org" not in token
    assert token_is_current(KEY, claim, user, now=NOW + timedelta(minutes=59))


def test_reset_tokens_last_an_hour_and_invitations_three_days() -> None:
    user = _user()
    reset = read_token(KEY, make_token(KEY, user, TokenPurpose.RESET, now=NOW))
    invite = read_token(KEY, make_token(KEY, user, TokenPurpose.INVITE, now=NOW))
    assert reset is not None and invite is not None
    assert not token_is_current(KEY, reset, user, now=NOW + timedelta(minutes=61))
    assert token_is_current(KEY, invite, user, now=NOW + timedelta(days=2, hours=23))
    assert not token_is_current(KEY, invite, user, now=NOW + timedelta(days=3, minutes=1))


def test_a_new_password_or_session_version_spends_the_token() -> None:
    user = _user()
    claim = read_token(KEY, make_token(KEY, user, TokenPurpose.RESET, now=NOW))
    assert claim is not None
    user.password_hash = "$argon2id$new"
    assert not token_is_current(KEY, claim, user, now=NOW)
    user.password_hash = "$argon2id$old"
    user.session_version = 4
    assert not token_is_current(KEY, claim, user, now=NOW)


def test_a_token_signed_with_another_key_or_altered_is_not_read() -> None:
    token = make_token(KEY, _user(), TokenPurpose.RESET, now=NOW)
    assert read_token("another key entirely", token) is None
    assert read_token(KEY, token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]) is None
    assert read_token(KEY, "garbage") is None
