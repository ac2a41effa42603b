"""Everything the case screen shows, gathered in a fixed number of queries."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import defer

from casework.accounts.models import Role, User
from casework.cases.grouping import image_clusters
from casework.cases.models import Case, CaseLink, Item, LinkState
from casework.cases.readiness import is_legal_route
from casework.cases.timeline import Entry, build_timeline, merged_sources
from casework.deadlines.models import Deadline, RemovalCheck
from casework.evidence.models import EvidenceFile
from casework.notices.models import Letter, Notice, NoticeItem
from casework.orm import DbSession


@dataclass
class ItemRow:
    item: Item
    evidence: list[EvidenceFile] = field(default_factory=list)
    checks: list[RemovalCheck] = field(default_factory=list)  # newest first

    @property
    def unknown_twice(self) -> bool:
        """The last two automatic checks got no usable answer: a person should look."""
        latest = self.checks[:2]
        return len(latest) == 2 and all(c.unanswered for c in latest)


@dataclass
class NoticeRow:
    notice: Notice
    deadlines: list[Deadline]
    item_count: int
    legal_route: bool
    items: list[Item] = field(default_factory=list)


@dataclass
class LinkRow:
    link: CaseLink
    other: Case


@dataclass
class CaseScreen:
    case: Case
    items: list[ItemRow]
    unattached_evidence: list[EvidenceFile]
    clusters: list[list[EvidenceFile]]
    accounts: list[tuple[str, int]]
    notices: list[NoticeRow]
    letters: list[Letter]
    links: list[LinkRow]
    merged_into: Case | None
    merged_sources: list[Case]
    timeline: list[Entry]
    staff: list[User]


def assignable_staff(session: DbSession, organisation_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(
                User.organisation_id == organisation_id,
                User.is_active_user.is_(True),
                User.role.in_([Role.CASEWORKER, Role.LAWYER]),
            )
            .order_by(User.name)
        )
    )


def checks_of_items(session: DbSession, item_ids: list[int]) -> dict[int, list[RemovalCheck]]:
    """Each item's checks, newest first."""
    found: dict[int, list[RemovalCheck]] = {}
    if not item_ids:
        return found
    for check in session.scalars(
        select(RemovalCheck)
        .where(RemovalCheck.item_id.in_(item_ids))
        .order_by(RemovalCheck.checked_at.desc(), RemovalCheck.id.desc())
    ):
        found.setdefault(check.item_id, []).append(check)
    return found


def case_screen(session: DbSession, case: Case) -> CaseScreen:
    items = list(session.scalars(select(Item).where(Item.case_id == case.id).order_by(Item.id)))
    files = list(
        session.scalars(
            select(EvidenceFile).where(EvidenceFile.case_id == case.id).order_by(EvidenceFile.id)
        )
    )
    rows = {item.id: ItemRow(item) for item in items}
    unattached: list[EvidenceFile] = []
    for file in files:
        if file.item_id in rows:
            rows[file.item_id].evidence.append(file)
        else:
            unattached.append(file)
    for item_id, checks in checks_of_items(session, list(rows)).items():
        rows[item_id].checks = checks
    clusters = [group for group in image_clusters(files) if len(group) > 1]
    accounts = Counter(item.handle for item in items if item.handle)

    notices = list(
        session.scalars(select(Notice).where(Notice.case_id == case.id).order_by(Notice.id))
    )
    notice_ids = [n.id for n in notices]
    deadlines: dict[int, list[Deadline]] = {}
    coverage: Counter[int] = Counter()
    notice_items: dict[int, list[Item]] = {}
    if notice_ids:
        for deadline in session.scalars(
            select(Deadline).where(Deadline.notice_id.in_(notice_ids)).order_by(Deadline.due_at)
        ):
            deadlines.setdefault(deadline.notice_id, []).append(deadline)
        for notice_id, item_id in session.execute(
            select(NoticeItem.notice_id, NoticeItem.item_id)
            .where(NoticeItem.notice_id.in_(notice_ids))
            .order_by(NoticeItem.notice_id, NoticeItem.item_id)
        ):
            coverage[notice_id] += 1
            if item_id in rows:
                notice_items.setdefault(notice_id, []).append(rows[item_id].item)

    sources = merged_sources(session, case)
    letters = list(
        session.scalars(
            select(Letter)
            .options(defer(Letter.pdf), defer(Letter.data_snapshot))
            .where(Letter.case_id.in_([case.id, *(s.id for s in sources)]))
            .order_by(Letter.created_at.desc(), Letter.id.desc())
        )
    )

    links = list(
        session.scalars(
            select(CaseLink)
            .where(
                or_(CaseLink.case_a_id == case.id, CaseLink.case_b_id == case.id),
                CaseLink.state == LinkState.PROPOSED,
            )
            .order_by(CaseLink.id)
        )
    )
    other_ids = {link.case_b_id if link.case_a_id == case.id else link.case_a_id for link in links}
    others = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(other_ids)))}
    link_rows = [
        LinkRow(link, others[link.case_b_id if link.case_a_id == case.id else link.case_a_id])
        for link in links
        if (link.case_b_id if link.case_a_id == case.id else link.case_a_id) in others
    ]

    return CaseScreen(
        case=case,
        items=list(rows.values()),
        unattached_evidence=unattached,
        clusters=clusters,
        accounts=accounts.most_common(),
        notices=[
            NoticeRow(
                n,
                deadlines.get(n.id, []),
                coverage[n.id],
                is_legal_route(n.route_key),
                notice_items.get(n.id, []),
            )
            for n in notices
        ],
        letters=letters,
        links=link_rows,
        merged_into=session.get(Case, case.merged_into_id) if case.merged_into_id else None,
        merged_sources=sources,
        timeline=build_timeline(session, case),
        staff=assignable_staff(session, case.organisation_id),
    )
