"""Letters: render a route's letter for a case, store it as an immutable version, audit use."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from casework.actors import Actor, ActorKind
from casework.audit.events import letter_event
from casework.cases.models import Case, MinorStatus
from casework.cases.readiness import refresh_legal_ready
from casework.evidence.files import evidence_storage
from casework.notices.completeness import missing_for
from casework.notices.exhibits import exhibit_images, files_by_item
from casework.notices.models import Letter, Notice
from casework.notices.rendering import letter_is_draft, render_letter_pdf, template_version
from casework.notices.services import (
    NoticeError,
    draft_facts,
    earlier_notice,
    letter_moment,
    letter_posts,
    notice_facts,
    route_or_error,
)
from casework.notices.snapshot import LetterSource, build_snapshot, content_fingerprint
from casework.orm import DbSession, utcnow
from casework.registry import Registry, default_registry

__all__ = [
    "LetterError",
    "create_letter",
    "latest_letter",
    "letter_filename",
    "record_download",
    "render_letter_pdf",
]


class LetterError(NoticeError):
    """A letter the rules refuse to make."""


def _next_version(session: DbSession, case_id: int, route_key: str) -> int:
    current = session.scalar(
        select(func.max(Letter.version)).where(
            Letter.case_id == case_id, Letter.route_key == route_key
        )
    )
    return int(current or 0) + 1


def latest_letter(session: DbSession, case_id: int, route_key: str) -> Letter | None:
    return session.scalar(
        select(Letter)
        .where(Letter.case_id == case_id, Letter.route_key == route_key)
        .order_by(Letter.version.desc())
        .limit(1)
    )


def create_letter(
    session: DbSession,
    *,
    case: Case,
    route_key: str,
    actor: Actor,
    notice: Notice | None = None,
    include_screenshots: bool = False,
    blur_screenshots: bool = True,
    skip_if_unchanged: bool = False,
    registry: Registry | None = None,
    now: datetime | None = None,
) -> Letter:
    """Render the route's letter for the case and store it as a new version. The caller commits.

    Without a notice, the letter is a draft built from the case. The letter lists only the
    posts the route's law covers or may cover (services.letter_posts), with the evidence
    of those alone; a letter left with none is a draft that says so. A route that follows an
    earlier step (the FTC after a missed TAKE IT DOWN Act deadline) refers to an earlier
    notice only when one its registry entry follows is on file and due, covers that
    notice's items, and appends the letter version that was sent. A letter lacking a
    required element or printing a placeholder is stored as a draft. Screenshots appear
    only when asked for, blurred unless `blur_screenshots` is False, and never for a minor. With
    `skip_if_unchanged`, a letter whose content equals the latest version's is not made
    again (for jobs that may run twice). Audits "letter.generated".
    """
    registry = registry or default_registry()
    route = route_or_error(route_key, registry)
    if notice is not None and (notice.case_id != case.id or notice.route_key != route.key):
        raise LetterError(_("This notice belongs to another case or route."))
    now = now or utcnow()
    moment = letter_moment(notice, now)
    related = earlier_notice(
        session,
        case,
        route,
        as_of=moment,
        chosen=notice.related_notice if notice is not None else None,
        registry=registry,
    )
    annex = _sent_pdf(related)
    posts = letter_posts(case, route, notice, related)
    items = posts.kept
    facts = (
        notice_facts(session, notice, registry=registry, as_of=moment)
        if notice is not None
        else draft_facts(session, case, route, related, registry=registry)
    )
    missing = [m.code for m in missing_for(route, facts)]
    files = files_by_item(session, [item.id for item in items])
    minor = case.minor is not MinorStatus.NO
    show = include_screenshots and not minor
    images: dict[str, bytes] = {}
    if show:
        all_files = [f for item in items for f in files.get(item.id, ())]
        images = exhibit_images(
            all_files, evidence_storage(current_app.config, session), blur=blur_screenshots
        )

    # The case row's lock orders concurrent generations, so each takes the next version
    # number (the version is printed in the letter, so it is fixed before rendering).
    session.execute(select(Case.id).where(Case.id == case.id).with_for_update())
    version = _next_version(session, case.id, route.key)
    source = LetterSource(
        case=case,
        route=route,
        registry=registry,
        notice=notice,
        related=related,
        items=items,
        files=files,
        missing=missing,
        include_screenshots=show,
        blur_screenshots=blur_screenshots,
        images=frozenset(images),
    )
    snapshot = build_snapshot(source, version=version, generated_at=now)
    # The language is the addressee's where the route writes in it (a coordinator's).
    template = route.template_for(snapshot["route"]["language"])
    if skip_if_unchanged:
        previous = latest_letter(session, case.id, route.key)
        if previous is not None and content_fingerprint(
            previous.data_snapshot
        ) == content_fingerprint(snapshot):
            return previous
    snapshot["draft"] = letter_is_draft(snapshot, template)
    pdf = render_letter_pdf(snapshot, template, images=images, annex=annex)
    letter = Letter(
        case_id=case.id,
        notice_id=notice.id if notice is not None else None,
        route_key=route.key,
        version=version,
        template=template,
        template_version=template_version(template),
        registry_version=registry.version,
        data_snapshot=snapshot,
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
        draft=snapshot["draft"],
        created_by_id=actor.id if actor.kind is ActorKind.USER else None,
        created_at=now,
    )
    session.add(letter)
    session.flush()
    refresh_legal_ready(session, [letter.case_id])

    letter_event(
        session,
        actor,
        letter,
        "letter.generated",
        route=route.key,
        version=version,
        notice=notice.id if notice is not None else None,
        sha256=letter.sha256,
        template_version=letter.template_version,
        registry_version=letter.registry_version,
        screenshots=len(images),
        missing=missing,
        left_out=[item.id for item in posts.left_out],
        draft=letter.draft,
        annexed_letter=related.sent_letter_id if related is not None else None,
    )
    return letter


def _sent_pdf(related: Notice | None) -> bytes | None:
    """The PDF of the letter version the earlier notice went out as, checked against its hash."""
    if related is None or related.sent_letter is None:
        return None
    sent = related.sent_letter
    if sent.destroyed_at is not None:
        raise LetterError(
            _(
                "The letter sent for the earlier notice held images of a minor and was "
                "destroyed: it cannot be annexed."
            )
        )
    if hashlib.sha256(sent.pdf).hexdigest() != sent.sha256:
        raise LetterError(
            _("The letter sent for the earlier notice no longer matches its SHA-256.")
        )
    return sent.pdf


def record_download(
    session: DbSession, letter: Letter, actor: Actor, *, inline: bool = False
) -> None:
    """Audit that someone took a copy of a letter. The caller commits."""
    letter_event(
        session,
        actor,
        letter,
        "letter.downloaded",
        route=letter.route_key,
        version=letter.version,
        sha256=letter.sha256,
        mode="inline" if inline else "attachment",
    )


def letter_filename(letter: Letter, reference: str | None = None) -> str:
    """A safe file name: case reference, route and version (no personal data)."""
    ref = reference or letter.case.reference
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{ref}_{letter.route_key}_v{letter.version}")
    return f"{stem}.pdf"
