"""MFA removed from a Conditional Access policy (Panther ``Azure.Audit.MFADisabled``).

The Conditional Access service logs the whole policy before and after the change as JSON
(``modifiedProperties`` ``ConditionalAccessPolicy``): the rule fires when an enforced policy
that required MFA (``grantControls.builtInControls`` has ``mfa``, or an authentication
strength) no longer does: the control removed, the policy switched off or to report-only,
or the policy deleted. Core Directory logs the same change again as "Update policy" with
its own ``PolicyDetail`` spelling; only the Conditional Access record is read, so one
change is one alert (Panther's third case, "MFA Disabled from another log", is negative).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from detections.audit import activity, actor_user, audit_context, audit_of, flag_of
from detections.model import AuditTarget, DirectoryAudit, Event, Severity
from detections.rule import Context, Finding, Param, Rule, RuleTest
from detections.testing import T0, directory_audit, sign_in, target, user_actor

CA_ACTIVITIES = ("update conditional access policy", "delete conditional access policy")
POLICY_PROPERTY = "ConditionalAccessPolicy"


def _policy(text: str | None) -> dict[str, Any] | None:
    """A logged policy's JSON, or None (absent, deleted, cut at the size bound, not JSON)."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def requires_mfa(policy: dict[str, Any] | None) -> bool:
    """An enforced policy whose grant controls ask for MFA or an authentication strength."""
    if policy is None or str(policy.get("state", "")).lower() != "enabled":
        return False  # report-only ("enabledForReportingButNotEnforced") enforces nothing
    grant = policy.get("grantControls")
    if not isinstance(grant, dict):
        return False
    controls = grant.get("builtInControls")
    named = isinstance(controls, list) and any(str(c).lower() == "mfa" for c in controls)
    return named or bool(grant.get("authenticationStrength"))


def removal(policy_target: AuditTarget, deleted: bool) -> str | None:
    """How MFA left the policy, or None when it did not."""
    prop = policy_target.property(POLICY_PROPERTY)
    if prop is None or prop.truncated:
        return None  # no policy text, or too long to judge: never guess
    before = _policy(prop.old_value)
    if not requires_mfa(before):
        return None
    if deleted:
        return "policy deleted"
    after = _policy(prop.new_value)
    if after is None:
        return None  # an update whose new policy cannot be read: never guess
    if requires_mfa(after):
        return None
    if str(after.get("state", "")).lower() != "enabled":
        return f"policy state {after.get('state')!s}"
    return "MFA grant control removed"


def match(event: Event, ctx: Context) -> Finding | None:
    audit = audit_of(event)
    if audit is None or activity(audit) not in CA_ACTIVITIES:
        return None
    deleted = activity(audit).startswith("delete")
    for policy in audit.targets_of("Policy"):
        how = removal(policy, deleted)
        if how is None:
            continue
        return _finding(audit, policy, how, ctx)
    return None


def _finding(audit: DirectoryAudit, policy: AuditTarget, how: str, ctx: Context) -> Finding:
    actor = actor_user(audit.initiated_by)
    flag = flag_of(ctx, actor, audit, timedelta(days=ctx.float_param("flag_days")))
    name = policy.display_name or policy.id or "unnamed policy"
    return Finding(
        title=f"MFA removed from Conditional Access policy {name} by {audit.principal} ({how})",
        # A change by an account flagged at risk is the attacker turning MFA off.
        severity=Severity.CRITICAL if flag is not None else None,
        context={**audit_context(audit, flag, actor if flag else None),
                 "policy": name, "policy_id": policy.id, "change": how},
        dedup_values=(policy.id or name,),
        related_event_ids=(flag.source_event,) if flag else (),
    )


def _policy_json(state: str = "enabled", controls: list[str] | None = None) -> str:
    grant = {"operator": "OR", "builtInControls": controls} if controls is not None else None
    return json.dumps({"id": "ca-1", "displayName": "Require MFA", "state": state,
                       "grantControls": grant})


def _ca_update(old: str | None, new: str | None, **overrides: Any) -> DirectoryAudit:
    base: dict[str, Any] = dict(
        activity_display_name="Update conditional access policy", category="Policy",
        logged_by_service="Conditional Access", operation_type="Update",
        initiated_by=user_actor("admin@contoso.com", "u-admin"),
        targets=(target("Policy", "Require MFA", "ca-1", ConditionalAccessPolicy=(old, new)),),
    )
    return directory_audit(**{**base, **overrides})


