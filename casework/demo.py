"""A realistic demo data set: two organisations, staff of every role, about fifty cases."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casework.accounts.models import Organisation, Role, User
from casework.accounts.services import create_user, get_or_create_organisation
from casework.actors import SYSTEM, Actor
from casework.cases.models import (
    Case,
    CaseStatus,
    ContentCategory,
    FilerRole,
    ItemKind,
    MinorStatus,
)
from casework.cases.services import NewCase, NewItem, open_case
from casework.cases.workflow import transition
from casework.deadlines.models import Deadline, DeadlineState
from casework.evidence.xlinks import XPost, snowflake_time
from casework.notices.models import Notice, NoticeItem, NoticeState

DEMO_PASSWORD = "casework-demo-2026"  # noqa: S105  (published demo credential, dev only)

ORGANISATIONS = (
    ("safe-harbour", "Safe Harbour Network", True),
    ("rights-clinic", "Digital Rights Legal Clinic", False),
)

# The path a case takes to reach each status, as the workflow allows it.
PATHS: dict[CaseStatus, list[CaseStatus]] = {
    CaseStatus.NEW: [],
    CaseStatus.TRIAGE: [CaseStatus.TRIAGE],
    CaseStatus.ACTION: [CaseStatus.TRIAGE, CaseStatus.ACTION],
    CaseStatus.AWAITING_PLATFORM: [
        CaseStatus.TRIAGE,
        CaseStatus.ACTION,
        CaseStatus.AWAITING_PLATFORM,
    ],
    CaseStatus.ESCALATED: [
        CaseStatus.TRIAGE,
        CaseStatus.ACTION,
        CaseStatus.AWAITING_PLATFORM,
        CaseStatus.ESCALATED,
    ],
    CaseStatus.RESOLVED: [
        CaseStatus.TRIAGE,
        CaseStatus.ACTION,
        CaseStatus.AWAITING_PLATFORM,
        CaseStatus.RESOLVED,
    ],
    CaseStatus.CLOSED: [CaseStatus.TRIAGE, CaseStatus.CLOSED],
    CaseStatus.WITHDRAWN: [CaseStatus.WITHDRAWN],
}

# (country, region, the route a first notice goes under, its deadline in hours or None)
PLACES = (
    ("US", None, "us.tida.removal", 48),
    ("US", "CA", "us.tida.removal", 48),
    ("GB", None, "gb.osa.intimate_image_report", 48),
    ("FR", None, "eu.dsa.notice", None),
    ("IE", None, "eu.dsa.notice", None),
    ("DE", None, "eu.dsa.notice", None),
    ("AU", None, "au.esafety.iba_complaint", None),
    ("IN", None, "in.grievance.ncii", 2),
)

HANDLES = (
    "grok_edits_4u",
    "anon_pixel",
    "deepreply99",
    "xposter_123",
    "edit_bot_x",
    "nightfeed",
    "bikini_prompt",
    "repost_king",
    "shadow_acc",
    "throwaway_7781",
)


def demo_is_loaded(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Case)))


def _post(rng: random.Random, when: datetime) -> XPost:
    millis = int(when.timestamp() * 1000) - 1288834974657
    status_id = (millis << 22) | rng.getrandbits(22)
    handle = rng.choice(HANDLES)
    return XPost(
        url=f"https://x.com/{handle}/status/{status_id}",
        handle=handle,
        status_id=status_id,
        posted_at=snowflake_time(status_id),
    )


def load_demo(session: Session, *, now: datetime | None = None, cases: int = 50) -> dict[str, int]:
    """Create the demo data set. The caller commits."""
    rng = random.Random(2026)  # noqa: S311  (repeatable demo data, not a secret)
    now = now or datetime.now(UTC)
    staff: dict[str, list[User]] = {}
    orgs: list[Organisation] = []
    for slug, name, public in ORGANISATIONS:
        org = get_or_create_organisation(session, slug, name)
        org.receives_public_reports = public
        org.escalation_emails = f"escalations@{slug}.example"
        orgs.append(org)
        staff[slug] = []
        for role, count in ((Role.ADMIN, 1), (Role.CASEWORKER, 2), (Role.LAWYER, 1)):
            for n in range(1, count + 1):
                email = f"{role.value}{n if count > 1 else ''}@{slug}.example"
                user = session.scalar(select(User).where(User.email == email))
                if user is None:
                    user = create_user(
                        session,
                        organisation=org,
                        email=email,
                        name=f"Demo {role.value.title()} {n}",
                        role=role,
                        password=DEMO_PASSWORD,
                        actor=SYSTEM,
                    )
                staff[slug].append(user)

    statuses = list(PATHS)
    made = 0
    for index in range(cases):
        org = orgs[0] if index % 5 else orgs[1]
        people = staff[org.slug]
        admin = next(u for u in people if u.role is Role.ADMIN)
        caseworkers = [u for u in people if u.role is Role.CASEWORKER]
        country, region, route, hours = PLACES[index % len(PLACES)]
        minor = MinorStatus.YES if index % 11 == 3 else MinorStatus.NO
        reported = now - timedelta(days=rng.randint(0, 40), hours=rng.randint(0, 23))
        items = [
            NewItem(
                post=_post(rng, reported - timedelta(hours=rng.randint(1, 72))),
                kind=rng.choice(list(ItemKind)),
                category=rng.choice(
                    [ContentCategory.NUDE_SEXUAL, ContentCategory.REVEALING_ATTIRE]
                ),
                seen_at=reported - timedelta(minutes=rng.randint(5, 600)),
            )
            for _ in range(rng.randint(1, 6))
        ]
        case = open_case(
            session,
            NewCase(
                organisation_id=org.id,
                minor=minor,
                filer_role=FilerRole.SUBJECT if index % 4 else FilerRole.REPRESENTATIVE,
                filer_relationship=None if index % 4 else "friend",
                has_authority=not index % 4,
                country=country,
                region=region,
                language="fr" if country == "FR" else "en",
                wanted_actions=("takedown",),
                consent=True,
            ),
            items,
            SYSTEM,
        )
        case.created_at = reported
        target = statuses[index % len(statuses)]
        actor = Actor.staff(admin.id, admin.role.value)
        if target is not CaseStatus.NEW and index % 3:
            case.assignee_id = rng.choice(caseworkers).id
        for step in PATHS[target]:
            step_actor = SYSTEM if step is CaseStatus.ESCALATED else actor
            if step is CaseStatus.WITHDRAWN:
                step_actor = Actor.staff(admin.id, admin.role.value)
            if step is CaseStatus.AWAITING_PLATFORM:
                _add_notice(session, case, route, hours, reported, actor, target)
            transition(session, case, step, step_actor, reason="demo")
        made += 1
    session.flush()
    return {"organisations": len(orgs), "cases": made}


def _add_notice(
    session: Session,
    case: Case,
    route: str,
    hours: int | None,
    reported: datetime,
    actor: Actor,
    target: CaseStatus,
) -> None:
    sent = reported + timedelta(hours=6)
    notice = Notice(
        case_id=case.id,
        route_key=route,
        jurisdiction=route.split(".")[0].upper(),
        state=NoticeState.SENT,
        channel="web_form",
        sent_at=sent,
        received_at=sent,
        signature_name="Demo Caseworker",
        signed_at=sent,
        created_by_id=actor.id,
    )
    notice.items = [NoticeItem(item_id=item.id) for item in case.items]
    session.add(notice)
    session.flush()
    case.first_notice_at = sent
    if hours is not None:
        due = sent + timedelta(hours=hours)
        state = DeadlineState.PENDING
        if target is CaseStatus.ESCALATED:
            state = DeadlineState.MISSED
        elif target is CaseStatus.RESOLVED:
            state = DeadlineState.MET
        session.add(
            Deadline(
                notice_id=notice.id,
                case_id=case.id,
                due_at=due,
                state=state,
                handled_at=due if state is not DeadlineState.PENDING else None,
            )
        )
        if state is DeadlineState.PENDING:
            case.sort_deadline_at = due
