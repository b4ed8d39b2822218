"""Every rule, one module each. Add a new rule's module here; ids never change."""

from __future__ import annotations

from detections.rule import Rule
from detections.rules import (
    account_lockouts,
    brute_force,
    high_risk_signin_succeeded,
    impossible_travel,
    mfa_fatigue,
    password_spray,
    priority_risk_detection,
    risk_level_passthrough,
    session_multiple_ips,
    signin_risk_detection,
    success_after_failures,
    unfamiliar_country,
    unremediated_user_risk,
    user_risk_detection,
)

ALL_RULES: tuple[Rule, ...] = (
    signin_risk_detection.RULE,
    user_risk_detection.RULE,
    risk_level_passthrough.RULE,
    high_risk_signin_succeeded.RULE,
    unremediated_user_risk.RULE,
    priority_risk_detection.RULE,
    # Correlation rules (issue 5): they read detections.history.
    impossible_travel.RULE,
    unfamiliar_country.RULE,
    brute_force.RULE,
    password_spray.RULE,
    success_after_failures.RULE,
    mfa_fatigue.RULE,
    account_lockouts.RULE,
    session_multiple_ips.RULE,
)
