"""A security info (MFA method) registered, changed or deleted by or for a user soon after that
user's risky sign-in or an alert on them: the account-takeover persistence step (Sentinel
"Suspicious sign-in followed by MFA modification").

The earlier signal is the user's flag in the correlation history (``correlation.recent_flag``):
a sign-in with open risk, or any alert fired on the user (a device-code phish, a spray's
success). A help-desk reset with nothing before it is ordinary work and never alerts.
"""

from __future__ import annotations

from datetime import timedelta

from detections.audit import (
    AuditUser,
    activity,
    actor_user,
    audit_context,
    audit_of,
    flag_of,
    target_users,
)
from detections.model import DirectoryAudit, Event, Severity
from detections.rule import Context, Finding, Param, Rule, RuleTest
from detections.testing import T0, directory_audit, sign_in, user_actor, user_target

# Core Directory writes these properties when a user's methods change (beside the
# Authentication Methods record of the same change: one alert, the dedup merges them).
STRONG_AUTH_PROPERTIES = ("StrongAuthenticationMethod", "StrongAuthenticationPhoneAppDetail",
                          "StrongAuthenticationUserDetails", "StrongAuthenticationRequirement")


def is_method_change(event: DirectoryAudit) -> bool:
    name = activity(event)
    if "security info" in name:
        # "User started security info registration" and "User reviewed security info"
        # change nothing; registered, changed, updated and deleted do.
        return "started" not in name and "reviewed" not in name
    if name == "update user":
        return any(t.property(p) for t in event.targets_of("User") for p in STRONG_AUTH_PROPERTIES)
    return False


def match(event: Event, ctx: Context) -> Finding | None:
    audit = audit_of(event)
    if audit is None or not is_method_change(audit):
        return None
    horizon = timedelta(hours=ctx.float_param("followup_hours"))
    actor = actor_user(audit.initiated_by)
    # For the user whose methods changed, else by the user who changed them.
    candidates: list[AuditUser] = [*target_users(audit), *((actor,) if actor else ())]
    for user in candidates:
        flag = flag_of(ctx, user, audit, horizon)
        if flag is None:
            continue
        by = "" if actor is None or actor.keys == user.keys else f" by {audit.principal}"
        return Finding(
            title=f"{user.name}: {audit.activity_display_name}{by} after a "
            f"{'risky sign-in' if flag.kind == 'riskySignIn' else flag.reason + ' alert'}",
            principal=user.name,
            context=audit_context(audit, flag, user),
            dedup_values=(user.name.lower(),),
            related_event_ids=(flag.source_event,),
        )
    return None


_BOB = user_target("bob@contoso.com", "u-bob")
_RISKY = sign_in(id="risky-1", time=T0 - timedelta(hours=2), risk_state="atRisk",
                 risk_level_during_sign_in="high", risk_event_types=("unfamiliarFeatures",))
_BOB_RISKY = sign_in(id="risky-bob", time=T0 - timedelta(hours=3), user_id="u-bob",
                     user_principal_name="bob@contoso.com", risk_state="atRisk",
                     risk_level_aggregated="medium")
_HELPDESK = user_actor("helpdesk@contoso.com", "u-helpdesk")

