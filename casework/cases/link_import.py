"""Import a list of links into a case: read a pasted or uploaded list, preview, then write.

The preview is signed and carried by the confirm form, so what is written is the list the
caseworker saw, for the case and the user it was made for, and only for an hour. Posts
already in other cases of the organisation are not copied: the import proposes links to
those cases, unless the caseworker chose to add them here as well. Lists above
JOB_THRESHOLD posts are written by a job on the worker, which reports its progress in Redis.
"""

from __future__ import annotations

import csv
import io
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from itsdangerous import BadSignature, URLSafeTimedSerializer
from redis.exceptions import RedisError
from rq import Retry
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from casework.accounts.models import User
from casework.actors import Actor
from casework.audit.events import case_event
from casework.cases.grouping import Match, propose_links
from casework.cases.models import Case, Item, LinkReason
from casework.cases.services import CaseError, add_staff_items
from casework.evidence.xlinks import LinkList, XLinkError, XPost, parse_x_link, read_link_lines
from casework.extensions import db
from casework.jobs import QUEUE_DEFAULT, app_job, enqueue, redis_connection
from casework.orm import DbSession

log = logging.getLogger(__name__)

MAX_IMPORT_LINES = 1000
MAX_IMPORT_BYTES = 1024 * 1024
# Lists with more posts than this are written by a job on the worker.
JOB_THRESHOLD = 200
BATCH = 100
PREVIEW_MAX_AGE = 3600
PROGRESS_TTL = 24 * 3600
_SALT = "casework.link-import"
_NEW_CASE_SALT = "casework.link-import.new-case"
_STALE = _l("This preview has expired or is not valid. Please check the list again.")


class ImportListError(ValueError):
    """The list cannot be read at all; str() is the message for the field."""

    def __init__(self, message: object, field: str = "upload") -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field  # the form's field it belongs to: "links" or "upload"


