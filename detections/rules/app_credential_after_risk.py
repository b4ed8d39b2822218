"""An application consent, a service principal or application credential, or an application
owner added by a user flagged at risk: the persistence an attacker leaves behind in the
tenant after taking an account (Panther ``Azure.Audit.ServicePrincipalCredentialsAdded``,
Elastic's illicit consent grant and unusual credential rules).

Panther alerts on every credential added; administrators add credentials every day, so here
the actor must have been flagged first (a risky sign-in or an alert on them within
``flag_days``). Panther's cases are judged with the actor flagged (the conformance test).
"""

from __future__ import annotations

from datetime import timedelta

from detections.audit import activity, actor_user, audit_context, audit_of, flag_of
from detections.model import DirectoryAudit, Event, Severity
from detections.rule import Context, Finding, Param, Rule, RuleTest
from detections.testing import T0, directory_audit, sign_in, target, user_actor

# Activity name (lower-cased, en dash as hyphen) -> what it gives the actor.
PERSISTENCE = {
    "consent to application": "consent granted to an application",
    "add service principal credentials": "a service principal credential added",
    "update application - certificates and secrets management": "an application secret or "
    "certificate added",
    "add owner to application": "an application owner added",
    "add owner to service principal": "a service principal owner added",
}


def persistence_of(audit: DirectoryAudit) -> str | None:
    return PERSISTENCE.get(activity(audit))


def match(event: Event, ctx: Context) -> Finding | None:
    audit = audit_of(event)
    what = persistence_of(audit) if audit is not None else None
    if audit is None or what is None:
        return None
    actor = actor_user(audit.initiated_by)
    flag = flag_of(ctx, actor, audit, timedelta(days=ctx.float_param("flag_days")))
    if flag is None or actor is None:
        return None
    app = next((t for t in audit.targets_of("ServicePrincipal", "Application")), None)
    app_name = (app.display_name or app.id) if app else None
    return Finding(
        title=f"{actor.name}: {what} ({app_name or 'unknown application'}) after a "
        f"{'risky sign-in' if flag.kind == 'riskySignIn' else flag.reason + ' alert'}",
        principal=audit.principal,
        context={**audit_context(audit, flag, actor), "application": app_name,
                 "application_id": app.id if app else None, "change": what},
        dedup_values=(actor.name.lower(), activity(audit), (app.id if app else "") or ""),
        related_event_ids=(flag.source_event,),
    )


_FRODO_RISKY = sign_in(id="risky-frodo", time=T0 - timedelta(hours=3), user_id="u-frodo",
                       user_principal_name="frodo@contoso.com", risk_state="atRisk",
                       risk_level_during_sign_in="medium")
_FRODO = user_actor("frodo@contoso.com", "u-frodo")
_API = target("ServicePrincipal", "Production API Service", "sp-app-456",
              KeyType=(None, '"Password"'))


def _change(name: str, **overrides: object) -> DirectoryAudit:
    base: dict[str, object] = dict(
        activity_display_name=name, category="ApplicationManagement", operation_type="Update",
        logged_by_service="Core Directory", initiated_by=_FRODO, targets=(_API,),
    )
    return directory_audit(**{**base, **overrides})


RULE = Rule(
    uses_history=True,
    id="app_credential_after_risk",
    version=1,
    title="Application consent, credential or owner added by a user at risk",
    description=(
        "A user flagged at risk (a risky sign-in or an alert on them) consented to an "
        "application, added a credential to an application or service principal, or added "
        "an owner to one: access that survives a password reset."
    ),
    severity=Severity.HIGH,
    risk_score=73,
    mitre=("T1098.001", "T1528"),
    kinds=("directoryAudit",),
    dedup_fields=("principal",),
    dedup_window=timedelta(hours=6),
    investigation=(
        "Which application, which credential (KeyType, KeyDescription) or owner, and from "
        "which IP?",
        "Compare with the flag before it (recent_flag): the same IP or session is the attacker.",
        "Remove the credential, owner or consent grant; review the application's sign-ins "
        "since.",
    ),
    false_positives=(
        "An administrator flagged by a false-positive risk detection doing ordinary app "
        "maintenance: dismiss the risk and close the incident.",
    ),
    references=(
        "https://github.com/panther-labs/panther-analysis/blob/main/rules/"
        "azure_signin_rules/azure_service_principal_credentials_added.yml",
        "https://github.com/elastic/detection-rules/blob/main/rules/integrations/azure/"
        "initial_access_entra_id_illicit_consent_grant_via_registered_application.toml",
    ),
    known_gaps=(
        "Divergence from Panther: a credential added by a user with no flag does not alert.",
        "A consent or credential added by an application (no user) is not judged.",
    ),
    params=(
        Param(
            name="flag_days",
            default=7.0,
            description="How recent the actor's flag (risky sign-in or alert) must be (the "
            "incident quiet default).",
            minimum=1.0, maximum=30.0,
        ),
    ),
    match=match,
    tests=(
        RuleTest(
            name="service principal credentials added by a user at risk fire",
            before=(_FRODO_RISKY,),
            event=_change("Add service principal credentials"),
            expect=True, severity=Severity.HIGH,
            dedup=("frodo@contoso.com", "add service principal credentials", "sp-app-456"),
        ),
        RuleTest(
            name="the same credentials added by a user with no flag do not",
            event=_change("Add service principal credentials"),
            expect=False,
        ),
        RuleTest(
            name="a service principal created by a user at risk does not",
            before=(_FRODO_RISKY,),
            event=_change("Add service principal", operation_type="Add"),
            expect=False,
        ),
        RuleTest(
            name="consent to an application by a user at risk fires",
            before=(_FRODO_RISKY,),
            event=_change("Consent to application", targets=(target("ServicePrincipal",
                                                                     "Mail Reader"),)),
            expect=True,
        ),
        RuleTest(
            name="an application secret added (en dash in the activity name) fires",
            before=(_FRODO_RISKY,),
            event=_change("Update application \u2013 Certificates and secrets management ",
                          targets=(target("Application", "Payroll"),)),
            expect=True,
        ),
        RuleTest(
            name="an owner added by a user whose risk was dismissed does not",
            before=(sign_in(id="dismissed", time=T0 - timedelta(hours=1), user_id="u-frodo",
                            user_principal_name="frodo@contoso.com", risk_state="dismissed",
                            risk_level_during_sign_in="high"),),
            event=_change("Add owner to application"),
            expect=False,
        ),
        RuleTest(
            name="a flag older than the window does not",
            before=(sign_in(id="old", time=T0 - timedelta(days=9), user_id="u-frodo",
                            user_principal_name="frodo@contoso.com", risk_state="atRisk",
                            risk_level_during_sign_in="high"),),
            event=_change("Add owner to application"),
            expect=False,
        ),
    ),
)
