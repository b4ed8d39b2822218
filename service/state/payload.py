"""An alert as the JSON text stored in Table Storage, capped to fit a string property.

A string property holds at most 64 KiB (UTF-16). ``json.dumps`` escapes every
non-ASCII character, so the text's length is its size in UTF-16 code units.
When the alert is too big the context is cut, and the cut alert says so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from service.state.tables import MAX_STRING_UNITS, cap_text

TRUNCATED = "riskwatch_truncated"
_FIELD_CAP = 2_000
_ESSENTIALS = (
    "alert_id", "rule_id", "rule_version", "severity", "risk_score", "title", "principal",
    "dedup_key", "first_seen", "last_seen", "count", "event_ids", "mitre", "tags",
)  # title, principal and dedup key: attacker-influenced, never this long


def encode_alert(alert: Mapping[str, Any], limit: int = MAX_STRING_UNITS) -> str:
    """``alert`` as JSON of at most ``limit`` characters, the context cut if needed."""
    text = json.dumps(alert, default=str)
    if len(text) <= limit:
        return text
    cut = dict(alert)
    for name in ("title", "principal", "dedup_key"):
        if isinstance(cut.get(name), str):
            cut[name] = cap_text(cut[name], _FIELD_CAP)
    cut["event_ids"] = list(cut.get("event_ids", []))[:10]
    context_text = json.dumps(cut.get("context", {}), default=str)
    cut["context"] = {}
    room = limit - len(json.dumps(cut, default=str)) - 400  # the note and JSON escaping
    keep = max(0, room // 2)  # the preview is JSON inside JSON: quotes double in size
    cut["context"] = {
        TRUNCATED: (
            f"context cut from {len(context_text)} to {keep} characters to fit Table "
            "Storage's 64 KiB property limit; the full record is in the source logs"
        ),
        "context_preview": context_text[:keep],
    }
    text = json.dumps(cut, default=str)
    if len(text) > limit:  # only when the rule's own texts are huge: keep the essentials
        essentials = {k: cut[k] for k in _ESSENTIALS if k in cut}
        essentials["context"] = {TRUNCATED: "context dropped: the alert exceeded 64 KiB"}
        text = json.dumps(essentials, default=str)
    return text
