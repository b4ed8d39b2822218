"""The one home of each domain predicate that rules and the correlation history share.

What counts as an open risk, an active level, a user's sign-in, an interactive
sign-in, and which key one user's history is kept under. The vocabularies they read
(closed states, active levels, categories) are the constants of ``detections.model``.
"""

from __future__ import annotations

from sys import intern

from detections.model import (
    ACTIVE_RISK_LEVELS,
    AT_RISK_STATES,
    CLOSED_RISK_STATES,
    INTERACTIVE_CATEGORIES,
    USER_SIGN_IN_CATEGORIES,
    SignIn,
)

# Risk event types that say "through an anonymizer", not "this sign-in is risky".
ANONYMIZER_RISKS = frozenset({"anonymizedIPAddress"})


def is_open_risk(risk_state: str | None) -> bool:
    """True unless somebody closed the risk (remediated, dismissed, confirmedSafe)."""
    return risk_state not in CLOSED_RISK_STATES


def is_active_level(level: str | None) -> bool:
    """low, medium or high. ``hidden`` is unknown and ``none`` is none: neither is active."""
    return level in ACTIVE_RISK_LEVELS


def is_risk_flagged(event: SignIn) -> bool:
    """A sign-in whose risk flag still counts as evidence: the risk is open (never
    dismissed) and something flags it (an active level, a risk event type other than
    an anonymizer, or an at-risk state)."""
    if not is_open_risk(event.risk_state):
        return False
    levels = (event.risk_level_during_sign_in, event.risk_level_aggregated)
    active = any(is_active_level(level) for level in levels)
    flagged = bool(set(event.risk_event_types) - ANONYMIZER_RISKS)
    return active or flagged or event.risk_state in AT_RISK_STATES


def is_anonymized(event: SignIn) -> bool:
    return bool(ANONYMIZER_RISKS & set(event.risk_event_types))


def is_user_sign_in(event: SignIn) -> bool:
    """A person's sign-in (interactive, non-interactive, AD FS): what history is kept of."""
    return event.category in USER_SIGN_IN_CATEGORIES


def is_interactive(event: SignIn) -> bool:
    """Interactive sign-ins are the timeline travel and country rules judge."""
    if event.interactive is not None:
        return event.interactive
    return event.category in INTERACTIVE_CATEGORIES


def user_key(event: SignIn) -> str:
    """One user's key: the object id when known, else the lower-cased UPN. Interned: the
    history keeps one copy per user, not one per remembered sign-in."""
    return intern((event.user_id or event.principal).lower())
