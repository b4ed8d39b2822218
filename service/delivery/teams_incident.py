"""An incident as a Teams message: the same Workflows envelope and Adaptive Card 1.4 as an
alert (``teams.py``), with the same rules for attacker-chosen text.

The card leads with the verdict and score, then the top reasons (each marked "▲ raises"
or "▼ lowers"), then the breakdown, a short timeline and the portal buttons. Every value
from the incident (the principal, reasons that quote a UPN or city, places, devices,
apps, timeline summaries) goes only into ``TextRun``s through ``card_literal``, so it
reads exactly as received and can never become a link or formatting; markdown
``TextBlock``s are not used at all. The message is kept under ``MAX_CARD_BYTES`` of UTF-8
by showing less (shorter values, fewer items) until it fits, noting what was cut.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.delivery.escape import card_literal, truncate
from service.delivery.incident_view import Budget, IncidentView, incident_view
from service.delivery.teams import (
    MAX_CARD_BYTES,
    adaptive_card,
    encode,
    message,
    rich_text,
    text_run,
)

# Tried in turn until the card fits; the last resort is ``_minimal_card``.
BUDGETS = (
    Budget(),
    Budget(value_chars=150, row_chars=400, items=5, reasons=5, entries=6),
    Budget(value_chars=60, row_chars=160, items=3, reasons=4, entries=4),
    Budget(value_chars=20, row_chars=60, items=2, reasons=3, entries=2),
)
_VERDICT_COLOR = {"high": "Attention", "medium": "Warning"}
_EFFECT_COLOR = {"raises": "Attention", "lowers": "Good"}
_CUT_NOTE = " · some values were shortened to fit Teams; the full incident is in the outbox"


def _label_row(label: str, value: str, **props: Any) -> dict[str, Any]:
    return rich_text(
        text_run(label + ": ", weight="Bolder"),
        text_run(card_literal(value) or "-"),
        **{"spacing": "None", **props},
    )


def _heading(text: str) -> dict[str, Any]:
    # Our own text, but a RichTextBlock like the rest: nothing in the card is markdown.
    return rich_text(text_run(text, weight="Bolder"), separator=True, spacing="Medium")


def build_incident_card(incident_view_: IncidentView) -> dict[str, Any]:
    v = incident_view_
    body: list[dict[str, Any]] = [
        rich_text(
            text_run(
                card_literal(v.headline),
                weight="Bolder",
                size="Medium",
                color=_VERDICT_COLOR.get(v.verdict, "Default"),
            )
        ),
        rich_text(text_run(card_literal(v.summary), isSubtle=True), spacing="None"),
    ]
    if v.reasons:
        body.append(_heading("Why"))
        body.extend(
            rich_text(
                text_run(r.mark + ": ", weight="Bolder", color=_EFFECT_COLOR[r.effect]),
                text_run(card_literal(r.text)),
                spacing="None",
            )
            for r in v.reasons
        )
        if v.reasons_left_out:
            body.append(
                rich_text(text_run(f"… {v.reasons_left_out} more reasons", isSubtle=True))
            )
    body.append(_heading("Breakdown"))
    body.extend(_label_row(f.label, f.value) for f in v.breakdown)
    if v.timeline:
        body.append(_heading(v.timeline_heading))
        body.extend(
            rich_text(text_run(card_literal(entry)), spacing="None") for entry in v.timeline
        )
    if v.response:
        body.append(_heading(v.response_heading))
        body.extend(rich_text(text_run(card_literal(line)), spacing="None")
                    for line in v.response)
    if v.rules:
        body.append(_label_row("Rules", v.rules, separator=True, spacing="Medium"))
    footer = card_literal(f"Incident id {v.incident_id}, revision {v.revision}")
    if v.truncated:
        footer += _CUT_NOTE
    body.append(rich_text(text_run(footer, isSubtle=True, size="Small")))
    return _card(body, v)


def _card(body: list[dict[str, Any]], v: IncidentView) -> dict[str, Any]:
    return adaptive_card(body, v.links)


def _minimal_card(v: IncidentView) -> dict[str, Any]:
    """Verdict, who (short) and the id: fits whatever the incident holds."""
    who = truncate(v.principal, 60)
    note = f"{v.verdict} risk ({v.score}/100) for {who}: the incident could not be shown in full"
    card = _card(
        [
            rich_text(text_run(card_literal(truncate(note, 300)), weight="Bolder")),
            rich_text(text_run(card_literal(f"Incident id {v.incident_id}"), isSubtle=True)),
        ],
        v,
    )
    if len(encode(message(card))) > MAX_CARD_BYTES:  # only an absurd portal URL setting
        card["actions"] = []
    return card


def incident_card(incident: Mapping[str, Any], portal_url: str) -> dict[str, Any]:
    """The Workflows message (envelope and card) for ``Incident.to_dict()``, at most
    ``MAX_CARD_BYTES`` once encoded with ``teams.encode``."""
    for budget in BUDGETS:
        candidate = message(build_incident_card(incident_view(incident, portal_url, budget)))
        if len(encode(candidate)) <= MAX_CARD_BYTES:
            return candidate
    return message(_minimal_card(incident_view(incident, portal_url, BUDGETS[-1])))
