"""The response policy's proposals in the incident notification: shown in Teams and Slack,
a hostile reason or UPN kept as text (TextRuns only; escaped mrkdwn)."""

from __future__ import annotations

from typing import Any

import pytest

from detections.incidents.model import Incident
from service.delivery.incident_view import incident_view
from service.delivery.slack_incident import incident_message
from service.delivery.teams_incident import incident_card
from service.response.policy_run import proposals_for
from service.run.pipeline import Pipeline
from service.settings import load_settings
from tests.sink_alerts import HOSTILE
from tests.sink_checks import card_texts, card_violations, slack_violations
from tests.sink_incidents import risky_incident
from tests.test_response_policy import NONE, incident_of

PORTAL = "https://entra.example.test"


LEAKED = "verdict high with leaked credentials"


def with_response(mode: str, reason: str = LEAKED) -> dict[str, Any]:
    incident = risky_incident()
    incident["response"] = [
        {"action": "revoke", "text": "revoke sign-in sessions", "reason": reason,
         "policy_rule": "high_token_theft", "mode": mode},
        {"action": "confirm-compromised", "text": "confirm the user compromised",
         "reason": reason, "policy_rule": "high_token_theft", "mode": mode},
    ]
    return incident


def test_the_policy_gives_the_notification_its_proposals() -> None:
    incident = incident_of("anomalousToken")
    shown = proposals_for(incident, "u-alice", None, NONE, "plan")
    assert [(p["action"], p["mode"]) for p in shown] == [("revoke", "plan"),
                                                         ("confirm-compromised", "plan")]
    assert proposals_for(incident, "u-alice", None, NONE, "off") == []


def test_plan_mode_says_nothing_was_called() -> None:
    view = incident_view(with_response("plan"), PORTAL)
    assert view.response_heading == "Proposed response (plan mode, nothing was called)"
    assert view.response == ("revoke sign-in sessions: verdict high with leaked credentials",
                             "confirm the user compromised: verdict high with leaked credentials")
    assert incident_view(with_response("enforce"), PORTAL).response_heading.startswith(
        "Response by policy")
    assert incident_view(risky_incident(), PORTAL).response == ()


def test_teams_shows_the_proposals_as_text_runs() -> None:
    card = incident_card(with_response("plan", reason=HOSTILE), PORTAL)
    texts = card_texts(card)
    assert "Proposed response (plan mode, nothing was called)" in texts
    body = card["attachments"][0]["content"]["body"]
    assert all(block["type"] == "RichTextBlock" for block in body)  # no markdown at all
    assert any(HOSTILE[:40] in t for t in texts)  # as received, as data
    assert card_violations(card["attachments"][0]["content"]) == []


def test_slack_escapes_a_hostile_reason() -> None:
    message = incident_message(with_response("plan", reason=HOSTILE), PORTAL)
    assert slack_violations(message) == []
    section = next(b for b in message["blocks"] if b["type"] == "section"
                   and "Proposed response" in b.get("text", {}).get("text", ""))
    assert "<!channel>" not in section["text"]["text"] and "*Proposed response" in section[
        "text"]["text"]


@pytest.mark.azurite
def test_the_pipeline_gives_its_incident_joiner_the_policys_view(
        storage_connection: str, table_prefix: str) -> None:
    """The view is the joiner's own, given when it is built (nothing sets it afterwards)."""
    settings = load_settings({"RISKWATCH_STORAGE": storage_connection,
                              "RISKWATCH_TABLE_PREFIX": table_prefix,
                              "RISKWATCH_RESPONSE_MODE": "plan"})

    def shown(incident: Incident, user_id: str | None) -> list[dict[str, Any]]:
        return proposals_for(incident, user_id, None, NONE, "plan")

    told = Pipeline.from_settings(settings, proposals=shown).incidents
    silent = Pipeline.from_settings(settings).incidents
    assert told is not None and told.proposals is shown
    assert silent is not None and silent.proposals is None
