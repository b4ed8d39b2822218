"""Every rule, one module each. Add a new rule's module here; ids never change."""

from __future__ import annotations

from detections.rule import Rule
from detections.rules import signin_risk_detection

ALL_RULES: tuple[Rule, ...] = (signin_risk_detection.RULE,)
