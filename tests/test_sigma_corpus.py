"""SigmaHQ's Entra rules on events: cases generated from each rule's own selection, and the
real events of the peer corpus (Elastic fixtures, Panther tests, Graph docs examples).

What a real event should fire is computed here from its raw record and the rule's YAML
(read with PyYAML, not through the matcher), never written down by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sigma.collection import SigmaCollection

from detections.correlation_history import History
from detections.model import Event, RiskDetection, SignIn
from detections.normalize import Skip, decode, normalize_record
from detections.rule import Context, Rule
from service.sigma.loader import SigmaRuleSet, load_folder
from tests.sigma_samples import cases

CTX = Context(history=History(), params={})
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "peer-corpus"
SIGMA = CORPUS / "sigma"
RULE_FILES = sorted(p.relative_to(SIGMA).as_posix() for p in SIGMA.rglob("*.yml"))


@pytest.fixture(scope="module")
def loaded(peer_corpus: Path) -> SigmaRuleSet:
    return load_folder(peer_corpus / "sigma")


def _by_file(loaded: SigmaRuleSet) -> dict[str, Rule]:
    return {v.file: v.rule for v in loaded.verdicts if v.rule is not None}


def fires(rule: Rule, event: Event) -> bool:
    return rule.match(event, CTX) is not None


@pytest.mark.parametrize("name", RULE_FILES)
def test_generated_positive_fires_and_one_changed_field_does_not(
    name: str, loaded: SigmaRuleSet
) -> None:
    rule = _by_file(loaded).get(name)
    if rule is None:
        reason = next(v.reason for v in loaded.verdicts if v.file == name)
        pytest.skip(f"unsupported: {reason}")
    positive, negative = cases(SigmaCollection.from_yaml((SIGMA / name).read_text()).rules[0])
    assert fires(rule, positive), positive
    assert not fires(rule, negative), negative
    assert rule.kinds == (positive.kind,)


def test_every_supported_riskdetection_and_signinlogs_rule_has_generated_cases(
    loaded: SigmaRuleSet,
) -> None:
    wanted = [v for v in loaded.verdicts if v.rule and v.service in ("riskdetection",
                                                                       "signinlogs")]
    assert len(wanted) == 19 + 16
    for verdict in wanted:  # none of them is skipped by the generator
        cases(SigmaCollection.from_yaml((SIGMA / verdict.file).read_text()).rules[0])


def _selection(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((SIGMA / name).read_text())
    selection: dict[str, Any] = doc["detection"]["selection"]
    return selection


def _identity_protection_rules(loaded: SigmaRuleSet) -> dict[str, Rule]:
    """riskEventType → the SigmaHQ rule selecting it, from the YAML itself."""
    return {_selection(f)["riskEventType"]: r for f, r in _by_file(loaded).items()
            if f.startswith("identity_protection/")}


def _elastic_events(corpus: Path) -> list[tuple[dict[str, Any], Event]]:
    out = []
    for path in sorted((corpus / "elastic_integrations").glob("*/*.log")):
        raws = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        with path.open() as lines:
            events = list(decode(path.name, lines))
        for raw, event in zip(raws, events, strict=True):
            assert not isinstance(event, Skip), event
            out.append((raw, event))
    return out


def test_elastic_detections_fire_the_rule_of_their_risk_event_type(
    loaded: SigmaRuleSet, peer_corpus: Path
) -> None:
    by_type = _identity_protection_rules(loaded)
    detections = [(raw, e) for raw, e in _elastic_events(peer_corpus)
                  if isinstance(e, RiskDetection)]
    assert len(detections) == 5
    for raw, event in detections:
        expected = by_type[raw["properties"]["riskEventType"]]
        fired = {r.id for r in by_type.values() if fires(r, event)}
        assert fired == {expected.id}


def test_graph_docs_detection_fires_its_rule(loaded: SigmaRuleSet, peer_corpus: Path) -> None:
    page = json.loads((peer_corpus / "msgraph_docs" /
                       "riskdetection-list.v1.0.example-response.json").read_text())
    by_type = _identity_protection_rules(loaded)
    for raw in page["value"]:
        event = normalize_record(raw, source="graph-docs")
        assert isinstance(event, RiskDetection)
        assert {r.id for r in by_type.values() if fires(r, event)} == \
            {by_type[raw["riskEventType"]].id}  # fmt: skip


def _raw_sign_in_facts(log: dict[str, Any]) -> dict[str, Any]:
    top = {k.lower(): v for k, v in log.items()}
    props = top.get("properties") or log
    status = props.get("status") or {}
    code = status.get("errorCode")
    if code is None:
        result = top.get("resulttype")
        code = int(result) if str(result).lstrip("-").isdigit() else 0
    return {"code": int(code), "protocol": props.get("authenticationProtocol"),
            "agent": (props.get("userAgent") or "").lower(),
            "requirement": props.get("authenticationRequirement")}


# Sigma rule file → what it says about a raw sign-in, read from the raw record.
IMPLIED = {
    "signin_logs/azure_account_lockout.yml": lambda f: f["code"] == 50053,
    "signin_logs/azure_user_login_blocked_by_conditional_access.yml":
        lambda f: f["code"] == 53003,
    "signin_logs/azure_app_device_code_authentication.yml":
        lambda f: f["protocol"] == "deviceCode",
    "signin_logs/azure_app_ropc_authentication.yml": lambda f: f["protocol"] == "ropc",
    "signin_logs/azure_ad_suspicious_signin_bypassing_mfa.yml": lambda f: f["code"] == 0 and any(
        a in f["agent"] for a in ("bav2ropc", "cbainprod", "cbaintar")),
    "signin_logs/azure_ad_only_single_factor_auth_required.yml":
        lambda f: f["code"] == 0 and f["requirement"] == "singleFactorAuthentication",
}


def _panther_sign_ins(corpus: Path) -> list[tuple[str, dict[str, Any], SignIn]]:
    out = []
    for path in sorted((corpus / "panther").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            case = json.loads(line)
            log = case["log"]
            if {k.lower(): v for k, v in log.items()}.get("operationname") != "Sign-in activity":
                continue
            event = normalize_record(log, source=path.name)
            assert isinstance(event, SignIn)
            out.append((f"{path.name}:{case['test_name']}", log, event))
    return out


def test_panther_and_elastic_sign_ins_fire_what_their_content_implies(
    loaded: SigmaRuleSet, peer_corpus: Path
) -> None:
    rules = _by_file(loaded)
    sign_ins = [(n, log, e) for n, log, e in _panther_sign_ins(peer_corpus)]
    sign_ins += [(f"elastic:{raw['properties'].get('id')}", raw, e)
                 for raw, e in _elastic_events(peer_corpus) if isinstance(e, SignIn)]
    fired: dict[str, int] = dict.fromkeys(IMPLIED, 0)
    for name, log, event in sign_ins:
        facts = _raw_sign_in_facts(log)
        for file, implied in IMPLIED.items():
            expected = implied(facts)
            assert fires(rules[file], event) is expected, (name, file, facts)
            fired[file] += expected
    # The corpus holds what the issue names: the lockout 50053 event, device-code and
    # legacy-auth (BAV2ROPC) positives.
    assert fired["signin_logs/azure_account_lockout.yml"] >= 1
    assert fired["signin_logs/azure_app_device_code_authentication.yml"] >= 2
    assert fired["signin_logs/azure_ad_suspicious_signin_bypassing_mfa.yml"] >= 2
    assert fired["signin_logs/azure_app_ropc_authentication.yml"] >= 1
