"""The accuracy assessment on a hand-computed fixture: Identity Protection's lifecycle, analyst
labels inherited through incidents, per type and level, per rule, and the decision table."""

from __future__ import annotations

from datetime import timedelta

import pytest

from detections.incidents.model import AlertFacts, Breakdown, Incident
from detections.review.accuracy import AssessmentTally, assess
from detections.review.decisions import decisions
from detections.review.labels import IncidentLabel
from detections.testing import T0, risk_detection, sign_in

SINCE, UNTIL = T0 - timedelta(days=30), T0 + timedelta(days=1)


def detection(n, state, detail="none", kind="unfamiliarFeatures", level="medium"):
    return risk_detection(id=f"d{n}", time=T0 - timedelta(hours=n), risk_state=state,
                          risk_detail=detail, risk_event_type=kind, risk_level=level)


def alert(alert_id, rule_id, *event_ids, days_ago=0):
    at = T0 - timedelta(days=days_ago)
    return AlertFacts(alert_id=alert_id, rule_id=rule_id, severity="high", first_seen=at,
                      last_seen=at, count=1, event_ids=event_ids)


def incident(incident_id, *alerts):
    return Incident(incident_id=incident_id, revision=1, principal="alice@contoso.com",
                    principal_type="user", verdict="high", score=70, reasons=(), alerts=alerts,
                    first_seen=T0, last_seen=T0, privileged=False, breakdown=Breakdown(),
                    timeline=())


def label(incident_id, verdict, hours=0):
    return IncidentLabel(incident_id=incident_id, label=verdict, by="ana",
                         at=T0 + timedelta(hours=hours))


def fixture_events():
    medium = [detection(n, "confirmedCompromised") for n in range(1, 7)]  # d1..d6 tp
    medium += [detection(7, "remediated", "aiConfirmedSigninSafe"),
               detection(8, "confirmedSafe"),
               detection(9, "remediated", "adminConfirmedSigninSafe")]  # fp
    medium += [detection(n, "dismissed", "adminDismissedAllRiskForUser") for n in (10, 11, 12)]
    medium += [detection(n, "remediated", "userPassedMFADrivenByRiskBasedPolicy")
               for n in (13, 14)]
    medium += [detection(15, "atRisk"), detection(16, "remediated",
                                                  "adminGeneratedTemporaryPassword")]
    high = [detection(100 + n, "confirmedCompromised", kind="riskyIPAddress", level="high")
            for n in range(17)]
    high += [detection(200 + n, "confirmedSafe", kind="riskyIPAddress", level="high")
             for n in range(3)]
    old = [risk_detection(id="d-old", time=SINCE - timedelta(hours=1),
                          risk_state="confirmedCompromised")]
    return [*medium, *high, *old, sign_in(id="s1"), sign_in(id="s2")]


def fixture_assessment():
    tally = AssessmentTally(SINCE, UNTIL)
    for event in fixture_events():
        tally.observe(event)
    incidents = [
        incident("X", alert("a1", "signin_risk_detection", "d15", "d10")),
        incident("Y", alert("a2", "signin_risk_detection", "d1")),
        incident("Z", alert("a3", "impossible_travel", "s1", "s2"),
                 alert("a4", "signin_risk_detection", "d2", "d7"),
                 alert("a5", "risk_level_passthrough", "d13"),
                 alert("a6", "risk_level_passthrough", "d3", days_ago=40)),
    ]
    # X: tp first, then fp: the latest label counts. Y: fp on a confirmed compromise.
    labels = [label("X", "tp"), label("X", "fp", hours=2), label("Y", "fp")]
    return assess(tally, incidents, labels).to_dict()


def row(rows, **key):
    (found,) = [r for r in rows if all(r[k] == v for k, v in key.items())]
    return found


def test_per_detection_type_and_level():
    result = fixture_assessment()
    medium = row(result["by_detection_type"], risk_event_type="unfamiliarFeatures",
                 risk_level="medium")
    # d1 (analyst fp) leaves 5 tp; fp: d7 d8 d9 + analyst d10, d15, d1 = 6; d10 moved from
    # dismissed to fp (its incident was labelled), d15 from open.
    assert {k: medium[k] for k in ("tp", "fp", "dismissed", "indeterminate",
                                   "resolved_by_policy", "open", "n")} == {
        "tp": 5, "fp": 6, "dismissed": 2, "indeterminate": 1, "resolved_by_policy": 2,
        "open": 0, "n": 11}
    # 5/11 = 0.4545; Wilson 95 %: centre 0.46627, half-width 0.25359 (worked by hand).
    assert (medium["precision"], medium["ci_low"], medium["ci_high"]) == (0.4545, 0.2127, 0.7199)
    high = row(result["by_detection_type"], risk_level="high")
    assert (high["tp"], high["fp"], high["n"], high["precision"]) == (17, 3, 20, 0.85)
    assert (high["ci_low"], high["ci_high"]) == (0.6396, 0.9476)
    assert [r["risk_level"] for r in result["by_detection_type"]] == ["high", "medium"]
    # Identity Protection decided: d2-d6 tp, d7-d9 fp, d11-d12 dismissed, d13-d14 resolved,
    # and the 20 high ones; the analyst d1, d10, d15 (d1 against a confirmed compromise).
    assert result["sources"] == {"identity_protection": 5 + 3 + 2 + 2 + 20,
                                 "analyst": 3, "disagreements": 1}


