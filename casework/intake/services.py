"""Intake operations: keep each page's answers in the draft, then turn the draft into a case.

Nothing here touches the case tables until submit_report, which adds the case,
its items, evidence, audit events and the confirmation email in the caller's
transaction.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import select

from casework.accounts.models import Organisation
from casework.actors import VICTIM, Actor, ActorKind
from casework.audit.services import NewEvent, record_events
from casework.cases.models import Case, FilerRole, ItemKind, MinorStatus
from casework.cases.services import NewCase, NewItem, evidence_added, open_case
from casework.cases.services import evidence_added_event as case_evidence_added_event
from casework.evidence.crypto import load_key
from casework.evidence.files import (
    image_row,
    images_allowed,
    keep_in_storage,
)
from casework.evidence.models import EvidenceFile
from casework.evidence.storage import EvidenceStorage
from casework.evidence.xlinks import LinkList, XPost, read_link_lines
from casework.extensions import db
from casework.intake import flow
from casework.intake.access_codes import generate_access_code, hash_access_code
from casework.intake.choices import LANGUAGES, RELATIONSHIPS, WANTED_ACTIONS, is_known_country
from casework.intake.drafts import DeviceFile, Draft, DraftScreenshot, DraftStore
from casework.intake.emails import confirmation_email
from casework.intake.forms import MAX_PROMPT_CHARS, NOT_SAYING
from casework.intake.uploads import (
    MAX_DEVICE_FILES_PER_CASE,
    MAX_IMAGES_PER_CASE,
    FileProblem,
    Upload,
    chosen_files,
    device_file_row,
    parse_device_files,
    sanitise_uploads,
)
from casework.notifications.sealing import PLACEHOLDER
from casework.notifications.services import queue_email
from casework.orm import DbSession


class IntakeError(Exception):
    """A report that cannot be opened as it stands; code says why, for the web layer to explain."""

    def __init__(self, code: str, page: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.page = page


def draft_store(config: Mapping[str, Any]) -> DraftStore:
    """The drafts of this app's database, each call of the store its own transaction."""
    return DraftStore(
        db.engine,
        load_key(config["CASEWORK_EVIDENCE_KEY"]),
        timedelta(hours=config["DRAFT_MAX_AGE_HOURS"]),
    )


# ---------------------------------------------------------------- page answers


def save_answers(draft: Draft, page: str, answers: Mapping[str, Any]) -> None:
    """Keep what was typed on a page, valid or not, so nothing is lost on errors or going back."""
    draft.answers[page] = {
        name: value
        for name, value in answers.items()
        if name != "csrf_token" and isinstance(value, str | bool | list | type(None))
    }


def save_age(store: DraftStore, draft: Draft, minor: str | None) -> int:
    """Record the age answer; when the person may be a minor, drop any screenshots already kept.

    Returns how many screenshots or image hashes were dropped.
    """
    draft.answers["age"] = {"minor": minor}
    if not flow.may_be_minor(draft):
        return 0
    dropped = store.remove_all_screenshots(draft) + len(draft.device_files)
    draft.device_files = []
    return dropped


def save_posts(draft: Draft, text: str, *, keep_good_only: bool = False) -> LinkList:
    """Read the pasted links; the good ones are kept in the draft even when some lines are bad.

    With keep_good_only the bad lines are dropped from the text as well, which is
    how a person moves on without fixing every line.
    """
    links = read_link_lines(text)
    if keep_good_only and links.posts and links.too_many is None and not links.too_long:
        text = links.good_lines_text()
        links = read_link_lines(text)
    draft.answers["posts"] = {"links": text}
    if links.too_many is None and not links.too_long:
        before = [p.status_id for p in draft.posts]
        draft.posts = links.posts
        if [p.status_id for p in draft.posts] != before:
            draft.mark_complete("details", False)
    draft.mark_complete("posts", links.ok and bool(links.posts))
    return links


def details_data(draft: Draft) -> list[dict[str, str]]:
    """The saved kind and prompt for each post, in the order of the posts."""
    saved = draft.answers.get("details", {})
    result = []
    for post in draft.posts:
        entry = saved.get(str(post.status_id)) or {}
        result.append({"kind": entry.get("kind") or "unknown", "prompt": entry.get("prompt") or ""})
    return result


def save_details(draft: Draft, entries: list[Mapping[str, Any]]) -> None:
    """Keep each post's kind and prompt text, keyed by status id so reordering loses nothing."""
    saved: dict[str, dict[str, str]] = dict(draft.answers.get("details", {}))
    for post, entry in zip(draft.posts, entries, strict=False):
        saved[str(post.status_id)] = {
            "kind": str(entry.get("kind") or "unknown"),
            "prompt": str(entry.get("prompt") or ""),
        }
    draft.answers["details"] = saved