def lines_from_upload(filename: str, data: bytes) -> str:
    """The text of an uploaded .txt or .csv list, one candidate link per line."""
    name = (filename or "").lower()
    if not name.endswith((".csv", ".txt")):
        raise ImportListError(_l("Upload a .csv or .txt file."))
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportListError(_l("This file is too large; upload at most 1 MB."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportListError(_l("This file is not UTF-8 text.")) from None
    if "\x00" in text:
        raise ImportListError(_l("This file is not UTF-8 text."))
    return lines_from_csv(text) if name.endswith(".csv") else text


def _parses(cell: str) -> bool:
    try:
        parse_x_link(cell)
    except XLinkError:
        return False
    return True


def lines_from_csv(text: str) -> str:
    """One line per CSV row: the cell of the first column holding links, or any that parses.

    A first row with no link is a header and is skipped; rows keep their numbers.
    """
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.reader(io.StringIO(text), dialect))
    except csv.Error:
        raise ImportListError(_l("This CSV file cannot be read.")) from None
    if len(rows) > MAX_IMPORT_LINES + 1:
        rows = rows[: MAX_IMPORT_LINES + 2]
    column = next(
        (index for row in rows for index, cell in enumerate(row) if cell.strip() and _parses(cell)),
        None,
    )
    lines: list[str] = []
    for number, row in enumerate(rows, 1):
        cells = [cell.replace("\r", " ").replace("\n", " ").strip() for cell in row]
        chosen = cells[column] if column is not None and column < len(cells) else ""
        if not chosen or not _parses(chosen):
            chosen = next((cell for cell in cells if cell and _parses(cell)), chosen)
        if number == 1 and not _parses(chosen):
            lines.append("")  # a header
            continue
        if not chosen and any(cells):
            chosen = next(cell for cell in cells if cell)
        lines.append(chosen)
    return "\n".join(lines)


def read_list(text: str) -> LinkList:
    return read_link_lines(text, max_links=MAX_IMPORT_LINES)


def read_submitted(pasted: str, upload: FileStorage | None) -> LinkList:
    """The list a caseworker pasted or uploaded (upload is the request's file, if any).

    ImportListError, with the field it belongs to, when there is none to preview: both
    given, a file that is not a list, too many links, or not one line to read.
    """
    pasted = pasted.strip()
    filename = upload.filename if upload is not None else None
    if upload is not None and filename:
        if pasted:
            raise ImportListError(_l("Paste the links or upload a file, not both."))
        text = lines_from_upload(filename, upload.stream.read(MAX_IMPORT_BYTES + 1))
    else:
        text = pasted
    links = read_list(text)
    if links.too_long or links.too_many is not None:
        raise ImportListError(
            _l("A list can hold up to %(max)d links. Please split it.", max=MAX_IMPORT_LINES),
            "upload" if filename else "links",
        )
    if not links.posts and not links.problems:
        raise ImportListError(_l("Paste at least one link to a post on X."), "links")
    return links


@dataclass
class Preview:
    links: LinkList
    new: list[XPost] = field(default_factory=list)
    in_case: list[XPost] = field(default_factory=list)
    # Posts in other cases of the organisation, with those cases' (id, reference).
    elsewhere: list[tuple[XPost, list[tuple[int, str]]]] = field(default_factory=list)

    @property
    def writable(self) -> bool:
        return bool(self.new or self.elsewhere)


def preview(session: DbSession, case: Case, links: LinkList) -> Preview:
    """Sort the good posts into new, already in this case, and already in other cases."""
    return _sort(session, case.organisation_id, case.id, links)


def preview_for_new_case(session: DbSession, organisation_id: int, links: LinkList) -> Preview:
    """Sort the good posts into new and already in the organisation's cases."""
    return _sort(session, organisation_id, None, links)


def _sort(
    session: DbSession, organisation_id: int, case_id: int | None, links: LinkList
) -> Preview:
    result = Preview(links=links)
    ids = [post.status_id for post in links.posts]
    own: set[int] = set()
    others: dict[int, list[tuple[int, str]]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        if case_id is not None:
            own.update(
                session.scalars(
                    select(Item.status_id).where(Item.case_id == case_id, Item.status_id.in_(chunk))
                )
            )
        rows = session.execute(
            select(Item.status_id, Case.id, Case.reference)
            .join(Case, Case.id == Item.case_id)
            .where(
                Item.status_id.in_(chunk),
                Case.organisation_id == organisation_id,
                Case.id != (case_id or 0),
                Case.merged_into_id.is_(None),
            )
            .order_by(Case.id)
        ).all()
        for status_id, other_id, reference in rows:
            cases = others.setdefault(status_id, [])
            if (other_id, reference) not in cases:
                cases.append((other_id, reference))
    for post in links.posts:
        if post.status_id in own:
            result.in_case.append(post)
        elif post.status_id in others:
            result.elsewhere.append((post, others[post.status_id]))
        else:
            result.new.append(post)
    return result


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def sign_preview(result: Preview, case: Case, user_id: int) -> str:
    return _serializer().dumps(
        {
            "c": case.id,
            "u": user_id,
            "n": [post.url for post in result.new],
            "o": [post.url for post, _ in result.elsewhere],
        }
    )


@dataclass(frozen=True)
class Confirmed:
    new: list[XPost]
    elsewhere: list[XPost]
    # A list for a new case is confirmed once: this id is claimed when the case opens.
    once: str = ""

    def split(self, include_elsewhere: bool) -> tuple[list[XPost], list[XPost]]:
        """The posts to add, and the posts whose cases are only proposed as links."""
        if include_elsewhere:
            return self.new + self.elsewhere, []
        return list(self.new), list(self.elsewhere)


def _new_case_serializer() -> URLSafeTimedSerializer:
    # Its own salt: a list previewed for a new case never confirms into an existing one.
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_NEW_CASE_SALT)


def sign_new_case_preview(result: Preview, organisation_id: int, user_id: int) -> str:
    return _new_case_serializer().dumps(
        {
            "g": organisation_id,
            "u": user_id,
            "once": secrets.token_urlsafe(16),
            "n": [post.url for post in result.new],
            "o": [post.url for post, _ in result.elsewhere],
        }
    )


def load_new_case_preview(token: str, organisation_id: int, user_id: int) -> Confirmed:
    """The posts a list previewed for a new case holds; ImportListError when it is stale or
    not this user's."""
    try:
        data = _new_case_serializer().loads(token or "", max_age=PREVIEW_MAX_AGE)
    except BadSignature:
        raise ImportListError(_STALE) from None
    if (
        not isinstance(data, dict)
        or data.get("g") != organisation_id
        or data.get("u") != user_id
        or not isinstance(data.get("once"), str)
    ):
        raise ImportListError(_STALE)
    return Confirmed(
        new=[parse_x_link(url) for url in data.get("n", [])][:MAX_IMPORT_LINES],
        elsewhere=[parse_x_link(url) for url in data.get("o", [])][:MAX_IMPORT_LINES],
        once=data["once"],
    )


def claim_preview(confirmed: Confirmed) -> bool:
    """Mark a new case's list as used; False when it was used already or cannot be marked.

    Without this a replayed confirmation would open the same case twice.
    """
    if not confirmed.once:
        return False
    try:
        claimed = redis_connection().set(
            f"casework:link-import:used:{confirmed.once}", "1", nx=True, ex=PREVIEW_MAX_AGE + 60
        )
    except RedisError as exc:
        log.warning("link import: preview not claimed (%s)", type(exc).__name__)
        return False
    return bool(claimed)


def load_preview(token: str, case: Case, user_id: int) -> Confirmed:
    """The posts a signed preview holds; ImportListError when it is stale or not this one's."""
    try:
        data = _serializer().loads(token or "", max_age=PREVIEW_MAX_AGE)
    except BadSignature:
        raise ImportListError(
            _l("This preview has expired or is not valid. Please check the list again.")
        ) from None
    if not isinstance(data, dict) or data.get("c") != case.id or data.get("u") != user_id:
        raise ImportListError(
            _l("This preview has expired or is not valid. Please check the list again.")
        )
    return Confirmed(
        new=[parse_x_link(url) for url in data.get("n", [])][:MAX_IMPORT_LINES],
        elsewhere=[parse_x_link(url) for url in data.get("o", [])][:MAX_IMPORT_LINES],
    )


@dataclass
class Outcome:
    added: int = 0
    linked_cases: int = 0


def outcome_messages(outcome: Outcome) -> list[str]:
    """What an import written at once tells the caseworker: the posts added, the links proposed."""
    messages = [ngettext("%(num)d post added.", "%(num)d posts added.", outcome.added)]
    if outcome.linked_cases:
        messages.append(
            ngettext(
                "A link to %(num)d other case was proposed.",
                "Links to %(num)d other cases were proposed.",
                outcome.linked_cases,
            )
        )
    return messages


def propose_for(session: DbSession, case: Case, posts: list[XPost]) -> int:
    """Propose links to the other cases holding these posts; the number of cases linked."""
    if not posts:
        return 0
    ids = [post.status_id for post in posts]
    rows = session.execute(
        select(Item.case_id, Item.status_id)
        .join(Case, Case.id == Item.case_id)
        .where(
            Item.status_id.in_(ids),
            Case.organisation_id == case.organisation_id,
            Case.id != case.id,
            Case.merged_into_id.is_(None),
        )
    ).all()
    propose_links(session, case, [Match(cid, LinkReason.STATUS_ID, str(sid)) for cid, sid in rows])
    return len({cid for cid, _ in rows})


def write_batch(
    session: DbSession, case: Case, batch: list[XPost], linked_only: list[XPost], actor: Actor
) -> Outcome:
    """Add one batch of posts and propose links for the posts kept in other cases."""
    added = add_staff_items(session, case, batch, actor) if batch else []
    return Outcome(added=len(added), linked_cases=propose_for(session, case, linked_only))


def record_import(
    session: DbSession, case: Case, actor: Actor, outcome: Outcome, posts: int
) -> None:
    case_event(
        session,
        actor,
        case,
        "case.links_imported",
        posts=posts,
        added=outcome.added,
        linked_cases=outcome.linked_cases,
    )


def import_now(
    session: DbSession, case: Case, confirmed: Confirmed, include_elsewhere: bool, actor: Actor
) -> Outcome:
    """Write a confirmed list in this request. The caller commits."""
    to_add = confirmed.new + (confirmed.elsewhere if include_elsewhere else [])
    linked_only = [] if include_elsewhere else confirmed.elsewhere
    outcome = write_batch(session, case, to_add, linked_only, actor)
    record_import(session, case, actor, outcome, len(to_add) + len(linked_only))
    return outcome


def needs_job(confirmed: Confirmed) -> bool:
    return len(confirmed.new) + len(confirmed.elsewhere) > JOB_THRESHOLD


def _progress_key(run_id: str) -> str:
    return f"casework:link-import:{run_id}"


def _set_progress(run_id: str, **values: Any) -> None:
    try:
        connection = redis_connection()
        key = _progress_key(run_id)
        connection.hset(key, mapping={k: str(v) for k, v in values.items()})
        connection.expire(key, PROGRESS_TTL)
    except RedisError as exc:
        log.warning("link import %s: progress not saved (%s)", run_id, type(exc).__name__)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True)
