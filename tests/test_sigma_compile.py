"""Sigma value semantics and the rule a Sigma rule becomes (detections.sigma.compile)."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

import pytest
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaRegularExpressionError

from detections.correlation_history import History
from detections.engine import Engine
from detections.model import Device, Event, Severity
from detections.rule import Context
from detections.sigma.compile import DEDUP_WINDOW, RISK_SCORES, Verdict, compile_rule
from detections.testing import directory_audit, risk_detection, sign_in, target

HEADER = """\
title: Test rule
id: 0f3a6f0e-1111-4c2b-9a55-0123456789ab
status: test
description: A rule written for this test.
author: riskwatch tests
tags:
    - attack.initial-access
    - attack.t1078.004
    - attack.t1110
logsource:
    product: azure
    service: {service}
"""
CTX = Context(history=History(), params={})


def compiled(detection: str, service: str = "signinlogs", extra: str = "") -> Verdict:
    text = HEADER.format(service=service) + "detection:\n" + detection + extra
    rule = SigmaCollection.from_yaml(text).rules[0]
    return compile_rule(rule, "test.yml")


def fires(verdict: Verdict, event: Event) -> bool:
    assert verdict.rule is not None, verdict.reason
    return verdict.rule.match(event, CTX) is not None


def test_strings_are_case_insensitive_and_match_the_whole_value() -> None:
    v = compiled("    sel:\n        AuthenticationRequirement: SingleFactorAuthentication\n"
                 "    condition: sel\n")
    assert fires(v, sign_in(authentication_requirement="singleFactorAuthentication"))
    assert not fires(v, sign_in(authentication_requirement="singleFactorAuthenticationX"))
    assert not fires(v, sign_in(authentication_requirement=None))


@pytest.mark.parametrize(("key", "value", "hit", "miss"), [
    ("userAgent|contains", "azurehound", "Mozilla AzureHound/2.0", "curl/8"),
    ("userAgent|startswith", "python", "Python-urllib/3.11", "my python"),
    ("userAgent|endswith", "/1.0", "Tool/1.0", "Tool/1.01"),
    ("userAgent", "Tool*1.?", "Tool v1.2", "Tool v2.2"),
    ("userAgent|re", "^az[u]re", "azure-cli", "Azure-cli"),  # re is case-sensitive
    ("userAgent|re|i", "^az[u]re", "Azure-cli", "my azure"),
    ("userAgent|cased", "AzureHound", "AzureHound", "azurehound"),
    ("IPAddress|cidr", "203.0.113.0/24", "203.0.113.77", "203.0.114.1"),
    ("IPAddress|cidr", "2001:db8::/32", "2001:db8::1", "2001:db9::1"),
    ("ResultType|gte", "50000", "50053", "0"),
    ("ResultType|lt", "1", "0", "50053"),
])
def test_modifiers(key: str, value: str, hit: str, miss: str) -> None:
    quoted = value if value.isdigit() else f"'{value}'"
    v = compiled(f"    sel:\n        {key}: {quoted}\n    condition: sel\n")
    field = "ip_address" if key.startswith("IP") else "error_code" if key.startswith("Res") \
        else "user_agent"  # fmt: skip
    def event(text: str) -> Event:
        return sign_in(**{field: int(text) if field == "error_code" else text})
    assert fires(v, event(hit))
    assert not fires(v, event(miss))


def test_lists_are_or_and_all_makes_them_and() -> None:
    either = compiled("    sel:\n        userAgent|contains:\n            - BAV2ROPC\n"
                      "            - CBAinPROD\n    condition: sel\n")
    both = compiled("    sel:\n        userAgent|contains|all:\n            - BAV2ROPC\n"
                    "            - CBAinPROD\n    condition: sel\n")
    assert fires(either, sign_in(user_agent="x CBAInPROD y"))
    assert not fires(both, sign_in(user_agent="x CBAInPROD y"))
    assert fires(both, sign_in(user_agent="BAV2ROPC CBAInPROD"))


def test_null_is_missing_and_empty_is_empty() -> None:
    null = compiled("    sel:\n        DeviceDetail.trusttype: null\n    condition: sel\n")
    empty = compiled("    sel:\n        DeviceDetail.trusttype: ''\n    condition: sel\n")
    missing, blank = sign_in(device=Device()), sign_in(device=Device(trust_type=""))
    assert fires(null, missing) and not fires(null, blank)
    assert fires(empty, blank) and not fires(empty, missing)
    joined = sign_in(device=Device(trust_type="AzureAD joined"))
    assert not fires(null, joined) and not fires(empty, joined)


def test_exists() -> None:
    present = compiled("    sel:\n        userAgent|exists: true\n    condition: sel\n")
    absent = compiled("    sel:\n        userAgent|exists: false\n    condition: sel\n")
    assert fires(present, sign_in(user_agent="x")) and not fires(present, sign_in(user_agent=None))
    assert fires(absent, sign_in(user_agent=None)) and not fires(absent, sign_in(user_agent="x"))


def test_numbers_and_booleans_compare_with_the_event_value() -> None:
    code = compiled("    sel:\n        ResultType: 50053\n    condition: sel\n")
    assert fires(code, sign_in(error_code=50053)) and not fires(code, sign_in(error_code=50126))
    text_code = compiled("    sel:\n        ResultType: '50053'\n    condition: sel\n")
    assert fires(text_code, sign_in(error_code=50053))
    compliant = compiled("    sel:\n        DeviceDetail.isCompliant: 'false'\n"
                         "    condition: sel\n")
    assert fires(compliant, sign_in(device=Device(is_compliant=False)))
    assert not fires(compliant, sign_in(device=Device(is_compliant=True)))
    assert not fires(compliant, sign_in(device=Device(is_compliant=None)))


def test_one_of_all_of_and_not() -> None:
    detection = ("    sel_a:\n        ResultType: 50074\n    sel_b:\n        ResultType: 500121\n"
                 "    filter:\n        userAgent|contains: trusted\n")
    one = compiled(detection + "    condition: 1 of sel_* and not filter\n")
    every = compiled(detection + "    condition: all of sel_*\n")
    assert fires(one, sign_in(error_code=500121))
    assert not fires(one, sign_in(error_code=500121, user_agent="a trusted agent"))
    assert not fires(one, sign_in(error_code=0))
    assert not fires(every, sign_in(error_code=500121))


def test_audit_message_is_the_operation_name_or_a_modified_property_fragment() -> None:
    v = compiled("    sel:\n        properties.message: Add service principal\n"
                 "    condition: sel\n", service="auditlogs")
    assert fires(v, directory_audit(activity_display_name="Add service principal"))
    assert not fires(v, directory_audit(activity_display_name="Remove service principal"))
    fragment = compiled(
        "    sel:\n        properties.message: '\"displayName\":\"UserType\",\"oldValue\":"
        "\"[\\\\\"Guest\\\\\"]\",\"newValue\":\"[\\\\\"Member\\\\\"]\"'\n    condition: sel\n",
        service="auditlogs")
    promoted = directory_audit(targets=(target(
        "User", "bob", UserType=('["Guest"]', '["Member"]')),))
    assert fires(fragment, promoted)
    assert not fires(fragment, directory_audit())


def test_the_rule_takes_id_severity_mitre_dedup_and_gaps_from_the_sigma_rule() -> None:
    v = compiled("    sel:\n        riskEventType: leakedCredentials\n    condition: sel\n",
                 service="riskdetection",
                 extra="falsepositives:\n    - A rare hash collision\nlevel: high\n")
    rule = v.rule
    assert rule is not None and v.status == "supported"
    assert rule.id == "sigma:0f3a6f0e-1111-4c2b-9a55-0123456789ab"
    assert rule.severity is Severity.HIGH and rule.risk_score == RISK_SCORES[Severity.HIGH]
    assert rule.mitre == ("T1078.004", "T1110")
    assert rule.kinds == ("riskDetection",)
    assert rule.dedup_fields == ("principal",) and rule.dedup_window == DEDUP_WINDOW
    assert rule.known_gaps == ("A rare hash collision",)
    assert rule.title == "Test rule"


def test_matches_dedup_per_principal_and_rule_and_never_flag_users() -> None:
    v = compiled("    sel:\n        riskEventType: leakedCredentials\n    condition: sel\n",
                 service="riskdetection")
    assert v.rule is not None
    engine = Engine([v.rule])
    first = risk_detection(risk_event_type="leakedCredentials")
    second = replace(first, id="rd-2", time=first.time + timedelta(minutes=5))
    (m1,), _ = engine.evaluate(first)
    (m2,), _ = engine.evaluate(second)
    assert m1.dedup_key == m2.dedup_key == f"{v.rule.id}|alice@contoso.com"
    assert m1.finding.context["fields"] == {"riskEventType": ["leakedCredentials"]}
    # Broad Sigma rules must not make the correlation rules see a "recent flag".
    assert not engine.history.users or all(
        not state.flags for state in engine.history.users.values())


@pytest.mark.parametrize(("detection", "reason"), [
    ("    keywords:\n        - azurehound\n    condition: keywords\n", "keyword"),
    ("    sel:\n        NetworkLocationDetails: '[]'\n    condition: sel\n",
     "NetworkLocationDetails"),
    ("    sel:\n        Username: UPN\n    condition: sel\n", "Username"),
    ("    sel:\n        userPrincipalName: UPN\n    condition: sel\n", "placeholder"),
    ("    sel:\n        ResultType|minute: 5\n    condition: sel\n", "timestamp"),
])
def test_unsupported_rules_say_exactly_why(detection: str, reason: str) -> None:
    v = compiled(detection)
    assert v.status == "unsupported" and v.rule is None
    assert reason in v.reason


def test_other_logsources_are_unsupported() -> None:
    text = HEADER.format(service="activitylogs") + "detection:\n    sel:\n        a: b\n" \
        "    condition: sel\n"  # fmt: skip
    v = compile_rule(SigmaCollection.from_yaml(text).rules[0], "x.yml")
    assert v.status == "unsupported" and "activitylogs" in v.reason


def test_a_catastrophic_regex_runs_in_linear_time() -> None:
    v = compiled("    sel:\n        userAgent|re: '^(a+)+$'\n    condition: sel\n")
    hostile = sign_in(user_agent="a" * 50_000 + "!")
    started = time.perf_counter()
    assert not fires(v, hostile)
    assert time.perf_counter() - started < 1.0  # backtracking would take longer than the age
    assert fires(v, sign_in(user_agent="aaaa"))


def test_a_regex_re2_cannot_run_is_refused_by_pysigma_at_parse() -> None:
    # pySigma's default policy compiles rule regexes with RE2: a back-reference is refused
    # while parsing (the loader turns that into an unsupported rule naming its file).
    with pytest.raises(SigmaRegularExpressionError, match="invalid"):
        compiled("    sel:\n        userAgent|re: '(a)\\1'\n    condition: sel\n")
