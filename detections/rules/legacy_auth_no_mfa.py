"""Legacy and ROPC authentication without MFA: a password alone, past Conditional Access.

Legacy clients (IMAP, POP, SMTP AUTH, Exchange ActiveSync, "Other clients" ...) and the
resource owner password credentials grant send the password itself: no second factor, no
device or risk controls. Password sprays and stolen passwords use them for that reason.
Panther's LegacyAuth (user agents BAV2ROPC, CBAInPROD) and ROPCLoginNoMFA (protocol ropc,
single factor) in one rule; the exceptions (user or app ids, UPNs) are a setting, as
Panther keeps its list.
"""

from __future__ import annotations

from datetime import timedelta

from detections.auth_flows import id_list, legacy_reason, mfa_satisfied, user_ids
from detections.correlation import flag_context, recent_flag
from detections.correlation_history import key_of
from detections.helpers import signed_in, where, who
from detections.model import Event, Severity, SignIn
from detections.predicates import is_risk_flagged, is_user_sign_in
from detections.rule import Context, Finding, Param, Rule, RuleTest
from detections.testing import T0, sign_in


def match(event: Event, ctx: Context) -> Finding | None:
    if not isinstance(event, SignIn) or not is_user_sign_in(event) or not signed_in(event):
        return None
    if mfa_satisfied(event):
        return None  # the cheap test first: most sign-ins did MFA
    reason = legacy_reason(event)
    if reason is None:
        return None
    if user_ids(event) & id_list(ctx.str_param("exceptions")):
        return None
    horizon = timedelta(days=ctx.int_param("recent_flag_days"))
    flag = recent_flag(ctx, key_of(event.user_id, event.user_principal_name), event.time,
                       horizon, exclude_event=event.id)
    risky = is_risk_flagged(event)
    return Finding(
        title=f"{event.principal} signed in with a password alone ({reason})",
        severity=Severity.HIGH if risky or flag else None,
        context={
            **who(event),
            **where(event.location, event.ip_address),
            "reason": reason,
            "client_app_used": event.client_app_used,
            "authentication_protocol": event.authentication_protocol,
            "authentication_requirement": event.authentication_requirement,
            "authentication_methods": list(event.authentication_methods),
            "user_agent": event.user_agent,
            "app_id": event.app_id,
            "app_display_name": event.app_display_name,
            "conditional_access_status": event.conditional_access_status,
            "open_risk": risky,
            **flag_context(flag),
        },
        dedup_values=(event.principal, (event.app_id or "").lower()),
    )


SMTP = {"client_app_used": "Authenticated SMTP", "user_agent": "BAV2ROPC",
        "authentication_requirement": "singleFactorAuthentication",
        "app_display_name": "Office 365 Exchange Online", "app_id": "app-exo"}
ROPC = {"authentication_protocol": "ropc", "client_app_used": "Other clients",
        "authentication_requirement": "singleFactorAuthentication", "interactive": False,
        "user_agent": "python-requests/2.28.1", "app_id": "app-legacy"}
PRINTER = {**SMTP, "user_principal_name": "printer@contoso.com", "user_id": "u-printer",
           "user_agent": None}

