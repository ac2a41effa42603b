"""A realistic demo data set: two organisations, staff of every role, about fifty cases."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

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
from casework.cases.worklists import refresh_sort_deadline
from casework.deadlines.models import DeadlineState
from casework.deadlines.services import start_clock
from casework.evidence.xlinks import XPost, snowflake_time
from casework.notices.models import Notice, NoticeItem, NoticeState
from casework.orm import DbSession
from casework.registry import default_registry

DEMO_PASSWORD = "casework-demo-2026"  # noqa: S105  (published demo credential, dev only)  # nosec B105

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

# (country, region, the registry route a first notice goes under)
PLACES = (
    ("US", None, "us.tida.removal"),
    ("US", "CA", "us-ca.bpc22671.report"),
    ("GB", None, "gb.osa.intimate_image_report"),
    ("FR", None, "fr.dsa.signalement"),
    ("IE", None, "eu.dsa.notice"),
    ("DE", None, "eu.dsa.notice"),
    ("AU", None, "au.esafety.iba_complaint"),
    ("IN", None, "in.grievance.ncii"),
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


def demo_is_loaded(session: DbSession) -> bool:
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


def load_demo(
    session: DbSession, *, now: datetime | None = None, cases: int = 50
) -> dict[str, int]:
    """Create the demo data set. The caller commits."""
    rng = random.Random(2026)  # noqa: S311  (repeatable demo data, not a secret)  # nosec B311
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
        country, region, route = PLACES[index % len(PLACES)]
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
                # Cases still waiting sent their notice lately, so their clocks still run.
                sent = (
                    now - timedelta(hours=rng.randint(1, 20))
                    if target is CaseStatus.AWAITING_PLATFORM
                    else reported + timedelta(hours=6)
                )
                _add_notice(session, case, route, sent, actor, target)
            transition(session, case, step, step_actor, reason="demo")
        made += 1
    session.flush()
    return {"organisations": len(orgs), "cases": made}


def _add_notice(
    session: DbSession,
    case: Case,
    route_key: str,
    sent: datetime,
    actor: Actor,
    target: CaseStatus,
) -> None:
    """A notice sent under a registry route, its clock started exactly as the law says."""
    route = default_registry().route(route_key)
    notice = Notice(
        case_id=case.id,
        route_key=route.key,
        jurisdiction=route.jurisdiction.upper(),
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
    deadlines = start_clock(session, notice, route, clock_started_at=sent)
    outcome = {CaseStatus.ESCALATED: DeadlineState.MISSED, CaseStatus.RESOLVED: DeadlineState.MET}
    if target in outcome:
        for deadline in deadlines:
            deadline.state = outcome[target]
            deadline.handled_at = deadline.due_at
            deadline.handled_by = "demo"
        refresh_sort_deadline(session, case)
