"""The toolkit stories are written with: victims, attackers, attempts and labels.

A story runs before ordinary activity starts: it may reserve a user's time (so ordinary
sign-ins do not interleave with the story's own), add trips or a new joiner, and it
writes its own records, which are few and kept in memory to be merged in time order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from synth import geo
from synth.geo import City, Network
from synth.shapes import (
    Attempt,
    detection_for,
    graph_detection,
    graph_risky_user,
    graph_signin,
    iso,
)
from synth.tenant import (
    DAY,
    HOUR,
    INTERACTIVE_APPS,
    App,
    Device,
    DeviceProfile,
    Stay,
    User,
    new_id,
)

OFFICE_HOME = INTERACTIVE_APPS[0]
ATTACKER_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) " \
    "Chrome/120.0.0.0 Safari/537.36"  # fmt: skip
ATTACKER_BOX = Device("", None, DeviceProfile("Windows10", "Chrome 120.0.0", ATTACKER_UA, False,
                                              None), None, None)  # fmt: skip
SPRAY_UA = "python-requests/2.31.0"
# Attacker-controlled text, hostile on purpose: every sink must show it inert.
HOSTILE_UA = ("Mozilla/5.0 <!channel> **URGENT** [re-verify](https://evil.example/login) "
              "<img src=x onerror=alert(1)> @here")  # fmt: skip
HOSTILE_APP = App("Payroll *Update* <!here> [sign in](https://evil.example/p) <b>now</b>",
                  "9f6a1c2e-55a0-4c1e-8a51-6c0b7d3e2f10", "Microsoft Graph",
                  "00000003-0000-0000-c000-000000000000", "Browser")  # fmt: skip
HOSTILE_UPNS = ("admin_<!channel>@contoso.com", "[reset](https://evil.example/r)@contoso.com")


@dataclass
class Kit:
    rng: random.Random
    users: list[User]
    start: float
    days: int
    items: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)
    risky_users: list[dict[str, Any]] = field(default_factory=list)
    taken: set[int] = field(default_factory=set)

    # --- people and places -------------------------------------------------------------
    def victim(self, countries: tuple[str, ...] = ()) -> User:
        """A distinct ordinary user (no travel), optionally living in one of ``countries``."""
        pool = [u for u in self.users if u.index not in self.taken and not u.stays
                and u.first_active == self.start
                and (not countries or u.home.country in countries)]  # fmt: skip
        if not pool:
            raise ValueError(f"no free user living in {countries or 'any country'}")
        user = self.rng.choice(pool)
        self.taken.add(user.index)
        return user

    def crowd(self, count: int) -> list[User]:
        """``count`` ordinary users for a many-user story (may overlap other crowds)."""
        pool = [u for u in self.users if u.index not in self.taken and u.first_active == self.start]
        if len(pool) < count:
            raise ValueError(f"stories need {count} free users, the tenant has {len(pool)}")
        return self.rng.sample(pool, count)

    def at(self, day: int, hour: float) -> float:
        return self.start + day * DAY + hour * HOUR

    def reserve(self, user: User, start: float, end: float) -> None:
        """No ordinary activity for ``user`` in [start, end): the story speaks for them."""
        user.stays.append(Stay(start, end, None))

    def abroad(self, user: User, min_km: float = 2000, max_km: float = 1e9) -> City:
        far = [c for c in geo.CITIES if c.country != user.home.country
               and min_km <= geo.distance_km(user.home, c) <= max_km]  # fmt: skip
        return self.rng.choice(far)

    def proxy(self) -> Network:
        return self.rng.choice(geo.HOSTING)

    # --- records -----------------------------------------------------------------------
    def attempt(self, user: User, t: float, **kw: Any) -> Attempt:
        """An attempt by or against ``user``; by default from their laptop at home."""
        values: dict[str, Any] = {
            "id": new_id(self.rng), "t": t, "correlation_id": new_id(self.rng),
            "user_id": user.user_id, "upn": user.upn, "display_name": user.display_name,
            "app": OFFICE_HOME, "ip": user.home_ip, "asn": user.broadband.asn,
            "city": user.home, "device": user.laptop, "session_id": new_id(self.rng),
        }  # fmt: skip
        values.update(kw)
        return Attempt(**values)

    def by_attacker(self, user: User, t: float, network: Network, ip: str, **kw: Any) -> Attempt:
        kw.setdefault("city", user.home)
        kw.setdefault("device", ATTACKER_BOX)
        return self.attempt(user, t, ip=ip, asn=network.asn, **kw)

    def signin(self, a: Attempt) -> str:
        self.items.append((a.t, "signIn", graph_signin(a)))
        return a.id

    def detection(self, a: Attempt, **kw: Any) -> str:
        record = detection_for(a, new_id(self.rng), **kw)
        self.items.append((a.t, "riskDetection", record))
        return str(record["id"])

    def user_detection(self, user: User, t: float, risk_type: str, level: str) -> str:
        """A user-activity detection (offline, no sign-in behind it, so no IP or place)."""
        record = graph_detection(
            id=new_id(self.rng), requestId=None, correlationId=None, riskEventType=risk_type,
            riskState="atRisk", riskLevel=level, riskDetail="none", source="IdentityProtection",
            detectionTimingType="offline", activity="user", tokenIssuerType="AzureAD",
            ipAddress=None, location=None, activityDateTime=iso(t),
            detectedDateTime=iso(t + 2 * HOUR), lastUpdatedDateTime=iso(t + 2 * HOUR),
            userId=user.user_id, userDisplayName=user.display_name, userPrincipalName=user.upn,
            additionalInfo="[]",
        )  # fmt: skip
        self.items.append((t, "riskDetection", record))
        return str(record["id"])

    def risky_user(self, user: User, t: float, level: str, state: str, detail: str) -> str:
        record = graph_risky_user(
            id=user.user_id, isDeleted=False, isProcessing=False,
            riskLastUpdatedDateTime=iso(t), riskLevel=level, riskState=state, riskDetail=detail,
            userDisplayName=user.display_name, userPrincipalName=user.upn,
        )  # fmt: skip
        self.risky_users.append(record)
        return f"{user.user_id}@{iso(t)}"

    def label(
        self,
        story: str,
        rule_id: str,
        *,
        alert: bool,
        users: list[str],
        time: float,
        window: tuple[float, float],
        event_ids: list[str],
        description: str,
        also: tuple[str, ...] = (),
    ) -> None:
        self.labels.append({
            "story": story, "rule_id": rule_id, "expect": "alert" if alert else "quiet",
            "user": users[0] if users else None, "users": users, "time": iso(time),
            "window": [iso(window[0]), iso(window[1])], "event_ids": event_ids,
            "also": list(also), "description": description,
        })  # fmt: skip

    def label_quiet(
        self,
        story: str,
        rule_ids: tuple[str, ...],
        user: User,
        start: float,
        end: float,
        event_ids: list[str],
        description: str,
        users: list[str] | None = None,
    ) -> None:
        """A benign look-alike: one label per rule that must not alert on it."""
        for rule_id in rule_ids:
            self.label(story, rule_id, alert=False, users=users or [user.upn], time=start,
                       window=(start, end), event_ids=event_ids, description=description)
