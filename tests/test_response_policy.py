"""The response policy: seed 002's defaults, with a positive and a negative case each."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from detections.incidents.model import Incident
from detections.response.policy import (
    ACTIONS,
    Exclusions,
    command_problem,
    propose,
    theft_signals,
)
from detections.testing import T0, risk_detection, risky_user, sign_in
from tests.incident_support import incidents_of

NONE = Exclusions()


def incident_of(risk_event_type: str, level: str = "high", **overrides: object) -> Incident:
    events = [
        risk_detection(risk_event_type=risk_event_type, risk_level=level),
        risky_user(time=T0 + timedelta(minutes=1)),
        sign_in(id="si-2", time=T0 + timedelta(minutes=2), risk_level_during_sign_in=level,
                risk_state="atRisk"),
    ]
    (incident,) = incidents_of(events)
    return replace(incident, **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["anomalousToken", "attackerinTheMiddle", "tokenIssuerAnomaly",
                                  "leakedCredentials"])
def test_high_token_theft_revokes_and_confirms(kind: str) -> None:
    incident = incident_of(kind)
    assert incident.verdict == "high" and theft_signals(incident)
    found = propose(incident, user_id="u-alice", label=None, exclusions=NONE)
    assert [p.action for p in found] == ["revoke", "confirm-compromised"]
    assert {p.policy_rule for p in found} == {"high_token_theft"}
    assert all(p.principal == "alice@contoso.com" and p.user_id == "u-alice"
               and p.verdict == "high" and p.revision == incident.revision for p in found)
    assert "verdict high" in found[0].reason


def test_high_without_theft_does_nothing() -> None:
    incident = incident_of("unfamiliarFeatures")
    assert incident.verdict == "high" and theft_signals(incident) == ()
    assert propose(incident, user_id="u-alice", label=None, exclusions=NONE) == []


def test_below_high_does_nothing_even_with_theft() -> None:
    incident = replace(incident_of("anomalousToken"), verdict="medium")
    assert propose(incident, user_id="u-alice", label=None, exclusions=NONE) == []


def test_never_disables_automatically() -> None:
    for kind in ("anomalousToken", "leakedCredentials"):
        found = propose(incident_of(kind), user_id="u", label=None, exclusions=NONE)
        assert not {"disable", "enable"} & {p.action for p in found}


def test_privileged_accounts_only_by_command() -> None:
    incident = incident_of("anomalousToken", privileged=True)
    assert propose(incident, user_id="u-alice", label=None, exclusions=NONE) == []
    assert propose(incident, user_id="u-alice", label="fp", exclusions=NONE) == []
    assert command_problem(incident, "disable", "u-alice", NONE) is None


@pytest.mark.parametrize("listed", ["alice@contoso.com", "ALICE@contoso.com", "u-alice"])
def test_excluded_accounts_are_never_touched(listed: str) -> None:
    excluded = Exclusions.of([" breakglass@contoso.com", listed])
    incident = incident_of("anomalousToken")
    assert propose(incident, user_id="u-alice", label=None, exclusions=excluded) == []
    assert propose(incident, user_id="u-alice", label="fp", exclusions=excluded) == []
    for action in ACTIONS:
        problem = command_problem(incident, action, "u-alice", excluded)
        assert problem is not None and "RISKWATCH_RESPONSE_EXCLUDE" in problem
        assert "alice@contoso.com" in problem or "u-alice" in problem


def test_false_positive_label_dismisses_and_contains_nothing() -> None:
    incident = incident_of("anomalousToken")
    found = propose(incident, user_id="u-alice", label="fp", exclusions=NONE)
    assert [(p.action, p.policy_rule) for p in found] == [("dismiss", "analyst_false_positive")]
    for label in ("tp", "indeterminate", None):
        actions = [p.action for p in propose(incident, user_id="u", label=label, exclusions=NONE)]
        assert "dismiss" not in actions


def test_closed_incident_is_not_contained() -> None:
    incident = incident_of("anomalousToken", closed="risk closed")
    assert propose(incident, user_id="u-alice", label=None, exclusions=NONE) == []


def test_commands_need_a_user_incident_and_a_known_action() -> None:
    incident = incident_of("anomalousToken")
    ip = replace(incident, principal_type="ip", principal="203.0.113.10")
    assert "not a user" in (command_problem(ip, "revoke", None, NONE) or "")
    assert "unknown action" in (command_problem(incident, "reset-password", None, NONE) or "")


def test_exclusions_know_object_ids() -> None:
    assert Exclusions.of(["6f1d3c2a-0b7e-4d1a-9c3e-2a4b6c8d0e1f"]).has_object_ids
    assert not Exclusions.of(["breakglass@contoso.com"]).has_object_ids


def test_an_account_excluded_by_object_id_is_left_alone_while_its_id_is_unknown() -> None:
    excluded = Exclusions.of(["6f1d3c2a-0b7e-4d1a-9c3e-2a4b6c8d0e1f"])
    incident = incident_of("anomalousToken")
    assert propose(incident, user_id=None, label=None, exclusions=excluded) == []
    assert propose(incident, user_id=None, label="fp", exclusions=excluded) == []
    problem = command_problem(incident, "revoke", None, excluded)
    assert problem is not None and "object id" in problem and "alice@contoso.com" in problem
    # Its own object id known and not listed: the policy and a person may act.
    assert [p.action for p in propose(incident, user_id="u-alice", label=None,
                                      exclusions=excluded)] == ["revoke", "confirm-compromised"]
    assert command_problem(incident, "revoke", "u-alice", excluded) is None
    # The listed object id is the user's: never, by policy or command.
    listed = "6F1D3C2A-0B7E-4D1A-9C3E-2A4B6C8D0E1F"
    assert propose(incident, user_id=listed, label=None, exclusions=excluded) == []
    assert "RISKWATCH_RESPONSE_EXCLUDE" in (command_problem(incident, "revoke", listed,
                                                            excluded) or "")


def test_one_list_of_actions_and_one_verdict_order() -> None:
    """The command line offers the policy's actions and the evidence bundles rank verdicts
    as incidents do: one definition each, so they cannot drift apart."""
    import argparse

    from detections.incidents import model
    from service.cli.parser import build_parser
    from service.response import bundles

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    respond = sub.choices["respond"]
    (action,) = [a for a in respond._actions if "--action" in a.option_strings]
    assert action.choices is ACTIONS
    assert bundles.VERDICT_RANK is model.VERDICT_RANK
