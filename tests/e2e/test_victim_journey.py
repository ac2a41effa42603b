"""Journey: a victim reports from a French phone, writes down her code, and comes back later.

She pastes three links, one of them a profile instead of a post; the page says which
line is wrong and why, in French, keeping what she typed; she corrects it. She adds a
screenshot, asks to be contacted by email, sends, and writes down the reference and the
access code. Later, on a fresh browser, she signs in with them, adds one more link and
reads the timeline of her case.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import select

from casework.cases.models import Case, ItemKind
from casework.evidence.models import EvidenceFile
from casework.notifications.models import OutgoingEmail
from tests import factories
from tests.e2e.conftest import LiveServer
from tests.e2e.journeys import database, french_phone, screen

pytestmark = pytest.mark.e2e

IMAGE_POST = "https://x.com/grokfan/status/2008000000000000101"
PROFILE_NOT_POST = "https://x.com/grokfan"
CORRECTED_PROMPT_REPLY = "https://x.com/grokfan/status/2008000000000000303"
REPOST = "https://twitter.com/reposteur/status/2008000000000000202"
ADDED_LATER = "https://x.com/autrecompte/status/2008000000000000404"
PROMPT = "@grok mets-la en bikini"
EMAIL = "camille@example.org"
PARIS = ZoneInfo("Europe/Paris")


def text(locator: Any) -> str:
    """The text as read: French no-break spaces (before : and inside « ») and line breaks
    as plain spaces."""
    return " ".join(str(locator.inner_text()).split())


def screenshot_file(tmp_path: Path) -> Path:
    """A phone screenshot as a person would save it: a PNG, with some pixels worth keeping."""
    image = Image.new("RGB", (360, 640), (245, 245, 250))
    for y in range(80, 560, 40):
        image.paste((30, 30, 60), (20, y, 340, y + 12))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path = tmp_path / "capture-ecran.png"
    path.write_bytes(buffer.getvalue())
    return path


def file_the_report(page: Any, shoot: Any, screenshot: Path) -> tuple[str, str]:
    """From the landing page to the confirmation; returns what she writes down."""
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "fr"
    screen(page, shoot, "landing")
    page.get_by_role("link", name="Signaler des images").click()

    page.wait_for_url("**/report/")
    page.get_by_label("Je suis la personne sur les images").check()
    screen(page, shoot, "who is filing")
    page.get_by_role("button", name="Continuer").click()

    page.wait_for_url("**/report/age")
    page.get_by_label("Non, elle a 18 ans ou plus").check()
    page.get_by_role("button", name="Continuer").click()

    page.wait_for_url("**/report/posts")
    links = page.get_by_label("Liens vers les publications sur X, un par ligne")
    links.fill("\n".join([IMAGE_POST, PROFILE_NOT_POST, REPOST]))
    page.get_by_role("button", name="Continuer").click()

    # The error is next to the field, names the line, says why, and keeps what she typed.
    error = page.locator("#links-error-1")
    assert text(error) == (
        "Erreur : Ligne 2 (« https://x.com/grokfan ») : C’est un lien vers un profil, pas vers "
        "une publication. Ouvrez la publication elle-même et copiez son lien."
    )
    assert page.locator(".error-summary").get_by_role("link").count() == 1
    assert links.input_value().splitlines() == [IMAGE_POST, PROFILE_NOT_POST, REPOST]
    assert links.get_attribute("aria-invalid") == "true"
    screen(page, shoot, "bad link explained")

    links.fill("\n".join([IMAGE_POST, CORRECTED_PROMPT_REPLY, REPOST]))
    page.get_by_role("button", name="Continuer", exact=True).click()

    page.wait_for_url("**/report/posts/details")
    page.locator("#posts-0-kind").select_option(label="Une image générée par IA")
    page.locator("#posts-1-kind").select_option(label="La réponse qui a demandé l’image")
    page.locator("#posts-1-prompt").fill(PROMPT)
    screen(page, shoot, "about each post")
    page.get_by_role("button", name="Continuer").click()

    page.wait_for_url("**/report/screenshots")
    page.get_by_label("Captures d’écran ou images").set_input_files(str(screenshot))
    page.get_by_role("button", name="Ajouter celles-ci et en choisir d’autres").click()
    page.wait_for_url("**/report/screenshots")
    assert "capture-ecran.png" in text(page.locator(".file-list"))
    screen(page, shoot, "screenshot added")
    page.get_by_role("button", name="Continuer").click()

    page.wait_for_url("**/report/where")
    page.get_by_label("Pays où vit la personne").select_option("FR")
    # The language she reads in is already chosen for our messages.
    assert page.get_by_role("radio", name="Français").is_checked()
    page.get_by_label("Par e-mail").check()
    page.get_by_label("Adresse e-mail").fill(EMAIL)
    screen(page, shoot, "where and contact")
    page.get_by_role("button", name="Continuer").click()

    page.wait_for_url("**/report/wishes")
    page.get_by_label("Faire retirer les publications").check()
    page.get_by_label(re.compile("^J’accepte que l’association d’aide agisse")).check()
    page.get_by_role("button", name="Continuer").click()

    page.wait_for_url("**/report/review")
    review = text(page.locator("main"))
    assert "3 publications" in review
    assert "x.com/grokfan/status/2008000000000000303" in review
    assert f"“{PROMPT}”" in review
    assert EMAIL in review
    screen(page, shoot, "review")
    page.get_by_role("button", name="Envoyer le signalement").click()

    page.wait_for_url("**/report/submit")
    assert text(page.locator("h1")) == "Votre signalement a été envoyé"
    reference = text(page.locator(".access-value.reference")).strip()
    access_code = text(page.locator(".access-value.code")).strip()
    assert re.fullmatch(r"CW-\d{4}-\d{6}", reference)
    assert len(access_code.split()) == 6
    screen(page, shoot, "reference and access code")
    return reference, access_code


def test_a_victim_reports_in_french_from_her_phone_and_comes_back_to_add_a_link(
    live_server: LiveServer,
    new_page: Any,
    playwright_driver: Any,
    shoot: Any,
    tmp_path: Path,
) -> None:
    with database(live_server.app) as session:
        factories.org(receives_public_reports=True)
        session.commit()

    phone = french_phone(new_page, playwright_driver)
    reference, access_code = file_the_report(phone, shoot, screenshot_file(tmp_path))

    with database(live_server.app) as session:
        case = session.scalars(select(Case)).one()
        assert case.reference == reference
        assert (case.language, case.country, case.timezone) == ("fr", "FR", "Europe/Paris")
        assert case.contact_email == EMAIL
        assert [(i.url, i.kind, i.prompt_text) for i in case.items] == [
            (IMAGE_POST, ItemKind.AI_IMAGE, None),
            (CORRECTED_PROMPT_REPLY, ItemKind.PROMPT_REPLY, PROMPT),
            (REPOST.replace("twitter.com", "x.com"), ItemKind.UNKNOWN, None),
        ]
        shot = session.scalars(select(EvidenceFile)).one()
        assert (shot.case_id, shot.original_name, shot.kept_on_device) == (
            case.id,
            "capture-ecran.png",
            False,
        )
        # The confirmation is waiting in the outbox, in French, with the reference in it.
        email = session.scalars(select(OutgoingEmail)).one()
        assert email.recipient == EMAIL
        assert reference in email.body and access_code not in email.subject
        case_id = case.id

    # Later, on a browser that remembers nothing, with what she wrote down.
    phone.context.close()
    later = french_phone(new_page, playwright_driver)
    later.goto("/")
    later.get_by_role("link", name="J’ai déjà un dossier").click()
    later.wait_for_url("**/my-case/")
    later.get_by_label("Référence du dossier").fill(reference)
    later.get_by_label("Code d’accès").fill(access_code.upper().replace(" ", "  "))
    screen(later, shoot, "coming back")
    later.get_by_role("button", name="Ouvrir mon dossier").click()

    later.wait_for_url("**/my-case/case")
    assert text(later.locator("h1")) == f"Votre dossier {reference}"
    later.get_by_label("D’autres liens vers des publications sur X, un par ligne").fill(ADDED_LATER)
    later.get_by_role("button", name="Ajouter ces liens").click()

    later.wait_for_url("**/my-case/case")
    assert text(later.locator(".flash")) == "Liens ajoutés : 1."
    timeline = [text(entry) for entry in later.locator("ol.timeline li .timeline-text").all()]
    assert timeline == [
        "Vous avez envoyé votre signalement, avec 3 publications.",
        "1 image a été ajoutée.",
        "Vous avez ajouté 1 lien.",
    ]
    # Times are shown in her own time zone, which her phone told the form.
    for shown in later.locator("ol.timeline time").all():
        moment = datetime.fromisoformat(str(shown.get_attribute("datetime")))
        assert moment.astimezone(PARIS).strftime("%H:%M") in text(shown)
    posts = [text(p) for p in later.locator(".post-list .post-url").all()]
    assert posts[-1] == ADDED_LATER.removeprefix("https://")
    assert len(posts) == 4
    screen(later, shoot, "case page with the added link")

    with database(live_server.app) as session:
        case = session.get_one(Case, case_id)
        assert [i.url for i in case.items][-1] == ADDED_LATER
        assert len(case.items) == 4