@dataclass
class ScreenshotOutcome:
    added: int = 0
    already_had: int = 0
    problems: list[FileProblem] = field(default_factory=list)
    discarded_for_device: int = 0


def add_screenshots(
    store: DraftStore,
    draft: Draft,
    files: Sequence[Upload],
    *,
    device_files_json: str,
    keep_on_device: bool,
    max_bytes: int,
) -> ScreenshotOutcome:
    """Sanitise and keep uploaded screenshots, or record the hashes of images kept on the device.

    Refuses everything, reading nothing, when the person may be a minor. The
    caller saves the draft.
    """
    outcome = ScreenshotOutcome()
    chosen = chosen_files(files)
    if flow.may_be_minor(draft):
        if chosen or device_files_json.strip():
            raise IntakeError("images_for_minor")
        return outcome
    if keep_on_device:
        # The person asked that no image leave their device; if one arrived anyway
        # (a script that did not run), it is dropped unread.
        outcome.discarded_for_device = len(chosen)
        chosen = []
    device_files, problems = parse_device_files(
        device_files_json, room=MAX_DEVICE_FILES_PER_CASE - len(draft.device_files)
    )
    outcome.problems.extend(problems)
    known = {f.sha256 for f in draft.device_files}
    for device_file in device_files:
        if device_file.sha256 in known:
            outcome.already_had += 1
            continue
        draft.device_files.append(device_file)
        outcome.added += 1
    cleaned = sanitise_uploads(
        chosen, max_bytes=max_bytes, room=MAX_IMAGES_PER_CASE - len(draft.screenshots)
    )
    outcome.problems.extend(cleaned.problems)
    for name, image in cleaned.images:
        if store.add_screenshot(draft, image, name):
            outcome.added += 1
        else:
            outcome.already_had += 1
    return outcome


def remove_image(store: DraftStore, draft: Draft, sha256: str) -> bool:
    """Take a screenshot or a hash-only image back out of the draft."""
    if store.remove_screenshot(draft, sha256):
        return True
    kept = [f for f in draft.device_files if f.sha256 != sha256]
    removed = len(kept) != len(draft.device_files)
    draft.device_files = kept
    return removed


def screenshot_posts(draft: Draft) -> dict[str, int]:
    """Which post each image in the draft shows (SHA-256 -> status id), where the person said."""
    images = {s.sha256 for s in draft.screenshots} | {f.sha256 for f in draft.device_files}
    posts = {p.status_id for p in draft.posts}
    saved = draft.answers.get("screenshots", {}).get("posts", {})
    return {sha: post for sha, post in saved.items() if sha in images and post in posts}


def assign_screenshots(draft: Draft, chosen: Mapping[str, str]) -> None:
    """Record the person's answers to "which post does it show?", sent as
    `post-<sha256>` = a status id of the draft's posts, or "" for none of these / not sure.

    An image the form did not ask about keeps its answer; anything that is not one of the
    draft's posts counts as "not sure", never as a post.
    """
    images = [s.sha256 for s in draft.screenshots] + [f.sha256 for f in draft.device_files]
    posts = {str(p.status_id): p.status_id for p in draft.posts}
    assigned = screenshot_posts(draft)
    for sha256 in images:
        value = chosen.get(f"post-{sha256}")
        if value is None:
            continue
        if value in posts:
            assigned[sha256] = posts[value]
        else:
            assigned.pop(sha256, None)
    draft.answers.setdefault("screenshots", {})["posts"] = assigned


# ---------------------------------------------------------------- the finished report


@dataclass(frozen=True)
class PostDetail:
    kind: ItemKind = ItemKind.UNKNOWN
    prompt: str | None = None


