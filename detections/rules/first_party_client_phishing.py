"""OAuth phishing through a first-party developer client: tokens for Microsoft Graph.

Phishing kits (ConsentFix and its kin) make the victim finish an OAuth flow of a client
Microsoft already trusts in every tenant (Visual Studio Code, the Azure CLI), so no
consent prompt appears, and take the code or token for Microsoft Graph. Panther's
VSCodeOAuthPhishing alerts on every VS Code token for Graph; Riskwatch alerts when the
user has not used that client within the baseline window (a user seen for the first
time alerts, as Panther's single-event positive expects). The clients are a setting.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from detections.auth_flows import (
    AZURE_CLI_APP_ID,
    GRAPH_RESOURCE_ID,
    VSCODE_APP_ID,
    id_list,
    is_graph_resource,
)
from detections.correlation import flag_context, recent_flag
from detections.correlation_history import key_of
from detections.helpers import signed_in, where, who
from detections.model import Event, Severity, SignIn
from detections.predicates import is_risk_flagged, is_user_sign_in, user_key
from detections.rule import Context, Finding, Param, Rule, RuleTest
from detections.testing import T0, sign_in

DAY = timedelta(days=1)
# Visual Studio Code and the Azure CLI; add Azure PowerShell (1950a258-227b-4e31-a9cf-
# 717495945fc2) or Graph PowerShell (14d82eec-204b-4c2f-b7e8-296a70dab67e) if nobody uses them.
DEFAULT_CLIENTS = f"{VSCODE_APP_ID},{AZURE_CLI_APP_ID}"
_client_ids = cache(id_list)  # the setting's text, parsed once rather than on every sign-in


def match(event: Event, ctx: Context) -> Finding | None:
    if not isinstance(event, SignIn) or not is_user_sign_in(event) or not signed_in(event):
        return None
    app = (event.app_id or "").lower()
    if app not in _client_ids(ctx.str_param("client_ids")) or not is_graph_resource(event):
        return None
    user = ctx.history.user(user_key(event))
    last_use = user.apps.get(app) if user else None
    baseline = timedelta(days=ctx.int_param("baseline_days"))
    if last_use is not None and event.time - baseline <= last_use <= event.time:
        return None  # the user works with this client: a developer, not a phish
    flag = recent_flag(ctx, key_of(event.user_id, event.user_principal_name), event.time,
                       timedelta(days=7), exclude_event=event.id)
    return Finding(
        title=f"{event.app_display_name or app} got a Microsoft Graph token for "
        f"{event.principal}, a first use of that client",
        severity=Severity.HIGH if is_risk_flagged(event) or flag else None,
        context={
            **who(event),
            **where(event.location, event.ip_address),
            "app_id": event.app_id,
            "app_display_name": event.app_display_name,
            "resource_id": event.resource_id,
            "resource_display_name": event.resource_display_name,
            "authentication_protocol": event.authentication_protocol,
            "interactive": event.interactive,
            "user_agent": event.user_agent,
            "last_use_of_client": last_use.isoformat() if last_use else None,
            "risk_state": event.risk_state,
            **flag_context(flag),
        },
        dedup_values=(event.principal, app),
    )


VSCODE = {"app_id": VSCODE_APP_ID, "app_display_name": "Visual Studio Code",
          "resource_display_name": "Microsoft Graph", "resource_id": GRAPH_RESOURCE_ID,
          "interactive": False, "category": "nonInteractiveUser"}
DAILY_CODE = tuple(sign_in(id=f"vs{i}", time=T0 - i * DAY, **VSCODE) for i in range(1, 15))

RULE = Rule(
    uses_history=True,
    id="first_party_client_phishing",
    version=1,
    title="OAuth phishing through a first-party developer client",
    description=(
        "A Microsoft Graph token issued to a developer client phishing kits abuse (Visual "
        "Studio Code, Azure CLI, or the configured list) for a user with no use of that client "
        "in the baseline window."
    ),
    severity=Severity.MEDIUM,
    risk_score=55,
    mitre=("T1566.002", "T1528"),
    kinds=("signIn",),
    dedup_fields=("principal", "app_id"),
    dedup_window=timedelta(hours=24),
    investigation=(
        "Ask the user whether they use Visual Studio Code or the Azure CLI with this account.",
        "Check the IP address and user agent against the user's usual sign-ins: the kits "
        "redeem the code from their own infrastructure.",
        "Revoke the user's refresh tokens and review Graph activity (mail, files) after it.",
    ),
    false_positives=(
        "A developer using the client for the first time, or after more than the baseline "
        "window; seed the baseline from exported logs with `riskwatch baseline`.",
    ),
    references=(
        "https://github.com/panther-labs/panther-analysis/blob/main/rules/azure_signin_rules/"
        "azure_vscode_oauth_phishing.yml",
        "https://github.com/elastic/detection-rules/blob/main/rules/integrations/azure/"
        "initial_access_entra_id_oauth_phishing_via_first_party_microsoft_application.toml",
    ),
    known_gaps=(
        "Each user's 24 most recent client apps are remembered: a user of very many apps may "
        "look new to a client they use.",
        "A new deployment has no baseline: every user's first use of a listed client alerts "
        "until the baseline window has passed or been seeded.",
    ),
    params=(
        Param(name="client_ids", default=DEFAULT_CLIENTS,
              description="Comma list of client app ids watched ('none' for none).",
              setting="RISKWATCH_OAUTH_PHISHING_CLIENT_IDS"),
        Param(name="baseline_days", default=30,
              description="How far back a use of the client makes it familiar.",
              minimum=1, maximum=30),
    ),
    match=match,
    tests=(
        RuleTest(name="VS Code to Microsoft Graph with no history fires (Panther positive)",
                 event=sign_in(**VSCODE), expect=True, severity=Severity.MEDIUM,
                 dedup=("alice@contoso.com", VSCODE_APP_ID)),
        RuleTest(name="VS Code to another resource does not (Panther negative)",
                 event=sign_in(**{**VSCODE, "resource_display_name": "Azure DevOps",
                                  "resource_id": "499b84ac-1321-427f-aa17-267ca6975798"}),
                 expect=False),
        RuleTest(name="a developer who uses VS Code daily does not",
                 before=DAILY_CODE, event=sign_in(**VSCODE), expect=False),
        RuleTest(name="VS Code last used two months ago fires",
                 before=tuple(sign_in(id=f"old{i}", time=T0 - (60 + i) * DAY, **VSCODE)
                              for i in range(3)),
                 event=sign_in(**VSCODE), expect=True),
        RuleTest(name="Azure CLI to Graph by name fires",
                 event=sign_in(app_id=AZURE_CLI_APP_ID, resource_display_name="Microsoft Graph"),
                 expect=True),
        RuleTest(name="an unlisted client does not",
                 event=sign_in(**{**VSCODE, "app_id": "app-other"}), expect=False),
        RuleTest(name="a client the setting adds fires",
                 event=sign_in(**{**VSCODE, "app_id": "1950A258-227B-4E31-A9CF-717495945FC2"}),
                 params={"client_ids": "1950a258-227b-4e31-a9cf-717495945fc2"}, expect=True),
        RuleTest(name="failed sign-in does not",
                 event=sign_in(**VSCODE, success=False, error_code=50126), expect=False),
        RuleTest(name="with open risk it is high",
                 event=sign_in(**VSCODE, risk_level_during_sign_in="medium", risk_state="atRisk"),
                 expect=True, severity=Severity.HIGH),
        RuleTest(name="with dismissed risk it stays medium",
                 event=sign_in(**VSCODE, risk_level_during_sign_in="high",
                               risk_state="dismissed"),
                 expect=True, severity=Severity.MEDIUM),
    ),
)
