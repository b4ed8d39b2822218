"""Impossible travel: two consecutive successful sign-ins of one user too far apart
for the time between them (Elastic: >= 500 km and >= 800 km/h).

Cautions of seed 002 built in: only the chronological timeline counts (the
sign-in right before and right after, never the set of all places); several
cities of one country are usually carrier routing, so a same-country pair needs a
second signal that is *new* for the user (a device, network or city not used in the
baseline, see ``detections.familiarity``) or an open risk flag: a registered phone on
its usual carrier network, geolocated far away every day, is the user. Anonymizer
sign-ins are not travel; a country-centroid place (no coordinates) needs an open risk
flag to alert. Before the user's warm-up nothing is known, and a device differing
between the two sign-ins is the second signal (version 1's rule).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from detections.correlation import recent_flag, user_sign_in
from detections.correlation_history import key_of, success_record
from detections.familiarity import Familiarity, device_key, place_key
from detections.geo import Place, distance_km, place_of
from detections.history_records import SuccessSeen, UserState
from detections.model import Device, Event, Location, Severity, SignIn
from detections.predicates import is_anonymized, is_interactive, user_key
from detections.rule import Context, Finding, JsonValue, Param, Rule, RuleTest
from detections.rules._familiar_timelines import (
    NEW_PHONE,
    VPS,
    desk,
    phone,
    weeks_of_desk_and_phone,
    weeks_with_new_phone,
)
from detections.testing import T0, sign_in

LONDON = Location(city="London", country="GB", latitude=51.51, longitude=-0.13)
NEW_YORK = Location(
    city="New York", state="New York", country="US", latitude=40.71, longitude=-74.01
)
CHICAGO = Location(city="Chicago", state="Illinois", country="US", latitude=41.88, longitude=-87.63)
PHONE = Device(device_id="dev-phone", os="iOS 18", browser="Safari")
RULE_ID = "impossible_travel"
FLAG_HORIZON = timedelta(hours=24)  # an open risk flag this recent is a second signal
# (this rule's own earlier alert is not: one alert would make every later pair evidence)


_Trip = tuple[float, float, float | None]  # km, hours, km/h (None: at the same moment)


def _place(s: SuccessSeen) -> Place | None:
    return place_of(s.latitude, s.longitude, s.country)


def match(event: Event, ctx: Context) -> Finding | None:
    success = user_sign_in(event, "none")
    if success is None or not is_interactive(success):
        return None
    user = ctx.history.user(user_key(success))
    if user is None or not user.successes or is_anonymized(success):
        return None
    loc = success.location
    # The place of the event's own history record (same coordinates and country): the
    # record itself is built only for a pair far and fast enough to judge.
    place = place_of(loc.latitude, loc.longitude, loc.country)
    if place is None:
        return None
    key = (success.time, success.id)
    # The timeline's neighbours of the event: successes are kept sorted by (time, id), so
    # walking back from the newest finds the sign-in right after it, then right before.
    before: tuple[SuccessSeen, Place] | None = None
    after: tuple[SuccessSeen, Place] | None = None
    for s in reversed(user.successes):
        if s.anonymized or s.event_id == success.id:
            continue
        there = _place(s)
        if there is None:
            continue
        if (s.time, s.event_id) < key:
            before = (s, there)
            break
        after = (s, there)
    here: SuccessSeen | None = None
    if before is not None:
        s, there = before
        trip = _trip(there, place, success.time - s.time, ctx)
        if trip is not None:
            here = success_record(success)
            finding = _judge(s, here, there, place, trip, ctx, success, user)
            if finding is not None:
                return finding
    if after is not None:
        s, there = after
        trip = _trip(place, there, s.time - success.time, ctx)
        if trip is not None:
            here = here or success_record(success)
            return _judge(here, s, place, there, trip, ctx, success, user)
    return None


def _trip(pa: Place, pb: Place, apart: timedelta, ctx: Context) -> _Trip | None:
    """Distance, hours and speed of a pair far and fast enough, else None."""
    # Most pairs are one place twice (a user's usual city): 0 km, as the formula gives it.
    same = pa.latitude == pb.latitude and pa.longitude == pb.longitude
    km = 0.0 if same else distance_km(pa, pb)
    hours = apart.total_seconds() / 3600
    if km < ctx.float_param("min_distance_km"):
        return None
    speed = km / hours if hours > 0 else None  # None: at the same moment
    if speed is not None and speed < ctx.float_param("min_speed_kmh"):
        return None
    return km, hours, speed


def _new_signals(s: SuccessSeen, known: Familiarity) -> list[str]:
    """What of sign-in ``s`` the user had not used before it, within the baseline."""
    new = []
    if s.device and not known.known(device_key(s.device), s.time):
        new.append(f"new device {s.device}")
    if (s.asn or s.ip) and not known.known_network(s.asn, s.ip, s.time):
        new.append(f"new network {'AS' + str(s.asn) if s.asn else s.ip}")
    if place_key(s.country, s.city) and not known.known(place_key(s.country, s.city), s.time):
        new.append(f"new city {_label(s)}")
    return new


def _evidence(a: SuccessSeen, b: SuccessSeen, ctx: Context, event: SignIn,
              user: UserState) -> list[str]:
    evidence = []
    flag = recent_flag(ctx, key_of(event.user_id, event.user_principal_name), b.time,
                       FLAG_HORIZON, exclude_event=event.id)
    if a.risky or b.risky or (flag is not None and flag.reason != RULE_ID):
        evidence.append("risk flag")
    known = user.familiar(b.time)
    if known is None:  # warm-up: nothing is known yet, only the pair itself can differ
        if a.device and b.device and a.device != b.device:
            evidence.append("different device")
        return evidence
    new = [n for s in (a, b) for n in _new_signals(s, known)]
    # A new city alone is the travel itself, and carrier routing moves a known phone on a
    # known network between cities (seed 002): it is named only beside other evidence.
    if evidence or any(not n.startswith("new city") for n in new):
        evidence += [n for n in dict.fromkeys(new)]
    return evidence


def _judge(a: SuccessSeen, b: SuccessSeen, pa: Place, pb: Place, trip: _Trip, ctx: Context,
           event: SignIn, user: UserState) -> Finding | None:
    principal = event.principal
    km, hours, speed = trip
    evidence = _evidence(a, b, ctx, event, user)
    confidence = "high" if pa.confidence == pb.confidence == "high" else "low"
    if confidence == "low" and "risk flag" not in evidence:
        return None  # a country centroid never alone raises impossible travel
    same_country = bool(a.country) and (a.country or "").upper() == (b.country or "").upper()
    if same_country and not evidence:
        return None  # cities of one country: usually ISP or mobile-carrier routing
    # (a cross-country pair alerts as before; its new signals are still named)
    context: dict[str, JsonValue] = {
        "principal": principal,
        "from": _where(a),
        "to": _where(b),
        "distance_km": round(km),
        "hours": round(hours, 2),
        "speed_kmh": round(speed) if speed is not None else None,
        "same_country": same_country,
        "evidence": list(evidence),
        "new_signals": [e for e in evidence if e.startswith("new ")],
        "location_confidence": confidence,
    }
    return Finding(
        title=f"Impossible travel for {principal}: {_label(a)} to {_label(b)} "
        f"({round(km)} km in {round(hours * 60)} min)",
        severity=Severity.HIGH if evidence else None,
        context=context,
        related_event_ids=(a.event_id, b.event_id),
    )


def _label(s: SuccessSeen) -> str:
    return ", ".join(p for p in (s.city, s.country) if p) or "unknown"


def _where(s: SuccessSeen) -> dict[str, JsonValue]:
    return {
        "event_id": s.event_id,
        "time": s.time.isoformat(),
        "ip_address": s.ip,
        "city": s.city,
        "country": s.country,
        "latitude": s.latitude,
        "longitude": s.longitude,
        "device": s.device,
        "risky": s.risky,
    }


def _later(minutes: int, **overrides: Any) -> Event:
    """Alice's next sign-in, ``minutes`` after the first, from another IP."""
    return sign_in(
        id="s2", ip_address="198.51.100.7", time=T0 + timedelta(minutes=minutes), **overrides
    )


