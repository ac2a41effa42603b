"""The staff workspace in French: pages, flash messages, form errors, notifications and emails.

Each page is rendered in English and in French. Every catalogue sentence the
English page shows must be gone from the French one (so nothing wrapped was
left untranslated), no common English word may remain (so nothing was left
unwrapped), and a few key French phrases must be there.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import select

from casework.accounts.models import Role, User
from casework.actors import SYSTEM
from casework.cases.models import ItemKind
from casework.cases.services import add_note
from casework.deadlines import messages
from casework.extensions import db
from casework.notifications.models import EmailState, OutgoingEmail
from casework.notifications.services import notify_user, queue_email
from casework.orm import utcnow
from casework.registry import default_registry
from tests import factories
from tests.deadline_factories import TIDA, sent_notice

PO_PATH = Path(__file__).resolve().parents[2] / "casework/translations/fr/LC_MESSAGES/messages.po"
NBSP = "\u00a0"
# Words that are English and never French; none of the test's own data contains them.
ENGLISH_WORDS = re.compile(
    r"\b(the|and|with|your|this|from|was|were|has|have|been|will|which|not|of|to|yet|no longer)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Desk:
    client: FlaskClient
    admin: User
    lawyer: User
    case_id: int
    other_reference: str
    evidence_id: int
    notice_id: int


@pytest.fixture
def desk(app: Flask, client: FlaskClient) -> Desk:
    """An organisation with a case that has a bit of everything, and its admin signed in."""
    org = factories.org()
    admin = factories.user(org, Role.ADMIN, name="Camille Martin", timezone="Europe/Paris")
    lawyer = factories.user(org, Role.LAWYER, name="Inès Petit")
    case = factories.case(
        org,
        links=[factories.post_url("premier_compte"), factories.post_url("autre_compte")],
        country="FR",
        wanted_actions=["takedown", "legal_advice"],
    )
    case.items[0].kind = ItemKind.AI_IMAGE
    other = factories.case(org, country="FR")
    notice = sent_notice(case, received_at=utcnow() - timedelta(hours=3))
    evidence = factories.evidence(case, item=case.items[0])
    add_note(db.session, case, "Appel reçu.", SYSTEM)
    for kind, params in [
        ("deadline_reminder", {"due_at": "2026-03-01T11:00:00Z"}),
        ("deadline_missed", {"due_at": "2026-03-01T11:00:00Z"}),
        ("follow_up_due", {"due_at": "2026-03-01T11:00:00Z"}),
        ("case_assigned", {}),
        ("platform_replied", {"at": "2026-03-02T09:30:00Z"}),
    ]:
        notify_user(
            db.session,
            user_id=admin.id,
            kind=kind,
            case_id=case.id,
            params={"reference": case.reference, **params},
        )
    failed = queue_email(
        db.session, recipient="x@example.org", subject="Rappel", body="…", organisation_id=org.id
    )
    failed.state, failed.attempts, failed.last_error = EmailState.FAILED, 8, "SMTPDataError 554"
    db.session.commit()
    factories.sign_in(client, admin)
    return Desk(client, admin, lawyer, case.id, other.reference, evidence.id, notice.id)


def choose_language(client: FlaskClient, lang: str) -> None:
    response = client.post("/language", data={"lang": lang, "next": "/staff/"})
    assert response.status_code == 302


def visible_text(page: str) -> str:
    """What a reader sees or hears: text, and the labels of controls and images."""
    labels = re.findall(r'(?:aria-label|alt|title|placeholder)="([^"]*)"', page)
    page = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", page)
    text = re.sub(r"<[^>]+>", " ", page)
    # Ordinary white space only: French keeps its no-break spaces before ":" and inside « ».
    return re.sub(r"[ \t\r\n]+", " ", html.unescape(" ".join([text, *labels])))


@cache
def english_patterns() -> tuple[re.Pattern[str], ...]:
    """A pattern for every catalogue sentence whose French differs, placeholders as wildcards."""
    with PO_PATH.open("rb") as handle:
        catalogue = read_po(handle)
    patterns = []
    for message in catalogue:
        if not message.id:
            continue
        english = (message.id,) if isinstance(message.id, str) else message.id
        french = (message.string,) if isinstance(message.string, str) else message.string
        for text in english:
            words = re.findall(r"[A-Za-z]{2,}", re.sub(r"%\(\w+\)[sd]", " ", text))
            if text in french or len(words) < 2:
                continue  # the same in both languages, or too short to tell from data
            escaped = re.escape(" ".join(text.split()))
            escaped = re.sub(r"%\\\(\w+\\\)[sd]", ".{1,80}?", escaped)
            patterns.append(re.compile(r"(?<!\w)" + escaped + r"(?!\w)"))
    return tuple(patterns)


@cache
def law_names() -> tuple[str, ...]:
    """Citations that name a law: French pages print them in the law's own words."""
    names = {r.citation for r in default_registry().routes if "fr" not in r.citation_translated}
    return tuple(sorted(names, key=len, reverse=True))


