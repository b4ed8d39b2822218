"""The webhook posts an incident notification as written, signed, keyed by its id."""

from __future__ import annotations

import json

from detections.incidents.grouping import assemble
from detections.incidents.model import AlertFacts
from detections.testing import T0
from service.delivery.webhook import SIGNATURE_HEADER, WebhookSink, verify
from service.state.incidents import encode_notification, notification


def test_an_incident_is_posted_as_is_with_sent_at_and_its_id_as_idempotency_key() -> None:
    facts = AlertFacts(alert_id="a1", rule_id="signin_risk_detection", severity="high",
                       first_seen=T0, last_seen=T0, count=1, event_ids=("e1",))
    incident = assemble(None, "user", "alice@contoso.com", [facts], [])
    stored = json.loads(encode_notification(notification(incident, [])))
    sink = WebhookSink("http://127.0.0.1:9/hook", secret="k", clock=lambda: 1_793_610_000)
    body, headers = sink.request(stored)
    assert json.loads(body) == {**stored, "sent_at": 1_793_610_000}
    assert headers["Idempotency-Key"] == f"{incident.incident_id}:1"
    assert verify("k", body, headers[SIGNATURE_HEADER])