@dataclass(frozen=True)
class Report:
    """A complete, checked report, ready to become a case."""

    filer_role: FilerRole
    relationship: str | None
    has_authority: bool
    minor: MinorStatus
    posts: tuple[XPost, ...]
    details: Mapping[int, PostDetail]
    screenshots: tuple[DraftScreenshot, ...]
    device_files: tuple[DeviceFile, ...]
    country: str | None
    region: str | None
    language: str
    timezone: str
    contact_email: str | None
    wanted_actions: tuple[str, ...]
    consent: bool
    # The post each image shows (SHA-256 -> status id), where the person said.
    screenshot_posts: Mapping[str, int] = field(default_factory=dict)


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def report_from_draft(draft: Draft) -> Report:
    """Check the whole draft again, as a unit, and build the report; IntakeError names the page.

    The pages were checked one at a time by their forms; this is the domain's
    own check, so a draft edited out of order can never make an inconsistent case.
    """
    for page in flow.required_pages(draft):
        if not draft.is_complete(page.name):
            raise IntakeError("incomplete", page.name)
    who, age = draft.answers.get("who", {}), draft.answers.get("age", {})
    where, wishes = draft.answers.get("where", {}), draft.answers.get("wishes", {})

    try:
        filer_role = FilerRole(str(who.get("filer")))
        minor = MinorStatus(str(age.get("minor")))
    except ValueError:
        raise IntakeError("incomplete", "who") from None
    representative = filer_role is FilerRole.REPRESENTATIVE
    relationship = who.get("relationship") if representative else None
    if representative and (relationship not in RELATIONSHIPS or not who.get("authority")):
        raise IntakeError("no_authority", "who")

    if not draft.posts:
        raise IntakeError("no_posts", "posts")
    if not images_allowed(minor) and (draft.screenshots or draft.device_files):
        raise IntakeError("images_for_minor", "age")

    details: dict[int, PostDetail] = {}
    saved_details = draft.answers.get("details", {})
    for post in draft.posts:
        entry = saved_details.get(str(post.status_id)) or {}
        kind = entry.get("kind") or "unknown"
        prompt = (entry.get("prompt") or "").strip() or None
        if kind not in ItemKind.__members__.values() or (prompt and len(prompt) > MAX_PROMPT_CHARS):
            raise IntakeError("bad_details", "details")
        details[post.status_id] = PostDetail(ItemKind(kind), prompt)

    country = where.get("country") or ""
    country = None if country == NOT_SAYING else country
    if country is not None and not is_known_country(country):
        raise IntakeError("bad_country", "where")
    region_value = where.get("region") or ""
    region = None
    if region_value:
        region_country, _, region = region_value.partition("-")
        if region_country != country:
            raise IntakeError("bad_region", "where")
    language = where.get("language")
    if language not in LANGUAGES:
        raise IntakeError("bad_language", "where")
    email = (where.get("email") or "").strip() if where.get("contact") == "email" else ""
    if where.get("contact") == "email" and not email:
        raise IntakeError("no_email", "where")
    timezone = where.get("timezone") or ""
    timezone = timezone if timezone in _timezones() else "UTC"

    actions = tuple(a for a in WANTED_ACTIONS if a in (wishes.get("actions") or []))
    if not actions:
        raise IntakeError("no_actions", "wishes")
    if not wishes.get("consent"):
        raise IntakeError("no_consent", "wishes")

    return Report(
        filer_role=filer_role,
        relationship=relationship,
        has_authority=bool(who.get("authority")) if representative else False,
        minor=minor,
        posts=tuple(draft.posts),
        details=details,
        screenshots=tuple(draft.screenshots),
        device_files=tuple(draft.device_files),
        country=country,
        region=region,
        language=language,
        timezone=timezone,
        contact_email=email or None,
        wanted_actions=actions,
        consent=True,
        screenshot_posts=screenshot_posts(draft),
    )


def receiving_organisation(session: DbSession) -> Organisation | None:
    """The organisation that takes public reports (the first one set up to, if several are)."""
    return session.scalar(
        select(Organisation)
        .where(Organisation.receives_public_reports.is_(True))
        .order_by(Organisation.id)
        .limit(1)
    )


@dataclass(frozen=True)
class StaffFiling:
    """A report a caseworker files for the person (who phoned, wrote or came in).

    The case goes to her organisation and every audit event names her. With
    access_code the person is given a code to follow the case on their own page;
    with email_code it is sent in the confirmation email (which needs their
    address) rather than shown to her once.
    """

    organisation: Organisation
    actor: Actor
    access_code: bool = True
    email_code: bool = False


@dataclass(frozen=True)
class Submission:
    case: Case
    access_code: str | None  # shown once, then forgotten: only its hash is stored
    email_id: int | None = None  # the confirmation, to deliver once committed


def submit_report(
    session: DbSession,
    report: Report,
    *,
    read_screenshot: Callable[[str], bytes],
    storage: EvidenceStorage,
    sign_in_url: str,
    new_keys: list[str] | None = None,
    staff: StaffFiling | None = None,
) -> Submission:
    """Open the case with its items, evidence, audit events and confirmation email.

    The caller commits, once, so a report is saved whole or not at all. Evidence
    files are written to storage first; the keys written for the first time are
    appended to new_keys as they are written, so that if this or the commit fails,
    the caller can remove exactly those files. With staff, a caseworker files the
    report for the person: the same checks, evidence and events, in her name.
    """
    organisation = receiving_organisation(session) if staff is None else staff.organisation
    actor = VICTIM if staff is None else staff.actor
    if organisation is None:
        raise IntakeError("no_organisation")
    if not images_allowed(report.minor) and (report.screenshots or report.device_files):
        raise IntakeError("images_for_minor", "age")

    # Into storage before the case is opened: opening it takes the organisation's audit
    # chain until the commit, and no report should wait there for another's disk writes.
    stored = _store_screenshots(
        report, read_screenshot, storage, [] if new_keys is None else new_keys
    )
    access_code = (
        generate_access_code(report.language) if staff is None or staff.access_code else None
    )
    # Recorded last: the audit chain's head stays locked from the first event to the
    # commit, and every report to the organisation waits behind it.
    audit_events: list[NewEvent] = []
    case = _open_reported_case(session, organisation, report, access_code, actor, audit_events)
    evidence = _evidence_rows(session, case, report, stored)
    session.flush()
    if evidence:
        evidence_added(session, case, evidence)  # the same image in other cases
        audit_events.append(evidence_added_event(case, evidence, actor))
    email_id = None
    if access_code is not None and (staff is None or staff.email_code):
        email_id = _queue_confirmation(session, case, report, sign_in_url, access_code)
    record_events(session, audit_events)
    return Submission(case=case, access_code=access_code, email_id=email_id)


