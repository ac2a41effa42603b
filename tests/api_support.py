"""API tokens and request bodies for the tests of /api/v1/."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from casework.accounts.api_tokens import issue_token
from casework.accounts.models import Role, User
from casework.cases.models import Case
from casework.extensions import db
from casework.orm import utcnow
from tests import factories


def token_for(staff: User, *, expires_at: datetime | None = None, name: str = "CRM") -> str:
    """A working token of this user, issued by an admin of their organisation; its secret."""
    admin = factories.user(staff.organisation, Role.ADMIN)
    issued = issue_token(
        db.session, admin=admin, user=staff, name=name, expires_at=expires_at, now=utcnow()
    )
    db.session.commit()
    return issued.secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def new_case_body(**changes: Any) -> dict[str, Any]:
    """A complete report as an integration sends it: the subject files, links only."""
    body: dict[str, Any] = {
        "filer": "subject",
        "minor": "no",
        "posts": [
            {"url": factories.post_url("poster"), "shows": "ai_image"},
            {
                "url": factories.post_url("asker"),
                "shows": "prompt_reply",
                "prompt": "make her undressed",
            },
        ],
        "country": "FR",
        "language": "fr",
        "contact": "none",
        "actions": ["takedown"],
        "consent": True,
    }
    body.update(changes)
    return body


def png_base64(seed: int) -> str:
    return base64.b64encode(factories.image_bytes(seed)).decode()


def valid_bodies(case: Case) -> dict[str, dict[str, Any]]:
    """A body each writing endpoint about a case would accept for it, by endpoint: a
    refusal must then come from the case's organisation alone. A new endpoint needs one."""
    return {
        "api_v1.add_posts": {"links": [factories.post_url("newcomer")]},
        "api_v1.add_screenshots": {
            "post": case.items[0].url,
            "images": [{"filename": "a.png", "content_base64": png_base64(9)}],
        },
    }
