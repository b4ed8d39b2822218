"""The synthetic tenant: users with homes, devices, habits and travel plans.

Everything is drawn from one seeded ``random.Random`` so a seed fixes the tenant.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from synth import geo
from synth.geo import City, Network

DOMAIN = "contoso.com"
MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True, slots=True)
class App:
    name: str
    app_id: str
    resource: str
    resource_id: str
    client: str  # clientAppUsed


EXCHANGE = ("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000")
SHAREPOINT = ("Office 365 SharePoint Online", "00000003-0000-0ff1-ce00-000000000000")
GRAPH = ("Microsoft Graph", "00000003-0000-0000-c000-000000000000")
ARM = ("Windows Azure Service Management API", "797f4846-ba00-4fd7-ba43-dac1f8f63013")
APPS = "Mobile Apps and Desktop clients"

# Real first-party application ids, as they appear in every tenant's logs.
INTERACTIVE_APPS = (
    App("OfficeHome", "4765445b-32c6-49b0-83e6-1d93765276ca", *GRAPH, "Browser"),
    App("Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264", *GRAPH, APPS),
    App("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000", *EXCHANGE,
        "Browser"),
    App("Microsoft Office", "d3590ed6-52b3-4102-aeff-aad2292ab01c", *SHAREPOINT, APPS),
    App("Azure Portal", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", *ARM, "Browser"),
)  # fmt: skip
BACKGROUND_APPS = (
    App("Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264", *GRAPH, APPS),
    App("Microsoft Office", "d3590ed6-52b3-4102-aeff-aad2292ab01c", *EXCHANGE, APPS),
    App("OneDrive SyncEngine", "ab9b8c07-8f02-4f72-87fa-80105867a763", *SHAREPOINT, APPS),
    App("Microsoft Authentication Broker", "29d9ed98-a469-4536-ade2-f981bc1d605e", *GRAPH,
        APPS),
)  # fmt: skip
MOBILE_APPS = (
    App("Outlook Mobile", "27922004-5251-4030-b22d-91ecd9a37ea4", *EXCHANGE, APPS),
    App("Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264", *GRAPH, APPS),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    os: str
    browser: str
    user_agent: str
    mobile: bool
    trust_type: str | None  # None: an unregistered (personal) device


_CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
LAPTOPS = (
    DeviceProfile("Windows10", "Edge 130.0.0", f"{_CHROME} Chrome/130.0.0.0 Safari/537.36 "
                  "Edg/130.0.0.0", False, "Azure AD joined"),
    DeviceProfile("Windows10", "Chrome 131.0.0", f"{_CHROME} Chrome/131.0.0.0 Safari/537.36",
                  False, "Hybrid Azure AD joined"),
    DeviceProfile("MacOs", "Safari 17.6", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
                  "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
                  False, "Azure AD registered"),
    DeviceProfile("MacOs", "Chrome 131.0.0", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
                  "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                  False, "Azure AD registered"),
)  # fmt: skip
PHONES = (
    DeviceProfile("Ios", "Mobile Safari 17.6", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac "
                  "OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", True, None),
    DeviceProfile("Android", "Chrome Mobile 131.0.0", "Mozilla/5.0 (Linux; Android 14; Pixel 8) "
                  "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                  True, "Azure AD registered"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Device:
    device_id: str  # "" for unregistered devices, as Graph reports them
    display_name: str | None
    profile: DeviceProfile
    is_managed: bool | None
    is_compliant: bool | None


@dataclass(frozen=True, slots=True)
class Stay:
    """Where a user is during [start, end): a trip, or ``city=None`` = no ordinary activity
    (in the air, or a story writes this user's events itself)."""

    start: float
    end: float
    city: City | None
    network: Network | None = None


@dataclass(slots=True)
class Session:
    session_id: str
    started: float
    network_key: str


@dataclass(slots=True)
class User:
    index: int
    user_id: str
    upn: str
    display_name: str
    home: City
    broadband: Network
    mobile: Network
    office_ip: str
    home_ip: str
    laptop: Device
    phone: Device | None
    activity: float  # multiplies the tenant's sign-in rate
    utc_offset_h: float
    vpn_share: float
    first_active: float  # epoch seconds: new joiners start late
    stays: list[Stay] = field(default_factory=list)
    sessions: dict[str, Session] = field(default_factory=dict)  # per device id

    def where(self, t: float) -> Stay | None:
        """The stay covering ``t``, if any (few per user: a linear scan is cheapest)."""
        for stay in self.stays:
            if stay.start <= t < stay.end:
                return stay
        return None


FIRST = ("Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Sophia", "Elijah", "Mia", "Lucas",
         "Hannah", "Jonas", "Lea", "Chloe", "Hugo", "Sanne", "Daan", "Elsa", "Lucia", "Mateo",
         "Aarav", "Priya", "Yuki", "Haruto", "Wei", "Isla", "Jack", "Zoe", "Arjun", "Ines")
LAST = ("Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Taylor", "Clarke",
        "Muller", "Schmidt", "Martin", "Bernard", "de Vries", "Lindqvist", "Fernandez", "Tremblay",
        "Nguyen", "Sato", "Tanaka", "Sharma", "Patel", "Tan", "Lim", "Kelly", "Walker", "Moreau",
        "Becker", "Jansen", "Silva")


def new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _device(rng: random.Random, profile: DeviceProfile, owner: str, managed: bool) -> Device:
    if not managed:
        return Device("", None, profile, None, None)
    name = f"{'PHONE' if profile.mobile else 'LT'}-{owner.upper()[:6]}-{rng.randrange(1000, 9999)}"
    return Device(new_id(rng), name, profile, True, rng.random() > 0.03)


def build_users(rng: random.Random, count: int, start: float) -> list[User]:
    """``count`` users with homes weighted by HOME_WEIGHTS and unique UPNs."""
    countries = list(geo.HOME_WEIGHTS)
    weights = list(geo.HOME_WEIGHTS.values())
    seen: set[str] = set()
    users: list[User] = []
    for index in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        base = f"{first}.{last}".lower().replace(" ", "")
        upn = f"{base}@{DOMAIN}"
        n = 1
        while upn in seen:  # namesakes get a number, as directories do
            n += 1
            upn = f"{base}{n}@{DOMAIN}"
        seen.add(upn)
        country = rng.choices(countries, weights)[0]
        home = rng.choice(geo.cities_in(country))
        broadband = rng.choice(geo.networks(country, "broadband"))
        mobile = rng.choice(geo.networks(country, "mobile"))
        offset = datetime.fromtimestamp(start, ZoneInfo(home.tz)).utcoffset()
        phone = None
        if rng.random() < 0.7:
            phone = _device(rng, rng.choice(PHONES), base, managed=rng.random() < 0.5)
        users.append(User(
            index=index, user_id=new_id(rng), upn=upn, display_name=f"{first} {last}",
            home=home, broadband=broadband, mobile=mobile,
            office_ip=_office_ip(home, broadband), home_ip=broadband.address(rng),
            laptop=_device(rng, rng.choice(LAPTOPS), base, managed=rng.random() < 0.9),
            phone=phone, activity=rng.lognormvariate(0, 0.35),
            utc_offset_h=offset.total_seconds() / HOUR if offset else 0.0,
            vpn_share=0.6 if rng.random() < 0.15 else 0.0, first_active=start,
        ))  # fmt: skip
    return users


def _office_ip(city: City, network: Network) -> str:
    """Every employee of one office shares its NAT egress address."""
    rng = random.Random(f"office:{city.name}")  # noqa: S311 - reproducible, not secret
    return network.address(rng)


def plan_trips(rng: random.Random, users: list[User], start: float, days: int) -> None:
    """Business travel: ~6% of users fly abroad once, ~6% fly within their country.

    International trips begin in the first days of the window so the destination is part
    of the traveller's history before ``unfamiliar_country`` has enough baseline to judge.
    """
    for user in users:
        roll = rng.random()
        if roll >= 0.12 or days < 3:
            continue
        if roll < 0.06:
            abroad = [c for c in geo.CITIES
                      if c.country in geo.HOME_WEIGHTS and c.country != user.home.country]
            dest = rng.choice(abroad)
            depart_day = rng.randrange(0, min(days - 2, 4))
        else:
            domestic = [c for c in geo.cities_in(user.home.country) if c != user.home]
            if not domestic:
                continue
            dest = rng.choice(domestic)
            depart_day = rng.randrange(0, days - 2)
        add_trip(user, dest, start + depart_day * DAY + rng.uniform(5, 20) * HOUR,
                 nights=rng.randint(1, 3), rng=rng)  # fmt: skip


def add_trip(user: User, dest: City, depart: float, nights: int, rng: random.Random) -> float:
    """Out, stay ``nights`` at a hotel on local broadband, and back; returns the homecoming."""
    flight = geo.flight_hours(user.home, dest) * HOUR
    arrive = depart + flight
    leave = arrive + nights * DAY
    hotel = rng.choice(geo.networks(dest.country, "broadband"))
    user.stays += [
        Stay(depart, arrive, None),
        Stay(arrive, leave, dest, hotel),
        Stay(leave, leave + geo.flight_hours(dest, user.home) * HOUR, None),
    ]
    return leave + flight