def _store_screenshots(
    report: Report,
    read_screenshot: Callable[[str], bytes],
    storage: EvidenceStorage,
    new_keys: list[str],
) -> list[tuple[DraftScreenshot, str, int]]:
    """Each screenshot with its storage key and size; keys written for the first time
    are appended to new_keys."""
    stored = []
    for shot in report.screenshots:
        data = read_screenshot(shot.sha256)
        key = keep_in_storage(storage, data=data, sha256=shot.sha256, new_keys=new_keys)
        stored.append((shot, key, len(data)))
    return stored


def _open_reported_case(
    session: DbSession,
    organisation: Organisation,
    report: Report,
    access_code: str | None,
    actor: Actor,
    audit_events: list[NewEvent],
) -> Case:
    """The case and its posts; its audit events are appended to audit_events."""
    return open_case(
        session,
        NewCase(
            organisation_id=organisation.id,
            minor=report.minor,
            filer_role=report.filer_role,
            filer_relationship=report.relationship,
            has_authority=report.has_authority,
            country=report.country,
            region=report.region,
            language=report.language,
            timezone=report.timezone,
            contact_email=report.contact_email,
            wanted_actions=report.wanted_actions,
            consent=report.consent,
            access_code_hash=None if access_code is None else hash_access_code(access_code),
            filed_by_id=actor.id if actor.kind is ActorKind.USER else None,
        ),
        [
            NewItem(
                post=post,
                kind=report.details.get(post.status_id, PostDetail()).kind,
                prompt_text=report.details.get(post.status_id, PostDetail()).prompt,
            )
            for post in report.posts
        ],
        actor,
        audit_later=audit_events,
    )


def _evidence_rows(
    session: DbSession,
    case: Case,
    report: Report,
    stored: list[tuple[DraftScreenshot, str, int]],
) -> list[EvidenceFile]:
    """A row for each stored screenshot, then one for each image kept on the device, each
    under the post the person said it shows."""
    evidence = [
        image_row(
            session,
            case,
            key=key,
            sha256=shot.sha256,
            pdq=shot.pdq,
            pdq_quality=shot.pdq_quality,
            media_type=shot.media_type,
            size=size,
            width=shot.width,
            height=shot.height,
            original_name=shot.name,
        )
        for shot, key, size in stored
    ]
    evidence += [device_file_row(session, case, f) for f in report.device_files]
    if not evidence:
        return evidence  # a report of links only: no need to load the case's posts
    items = {item.status_id: item for item in case.items}
    for row in evidence:
        shown = items.get(report.screenshot_posts.get(row.sha256, 0))
        if shown is not None:
            row.item = shown
    return evidence


def _queue_confirmation(
    session: DbSession, case: Case, report: Report, sign_in_url: str, access_code: str
) -> int | None:
    """Queue the confirmation email, the access code sealed in it; None without an address."""
    if not report.contact_email:
        return None
    email = confirmation_email(
        reference=case.reference,
        access_code=PLACEHOLDER,
        language=report.language,
        sign_in_url=sign_in_url,
        minor=not images_allowed(report.minor),
        country=report.country,
    )
    return queue_email(
        session,
        recipient=report.contact_email,
        subject=email.subject,
        body=email.body,
        organisation_id=case.organisation_id,
        case_id=case.id,
        secret=access_code,
    ).id


def evidence_added_event(case: Case, evidence: list[Any], actor: Actor = VICTIM) -> NewEvent:
    """The chain-of-custody entry for new evidence, recorded to whoever added it."""
    return case_evidence_added_event(actor, case, evidence)


def record_evidence_added(session: DbSession, case: Case, evidence: list[Any]) -> None:
    """Record evidence a victim adds to an open case. The caller commits."""
    record_events(session, [evidence_added_event(case, evidence)])