def test_each_row_says_how_many_outcomes_each_source_decided():
    result = fixture_assessment()
    medium = row(result["by_detection_type"], risk_event_type="unfamiliarFeatures",
                 risk_level="medium")
    # Analysts: d1, d10, d15. Identity Protection: d2-d6 tp, d7-d9 fp, d11-d12 dismissed,
    # d13-d14 resolved (12); d16 (a temporary password) is indeterminate: nobody decided.
    assert (medium["analyst"], medium["identity_protection"]) == (3, 12)
    high = row(result["by_detection_type"], risk_level="high")
    assert (high["analyst"], high["identity_protection"]) == (0, 20)
    # The rows add up to the tenant-wide totals.
    for source in ("analyst", "identity_protection"):
        assert sum(r[source] for r in result["by_detection_type"]) == result["sources"][source]
    by_rule = result["by_rule"]
    # a1 (X) and a2 (Y) labelled; a4 rests on a tp and an fp record: nobody decided.
    srd = row(by_rule, rule_id="signin_risk_detection")
    assert (srd["analyst"], srd["identity_protection"]) == (2, 0)
    # a5's record was resolved by policy: Identity Protection decided it.
    assert (row(by_rule, rule_id="risk_level_passthrough")["identity_protection"],
            row(by_rule, rule_id="risk_level_passthrough")["analyst"]) == (1, 0)
    # a3 (incident Z, no label) rests on sign-ins without a risk lifecycle: nobody decided.
    travel = row(by_rule, rule_id="impossible_travel")
    assert (travel["analyst"], travel["identity_protection"]) == (0, 0)


def test_per_rule_analyst_labels_cover_every_alert_of_the_incident():
    by_rule = fixture_assessment()["by_rule"]
    srd = row(by_rule, rule_id="signin_risk_detection")
    # a1, a2 analyst fp; a4 rests on a tp and an fp record: not guessed.
    assert (srd["tp"], srd["fp"], srd["indeterminate"], srd["n"]) == (0, 2, 1, 2)
    assert (srd["precision"], srd["ci_low"], srd["ci_high"]) == (0.0, 0.0, 0.6576)
    travel = row(by_rule, rule_id="impossible_travel")
    assert (travel["indeterminate"], travel["n"], travel["precision"]) == (1, 0, None)
    # a6 is older than the assessment window.
    assert row(by_rule, rule_id="risk_level_passthrough")["resolved_by_policy"] == 1
    assert sum(row(by_rule, rule_id="risk_level_passthrough")[k] for k in (
        "tp", "fp", "dismissed", "indeterminate", "resolved_by_policy", "open")) == 1


def test_the_decision_table():
    table = {d["level"]: d for d in fixture_assessment()["decisions"]}
    high = table["high"]
    assert (high["policy"], high["supported"], high["n"]) == ("block", True, 20)
    assert (high["precision"], high["ci_low"], high["ci_high"]) == (0.85, 0.6396, 0.9476)
    assert "0.64-0.95" in high["why"] and "below 0.80" in high["why"]
    assert high["extra_mfa_prompts_per_month"] is None
    medium = table["medium"]
    assert (medium["policy"], medium["supported"], medium["n"]) == ("require MFA", None, 11)
    assert medium["why"].startswith("not enough data")
    assert table["low"]["supported"] is None and table["low"]["precision"] is None


def test_mfa_prompts_per_month_from_the_false_positive_rate():
    counts = {"tp": 12, "fp": 8, "dismissed": 6, "open": 4, "indeterminate": 0,
              "resolved_by_policy": 0}
    (_, medium, _) = decisions({"medium": counts}, days=60)
    # 30 medium detections in 60 days, 40 % false: 30 * 0.4 / 60 * 30 = 6 prompts a month.
    assert (medium["fp_rate"], medium["extra_mfa_prompts_per_month"]) == (0.4, 6.0)
    assert medium["supported"] is True and "40% false positives" in medium["why"]
    (high, _, _) = decisions({"high": {"tp": 14, "fp": 6}}, days=30)
    assert high["supported"] is False and "below 0.80" in high["why"]


@pytest.mark.parametrize("n_tp", [0, 19])
def test_fewer_than_twenty_is_not_enough_data(n_tp):
    (high, _, _) = decisions({"high": {"tp": n_tp}}, days=30)
    assert high["supported"] is None and high["n"] == n_tp
