"""Test alerts for the sinks: a real ``Alert.to_dict()`` with dict overrides.

``sink_alert(severity="low", context={"city": HOSTILE})`` merges ``context`` into the
rule's context; other keys replace top-level fields.
"""

from __future__ import annotations

import copy
from typing import Any

from detections.alerts import Alert
from detections.engine import Engine
from detections.model import Location
from detections.rules.high_risk_signin_succeeded import RULE as HIGH_RISK_SUCCEEDED
from detections.rules.signin_risk_detection import RULE
from detections.testing import risk_detection, sign_in

HOSTILE = "<!channel> *bold* [click](https://evil.example) <https://evil|x> `code` @here <@U123>"


def _base_alert() -> dict[str, Any]:
    event = risk_detection(
        location=Location(city="Seattle", country="US"),
        additional_info=(("userAgent", "Mozilla/5.0 (Windows NT 10.0)"),),
    )
    matches, failures = Engine([RULE]).evaluate(event)
    assert not failures and len(matches) == 1
    return Alert.open(matches[0]).to_dict()


_BASE = _base_alert()


def sink_alert(**overrides: Any) -> dict[str, Any]:
    alert = copy.deepcopy(_BASE)
    context = overrides.pop("context", None)
    alert.update(overrides)
    if context:
        alert["context"].update(context)
    return alert


def hostile_alert(user_agent: str = HOSTILE, **overrides: Any) -> dict[str, Any]:
    """Every attacker-chosen field set to a hostile value."""
    return sink_alert(
        principal=HOSTILE,
        title=f"Sign-in risk for {HOSTILE}",
        context={
            "principal": HOSTILE,
            "display_name": HOSTILE,
            "city": HOSTILE,
            "app_display_name": HOSTILE,
            "device_name": HOSTILE,
            "additional_info": {"userAgent": user_agent},
        },
        **overrides,
    )


# The hostile app name of issue 12: markdown emphasis, a Slack broadcast and a link.
HOSTILE_APP = "Payroll *Update* <!here> [sign in](https://evil.example/p)"


def critical_signin_alert(**sign_in_overrides: Any) -> dict[str, Any]:
    """A real critical ``high_risk_signin_succeeded`` alert (risk score 80).

    Its rule id has underscores and its severity line parentheses: our own text that
    must read as it is. The app name is ``HOSTILE_APP`` unless overridden.
    """
    fields: dict[str, Any] = {
        "risk_level_during_sign_in": "high",
        "risk_state": "atRisk",
        "risk_detail": "none",
        "risk_event_types": ("anomalousToken",),
        "app_display_name": HOSTILE_APP,
        **sign_in_overrides,
    }
    matches, failures = Engine([HIGH_RISK_SUCCEEDED]).evaluate(sign_in(**fields))
    assert not failures and len(matches) == 1
    return Alert.open(matches[0]).to_dict()