def assert_all_french(english_page: str, french_page: str) -> None:
    english, french = visible_text(english_page), visible_text(french_page)
    shown = [p for p in english_patterns() if p.search(english)]
    assert len(shown) >= 3, "the English page shows catalogue sentences"
    assert [p.pattern for p in shown if p.search(french)] == []
    for name in law_names():
        french = french.replace(name, " ")
    assert ENGLISH_WORDS.findall(french) == []
    assert 'lang="fr"' in french_page


def both_languages(client: FlaskClient, url: str, status: int = 200) -> tuple[str, str]:
    pages = []
    for lang in ("en", "fr"):
        choose_language(client, lang)
        response = client.get(url)
        assert response.status_code == status, (url, lang)
        pages.append(response.get_data(as_text=True))
    return pages[0], pages[1]


PAGES: dict[str, tuple[str, list[str], str]] = {
    # name: (url, French phrases that must be there, an English phrase that must not)
    "queue": (
        "/staff/cases/?worklist=all",
        ["Tous les dossiers", "Appliquer les filtres", "Échéance la plus proche", "nouveau"],
        "Apply filters",
    ),
    "case screen": (
        "/staff/cases/{case}",
        [
            "La personne représentée",
            "Avis de retrait et délais",
            "Le dossier a été ouvert avec 2 publications.",
            "retrait, conseil juridique",
            "où la plateforme est établie",
            "image générée par IA",
            "Échéance le ",
            f"{NBSP}: en cours",  # the deadline's state
            "@premier_compte",
            "Demande de retrait au titre du TAKE IT DOWN Act",
            "Ajouter des captures d’écran",
            "La publication que montrent ces images",
        ],
        "Notices and deadlines",
    ),
    "link import": (
        "/staff/cases/{case}/import",
        [
            "Importer une liste de liens",
            "Vérifier la liste",
            "Ou téléversez un fichier .csv ou .txt",
        ],
        "Check the list",
    ),
    "new case": (
        "/staff/cases/new",
        ["Nouveau dossier pour une personne", "Qui nous a demandé d’ouvrir ce dossier"],
        "Who asked us to file this case",
    ),
    "new case from a list": (
        "/staff/cases/new/import",
        ["Nouveau dossier à partir d’une liste de liens", "Vérifier la liste"],
        "New case from a list of links",
    ),
    "letters of a case": (
        "/staff/notices/cases/{case}",
        ["Demande de retrait au titre du TAKE IT DOWN Act"],
        "Evidence bundle",
    ),
    "notice": (
        "/staff/notices/notices/{notice}",
        ["Demande de retrait au titre du TAKE IT DOWN Act"],
        "Sent",
    ),
    "evidence": (
        "/staff/cases/{case}/evidence/{evidence}",
        ["Preuve", "L’afficher sans flou", "journal d’audit"],
        "Show it unblurred",
    ),
    "merge": (
        "/staff/cases/{case}/merge?target={other}",
        ["Fusionner", "dans un autre dossier", "Fichiers de preuve"],
        "into another case",
    ),
    "overview": (
        "/staff/cases/overview",
        ["Vue d’ensemble", "Dossiers ouverts par statut", "2 dossiers ouverts"],
        "Open cases by status",
    ),
    "notifications": (
        "/staff/notifications/",
        [
            "la plateforme n’a pas respecté son délai",
            "vous a été attribué",
            "il est temps de relancer l’avis de retrait",
            "1 mars 2026",
            "Marquer comme lue",
        ],
        "has been assigned to you",
    ),
    "account": (
        "/staff/account",
        ["Votre compte", "Connexion en deux étapes", "En un clic depuis X"],
        "Your account",
    ),
    "log a post": (
        "/staff/log?url=https%3A%2F%2Fx.com%2Fsomeone%2Fstatus%2F2008000000000000999",
        ["Consigner une publication de X", "L’ajouter à un dossier ouvert"],
        "Log a post from X",
    ),
    "staff accounts": (
        "/staff/admin/",
        ["Comptes de l’équipe", "Administrateur ou administratrice", "Avocat ou avocate"],
        "Staff accounts",
    ),
    "one account": (
        "/staff/admin/users/{lawyer}",
        ["Désactiver le compte", "Changer le rôle"],
        "Deactivate account",
    ),
    "api tokens": (
        "/staff/admin/tokens",
        ["Jetons d’API", "Émettre un jeton", "Agit en tant que", "Aucun jeton pour l’instant."],
        "Issue a token",
    ),
    "audit trail": (
        "/staff/admin/audit",
        ["Journal d’audit", "Vérifier la chaîne", "le système"],
        "Check the chain",
    ),
    "worker health": ("/staff/ops/", ["État des workers", "Files"], "Worker health"),
    "failed jobs": ("/staff/ops/failed-jobs", ["Tâches en échec"], "Failed jobs"),
    "outbox": (
        "/staff/ops/outbox",
        ["Boîte d’envoi des e-mails", "en échec", "Relancer"],
        "Email outbox",
    ),
    "compliance": (
        "/staff/ops/compliance",
        ["Respect des délais par les plateformes", "Avis envoyés", "Télécharger en CSV"],
        "Platform compliance",
    ),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_every_staff_page_is_in_french_when_french_is_chosen(desk: Desk, name: str) -> None:
    template, phrases, english_phrase = PAGES[name]
    url = template.format(
        case=desk.case_id,
        evidence=desk.evidence_id,
        other=desk.other_reference,
        lawyer=desk.lawyer.id,
        notice=desk.notice_id,
    )
    english, french = both_languages(desk.client, url)
    assert english_phrase in english
    assert english_phrase not in french
    text = visible_text(french)
    for phrase in phrases:
        assert phrase in text, phrase
    assert_all_french(english, french)


def test_sign_in_two_step_and_password_pages_are_in_french(app: Flask, client: FlaskClient) -> None:
    for url in ("/staff/sign-in", "/staff/password/forgotten"):
        english, french = both_languages(client, url)
        assert_all_french(english, french)
    english, french = both_languages(client, "/staff/password/new/not-a-token", status=400)
    assert_all_french(english, french)
    assert "Ce lien ne fonctionne plus" in french

    org = factories.org()
    factories.user(org, email="camille@asso.example")
    lawyer = factories.user(org, Role.LAWYER, email="ines@asso.example")
    factories.with_totp(lawyer)
    db.session.commit()
    choose_language(client, "fr")
    wrong = factories.sign_in_with_password(client, "camille@asso.example", "pas le bon")
    page = visible_text(wrong.get_data(as_text=True))
    assert "L’adresse e-mail ou le mot de passe est incorrect." in page
    assert "not right" not in page

    assert factories.sign_in_with_password(client, lawyer.email).status_code == 302
    english, french = both_languages(client, "/staff/sign-in/code")
    assert_all_french(english, french)
    refused = visible_text(
        client.post("/staff/sign-in/code", data={"code": "12345"}).get_data(as_text=True)
    )
    assert "Ce code n’est pas le bon." in refused


def test_the_page_a_role_may_not_see_says_so_in_french(desk: Desk) -> None:
    g.pop("_login_user", None)
    factories.sign_in(desk.client, desk.lawyer)
    choose_language(desk.client, "fr")
    refused = desk.client.get("/staff/admin/")
    assert refused.status_code == 403
    text = visible_text(refused.get_data(as_text=True))
    assert "Vous n’avez pas accès à cette page" in text
    assert ENGLISH_WORDS.findall(text) == []


def test_accept_language_alone_gives_french_and_the_switch_overrides_it(
    desk: Desk,
) -> None:
    french = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
    page = desk.client.get("/staff/cases/", headers=french).get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert "Tous les dossiers ouverts" in page
    choose_language(desk.client, "en")
    page = desk.client.get("/staff/cases/", headers=french).get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "All open" in page and "Tous les dossiers ouverts" not in page


def test_flash_messages_and_form_errors_are_in_french(desk: Desk) -> None:
    client = desk.client
    choose_language(client, "fr")
    case_url = f"/staff/cases/{desk.case_id}"

    refused = client.post(f"{case_url}/notes", data={"body": ""})
    assert refused.status_code == 400
    assert "Rédigez la note avant de l’enregistrer." in visible_text(refused.get_data(as_text=True))

    moved = client.post(f"{case_url}/status", data={"target": "triage"}, follow_redirects=True)
    text = visible_text(moved.get_data(as_text=True))
    assert f"Le dossier est désormais au statut «{NBSP}en tri{NBSP}»." in text
    assert "The case is now" not in text
    assert f"Le statut est passé de «{NBSP}nouveau{NBSP}» à «{NBSP}en tri{NBSP}»." in text

    g.pop("_login_user", None)
    checked = client.post("/staff/admin/audit/verify", follow_redirects=True)
    assert re.search(
        rf"Le journal d’audit est intact{NBSP}: \d+ événements vérifiés\.",
        visible_text(checked.get_data(as_text=True)),
    )

    g.pop("_login_user", None)
    invite = client.post(
        "/staff/admin/users/invite",
        data={"email": "pas-une-adresse", "name": "N" * 300, "role": "caseworker", "locale": "fr"},
    )
    assert invite.status_code == 400
    text = visible_text(invite.get_data(as_text=True))
    assert "Saisissez une adresse e-mail, comme nom@example.org." in text
    # WTForms' own length message, from its French catalogue.
    assert "200 caractères" in text
    assert "Field cannot be longer" not in text
    assert "N" * 300 in invite.get_data(as_text=True)  # what was typed is kept


def _emails_to(address: str) -> list[OutgoingEmail]:
    return list(db.session.scalars(select(OutgoingEmail).where(OutgoingEmail.recipient == address)))


def test_password_and_invitation_emails_follow_the_persons_language(
    app: Flask, client: FlaskClient
) -> None:
    app.config["JOBS_SYNC"] = True  # the reset link's job runs in the request
    org = factories.org()
    admin = factories.user(org, Role.ADMIN)
    french_reader = factories.user(org, email="ines@asso.example", locale="fr")
    english_reader = factories.user(org, email="lee@asso.example", locale="en")
    db.session.commit()

    for person in (french_reader, english_reader):
        client.post("/staff/password/forgotten", data={"email": person.email})
    [french] = _emails_to(french_reader.email)
    assert french.subject == "Réinitialisez votre mot de passe Casework"
    assert "Choisissez-en un nouveau avec ce lien" in french.body
    assert "Le lien ne fonctionne qu’une fois, pendant 1 heure." in french.body
    [english] = _emails_to(english_reader.email)
    assert english.subject == "Reset your Casework password"
    assert "The link works once, for 1 hour." in english.body

    factories.sign_in(client, admin)
    choose_language(client, "en")  # the admin's own language does not decide the email's
    invited = client.post(
        "/staff/admin/users/invite",
        data={"email": "jules@asso.example", "name": "Jules", "role": "lawyer", "locale": "fr"},
    )
    assert invited.status_code == 302
    [invitation] = _emails_to("jules@asso.example")
    assert invitation.subject == "Vous êtes invité(e) sur Casework"
    assert f"{org.name} vous a ouvert un compte sur Casework" in invitation.body
    assert "pendant 72 heures" in invitation.body


def test_deadline_emails_are_written_in_french_for_french_readers(app: Flask) -> None:
    due = utcnow().replace(microsecond=0) + timedelta(hours=5)
    params: list[dict[str, Any]] = [
        messages.deadline_params(
            reference=reference, route_key=TIDA, stage="x", due_at=due, timezone="Europe/Paris"
        )
        for reference in ("CW-2026-000123", "CW-2026-000124")
    ]
    reminder = messages.render(messages.KIND_REMINDER, params[0], "fr")
    assert reminder.subject.startswith(
        f"Rappel{NBSP}: CW-2026-000123, échéance de la plateforme le "
    )
    assert "donner suite à l’avis de retrait (Demande de retrait au titre du TAKE IT DOWN Act)" in (
        reminder.body
    )
    assert "(Europe/Paris)" in reminder.body

    missed = messages.render_many(messages.KIND_MISSED, params, "fr")
    assert missed.subject == f"Délais dépassés{NBSP}: 2 dossiers"
    assert "CW-2026-000123" in missed.body and "CW-2026-000124" in missed.body
    assert "transmis aux autorités" in missed.body
    assert ENGLISH_WORDS.findall(missed.body.replace("TAKE IT DOWN Act", "")) == []

    follow_up = messages.render(messages.KIND_FOLLOW_UP, params[1], "fr")
    assert follow_up.subject == f"Relance{NBSP}: CW-2026-000124"

    assert messages.render(messages.KIND_MISSED, params[0], "en").subject == (
        "Deadline missed: CW-2026-000123"
    )
