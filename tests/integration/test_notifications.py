"""Staff notifications: one's own, newest first, in one's own language and zone, marked read."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from casework.extensions import db
from casework.notifications.models import Notification
from casework.notifications.services import notify_user
from casework.orm import utcnow
from tests import factories


def test_the_list_shows_ones_own_notifications_newest_first(
    app: Flask, client: FlaskClient
) -> None:
    org = factories.org()
    me = factories.user(org, timezone="Europe/Paris")
    someone_else = factories.user(org)
    case = factories.case(org)
    now = utcnow()
    older = notify_user(
        db.session,
        user_id=me.id,
        kind="deadline_reminder",
        case_id=case.id,
        params={"reference": case.reference, "due_at": "2026-03-01T11:00:00+00:00"},
    )
    older.created_at = now - timedelta(hours=2)
    notify_user(
        db.session,
        user_id=me.id,
        kind="case_assigned",
        case_id=case.id,
        params={"reference": case.reference},
    )
    notify_user(
        db.session,
        user_id=someone_else.id,
        kind="case_assigned",
        params={"reference": "CW-2026-999999"},
    )
    db.session.commit()
    factories.sign_in(client, me)

    page = client.get("/staff/notifications/").get_data(as_text=True)
    assigned = page.index(f"Case {case.reference} has been assigned to you.")
    reminder = page.index(f"Case {case.reference}: the platform&#39;s deadline is")
    assert assigned < reminder
    # 11:00 UTC is noon in Paris in March.
    assert "12:00:00" in page and "(Europe/Paris)" in page
    assert "CW-2026-999999" not in page
    assert '<span class="badge">2</span>' in page


def test_every_kind_reads_as_a_sentence_in_french(app: Flask, client: FlaskClient) -> None:
    org = factories.org()
    me = factories.user(org)
    for kind, params in [
        ("deadline_reminder", {"reference": "CW-2026-000001", "due_at": "2026-03-01T11:00:00Z"}),
        ("deadline_missed", {"reference": "CW-2026-000002", "due_at": "2026-03-01T11:00:00Z"}),
        ("case_assigned", {"reference": "CW-2026-000003"}),
        ("platform_replied", {"reference": "CW-2026-000004", "at": "2026-03-02T09:30:00Z"}),
        ("something_new", {"reference": "CW-2026-000005"}),
    ]:
        notify_user(db.session, user_id=me.id, kind=kind, params=params)
    db.session.commit()
    factories.sign_in(client, me)
    page = client.get("/staff/notifications/").get_data(as_text=True)
    for n in range(1, 6):
        assert f"CW-2026-00000{n}" in page
    assert "missed its deadline" in page
    assert "the platform replied on" in page
    assert "has an update" in page

    french = client.get("/staff/notifications/", headers={"Accept-Language": "fr"}).get_data(
        as_text=True
    )
    assert 'lang="fr"' in french
    # Sentences and dates follow the reader's language; references stay as they are.
    assert "Dossier CW-2026-000002\u00a0: la plateforme n’a pas respecté son délai" in french
    assert "Le dossier CW-2026-000003 vous a été attribué." in french
    assert "Dossier CW-2026-000004\u00a0: la plateforme a répondu le 2 mars 2026" in french
    assert "Le dossier CW-2026-000005 a du nouveau." in french
    assert "1 mars 2026" in french
    assert "has an update" not in french and "missed its deadline" not in french


def test_marking_read(app: Flask, client: FlaskClient) -> None:
    org = factories.org()
    me = factories.user(org)
    other = factories.user(org)
    mine = [
        notify_user(db.session, user_id=me.id, kind="case_assigned", params={"reference": "A"})
        for _ in range(3)
    ]
    theirs = notify_user(db.session, user_id=other.id, kind="case_assigned", params={})
    db.session.commit()
    ids = [n.id for n in mine]
    theirs_id = theirs.id
    factories.sign_in(client, me)

    assert client.post(f"/staff/notifications/{ids[0]}/read").status_code == 302
    assert client.post(f"/staff/notifications/{theirs_id}/read").status_code == 404
    db.session.expire_all()
    assert db.session.get(Notification, ids[0]).read_at is not None  # type: ignore[union-attr]
    assert db.session.get(Notification, theirs_id).read_at is None  # type: ignore[union-attr]
    assert '<span class="badge">2</span>' in client.get("/staff/notifications/").get_data(
        as_text=True
    )

    client.post("/staff/notifications/read-all")
    db.session.expire_all()
    unread = db.session.scalars(select(Notification).where(Notification.read_at.is_(None))).all()
    assert [n.id for n in unread] == [theirs_id]
    assert 'class="badge"' not in client.get("/staff/notifications/").get_data(as_text=True)