FIRST = sign_in(id="s1")  # Seattle, laptop, T0
NO_COORDS = Location(country="US")

RULE = Rule(
    uses_history=True,
    id=RULE_ID,
    version=2,
    title="Impossible travel between consecutive sign-ins",
    description=(
        "Two consecutive successful interactive sign-ins of one user at least 500 km apart "
        "with an implied speed of at least 800 km/h. Same-country pairs need a second signal "
        "that is new for the user: a device or network (ASN or /24) not used in the 30-day "
        "baseline, or an open risk flag (risky sign-in or alert within 24 h); a known device "
        "on a known carrier network is not evidence, whatever the city (a new city is named "
        "beside other evidence, never alone). Before the user's 7-day warm-up a "
        "device differing between the two sign-ins counts. Anonymizers and centroid-only "
        "places do not count alone. Divergence from the peers: Elastic and Sentinel alert on "
        "any fast pair; this stays quiet on a registered phone whose carrier geolocates far "
        "away every day (seed 002: several cities of one country are carrier routing)."
    ),
    severity=Severity.MEDIUM,
    risk_score=60,
    mitre=("T1078.004",),
    kinds=("signIn",),
    dedup_fields=("principal",),
    dedup_window=timedelta(hours=1),
    investigation=(
        "Read both sign-ins in the user's chronological timeline, not the list of all places.",
        "Compare devices, user agents and networks: a VPN or a cloud proxy explains many cases.",
        "Ask the user; if neither sign-in is theirs, reset the password and revoke sessions.",
    ),
    false_positives=(
        "VPN or secure web gateway egress in another country.",
        "Geolocation errors of mobile carriers routing through a distant city.",
    ),
    references=(
        "https://github.com/elastic/detection-rules/blob/main/rules/integrations/azure/"
        "initial_access_entra_id_signin_impossible_travel.toml",
    ),
    known_gaps=(
        "Non-interactive sign-ins are not judged (token replay: session_multiple_ips).",
        "Pairs more than 26 hours apart are beyond the history retention (and never too fast).",
        "What a user's successful sign-ins used becomes familiar for 30 days, an attacker's "
        "too once one got in unnoticed.",
    ),
    params=(
        Param(
            name="min_distance_km",
            default=500,
            description="Least distance of a pair.",
            minimum=1, maximum=20040,
        ),
        Param(
            name="min_speed_kmh",
            default=800,
            description="Least implied speed of a pair.",
            minimum=50, maximum=20000,
        ),
    ),
    match=match,
    tests=(
        RuleTest(
            name="Seattle to London in an hour fires",
            before=(FIRST,),
            event=_later(60, location=LONDON),
            expect=True,
            severity=Severity.MEDIUM,
            dedup=("alice@contoso.com",),
        ),
        RuleTest(
            name="with a risk flag it is high",
            before=(FIRST,),
            event=_later(
                60, location=LONDON, risk_level_during_sign_in="medium", risk_state="atRisk"
            ),
            expect=True,
            severity=Severity.HIGH,
        ),
        RuleTest(
            name="long-haul flight at plausible speed does not",
            before=(FIRST,),
            event=_later(600, location=LONDON),
            expect=False,
        ),
        RuleTest(
            name="same country same device is carrier routing",
            before=(FIRST,),
            event=_later(30, location=NEW_YORK),
            expect=False,
        ),
        RuleTest(
            name="before the warm-up a different device is the second signal",
            before=(FIRST,),
            event=_later(30, location=NEW_YORK, device=PHONE),
            expect=True,
            severity=Severity.HIGH,
        ),
        RuleTest(
            name="registered phone on a far carrier, daily for weeks, is quiet",
            before=(*weeks_of_desk_and_phone(), desk(0)),
            event=phone(0),
            expect=False,
        ),
        RuleTest(
            name="a phone bought last week and used daily is quiet",
            before=(*weeks_with_new_phone(), desk(0)),
            event=phone(0, NEW_PHONE),
            expect=False,
        ),
        RuleTest(
            name="travel on a new device fires after the warm-up",
            before=(*weeks_of_desk_and_phone(), desk(0)),
            event=phone(0, Device(device_id="dev-evil", os="Linux", browser="Firefox"), **VPS),
            expect=True,
            severity=Severity.HIGH,
        ),
        RuleTest(
            name="a cross-country pair on a known phone keeps firing",
            before=(*weeks_of_desk_and_phone(), desk(0)),
            event=phone(0, location=LONDON),
            expect=True,
            severity=Severity.MEDIUM,
        ),
        RuleTest(
            name="dismissed risk is no evidence",
            before=(FIRST,),
            event=_later(
                30, location=CHICAGO, risk_level_during_sign_in="high", risk_state="dismissed"
            ),
            expect=False,
        ),
        RuleTest(
            name="anonymizer sign-in is not travel",
            before=(FIRST,),
            event=_later(30, location=LONDON, risk_event_types=("anonymizedIPAddress",)),
            expect=False,
        ),
        RuleTest(
            name="country centroid alone does not",
            before=(sign_in(id="s1", location=NO_COORDS),),
            event=_later(30, location=Location(country="GB")),
            expect=False,
        ),
    ),
)
