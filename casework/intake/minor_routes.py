"""Help services shown to the person: for images of people under 18 by country and worldwide,
and for adults (from jurisdictions.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class MinorRoute:
    name: str  # a proper name, the same in every language
    what: LazyString
    url: str | None = None
    display_url: str | None = None
    phone: str | None = None
    caveat: LazyString | None = None
    worldwide: bool = False  # offered whatever the country


# Take It Down accepts reports from anywhere, so every minor's report is offered it.
TAKE_IT_DOWN: Final = MinorRoute(
    name="Take It Down",
    what=_l(
        "NCMEC's service for sexual images taken when the person was under 18, open to people "
        "in any country: it makes a hash (a digital fingerprint) of an image already on your "
        "device, so participating platforms can find copies. The image itself never leaves "
        "your device."
    ),
    url="https://takeitdown.ncmec.org",
    display_url="takeitdown.ncmec.org",
    caveat=_l(
        "Only for images already on your device. NCMEC says: do not download an image "
        "in order to submit it; report it to the CyberTipline instead."
    ),
    worldwide=True,
)


ROUTES: dict[str, tuple[MinorRoute, ...]] = {
    "US": (
        MinorRoute(
            name="NCMEC CyberTipline",
            what=_l(
                "The US national reporting line for sexual images of children, run by NCMEC. "
                "Report the links there."
            ),
            url="https://cybertipline.org",
            display_url="cybertipline.org",
            phone="1-800-THE-LOST",
        ),
    ),
    "GB": (
        MinorRoute(
            name="IWF + Childline Report Remove",
            what=_l(
                "For young people under 18: report a sexual image of yourself so that it can be "
                "removed. From 13, you confirm your age with Yoti; the IWF hashes the image and "
                "replies within one working day."
            ),
            url="https://iwf.org.uk",
            display_url="iwf.org.uk",
        ),
    ),
    "FR": (
        MinorRoute(
            name="PHAROS",
            what=_l(
                "The French government's platform for reporting illegal content seen online, "
                "open 24 hours a day. It covers public content, not private messages."
            ),
            url="https://internet-signalement.gouv.fr",
            display_url="internet-signalement.gouv.fr",
        ),
        MinorRoute(
            name="Point de Contact",
            what=_l("A French service that receives reports of illegal content online."),
            url="https://www.pointdecontact.net",
            display_url="pointdecontact.net",
        ),
        MinorRoute(
            name="3018",
            what=_l(
                "The French national helpline for young people facing violence online, run by "
                "e-Enfance: free, anonymous and confidential. It can ask platforms to remove "
                "content quickly."
            ),
            url="https://e-enfance.org/numero-3018/",
            display_url="e-enfance.org",
            phone="3018",
        ),
    ),
    "AU": (
        MinorRoute(
            name="eSafety",
            what=_l(
                "Australia's online safety regulator. Report sexual images of children through "
                "its online form."
            ),
            url="https://esafety.gov.au",
            display_url="esafety.gov.au",
        ),
    ),
    "IE": (
        MinorRoute(
            name="Hotline.ie",
            what=_l(
                "Ireland's hotline for reporting sexual images of children online; it can pass "
                "the report to the Gardaí at the same time."
            ),
            url="https://hotline.ie",
            display_url="hotline.ie",
        ),
    ),
    "CA": (
        MinorRoute(
            name="Cybertip.ca",
            what=_l(
                "Canada's national tipline for reporting the online sexual exploitation of "
                "children."
            ),
            url="https://cybertip.ca",
            display_url="cybertip.ca",
        ),
    ),
    "IN": (
        MinorRoute(
            name="NCRP",
            what=_l("India's National Cyber Crime Reporting Portal, and its helpline."),
            url="https://cybercrime.gov.in",
            display_url="cybercrime.gov.in",
            phone="1930",
        ),
    ),
}


# For people 18 or over; StopNCII does not accept images of minors.
FOR_ADULTS: Final[tuple[MinorRoute, ...]] = (
    MinorRoute(
        name="StopNCII.org",
        what=_l(
            "For intimate images of people 18 or over: it makes hashes of the images on your "
            "device and shares only those with participating platforms, so they can detect and "
            "block copies. The images never leave your device."
        ),
        url="https://stopncii.org",
        display_url="stopncii.org",
        caveat=_l(
            "X is not among the partner platforms we know of: keep reporting posts on X here."
        ),
        worldwide=True,
    ),
)


def routes_for(country: str | None) -> tuple[MinorRoute, ...]:
    """A minor's routes in a country (ISO 3166-1 alpha-2): its own, then the worldwide ones."""
    return (*ROUTES.get((country or "").upper(), ()), TAKE_IT_DOWN)
