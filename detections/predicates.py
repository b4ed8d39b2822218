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
    # Asked of every sign-in: no sets or generators built, the same answer.
    state = event.risk_state
    if state in CLOSED_RISK_STATES:
        return False
    if (event.risk_level_during_sign_in in ACTIVE_RISK_LEVELS
            or event.risk_level_aggregated in ACTIVE_RISK_LEVELS):
        return True
    types = event.risk_event_types
    if types and not ANONYMIZER_RISKS.issuperset(types):
        return True
    return state in AT_RISK_STATES


def is_anonymized(event: SignIn) -> bool:
    return not ANONYMIZER_RISKS.isdisjoint(event.risk_event_types)


def is_user_sign_in(event: SignIn) -> bool:
    """A person's sign-in (interactive, non-interactive, AD FS): what history is kept of."""
    return event.category in USER_SIGN_IN_CATEGORIES


def is_interactive(event: SignIn) -> bool:
    """Interactive sign-ins are the timeline travel and country rules judge."""
    if event.interactive is not None:
        return event.interactive
    return event.category in INTERACTIVE_CATEGORIES


_last_key: list[tuple[SignIn, str] | None] = [None]  # the latest event's key (rules ask often)


def user_key(event: SignIn) -> str:
    """One user's key: the object id when known, else the lower-cased UPN. Interned: the
    history keeps one copy per user, not one per remembered sign-in."""
    # A dozen rules and the history ask for the key of the same event in a row: the last
    # answer is kept with its (immutable) event, so the event cannot be freed and reused.
    last = _last_key[0]
    if last is not None and last[0] is event:
        return last[1]
    key = intern((event.user_id or event.principal).lower())
    _last_key[0] = (event, key)
    return key
