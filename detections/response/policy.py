"""The response policy: which actions an incident warrants, and which a person may command.

Defaults that follow seed 002 ("preserve evidence before remediating", "don't disable
accounts reflexively ... investigate before containing"):

- a user incident at verdict ``high`` whose alerts carry token theft (an adversary-in-the-
  middle or token anomaly detection, a session replayed from another country) or leaked
  credentials: revoke the sign-in sessions and confirm the user compromised;
- an analyst's false-positive label (``riskwatch label ... fp``): dismiss the user's risk;
- never disable (or re-enable) an account by policy: only a person's command does;
- never act on a privileged account by policy (seed 002: extra scrutiny), nor on any
  account in the exclusion list (break-glass accounts), by policy or by command.

Pure: the caller passes the incident, the user's object id when known, the latest label
and the exclusions; the I/O (evidence, claims, Graph, audit) is ``service.response``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, TypeAlias

from detections.incidents.model import Incident

Action: TypeAlias = Literal["revoke", "confirm-compromised", "dismiss", "disable", "enable"]
ACTIONS: tuple[Action, ...] = ("revoke", "confirm-compromised", "dismiss", "disable", "enable")
ACTION_TEXT: dict[str, str] = {
    "revoke": "revoke sign-in sessions",
    "confirm-compromised": "confirm the user compromised",
    "dismiss": "dismiss the user's risk",
    "disable": "disable the account",
    "enable": "re-enable the account",
}
Mode: TypeAlias = Literal["off", "plan", "enforce"]
MODES: tuple[Mode, ...] = ("off", "plan", "enforce")
# The alert signals (detections.incidents.grouping.signals_of) that mean stolen tokens or
# credentials: what makes revoking sessions worth its cost to the user.
THEFT_SIGNALS: dict[str, str] = {
    "aitm": "an adversary-in-the-middle or token anomaly detection",
    "token_replay": "a session replayed from another country",
    "leaked": "leaked credentials",
}
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyRule:
    rule_id: str
    actions: tuple[Action, ...]
    text: str


RULES: tuple[PolicyRule, ...] = (
    PolicyRule(rule_id="high_token_theft", actions=("revoke", "confirm-compromised"),
               text="verdict high with token theft or leaked credentials in the evidence"),
    PolicyRule(rule_id="analyst_false_positive", actions=("dismiss",),
               text="an analyst labelled the incident a false positive"),
)
_RULE = {rule.rule_id: rule for rule in RULES}


@dataclass(frozen=True, slots=True, kw_only=True)
class Proposal:
    """One action the policy (or a person) would take on one incident's user."""

    incident_id: str
    revision: int
    principal: str  # the lower-cased UPN the incident follows
    user_id: str | None  # the user's object id, when known
    action: Action
    verdict: str
    reason: str
    policy_rule: str | None  # None: a person's command

    def to_dict(self) -> dict[str, object]:
        return {"incident_id": self.incident_id, "revision": self.revision,
                "principal": self.principal, "user_id": self.user_id, "action": self.action,
                "verdict": self.verdict, "reason": self.reason, "policy_rule": self.policy_rule}


@dataclass(frozen=True, slots=True)
class Exclusions:
    """RISKWATCH_RESPONSE_EXCLUDE: UPNs and object ids never touched (compared case-blind)."""

    names: frozenset[str] = frozenset()

    @classmethod
    def of(cls, values: Iterable[str]) -> Exclusions:
        return cls(frozenset(v.strip().lower() for v in values if v.strip()))

    @property
    def has_object_ids(self) -> bool:
        return any(_GUID.match(name) for name in self.names)

    def match(self, principal: str, user_id: str | None) -> str | None:
        """The excluded name ``principal`` or ``user_id`` is, or None."""
        for value in (principal, user_id):
            if value and value.strip().lower() in self.names:
                return value
        return None


def is_object_id(text: str) -> bool:
    return bool(_GUID.match(text.strip().lower()))


def theft_signals(incident: Incident) -> tuple[str, ...]:
    found = {s for alert in incident.alerts for s in alert.signals if s in THEFT_SIGNALS}
    return tuple(sorted(found))


def propose(
    incident: Incident, *, user_id: str | None, label: str | None, exclusions: Exclusions,
) -> list[Proposal]:
    """The actions the policy takes on ``incident`` (none for privileged or excluded
    accounts, IP and tenant incidents); ``label`` is the incident's latest analyst label."""
    if incident.principal_type != "user" or incident.privileged:
        return []  # seed 002: privileged accounts only by a person's command
    if exclusion_problem(incident, user_id, exclusions) is not None:
        return []

    def made(rule_id: str, action: Action, reason: str) -> Proposal:
        return Proposal(incident_id=incident.incident_id, revision=incident.revision,
                        principal=incident.principal, user_id=user_id, action=action,
                        verdict=incident.verdict, reason=reason, policy_rule=rule_id)

    if label == "fp":  # the analyst looked: dismiss, and contain nothing
        rule = _RULE["analyst_false_positive"]
        return [made(rule.rule_id, a, rule.text) for a in rule.actions]
    signals = theft_signals(incident)
    if incident.verdict != "high" or not signals or incident.closed is not None:
        return []
    rule = _RULE["high_token_theft"]
    why = f"verdict high ({incident.score}/100) with " + ", ".join(
        THEFT_SIGNALS[s] for s in signals)
    return [made(rule.rule_id, a, why) for a in rule.actions]


def command_problem(
    incident: Incident, action: str, user_id: str | None, exclusions: Exclusions,
) -> str | None:
    """Why a person's command cannot run on ``incident``, or None."""
    if action not in ACTIONS:
        return f"unknown action {action[:40]!r}: use one of {', '.join(ACTIONS)}"
    if incident.principal_type != "user":
        return (f"incident {incident.incident_id} is about {incident.principal_type} "
                f"{incident.principal[:100]!r}, not a user: there is no account to act on")
    return exclusion_problem(incident, user_id, exclusions)


def exclusion_problem(
    incident: Incident, user_id: str | None, exclusions: Exclusions,
) -> str | None:
    """Why RISKWATCH_RESPONSE_EXCLUDE forbids acting on ``incident``'s user, or None.

    An account listed only by its object id cannot be recognised by its UPN: while the
    user's object id is not on record and the list holds object ids, nothing is done."""
    excluded = exclusions.match(incident.principal, user_id)
    if excluded is not None:
        return (f"account {excluded[:200]!r} is listed in RISKWATCH_RESPONSE_EXCLUDE "
                "(a break-glass account): Riskwatch never acts on it")
    if user_id is None and exclusions.has_object_ids:
        return (f"the object id of {incident.principal[:100]!r} is not on record, so "
                "RISKWATCH_RESPONSE_EXCLUDE's object ids cannot be checked: not acting")
    return None
