"""``RISKWATCH_RESPONSE_MODE`` and ``RISKWATCH_RESPONSE_EXCLUDE``: whether the response policy
only proposes (``plan``) or acts (``enforce``), and the accounts it never touches.

The policy judges incidents and acts only on a verified evidence bundle, and both exist
only with ``RISKWATCH_NOTIFY=incidents``: with ``alerts`` it would silently never propose
or act, so that combination is refused at start-up (``notify_problem``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from detections.response.policy import MODES, Exclusions, Mode
from service.settings.parsing import Reader

MAX_EXCLUDED = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseSettings:
    mode: Mode = "off"
    exclusions: Exclusions = field(default_factory=Exclusions)


def response_setting(read: Reader) -> ResponseSettings:
    mode_text = read.text("RISKWATCH_RESPONSE_MODE", "off").strip().lower()
    mode: Mode = "off"
    for choice in MODES:
        if mode_text == choice:
            mode = choice
            break
    else:
        read.problem("RISKWATCH_RESPONSE_MODE",
                     f"{mode_text[:40]!r} is not one of: {', '.join(MODES)}")
    names = [n.strip() for n in read.text("RISKWATCH_RESPONSE_EXCLUDE", "").split(",")]
    names = [n for n in names if n]
    bad = [n for n in names if any(c.isspace() or not c.isprintable() for c in n)]
    if bad:
        read.problem("RISKWATCH_RESPONSE_EXCLUDE",
                     f"{len(bad)} entries are not a UPN or object id (space or control "
                     "character); use a comma list such as breakglass1@contoso.com,<object id>")
    if len(names) > MAX_EXCLUDED:
        read.problem("RISKWATCH_RESPONSE_EXCLUDE", f"at most {MAX_EXCLUDED} accounts")
    return ResponseSettings(mode=mode, exclusions=Exclusions.of(names))


def notify_problem(read: Reader, response: ResponseSettings, notify: str) -> None:
    """Refuse a response policy that could never act: RISKWATCH_NOTIFY=alerts keeps no
    incidents and writes no evidence bundles."""
    if response.mode != "off" and notify == "alerts":
        read.problem("RISKWATCH_RESPONSE_MODE",
                     f"{response.mode} needs RISKWATCH_NOTIFY=incidents: with "
                     "RISKWATCH_NOTIFY=alerts no incidents or evidence bundles are kept, so "
                     "the policy would never propose or take an action (set "
                     "RISKWATCH_NOTIFY=incidents, or RISKWATCH_RESPONSE_MODE=off)")
