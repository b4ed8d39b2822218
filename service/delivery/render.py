"""What a responder needs from an alert, in one format-neutral shape.

Every sink renders the same facts: who, what, when, where (IP, city, country), the risk
fields, the rule's investigation steps and links into the Entra admin center. Values stay
raw here; each sink escapes them for its own format. Rules put their context under
different names, so each fact is looked up under the names the rules use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

DEFAULT_PORTAL_URL = "https://entra.microsoft.com"
RISKY_SIGN_INS_PATH = "/#view/Microsoft_AAD_IAM/SecurityMenuBlade/~/RiskySignIns"
RISKY_USERS_PATH = "/#view/Microsoft_AAD_IAM/SecurityMenuBlade/~/RiskyUsers"
USER_PROFILE_PATH = "/#view/Microsoft_AAD_UsersAndTenants/UserProfileMenuBlade/~/overview/userId/"
MAX_EXTRA_FACTS = 8  # context entries beyond the known ones, so correlation rules show theirs
MAX_USER_ID_CHARS = 128  # Entra object ids are GUIDs; a longer one is not linked

# (label, context keys to try in order). Dotted keys read nested dicts.
_WHO = (
    ("Display name", ("display_name", "user_display_name")),
    ("User id", ("user_id",)),
)
_WHERE = (
    ("IP address", ("ip_address", "ip")),
    ("City", ("city", "location.city")),
    ("State", ("state", "location.state")),
    ("Country", ("country", "location.country")),
)
_RISK = (
    ("Risk event type", ("risk_event_type",)),
    ("Risk level", ("risk_level", "risk_level_during_sign_in", "risk_level_aggregated")),
    ("Risk state", ("risk_state",)),
    ("Risk detail", ("risk_detail",)),
    ("Detection timing", ("detection_timing_type",)),
)
_CLIENT = (
    ("Application", ("app_display_name", "app", "application")),
    ("User agent", ("user_agent", "additional_info.userAgent", "additional_info.useragent")),
    ("Device", ("device_name", "device_display_name", "device.display_name")),
    ("Correlation id", ("correlation_id",)),
)
_SHOWN = {
    key.split(".")[0]
    for group in (_WHO, _WHERE, _RISK, _CLIENT)
    for _, keys in group
    for key in keys
} | {"principal", "latitude", "longitude", "request_id",
     "actor_type"}  # actor_type: for grouping (an audit's "actor" is shown)


@dataclass(frozen=True, slots=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertView:
    alert_id: str
    rule_id: str
    title: str
    severity: str
    risk_score: str
    principal: str
    first_seen: str
    last_seen: str
    count: int
    facts: tuple[Fact, ...]  # who, where, risk, client, then extra context
    investigation: tuple[str, ...]
    links: tuple[Link, ...]
    mitre: tuple[str, ...]

    @property
    def when(self) -> str:
        if self.first_seen == self.last_seen:
            return self.first_seen
        return f"{self.first_seen} to {self.last_seen}"

    @property
    def headline_facts(self) -> tuple[Fact, ...]:
        """The summary every format shows first."""
        return (
            Fact("Severity", f"{self.severity} (risk score {self.risk_score})"),
            Fact("Who", self.principal),
            Fact("When", self.when),
            Fact("Count", str(self.count)),
            Fact("Rule", self.rule_id),
        )


def view(alert: Mapping[str, Any], portal_url: str = DEFAULT_PORTAL_URL) -> AlertView:
    """An ``Alert.to_dict()`` mapping as facts, steps and links."""
    context = alert.get("context") or {}
    if not isinstance(context, Mapping):
        context = {"context": context}
    facts = [
        Fact(label, text)
        for group in (_WHO, _WHERE, _RISK, _CLIENT)
        for label, keys in group
        if (text := _first(context, keys))
    ]
    facts.extend(_extra_facts(context))
    return AlertView(
        alert_id=str(alert.get("alert_id", "")),
        rule_id=str(alert.get("rule_id", "")),
        title=str(alert.get("title", "")),
        severity=str(alert.get("severity", "")),
        risk_score=str(alert.get("risk_score", "")),
        principal=str(alert.get("principal", "") or "unknown"),
        first_seen=str(alert.get("first_seen", "")),
        last_seen=str(alert.get("last_seen", alert.get("first_seen", ""))),
        count=_int(alert.get("count", 1)),
        facts=tuple(facts),
        investigation=_strings(alert.get("investigation")),
        links=portal_links(portal_url, context),
        mitre=_strings(alert.get("mitre")),
    )


def portal_links(portal_url: str, context: Mapping[str, Any]) -> tuple[Link, ...]:
    """Entra admin center pages for the user: risky sign-ins, risky users, the profile.

    The blades take no filter in the URL, so the responder filters by the user shown.
    """
    base = portal_url.rstrip("/")
    links = [
        Link("Risky sign-ins", base + RISKY_SIGN_INS_PATH),
        Link("Risky users", base + RISKY_USERS_PATH),
    ]
    user_id = context.get("user_id")
    if isinstance(user_id, str) and 0 < len(user_id) <= MAX_USER_ID_CHARS:
        # quote(safe="") keeps an odd id from adding path segments or fragments;
        # errors="replace" keeps a lone surrogate from raising.
        profile = quote(user_id, safe="", errors="replace")
        links.append(Link("User profile", base + USER_PROFILE_PATH + profile))
    return tuple(links)


def _first(context: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        value: Any = context
        for part in key.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is not None and value != "" and not isinstance(value, Mapping | list):
            return str(value)
    return ""


def _extra_facts(context: Mapping[str, Any]) -> list[Fact]:
    extra = []
    for key, value in context.items():
        if key in _SHOWN or value is None or value == "" or isinstance(value, Mapping | list):
            continue
        extra.append(Fact(str(key).replace("_", " ").capitalize(), str(value)))
        if len(extra) >= MAX_EXTRA_FACTS:
            break
    return extra


def _strings(value: Any) -> tuple[str, ...]:
    """A list of steps or technique ids; one string is one item, anything else none."""
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list | tuple):
        return tuple(str(item) for item in value if item is not None and item != "")
    return ()


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
        return 1
