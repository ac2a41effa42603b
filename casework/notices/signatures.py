"""The person's own word for a notice: staff ask for it, the person gives it on their case page.

Where a law wants the depicted person's statement, name or signature (the TAKE IT DOWN
Act's good-faith statement, a French plainte, a GDPR request), a caseworker asks; the
person is emailed, if they gave an address, with nothing about the case in the message;
on their case page they read the statements' exact text, give their name as they want it
in the letter and sign by typing it. The notice is then signed by them, as the person
depicted, and its letter prints their statements and signature. A representative's
signature stays possible: staff simply do not ask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from casework.actors import Actor
from casework.audit.events import notice_event
from casework.cases.models import Case
from casework.notices.completeness import STATEMENT_ELEMENTS
from casework.notices.models import Notice, NoticeState, VictimSignature
from casework.notices.rendering import statement_texts
from casework.notifications.models import OutgoingEmail
from casework.notifications.services import queue_email
from casework.orm import DbSession, utcnow
from casework.registry import Route

__all__ = [
    "SignatureError",
    "SignedWord",
    "ask_for_signature",
    "open_requests",
    "sign",
    "signature_of",
    "statements_to_sign",
]

MAX_NAME = 200


class SignatureError(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SignedWord:
    name: str
    typed_signature: str
    confirmed: bool


def statements_to_sign(route: Route) -> list[str]:
    """The statements of the route that only the signatory can make."""
    elements = {*route.required_elements, *route.recommended_elements}
    return [code for code in STATEMENT_ELEMENTS if code in elements]


def signature_of(session: DbSession, notice: Notice) -> VictimSignature | None:
    """The latest request for the person's signature on this notice, signed or not."""
    return session.scalar(
        select(VictimSignature)
        .where(VictimSignature.notice_id == notice.id)
        .order_by(VictimSignature.id.desc())
        .limit(1)
    )


def ask_for_signature(
    session: DbSession,
    notice: Notice,
    route: Route,
    actor: Actor,
    *,
    case_page_url: str,
    requested_by_id: int | None = None,
    now: datetime | None = None,
) -> tuple[VictimSignature, OutgoingEmail | None]:
    """Ask the person to sign this notice's statements; the email, if any, is queued.

    Asking again while a request is open returns it without a second email. The caller
    commits, then asks for delivery.
    """
    if notice.state is not NoticeState.DRAFT:
        raise SignatureError(_("A notice recorded as sent cannot be signed any more."))
    open_request = signature_of(session, notice)
    if open_request is not None and open_request.signed_at is None:
        return open_request, None
    case = notice.case
    statements = statements_to_sign(route)
    texts = statement_texts(case.language)
    request = VictimSignature(
        case_id=case.id,
        notice_id=notice.id,
        requested_by_id=requested_by_id,
        requested_at=now or utcnow(),
        statements=statements,
        language=case.language,
        statement_text="\n\n".join(texts[code] for code in statements if code in texts),
    )
    session.add(request)
    session.flush()
    notice_event(session, actor, notice, "notice.signature_requested", request_id=request.id)
    email = None
    if case.contact_email:
        with force_locale(case.language):
            subject = _("There is something to sign on your case page")
            body = render_template("email/signature_request.txt", case_page_url=case_page_url)
        email = queue_email(
            session,
            recipient=case.contact_email,
            subject=subject,
            body=body,
            organisation_id=case.organisation_id,
            case_id=case.id,
        )
    return request, email


def open_requests(session: DbSession, case: Case) -> Sequence[VictimSignature]:
    """The requests waiting for the person on their case page, oldest first."""
    return session.scalars(
        select(VictimSignature)
        .join(Notice, Notice.id == VictimSignature.notice_id)
        .where(
            VictimSignature.case_id == case.id,
            VictimSignature.signed_at.is_(None),
            Notice.state == NoticeState.DRAFT,
        )
        .order_by(VictimSignature.id)
    ).all()


def _plain(text: str) -> str:
    return " ".join(text.split()).casefold()


def sign(
    session: DbSession,
    request: VictimSignature,
    word: SignedWord,
    actor: Actor,
    *,
    now: datetime | None = None,
) -> None:
    """Record the person's signature and sign the notice with it. The caller commits."""
    name = " ".join(word.name.split())
    typed = " ".join(word.typed_signature.split())
    if not name:
        raise SignatureError(_("Enter your name as you want it in the letter."), "name")
    if len(name) > MAX_NAME:
        raise SignatureError(_("Keep this under %(n)d characters.", n=MAX_NAME), "name")
    if not typed:
        raise SignatureError(_("Type your name to sign."), "typed_signature")
    if _plain(typed) != _plain(name):
        raise SignatureError(
            _("Type your name exactly as you wrote it above to sign."), "typed_signature"
        )
    if not word.confirmed:
        raise SignatureError(_("Confirm that the statements are true to sign."), "confirm")
    notice = request.notice
    if request.signed_at is not None:
        raise SignatureError(_("You have already signed this."))
    if notice.state is not NoticeState.DRAFT:
        raise SignatureError(_("This notice has already been sent, so it cannot be signed."))
    moment = now or utcnow()
    request.signer_name = name
    request.typed_signature = typed
    request.signed_at = moment
    notice.signature_name = name
    notice.signatory_capacity = "subject"
    notice.signed_at = moment
    # They sign as the person depicted: the name they give identifies that person, unless
    # staff recorded one already.
    notice.depicted_person = notice.depicted_person or name
    # Only what the person read and confirmed: statements ticked by staff before are not
    # theirs to make.
    notice.statements = [code for code in STATEMENT_ELEMENTS if code in request.statements]
    notice_event(
        session,
        actor,
        notice,
        "notice.signed_by_person",
        request_id=request.id,
        statements=list(request.statements),
    )