RULE = Rule(
    uses_history=True,
    id="mfa_method_change_after_risk",
    version=1,
    title="MFA method changed soon after a risky sign-in or alert",
    description=(
        "A security info (authentication method) was registered, changed or deleted by or for "
        "a user within RISKWATCH_AUDIT_FOLLOWUP_HOURS of that user's risky sign-in or of an "
        "alert on them: attackers register their own authenticator to keep access."
    ),
    severity=Severity.HIGH,
    risk_score=78,
    mitre=("T1556.006", "T1098.005"),
    kinds=("directoryAudit",),
    dedup_fields=("principal",),
    dedup_window=timedelta(hours=6),
    investigation=(
        "Open the user's authentication methods: which method was added, from which IP, and "
        "does the user recognise it?",
        "Compare the audit's IP with the risky sign-in or alert before it (recent_flag).",
        "If the user did not make the change: remove the method, reset the password, revoke "
        "sessions and confirm the user compromised.",
    ),
    false_positives=(
        "A user who, after a blocked risky sign-in, re-registers MFA as the risk policy asks "
        "(a self-remediation flow): check that the method is on the user's own device.",
    ),
    references=(
        "https://github.com/Azure/Azure-Sentinel/blob/master/Solutions/Microsoft%20Entra%20ID/"
        "Analytic%20Rules/SuspiciousSignInFollowedByMFAModification.yaml",
        "https://learn.microsoft.com/entra/identity/monitoring-health/"
        "reference-audit-activities",
    ),
    known_gaps=(
        "Needs the earlier signal in the correlation history: a risky sign-in or alert more "
        "than the follow-up window before, or read only by another deployment, is not seen.",
        "The signal must be judged before the change. Graph feeds re-read their look-back "
        "(two hours for directoryAudits), so a change read first alerts on a later run; an "
        "export line is read once (an hour's audit blobs are tailed after its sign-in blobs), "
        "so a sign-in exported in a later run than the change is not joined to it.",
        "A method changed through a channel that writes no directory audit (an on-premises "
        "MFA server) is not seen.",
    ),
    params=(
        Param(
            name="followup_hours",
            default=24.0,
            description="How long after a risky sign-in or alert an MFA change alerts.",
            minimum=1.0, maximum=720.0,
            setting="RISKWATCH_AUDIT_FOLLOWUP_HOURS",
        ),
    ),
    match=match,
    tests=(
        RuleTest(
            name="a new authenticator two hours after a risky sign-in fires",
            before=(_RISKY,),
            event=directory_audit(),
            expect=True, severity=Severity.HIGH, dedup=("alice@contoso.com",),
        ),
        RuleTest(
            name="a help-desk reset of a user's MFA with no risky sign-in before does not",
            event=directory_audit(activity_display_name="Admin deleted security info",
                                  initiated_by=_HELPDESK, targets=(_BOB,)),
            expect=False,
        ),
        RuleTest(
            name="an admin deleting the MFA of a user flagged at risk fires for that user",
            before=(_BOB_RISKY,),
            event=directory_audit(activity_display_name="Admin deleted security info",
                                  initiated_by=_HELPDESK, targets=(_BOB,)),
            expect=True, dedup=("bob@contoso.com",),
        ),
        RuleTest(
            name="a risky sign-in more than the follow-up window before does not",
            before=(sign_in(id="old", time=T0 - timedelta(hours=30), risk_state="atRisk",
                            risk_level_during_sign_in="high"),),
            event=directory_audit(),
            expect=False,
        ),
        RuleTest(
            name="a longer follow-up window reaches the older risky sign-in",
            before=(sign_in(id="old", time=T0 - timedelta(hours=30), risk_state="atRisk",
                            risk_level_during_sign_in="high"),),
            event=directory_audit(),
            params={"followup_hours": 48.0},
            expect=True,
        ),
        RuleTest(
            name="a dismissed risky sign-in before does not",
            before=(sign_in(id="dismissed", time=T0 - timedelta(hours=1), risk_state="dismissed",
                            risk_level_during_sign_in="high"),),
            event=directory_audit(),
            expect=False,
        ),
        RuleTest(
            name="another user's risky sign-in does not",
            before=(_BOB_RISKY,),
            event=directory_audit(),
            expect=False,
        ),
        RuleTest(
            name="starting a registration changes nothing",
            before=(_RISKY,),
            event=directory_audit(activity_display_name="User started security info registration"),
            expect=False,
        ),
        RuleTest(
            name="a failed registration changes nothing",
            before=(_RISKY,),
            event=directory_audit(result="failure"),
            expect=False,
        ),
    ),
)