RULE = Rule(
    uses_history=True,
    id="legacy_auth_no_mfa",
    version=1,
    title="Legacy or ROPC authentication without MFA",
    description=(
        "A successful single-factor sign-in through a legacy client (IMAP, POP, SMTP AUTH, "
        "Exchange ActiveSync, other clients; user agents BAV2ROPC, CBAInPROD) or the ROPC "
        "grant: a password alone, past MFA and Conditional Access."
    ),
    severity=Severity.MEDIUM,
    risk_score=50,
    mitre=("T1078.004", "T1110"),
    kinds=("signIn",),
    dedup_fields=("principal", "app_id"),
    dedup_window=timedelta(hours=24),  # Panther: 10 min for LegacyAuth, 60 for ROPC
    investigation=(
        "Was it the user's mail client or a device of theirs? Check the IP address and the "
        "client against their usual sign-ins.",
        "Look for password spray and brute force alerts on the same IP before it.",
        "Block legacy authentication with Conditional Access; move devices that need SMTP "
        "AUTH to an app with OAuth or a connector, then list what must remain as exceptions.",
    ),
    false_positives=(
        "Printers and scanners sending mail over SMTP AUTH, old mail clients, scripts using "
        "ROPC: list their accounts or app ids in RISKWATCH_LEGACY_AUTH_EXCEPTIONS.",
    ),
    references=(
        "https://github.com/panther-labs/panther-analysis/blob/main/rules/azure_signin_rules/"
        "azure_legacyauth.yml",
        "https://github.com/panther-labs/panther-analysis/blob/main/rules/azure_signin_rules/"
        "azure_ropc_login_no_mfa.yml",
        "https://learn.microsoft.com/en-us/entra/identity/conditional-access/"
        "policy-block-legacy-authentication",
    ),
    known_gaps=(
        "A sign-in without authenticationRequirement is read as single factor (legacy and "
        "ROPC flows cannot do MFA); only multiFactorAuthentication counts as MFA.",
        "Graph v1.0 objects may lack authenticationProtocol: ROPC is then seen only through "
        "clientAppUsed or the user agent.",
    ),
    params=(
        Param(name="exceptions", default="none",
              description="Comma list of user ids, UPNs or app ids never alerted on.",
              setting="RISKWATCH_LEGACY_AUTH_EXCEPTIONS"),
        Param(name="recent_flag_days", default=7,
              description="A risky sign-in or alert on the user this recent makes it high.",
              minimum=1, maximum=30),
    ),
    match=match,
    tests=(
        RuleTest(name="SMTP AUTH with BAV2ROPC fires (Panther LegacyAuth positive)",
                 event=sign_in(**SMTP), expect=True, severity=Severity.MEDIUM,
                 dedup=("alice@contoso.com", "app-exo")),
        RuleTest(name="ROPC without MFA fires (Panther ROPC positive)",
                 event=sign_in(**ROPC), expect=True),
        RuleTest(name="failed ROPC does not (Panther ROPC negative)",
                 event=sign_in(**ROPC, success=False, error_code=50126), expect=False),
        RuleTest(name="a listed exception does not (Panther KNOWN_EXCEPTION)",
                 event=sign_in(**SMTP), params={"exceptions": "Alice@Contoso.com"},
                 expect=False),
        RuleTest(name="a printer sending mail over SMTP AUTH fires until it is an exception",
                 event=sign_in(**PRINTER), expect=True),
        RuleTest(name="the printer listed by object id does not",
                 event=sign_in(**PRINTER), params={"exceptions": "u-other, u-printer"},
                 expect=False),
        RuleTest(name="IMAP4 without requirement fires",
                 event=sign_in(client_app_used="IMAP4", authentication_requirement=None),
                 expect=True),
        RuleTest(name="Exchange ActiveSync with MFA satisfied does not",
                 event=sign_in(client_app_used="Exchange ActiveSync"), expect=False),
        RuleTest(name="a modern client does not",
                 event=sign_in(client_app_used="Mobile Apps and Desktop clients",
                               authentication_requirement="singleFactorAuthentication"),
                 expect=False),
        RuleTest(name="a service principal does not",
                 event=sign_in(**ROPC, category="servicePrincipal"), expect=False),
        RuleTest(name="with open risk it is high",
                 event=sign_in(**SMTP, risk_level_during_sign_in="medium", risk_state="atRisk"),
                 expect=True, severity=Severity.HIGH),
        RuleTest(name="dismissed risk stays medium",
                 event=sign_in(**SMTP, risk_level_during_sign_in="high", risk_state="dismissed"),
                 expect=True, severity=Severity.MEDIUM),
        RuleTest(name="remediated risk stays medium",
                 event=sign_in(**SMTP, risk_level_during_sign_in="high",
                               risk_state="remediated"),
                 expect=True, severity=Severity.MEDIUM),
        RuleTest(name="confirmed safe risk stays medium",
                 event=sign_in(**SMTP, risk_level_during_sign_in="high",
                               risk_state="confirmedSafe"),
                 expect=True, severity=Severity.MEDIUM),
        RuleTest(name="after a risky sign-in of the user it is high",
                 before=(sign_in(id="r0", time=T0 - timedelta(days=1),
                                 risk_level_during_sign_in="high", risk_state="atRisk"),),
                 event=sign_in(**SMTP), expect=True, severity=Severity.HIGH),
    ),
)
