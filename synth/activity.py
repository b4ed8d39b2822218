"""Ordinary activity: each user's sign-ins as a non-homogeneous Poisson process.

Local working hours are heavy, nights and weekends light. All users' processes are merged
through one heap keyed by the next event time, so the stream comes out in time order while
memory holds one pending entry per user (plus a few follow-ups), never the sign-ins.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from synth import geo
from synth.geo import City, Network
from synth.shapes import Attempt, detection_for, graph_signin
from synth.tenant import (
    BACKGROUND_APPS,
    HOUR,
    INTERACTIVE_APPS,
    MOBILE_APPS,
    Device,
    Session,
    Stay,
    User,
    new_id,
)

Item = tuple[float, str, dict[str, Any]]  # (time, kind, Graph record)

# Relative sign-in intensity per local hour.
WEEKDAY = (0.05, 0.03, 0.03, 0.03, 0.04, 0.08, 0.2, 0.5, 0.9, 1.0, 1.0, 0.95,
           0.7, 0.9, 1.0, 1.0, 0.9, 0.7, 0.45, 0.3, 0.25, 0.2, 0.12, 0.08)  # fmt: skip
WEEKEND = tuple(round(w * 0.12 + 0.01, 3) for w in WEEKDAY)
APP_WEIGHTS = (30, 30, 20, 15, 2)  # OfficeHome, Teams, OWA, Office desktop, Azure Portal

# Interactive outcomes: (cumulative probability, error code, follow-up success delay range).
# A bad password is retyped, an interrupt (KMSI, MFA required) completes, a denied push is
# retried; blocks, consent and lockouts end there.
OUTCOMES: tuple[tuple[float, int, tuple[float, float] | None], ...] = (
    (0.035, 50140, (4.0, 20.0)),
    (0.055, 50074, (20.0, 60.0)),
    (0.067, 50076, (20.0, 60.0)),
    (0.082, 50126, (15.0, 90.0)),
    (0.085, 500121, (30.0, 120.0)),
    (0.088, 53003, None),
    (0.089, 65001, None),
    (0.0895, 50053, None),
)
AMBIENT_RISK = 0.004  # share of interactive successes Identity Protection flags
# Ordinary risk is closed: auto-remediated by MFA, dismissed or judged safe. Open risk is
# left to the labelled stories, so every alert on the samples is explained by a label.
CLOSED = (
    (0.6, "remediated", "userPassedMFADrivenByRiskBasedPolicy"),
    (0.8, "confirmedSafe", "aiConfirmedSigninSafe"),
    (1.0, "dismissed", "adminDismissedAllRiskForUser"),
)


@dataclass(slots=True)
class Risky:
    """The last closed risk seen for a user, to write their riskyUser record at the end."""

    t: float
    state: str
    detail: str


class Ambient:
    def __init__(
        self, rng: random.Random, users: list[User], start: float, end: float, per_day: float
    ) -> None:
        self.rng, self.users, self.start, self.end = rng, users, start, end
        self.peak = per_day / sum(WEEKDAY) / HOUR  # events per second at weight 1.0
        self.risky: dict[int, Risky] = {}
        self._seq = 0

    def __iter__(self) -> Iterator[Item]:
        heap: list[tuple[float, int, int, Attempt | None]] = []
        for user in self.users:
            t = self._next(user, max(self.start, user.first_active))
            if t < self.end:
                heap.append((t, self._tick(), user.index, None))
        heapq.heapify(heap)
        while heap:
            t, _, index, pending = heapq.heappop(heap)
            user = self.users[index]
            if pending is not None:
                yield t, "signIn", graph_signin(pending)
                continue
            nxt = self._next(user, t)
            if nxt < self.end:
                heapq.heappush(heap, (nxt, self._tick(), index, None))
            stay = user.where(t)
            if stay is not None and stay.city is None:
                continue  # in the air, or a story speaks for this user now
            attempt, follow = self._attempt(user, t, stay)
            yield t, "signIn", graph_signin(attempt)
            if follow is not None and follow.t < self.end:
                heapq.heappush(heap, (follow.t, self._tick(), index, follow))
            if attempt.risk_types:
                yield from self._detection(user, attempt)

    def _tick(self) -> int:
        self._seq += 1
        return self._seq

    def _next(self, user: User, t: float) -> float:
        """Thinning: candidate arrivals at the peak rate, kept with the local hour's weight."""
        rate = self.peak * user.activity
        rng = self.rng
        while t < self.end:
            t += rng.expovariate(rate)
            local = t + user.utc_offset_h * HOUR
            day, hour = divmod(local, 86400.0)
            weights = WEEKEND if (int(day) + 3) % 7 >= 5 else WEEKDAY  # 1970-01-01: Thursday
            if rng.random() < weights[int(hour // HOUR)]:
                return t
        return t

    def _attempt(self, user: User, t: float, stay: Stay | None) -> tuple[Attempt, Attempt | None]:
        rng = self.rng
        device: Device = user.laptop
        if user.phone is not None and rng.random() < 0.25:
            device = user.phone
        city, network, ip = self._network(user, t, device, stay)
        key = f"{network.asn}|{city.name}|{'' if device.profile.mobile else ip}"
        session = user.sessions.get(device.device_id or device.profile.os)
        fresh = session is None or session.network_key != key or t - session.started > 10 * HOUR
        if fresh:
            session = Session(new_id(rng), t, key)
            user.sessions[device.device_id or device.profile.os] = session
        assert session is not None  # noqa: S101 - narrowing for mypy
        interactive = fresh or rng.random() < 0.3
        if interactive:
            apps = MOBILE_APPS if device.profile.mobile else INTERACTIVE_APPS
            app = apps[0] if device.profile.mobile and rng.random() < 0.7 else (
                rng.choices(INTERACTIVE_APPS, APP_WEIGHTS)[0] if not device.profile.mobile
                else apps[1])  # fmt: skip
        else:
            app = rng.choice(BACKGROUND_APPS)
        attempt = Attempt(
            id=new_id(rng), t=t, correlation_id=new_id(rng), user_id=user.user_id,
            upn=user.upn, display_name=user.display_name, app=app, ip=ip, asn=network.asn,
            city=city, device=device, session_id=session.session_id, interactive=interactive,
            mfa=fresh and rng.random() < 0.7,
        )  # fmt: skip
        attempt.ca_status = "success" if attempt.mfa else "notApplied"
        if not interactive:
            if rng.random() < 0.01:
                attempt.error = rng.choice((50058, 70043))
            return attempt, None
        roll = rng.random()
        for limit, code, delay in OUTCOMES:
            if roll < limit:
                attempt.error = code
                attempt.ca_status = "failure" if code == 53003 else attempt.ca_status
                if delay is None:
                    return attempt, None
                mfa = attempt.mfa or code in (50074, 50076, 500121)
                follow = replace(
                    attempt, id=new_id(rng), error=0, t=t + rng.uniform(*delay), mfa=mfa,
                    ca_status="success" if mfa else "notApplied",
                )
                return attempt, follow
        if rng.random() < AMBIENT_RISK or (stay is not None and fresh and rng.random() < 0.1):
            self._flag(attempt, "unlikelyTravel" if stay is not None else None)
        return attempt, None

    def _network(
        self, user: User, t: float, device: Device, stay: Stay | None
    ) -> tuple[City, Network, str]:
        if stay is not None and stay.city is not None and stay.network is not None:
            # Travelling: hotel broadband, and the phone roams on a local carrier.
            network = stay.network
            if device.profile.mobile:
                network = geo.networks(stay.city.country, "mobile")[0]
            return stay.city, network, _sticky_ip(user, network, int(stay.start))
        if device.profile.mobile:  # carrier NAT: the address changes every few hours
            return user.home, user.mobile, _sticky_ip(user, user.mobile, int(t // (4 * HOUR)))
        local = t + user.utc_offset_h * HOUR
        day = int(local // 86400)
        coin = (user.index * 2654435761 + day * 40503) % 1000  # a stable per-day choice
        if user.vpn_share and coin < 1000 * user.vpn_share:
            return user.home, geo.VPN, _sticky_ip(user, geo.VPN, day)
        hour = int(local % 86400 // HOUR)
        if (day + 3) % 7 < 5 and 8 <= hour < 18 and user.index % 3:  # a third work from home
            return user.home, user.broadband, user.office_ip
        return user.home, user.broadband, user.home_ip

    def _flag(self, a: Attempt, risk_type: str | None) -> None:
        level = "medium" if risk_type or self.rng.random() < 0.3 else "low"
        risk_type = risk_type or self.rng.choice(("unfamiliarFeatures", "unfamiliarFeatures",
                                             "suspiciousBrowser", "riskyIPAddress"))  # fmt: skip
        roll = self.rng.random()
        state, detail = next((s, d) for limit, s, d in CLOSED if roll < limit)
        a.risk_during = a.risk_aggregated = level
        a.risk_state, a.risk_detail, a.risk_types = state, detail, (risk_type,)
        if state == "remediated":
            a.mfa, a.ca_status = True, "success"

    def _detection(self, user: User, a: Attempt) -> Iterator[Item]:
        later = self.rng.uniform(0.5, 36) * HOUR if a.risk_state != "remediated" else 0.0
        yield a.t, "riskDetection", detection_for(
            a, new_id(self.rng), risk_type=a.risk_types[0], level=a.risk_during,
            state=a.risk_state, detail=a.risk_detail, detected_after=self.rng.uniform(1, 30),
            updated_after=later,
        )  # fmt: skip
        self.risky[user.index] = Risky(a.t + later, a.risk_state, a.risk_detail)


def _sticky_ip(user: User, network: Network, epoch: int) -> str:
    """One address per user, network and period, without keeping a table of them."""
    return str(network.address(random.Random(f"{user.user_id}|{network.asn}|{epoch}")))  # noqa: S311
