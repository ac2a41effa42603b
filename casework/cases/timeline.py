"""One timeline per case: audit events as plain sentences, notes, and notices' own dates.

A merged case's timeline includes the events of every case merged into it, so
nothing that happened before the merge drops out of view.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from casework.accounts.models import User
from casework.audit.models import AuditEvent
from casework.cases.models import Case, CaseNote, CaseStatus, RemovalState
from casework.cases.services import STATUS_LABELS
from casework.notices.models import Notice
from casework.orm import DbSession

TIMELINE_LIMIT = 500


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str  # "event", "note" or "notice"; templates style them apart
    text: str
    actor: str | None = None
    body: str | None = None
    case_id: int | None = None
    order: int = 0


def related_case_ids(session: DbSession, case: Case) -> list[int]:
    """The case and every case merged into it."""
    merged = session.scalars(select(Case.id).where(Case.merged_into_id == case.id)).all()
    return [case.id, *merged]


def _status(value: Any) -> str:
    try:
        return str(STATUS_LABELS[CaseStatus(value)])
    except ValueError:
        return str(value)


def _count(details: dict[str, Any], key: str) -> int:
    value = details.get(key)
    if isinstance(value, list | dict):
        return len(value)
    return int(value) if isinstance(value, int) else 0


_Describe = Callable[[AuditEvent, dict[int, str], dict[int, str]], str]


def _merged(event: AuditEvent, names: dict[int, str], refs: dict[int, str]) -> str:
    details = event.details or {}
    source = refs.get(int(details.get("source_id") or 0), "?")
    target = refs.get(int(details.get("target_id") or 0), "?")
    moved = _count(details, "items_moved")
    combined = _count(details, "items_combined")
    evidence = _count(details, "evidence")
    notices = _count(details, "notices")
    return _(
        "%(source)s was merged into %(target)s: %(moved)s, %(combined)s, %(evidence)s, "
        "%(notices)s.",
        source=source,
        target=target,
        moved=ngettext("%(num)d post moved", "%(num)d posts moved", moved),
        combined=ngettext(
            "%(num)d combined with a post already there",
            "%(num)d combined with posts already there",
            combined,
        ),
        evidence=ngettext("%(num)d evidence file", "%(num)d evidence files", evidence),
        notices=ngettext("%(num)d notice", "%(num)d notices", notices),
    )


def _assigned(event: AuditEvent, names: dict[int, str], refs: dict[int, str]) -> str:
    assignee = (event.details or {}).get("assignee_id")
    if assignee is None:
        return _("The case was unassigned.")
    return _("The case was assigned to %(name)s.", name=names.get(int(assignee), "?"))


def _removal(event: AuditEvent, names: dict[int, str], refs: dict[int, str]) -> str:
    if (event.details or {}).get("state") == RemovalState.REMOVED.value:
        return _("Post %(item)s was checked and found removed.", item=event.object_id)
    return _("Post %(item)s was checked and is still up.", item=event.object_id)


_SENTENCES: dict[str, _Describe] = {
    # Beside the change's own event: which API token made it.
    "api.write": lambda e, n, r: _(
        "Done through the API, with token %(token)s.", token=(e.details or {}).get("token_id")
    ),
    "case.opened": lambda e, n, r: ngettext(
        "The case was opened with %(num)d post.",
        "The case was opened with %(num)d posts.",
        _count(e.details or {}, "items"),
    ),
    "case.items_added": lambda e, n, r: ngettext(
        "%(num)d post was added.", "%(num)d posts were added.", _count(e.details or {}, "items")
    ),
    "case.status_changed": lambda e, n, r: _(
        "The status changed from %(old)s to %(new)s.",
        old=_status((e.details or {}).get("from")),
        new=_status((e.details or {}).get("to")),
    ),
    "case.assigned": _assigned,
    "case.links_imported": lambda e, n, r: ngettext(
        "A list of links was imported: %(num)d post added.",
        "A list of links was imported: %(num)d posts added.",
        _count(e.details or {}, "added"),
    ),
    "case.merged": _merged,
    "case.link_dismissed": lambda e, n, r: _(
        "A proposed link to %(other)s was dismissed.",
        other=r.get(int((e.details or {}).get("other_case_id") or 0), "?"),
    ),
    "case.merged_items_withdrawn": lambda e, n, r: _(
        "%(items)s and %(files)s from a merged case were withdrawn by the person who "
        "reported them.",
        items=ngettext("%(num)d post", "%(num)d posts", _count(e.details or {}, "items")),
        files=ngettext(
            "%(num)d evidence file",
            "%(num)d evidence files",
            _count(e.details or {}, "evidence_files"),
        ),
    ),
    "item.removal_checked": _removal,
    "evidence.added": lambda e, n, r: ngettext(
        "%(num)d evidence file was added.",
        "%(num)d evidence files were added.",
        _count(e.details or {}, "evidence_files"),
    ),
    "evidence.viewed": lambda e, n, r: _(
        "Evidence file %(id)s was viewed (%(variant)s).",
        id=e.object_id,
        variant=_("blurred") if (e.details or {}).get("variant") == "blurred" else _("unblurred"),
    ),
    "evidence.filed": lambda e, n, r: (
        _("Evidence file %(id)s was filed under a post.", id=e.object_id)
        if (e.details or {}).get("item_id")
        else _("Evidence file %(id)s was taken off its post.", id=e.object_id)
    ),
    "case.minor_found": lambda e, n, r: ngettext(
        "The person depicted was found to be a minor; %(num)d stored image was destroyed, "
        "its hashes kept.",
        "The person depicted was found to be a minor; %(num)d stored images were destroyed, "
        "their hashes kept.",
        _count(e.details or {}, "destroyed_files"),
    ),
    "evidence.destroyed": lambda e, n, r: ngettext(
        "%(num)d stored image, found to show a minor in another case, was destroyed; "
        "its hashes are kept.",
        "%(num)d stored images, found to show a minor in another case, were destroyed; "
        "their hashes are kept.",
        _count(e.details or {}, "destroyed_files"),
    ),
    "notice.reply_recorded": lambda e, n, r: _(
        "The platform's reply to notice %(id)s was recorded.", id=e.object_id
    ),
}


def describe(event: AuditEvent, names: dict[int, str], refs: dict[int, str]) -> str:
    """A plain sentence for an audit event; unknown actions are named by their code."""
    known = _SENTENCES.get(event.action)
    if known is not None:
        return known(event, names, refs)
    return _("Recorded: %(action)s.", action=event.action.replace(".", " ").replace("_", " "))


def actor_name(actor_type: str, actor_id: int | None, names: dict[int, str]) -> str:
    if actor_type == "victim":
        return _("the person who reported")
    if actor_type == "system":
        return _("Casework")
    return names.get(actor_id or 0, _("a former staff member"))


def build_timeline(session: DbSession, case: Case, *, limit: int = TIMELINE_LIMIT) -> list[Entry]:
    """Newest first: every audit event of the case (and cases merged into it), notes, notices."""
    case_ids = related_case_ids(session, case)
    events = session.scalars(
        select(AuditEvent)
        # The organisation's own chain only: a case id alone could name another's case.
        .where(AuditEvent.chain_id == case.organisation_id, AuditEvent.case_id.in_(case_ids))
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    ).all()
    notes = {
        note.id: note
        for note in session.scalars(select(CaseNote).where(CaseNote.case_id == case.id)).all()
    }
    notices = session.scalars(select(Notice).where(Notice.case_id == case.id)).all()

    user_ids = {e.actor_id for e in events if e.actor_type == "user" and e.actor_id}
    user_ids |= {n.author_id for n in notes.values() if n.author_id}
    user_ids |= {
        int(e.details["assignee_id"])
        for e in events
        if e.action == "case.assigned" and (e.details or {}).get("assignee_id")
    }
    names = _user_names(session, user_ids)
    ref_ids = set(case_ids)
    for e in events:
        for key in ("source_id", "target_id", "other_case_id"):
            value = (e.details or {}).get(key)
            if isinstance(value, int):
                ref_ids.add(value)
    refs = dict(
        session.execute(select(Case.id, Case.reference).where(Case.id.in_(ref_ids))).tuples().all()
    )

    entries: list[Entry] = []
    shown_notes: set[int] = set()
    for event in events:
        actor = actor_name(event.actor_type, event.actor_id, names)
        if event.action == "case.note_added" and event.object_id in notes:
            note = notes[event.object_id]
            shown_notes.add(note.id)
            entries.append(
                Entry(
                    event.occurred_at, "note", _("Note"), actor, note.body, event.case_id, event.id
                )
            )
            continue
        entries.append(
            Entry(
                event.occurred_at,
                "event",
                describe(event, names, refs),
                actor,
                None,
                event.case_id,
                event.id,
            )
        )
    for note in notes.values():
        if note.id not in shown_notes:  # notes written before they were audited, or moved in
            author = names.get(note.author_id or 0)
            entries.append(Entry(note.created_at, "note", _("Note"), author, note.body, case.id))
    for notice in notices:
        if notice.sent_at is not None:
            entries.append(
                Entry(
                    notice.sent_at,
                    "notice",
                    _("Notice %(id)s (%(route)s) was sent.", id=notice.id, route=notice.route_key),
                    None,
                    None,
                    case.id,
                )
            )
        if notice.response_at is not None:
            entries.append(
                Entry(
                    notice.response_at,
                    "notice",
                    _("The platform replied to notice %(id)s.", id=notice.id),
                    None,
                    notice.response,
                    case.id,
                )
            )
    entries.sort(key=lambda entry: (entry.at, entry.order), reverse=True)
    return entries


def _user_names(session: DbSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).tuples().all())


def merged_sources(session: DbSession, case: Case) -> list[Case]:
    return list(
        session.scalars(select(Case).where(Case.merged_into_id == case.id).order_by(Case.id))
    )