class Progress:
    case_id: int
    user_id: int
    state: str  # queued, running, done, failed
    total: int
    done: int
    added: int


def progress(run_id: str) -> Progress | None:
    """An import run's progress, or None when unknown (expired, wrong id, Redis down)."""
    try:
        raw = redis_connection().hgetall(_progress_key(run_id))
    except RedisError:
        return None
    if not raw:
        return None
    values = {_text(k): _text(v) for k, v in raw.items()}
    try:
        return Progress(
            case_id=int(values["case"]),
            user_id=int(values["user"]),
            state=values["state"],
            total=int(values["total"]),
            done=int(values.get("done", "0")),
            added=int(values.get("added", "0")),
        )
    except (KeyError, ValueError):
        return None


def start_job(case: Case, confirmed: Confirmed, include_elsewhere: bool, user: User) -> str | None:
    """Queue the import on the worker; the run's id, or None when it could not be queued."""
    run_id = secrets.token_urlsafe(12)
    to_add = [post.url for post in confirmed.new]
    elsewhere = [post.url for post in confirmed.elsewhere]
    total = len(to_add) + len(elsewhere)
    _set_progress(run_id, case=case.id, user=user.id, state="queued", total=total, done=0)
    if progress(run_id) is None and not current_app.config.get("JOBS_SYNC"):
        return None
    job = enqueue(
        QUEUE_DEFAULT,
        import_links_job,
        run_id,
        case.id,
        user.id,
        to_add,
        elsewhere,
        include_elsewhere,
        retry=Retry(max=2, interval=[10, 60]),
    )
    if job is None and not current_app.config.get("JOBS_SYNC"):
        _set_progress(run_id, state="failed")
        return None
    return run_id


