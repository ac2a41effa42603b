"""What a victim can do with their own case: open it, add to it, change contact, withdraw, delete.

Every function here writes its audit event and leaves the commit to the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from casework.actors import VICTIM
from casework.audit.events import case_event
from casework.cases.models import Case, CaseStatus
from casework.cases.references import normalise_reference
from casework.cases.retention import delete_case
from casework.cases.services import NewItem, add_evidence, add_items
from casework.cases.workflow import TransitionError, transition
from casework.evidence.files import ImagesNotAccepted, image_count
from casework.evidence.images import SanitisedImage
from casework.evidence.storage import EvidenceStorage
from casework.evidence.xlinks import XPost
from casework.intake.access_codes import verify_access_code
from casework.intake.drafts import DeviceFile
from casework.orm import DbSession
from casework.sessions.services import rotate_case_key

__all__ = [
    "CannotWithdraw",
    "ImagesNotAccepted",
    "add_images",
    "add_links",
    "case_for_access",
    "delete_case",
    "image_count",
    "update_contact",
    "withdraw_case",
]


class CannotWithdraw(Exception):
    """The case is already closed, resolved or withdrawn."""


def case_for_access(session: DbSession, reference_text: str, code: str) -> Case | None:
    """The case this reference and access code open, or None; a wrong reference and a
    wrong code take the same time and give the same answer."""
    reference = normalise_reference(reference_text)
    case = None
    if reference is not None:
        case = session.scalar(select(Case).where(Case.reference == reference))
    if not verify_access_code(case.access_code_hash if case else None, code):
        return None
    return case


def record_sign_in(session: DbSession, case: Case) -> None:
    """The access code was used: earlier sessions of the case end, and it is audited."""
    rotate_case_key(session, case)
    case_event(session, VICTIM, case, "case.victim_signed_in")


@dataclass(frozen=True)
class LinksAdded:
    added: int
    already_there: int


def add_links(session: DbSession, case: Case, posts: Sequence[XPost]) -> LinksAdded:
    """Add posts to the victim's case; posts it already has are counted, not repeated."""
    added = add_items(session, case, [NewItem(post=post) for post in posts], VICTIM)
    return LinksAdded(added=len(added), already_there=len(posts) - len(added))


def add_images(
    session: DbSession,
    case: Case,
    storage: EvidenceStorage,
    *,
    images: Sequence[tuple[str, SanitisedImage]],
    device_files: Sequence[DeviceFile],
    new_keys: list[str],
) -> int:
    """Store screenshots (or only their hashes) for the case; refused outright for a minor.

    Files already in the case (same SHA-256) are skipped. Returns how many were added.
    """
    added = add_evidence(
        session,
        case,
        storage,
        VICTIM,
        images=images,
        hash_only=device_files,
        new_keys=new_keys,
    )
    return len(added)


def update_contact(session: DbSession, case: Case, *, language: str, email: str | None) -> None:
    """Change the language and email (None: do not contact me)."""
    case.language = language
    case.contact_email = email
    case_event(
        session, VICTIM, case, "case.contact_changed", language=language, email=email is not None
    )


def withdraw_case(session: DbSession, case: Case) -> None:
    """The victim stops the case; the workflow decides whether it still can be.

    Every session of the case ends: the caller opens a new one for this browser.
    """
    try:
        transition(session, case, CaseStatus.WITHDRAWN, VICTIM, reason="victim_request")
    except TransitionError as exc:
        raise CannotWithdraw(case.status.value) from exc
    rotate_case_key(session, case)