_MFA = _policy_json(controls=["mfa"])

RULE = Rule(
    uses_history=True,
    id="ca_policy_mfa_removed",
    version=1,
    title="MFA removed from a Conditional Access policy",
    description=(
        "An enforced Conditional Access policy that required MFA no longer does: its MFA "
        "control or authentication strength was removed, it was switched off or to "
        "report-only, or it was deleted."
    ),
    severity=Severity.HIGH,
    risk_score=73,
    mitre=("T1556.009", "T1562.001"),
    kinds=("directoryAudit",),
    dedup_fields=("principal",),
    dedup_window=timedelta(hours=1),
    investigation=(
        "Open the policy's audit history: who changed it, from which IP, and was a change "
        "ticketed?",
        "Check the actor's sign-ins and incident (recent_flag): an account at risk turning "
        "MFA off is an attacker.",
        "Restore the policy's grant controls, then review sign-ins it no longer protected.",
    ),
    false_positives=(
        "A planned migration from a per-policy MFA control to another policy or to security "
        "defaults: check that another enforced policy covers the same users and apps.",
    ),
    references=(
        "https://github.com/panther-labs/panther-analysis/blob/main/rules/"
        "azure_signin_rules/azure_mfa_disabled.yml",
        "https://learn.microsoft.com/graph/api/resources/conditionalaccesspolicy",
    ),
    known_gaps=(
        "Narrowing an MFA policy (excluding users, groups or apps) keeps MFA in the policy and "
        "is not judged here.",
        "A policy whose logged JSON is longer than the event bound (16 KiB) is not judged.",
        "Panther's PolicyChanged (any policy change, low) has no counterpart: of its cases "
        "only the deleted MFA policy is an MFA removal; its Core Directory 'Delete policy' "
        "record carries no policy content and is not read (the conformance test says so).",
    ),
    params=(
        Param(
            name="flag_days",
            default=7.0,
            description="How recent a flag of the actor (risky sign-in or alert) makes it "
            "critical (the incident quiet default).",
            minimum=1.0, maximum=30.0,
        ),
    ),
    match=match,
    tests=(
        RuleTest(
            name="the MFA control removed fires",
            event=_ca_update(_MFA, _policy_json(controls=None)),
            expect=True, severity=Severity.HIGH, dedup=("ca-1",),
        ),
        RuleTest(
            name="MFA added does not",
            event=_ca_update(_policy_json(controls=None), _MFA),
            expect=False,
        ),
        RuleTest(
            name="an unrelated change to an MFA policy does not",
            event=_ca_update(_MFA, _policy_json(controls=["mfa", "compliantDevice"])),
            expect=False,
        ),
        RuleTest(
            name="an MFA policy switched to report-only fires",
            event=_ca_update(_MFA, _policy_json("enabledForReportingButNotEnforced", ["mfa"])),
            expect=True,
        ),
        RuleTest(
            name="an MFA policy deleted fires",
            event=_ca_update(_MFA, None, activity_display_name="Delete conditional access policy"),
            expect=True,
        ),
        RuleTest(
            name="a report-only policy losing MFA enforced nothing before: no alert",
            event=_ca_update(_policy_json("disabled", ["mfa"]), _policy_json(controls=None)),
            expect=False,
        ),
        RuleTest(
            name="the Core Directory copy of the change is not read",
            event=_ca_update(_MFA, _policy_json(controls=None), activity_display_name="Update "
                             "policy", logged_by_service="Core Directory"),
            expect=False,
        ),
        RuleTest(
            name="removed by an admin who had a risky sign-in is critical",
            before=(sign_in(id="risky-admin", time=T0 - timedelta(hours=1), user_id="u-admin",
                            user_principal_name="admin@contoso.com", risk_state="atRisk",
                            risk_level_during_sign_in="high"),),
            event=_ca_update(_MFA, _policy_json(controls=None)),
            expect=True, severity=Severity.CRITICAL,
        ),
        RuleTest(
            name="a failed update does not",
            event=_ca_update(_MFA, _policy_json(controls=None), result="failure"),
            expect=False,
        ),
    ),
)
