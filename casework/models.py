"""Every model, imported in one place so Alembic and the app see the whole schema."""

from casework.accounts.models import Organisation, Role, User
from casework.audit.models import AuditChain, AuditEvent
from casework.cases.models import (
    Case,
    CaseJurisdiction,
    CaseLink,
    CaseNote,
    CaseStatus,
    ContentCategory,
    FilerRole,
    Item,
    ItemKind,
    LinkReason,
    LinkState,
    MinorStatus,
    Priority,
    ReferenceCounter,
    RemovalState,
)
from casework.deadlines.models import (
    Deadline,
    DeadlineState,
    Escalation,
    Reminder,
    RemovalCheck,
    SweepRun,
)
from casework.evidence.models import EvidenceFile
from casework.intake.models import StoredDraft, StoredDraftScreenshot
from casework.notices.models import Letter, Notice, NoticeItem, NoticeState
from casework.notifications.models import EmailState, Notification, OutgoingEmail
from casework.sessions.models import SessionKind, WebSession

__all__ = [
    "AuditChain",
    "AuditEvent",
    "Case",
    "CaseJurisdiction",
    "CaseLink",
    "CaseNote",
    "CaseStatus",
    "ContentCategory",
    "Deadline",
    "DeadlineState",
    "EmailState",
    "Escalation",
    "EvidenceFile",
    "FilerRole",
    "Item",
    "ItemKind",
    "Letter",
    "LinkReason",
    "LinkState",
    "MinorStatus",
    "Notice",
    "NoticeItem",
    "NoticeState",
    "Notification",
    "Organisation",
    "OutgoingEmail",
    "Priority",
    "ReferenceCounter",
    "Reminder",
    "RemovalCheck",
    "RemovalState",
    "Role",
    "SessionKind",
    "StoredDraft",
    "StoredDraftScreenshot",
    "SweepRun",
    "User",
    "WebSession",
]