@app_job
def import_links_job(
    run_id: str,
    case_id: int,
    user_id: int,
    new_urls: list[str],
    elsewhere_urls: list[str],
    include_elsewhere: bool,
) -> int:
    """Write a confirmed list BATCH posts at a time, committing and reporting each batch.

    Returns the number of posts added. Quietly does nothing when the case or the user is
    gone or the user no longer belongs to the case's organisation.
    """
    session = db.session
    case = session.get(Case, case_id)
    user = session.get(User, user_id)
    if (
        case is None
        or user is None
        or not user.is_active
        or user.organisation_id != (case.organisation_id)
    ):
        log.info("link import %s: user %s may not act on case %s", run_id, user_id, case_id)
        _set_progress(run_id, state="failed")
        return 0
    actor = Actor.staff(user.id, user.role.value)
    new = [parse_x_link(url) for url in new_urls]
    elsewhere = [parse_x_link(url) for url in elsewhere_urls]
    to_add = new + (elsewhere if include_elsewhere else [])
    linked_only = [] if include_elsewhere else elsewhere
    total = len(to_add) + len(linked_only)
    outcome = Outcome()
    done = 0
    _set_progress(run_id, state="running", total=total, done=0, added=0)
    try:
        for start in range(0, max(len(to_add), 1), BATCH):
            batch = to_add[start : start + BATCH]
            step = write_batch(session, case, batch, [], actor)
            outcome.added += step.added
            session.commit()
            done += len(batch)
            _set_progress(run_id, done=done, added=outcome.added)
        outcome.linked_cases = propose_for(session, case, linked_only)
        record_import(session, case, actor, outcome, total)
        session.commit()
    except CaseError:
        session.rollback()
        _set_progress(run_id, state="failed")
        return outcome.added
    except Exception:
        session.rollback()
        _set_progress(run_id, state="failed")
        raise
    _set_progress(run_id, state="done", done=total, added=outcome.added)
    return outcome.added
