"""Links between cases, image clusters inside a case, and merges that lose nothing."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select

from casework.accounts.models import Role
from casework.actors import Actor
from casework.audit.models import AuditEvent
from casework.audit.services import verify_chain
from casework.cases.grouping import image_clusters, near_duplicates, pdq_cache
from casework.cases.merge import MergeError, merge_cases
from casework.cases.models import (
    Case,
    CaseJurisdiction,
    CaseLink,
    CaseNote,
    CaseStatus,
    Item,
    LinkReason,
    LinkState,
    MinorStatus,
)
from casework.cases.services import NewItem, add_items, add_note
from casework.cases.timeline import build_timeline, related_case_ids
from casework.deadlines.models import Deadline
from casework.evidence.models import EvidenceFile
from casework.evidence.xlinks import parse_x_link
from casework.extensions import db
from casework.notices.models import Letter, Notice, NoticeItem
from casework.orm import utcnow
from tests import factories

BASE_PDQ = "f" * 16 + "0" * 16 + "a5" * 8 + "3c" * 8


def flip(pdq: str, bits: int) -> str:
    """The hash with its lowest `bits` bits inverted: exactly that Hamming distance."""
    return f"{int(pdq, 16) ^ ((1 << bits) - 1):064x}"


def links_of(case: Case) -> set[tuple[LinkReason, str, LinkState]]:
    rows = db.session.scalars(
        select(CaseLink).where((CaseLink.case_a_id == case.id) | (CaseLink.case_b_id == case.id))
    )
    return {(link.reason, link.detail, link.state) for link in rows}


def staff_actor(user: Any) -> Actor:
    return Actor.staff(user.id, user.role.value)


# --- links -------------------------------------------------------------------------------


def test_the_same_post_or_account_links_cases_of_one_organisation(app: Flask) -> None:
    org = factories.org()
    sid = factories.status_id()
    first = factories.case(org, links=[factories.post_url("Poster_One", sid)])
    second = factories.case(org, links=[factories.post_url("someone_else", sid)])
    third = factories.case(org, links=[factories.post_url("poster_one")])
    elsewhere = factories.case(factories.org(), links=[factories.post_url("poster_one", sid)])
    db.session.commit()
    assert (LinkReason.STATUS_ID, str(sid), LinkState.PROPOSED) in links_of(first)
    assert (LinkReason.STATUS_ID, str(sid), LinkState.PROPOSED) in links_of(second)
    assert (LinkReason.ACCOUNT, "poster_one", LinkState.PROPOSED) in links_of(third)
    assert links_of(elsewhere) == set()
    link = db.session.scalars(select(CaseLink).where(CaseLink.reason == LinkReason.ACCOUNT)).one()
    assert (link.case_a_id, link.case_b_id) == (first.id, third.id)  # lower id first


def test_links_are_not_repeated_and_ignored_accounts_link_nothing(app: Flask) -> None:
    org = factories.org()
    first = factories.case(org, links=[factories.post_url("grok"), factories.post_url("alice")])
    second = factories.case(org, links=[factories.post_url("Grok")])
    db.session.commit()
    assert links_of(second) == set()
    again = [NewItem(post=parse_x_link(factories.post_url("alice")))]
    add_items(db.session, second, again, factories.SYSTEM)
    add_items(
        db.session,
        second,
        [NewItem(post=parse_x_link(factories.post_url("alice")))],
        factories.SYSTEM,
    )
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(CaseLink)) == 1
    assert links_of(first) == {(LinkReason.ACCOUNT, "alice", LinkState.PROPOSED)}


def test_the_same_file_and_a_near_identical_image_link_cases(app: Flask) -> None:
    org = factories.org()
    first, second, third, far = (factories.case(org) for _ in range(4))
    a = factories.evidence(first, seed=1, pdq=BASE_PDQ)
    b = factories.evidence(second, seed=1, pdq=BASE_PDQ)  # the very same file
    c = factories.evidence(third, seed=3, pdq=flip(BASE_PDQ, 31))
    # 32 bits from the base (top word), 63 from the third case's image.
    factories.evidence(far, seed=4, pdq=f"{int(BASE_PDQ, 16) ^ (((1 << 32) - 1) << 224):064x}")
    db.session.commit()
    assert (LinkReason.SHA256, a.sha256, LinkState.PROPOSED) in links_of(second)
    pdq_links = {
        (link.case_a_id, link.case_b_id, link.detail, link.distance)
        for link in db.session.scalars(select(CaseLink).where(CaseLink.reason == LinkReason.PDQ))
    }
    assert (first.id, third.id, f"{a.id}:{c.id}", 31) in pdq_links
    assert (second.id, third.id, f"{b.id}:{c.id}", 31) in pdq_links
    assert all(far.id not in pair[:2] for pair in pdq_links)


def test_the_index_catches_up_with_rows_added_elsewhere_and_forgets_deleted_ones(
    app: Flask,
) -> None:
    org = factories.org()
    first = factories.case(org)
    factories.evidence(first, seed=1, pdq=BASE_PDQ)
    db.session.commit()
    assert [h.case_id for h in near_duplicates(db.session, org.id, BASE_PDQ)] == [first.id]
    # Another process stores a file: a plain row, never seen by this process's index.
    other = factories.case(org)
    row = EvidenceFile(
        case_id=other.id,
        sha256="ab" * 32,
        pdq=flip(BASE_PDQ, 5),
        size_bytes=10,
        kept_on_device=True,
    )
    db.session.add(row)
    db.session.commit()
    hits = near_duplicates(db.session, org.id, BASE_PDQ)
    assert [(h.case_id, h.distance) for h in hits] == [(first.id, 0), (other.id, 5)]
    db.session.execute(delete(EvidenceFile).where(EvidenceFile.id == row.id))
    db.session.commit()
    assert [h.case_id for h in near_duplicates(db.session, org.id, BASE_PDQ)] == [first.id]
    assert pdq_cache().size(org.id) == 1


def test_a_dismissed_link_stays_dismissed(app: Flask, client: Any) -> None:
    org = factories.org()
    worker = factories.user(org, Role.CASEWORKER, password=None)
    sid = factories.status_id()
    first = factories.case(org, links=[factories.post_url("x1", sid)])
    second = factories.case(org, links=[factories.post_url("x2", sid)])
    db.session.commit()
    link = db.session.scalars(select(CaseLink)).one()
    factories.sign_in(client, worker)
    assert second.reference in client.get(f"/staff/cases/{first.id}").get_data(as_text=True)
    assert client.post(f"/staff/cases/{second.id}/links/{link.id}/dismiss").status_code == 302
    db.session.expire_all()
    assert db.session.get_one(CaseLink, link.id).state is LinkState.DISMISSED
    add_items(
        db.session,
        first,
        [NewItem(post=parse_x_link(factories.post_url("x3", sid)))],
        factories.SYSTEM,
    )
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(CaseLink)) == 1
    page = client.get(f"/staff/cases/{first.id}").get_data(as_text=True)
    assert "Not the same person" not in page
    assert "A proposed link to" in page  # in the timeline of both cases
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "case.link_dismissed")
    )
    assert {e.case_id for e in events} == {first.id, second.id}


def test_image_clusters_join_chains_of_near_copies(app: Flask) -> None:
    org = factories.org()
    case = factories.case(org)
    a = factories.evidence(case, seed=1, pdq=BASE_PDQ)
    b = factories.evidence(case, seed=2, pdq=flip(BASE_PDQ, 20))
    c = factories.evidence(case, seed=3, pdq=flip(BASE_PDQ, 40))  # 20 from b, 40 from a
    d = factories.evidence(case, seed=4, pdq=f"{int(BASE_PDQ, 16) ^ (2**256 - 1):064x}")
    e = factories.evidence(case, seed=1, pdq=BASE_PDQ)  # same file as a
    clusters = image_clusters([a, b, c, d, e])
    assert [sorted(f.id for f in group) for group in clusters] == [
        sorted([a.id, b.id, c.id, e.id]),
        [d.id],
    ]


# --- merging -------------------------------------------------------------------------------


def test_merging_keeps_every_item_file_notice_deadline_and_event_reachable(
    app: Flask, client: Any
) -> None:
    org = factories.org()
    worker = factories.user(org, Role.CASEWORKER, password=None)
    actor = staff_actor(worker)
    shared_sid = factories.status_id()
    source = factories.case(
        org,
        country="FR",
        links=[factories.post_url("dup_poster", shared_sid), factories.post_url("only_src")],
        status=CaseStatus.TRIAGE,
    )
    target = factories.case(
        org, links=[f"https://x.com/i/status/{shared_sid}", factories.post_url("only_tgt")]
    )
    third = factories.case(org, links=[factories.post_url("only_src")])  # linked to source
    dup_item = next(i for i in source.items if i.status_id == shared_sid)
    survivor = next(i for i in target.items if i.status_id == shared_sid)
    files = [
        factories.evidence(source, item=dup_item, seed=11),
        factories.evidence(source, seed=12),
        factories.evidence(target, item=survivor, seed=13),
    ]
    src_notice = factories.notice(source, "fr.pharos.report")
    due = utcnow().replace(microsecond=0)
    src_deadline = factories.deadline(src_notice, due)
    tgt_notice = factories.notice(target)
    add_note(db.session, source, "Source note", actor)
    add_note(db.session, target, "Target note", actor)
    factories.letter(source, route_key="fr.pharos.report")
    db.session.commit()

    status_ids = {i.status_id for i in source.items} | {i.status_id for i in target.items}
    file_ids = {f.id for f in files}
    events_before = set(
        db.session.scalars(
            select(AuditEvent.id).where(AuditEvent.case_id.in_([source.id, target.id]))
        )
    )
    src_links = {(r, d) for r, d, _ in links_of(source) if r is LinkReason.ACCOUNT}
    assert src_links == {(LinkReason.ACCOUNT, "only_src")}

    factories.sign_in(client, worker)
    confirm = client.get(f"/staff/cases/{source.id}/merge?target={target.reference}")
    assert f"Merge {source.reference} into {target.reference}" in confirm.get_data(as_text=True)
    response = client.post(f"/staff/cases/{source.id}/merge", data={"target": target.reference})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/staff/cases/{target.id}")

    db.session.expire_all()
    source = db.session.get_one(Case, source.id)
    target = db.session.get_one(Case, target.id)
    assert source.merged_into_id == target.id
    assert source.status is CaseStatus.CLOSED
    # Items: one per status id, the duplicate folded into the target's own item.
    items = db.session.scalars(select(Item).where(Item.case_id == target.id)).all()
    assert {i.status_id for i in items} == status_ids
    assert len(items) == len(status_ids)
    assert (
        db.session.scalar(select(func.count()).select_from(Item).where(Item.case_id == source.id))
        == 0
    )
    folded = next(i for i in items if i.status_id == shared_sid)
    assert folded.id == survivor.id and folded.handle == "dup_poster"
    # Evidence: every file now in the target; the duplicate's file points at the survivor.
    moved = db.session.scalars(select(EvidenceFile).where(EvidenceFile.id.in_(file_ids))).all()
    assert {f.case_id for f in moved} == {target.id}
    assert {f.item_id for f in moved if f.id == files[0].id} == {survivor.id}
    # Notices and their deadlines and coverage moved; the notice now covers the survivor.
    assert {n.case_id for n in db.session.scalars(select(Notice))} == {target.id}
    covered = set(
        db.session.scalars(select(NoticeItem.item_id).where(NoticeItem.notice_id == src_notice.id))
    )
    assert survivor.id in covered and dup_item.id not in covered
    assert db.session.get_one(Deadline, src_deadline.id).case_id == target.id
    assert target.sort_deadline_at == due  # the moved pending deadline is the nearest
    assert db.session.get_one(Notice, tgt_notice.id).case_id == target.id
    # Notes, jurisdictions, links.
    assert {
        n.body for n in db.session.scalars(select(CaseNote).where(CaseNote.case_id == target.id))
    } == {
        "Source note",
        "Target note",
    }
    codes = set(
        db.session.scalars(
            select(CaseJurisdiction.code).where(CaseJurisdiction.case_id == target.id)
        )
    )
    assert {"FR", "EU", "IE", "US"} <= codes
    assert (LinkReason.ACCOUNT, "only_src", LinkState.PROPOSED) in links_of(third)
    moved_link = db.session.scalars(select(CaseLink).where(CaseLink.detail == "only_src")).one()
    assert {moved_link.case_a_id, moved_link.case_b_id} == {target.id, third.id}
    between = db.session.scalars(
        select(CaseLink).where(
            CaseLink.reason == LinkReason.STATUS_ID, CaseLink.detail == str(shared_sid)
        )
    ).one()
    assert between.state is LinkState.MERGED
    # Every audit event of both cases is reachable from the target.
    ids = related_case_ids(db.session, target)
    assert set(ids) == {target.id, source.id}
    reachable = set(db.session.scalars(select(AuditEvent.id).where(AuditEvent.case_id.in_(ids))))
    assert events_before <= reachable
    timeline = build_timeline(db.session, target)
    assert events_before <= {e.order for e in timeline}
    assert verify_chain(db.session, org.id).ok
    page = client.get(f"/staff/cases/{target.id}").get_data(as_text=True)
    assert "before the merge" in page and "Source note" in page
    assert "fr.pharos.report" in page and "from a merged case" in page  # the source's letter
    old = client.get(f"/staff/cases/{source.id}").get_data(as_text=True)
    assert "This case was merged into" in old and target.reference in old
    assert (
        db.session.scalar(
            select(func.count()).select_from(Letter).where(Letter.case_id == source.id)
        )
        == 1
    )


@pytest.mark.parametrize("problem", ["withdrawn", "minor_with_images", "itself", "already_merged"])
def test_merges_that_must_not_happen_are_refused(app: Flask, problem: str) -> None:
    org = factories.org()
    actor = staff_actor(factories.user(org, Role.CASEWORKER, password=None))
    source, target = factories.case(org), factories.case(org)
    if problem == "withdrawn":
        source.status = CaseStatus.WITHDRAWN
    elif problem == "minor_with_images":
        factories.evidence(target, seed=5)
        source.minor = MinorStatus.UNSURE
    elif problem == "itself":
        target = source
    else:
        merge_cases(db.session, source, target, actor)
        source, target = factories.case(org), source  # the old source is merged already
    db.session.commit()
    with pytest.raises(MergeError):
        merge_cases(db.session, source, target, actor)
    db.session.rollback()


def test_a_merge_refusal_is_shown_on_the_confirmation_page(app: Flask, client: Any) -> None:
    org = factories.org()
    worker = factories.user(org, Role.CASEWORKER, password=None)
    source, target = factories.case(org), factories.case(org, status=CaseStatus.WITHDRAWN)
    db.session.commit()
    factories.sign_in(client, worker)
    page = client.post(f"/staff/cases/{source.id}/merge", data={"target": target.reference})
    assert page.status_code == 400
    assert "A withdrawn case cannot be merged." in page.get_data(as_text=True)
    unknown = client.post(f"/staff/cases/{source.id}/merge", data={"target": "CW-1999-000001"})
    assert "There is no case with that reference" in unknown.get_data(as_text=True)
    assert db.session.get_one(Case, source.id).merged_into_id is None
