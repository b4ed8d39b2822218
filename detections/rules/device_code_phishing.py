"""Device code phishing: a device code grant the user was talked into approving.

The 2025 device-code campaigns send a code and a real Microsoft URL; the victim signs in
and the attacker's device gets the tokens. Through the Microsoft Authentication Broker
(used to register a device and obtain a primary refresh token) that alone alerts, as
Panther's DeviceCodeBrokerClient does. Through any other client it alerts only with a
second signal: open risk on the sign-in, a country new to a user with enough history, or
a recent flag on the user (a risky sign-in or an alert: an open incident). TVs, kiosks
and command-line tools use the flow legitimately.
"""

from __future__ import annotations

from datetime import timedelta

from detections.auth_flows import AZURE_CLI_APP_ID, BROKER_APP_ID, is_device_code
from detections.correlation import flag_context, recent_flag
from detections.correlation_history import key_of
from detections.helpers import signed_in, where, who
from detections.model import Event, Location, Severity, SignIn
from detections.predicates import is_anonymized, is_risk_flagged, is_user_sign_in, user_key
from detections.rule import Context, Finding, Param, Rule, RuleTest
from detections.testing import T0, sign_in

DAY = timedelta(days=1)


def _new_country(event: SignIn, ctx: Context) -> str | None:
    """The sign-in's country when it is new for a user with enough history."""
    country = (event.location.country or "").upper()
    user = ctx.history.user(user_key(event))
    if not country or user is None or is_anonymized(event):
        return None
    first = user.first_seen
    if first is None or event.time - first < timedelta(days=ctx.int_param("min_history_days")):
        return None
    seen = user.countries.get(country)
    baseline = timedelta(days=ctx.int_param("baseline_days"))
    if seen is not None and seen.last >= event.time - baseline:
        return None
    return country


def match(event: Event, ctx: Context) -> Finding | None:
    if not isinstance(event, SignIn) or not is_user_sign_in(event) or not signed_in(event):
        return None
    if not is_device_code(event):
        return None
    broker = (event.app_id or "").lower() == BROKER_APP_ID or (
        BROKER_APP_ID in event.conditional_access_audiences
    )
    signals: list[str] = []
    if is_risk_flagged(event):
        signals.append("open risk on the sign-in")
    country = _new_country(event, ctx)
    if country:
        signals.append(f"country {country} new for the user")
    horizon = timedelta(days=ctx.int_param("recent_flag_days"))
    flag = recent_flag(ctx, key_of(event.user_id, event.user_principal_name), event.time,
                       horizon, exclude_event=event.id)
    if flag is not None:
        signals.append(f"flagged {flag.time.isoformat()} ({flag.kind}: {flag.reason})")
    if not broker and not signals:
        return None
    client = "the Microsoft Authentication Broker" if broker else event.app_display_name
    return Finding(
        title=f"Device code sign-in of {event.principal} through {client or event.app_id}",
        severity=Severity.HIGH if signals else Severity.MEDIUM,
        context={
            **who(event),
            **where(event.location, event.ip_address),
            "app_id": event.app_id,
            "app_display_name": event.app_display_name,
            "resource_display_name": event.resource_display_name,
            "authentication_protocol": event.authentication_protocol,
            "original_transfer_method": event.original_transfer_method,
            "broker_client": broker,
            "second_signals": list(signals),
            "device_id": event.device.device_id,
            "user_agent": event.user_agent,
            **flag_context(flag),
        },
        dedup_values=(event.principal, (event.app_id or "").lower()),
    )


DEVICE_CODE = {"authentication_protocol": "deviceCode", "interactive": False}
BROKER = {**DEVICE_CODE, "app_id": BROKER_APP_ID,
          "app_display_name": "Microsoft Authentication Broker"}
CLI = {**DEVICE_CODE, "app_id": AZURE_CLI_APP_ID, "app_display_name": "Microsoft Azure CLI",
       "resource_display_name": "Windows Azure Service Management API"}
TV = {**DEVICE_CODE, "app_id": "app-tv", "app_display_name": "Microsoft Teams Rooms"}
HOME = tuple(sign_in(id=f"h{i}", time=T0 - i * DAY) for i in range(1, 11))
NIGERIA = Location(city="Lagos", country="NG", latitude=6.45, longitude=3.39)

RULE = Rule(
    uses_history=True,
    id="device_code_phishing",
    version=1,
    title="Device code phishing",
    description=(
        "A successful device code sign-in through the Microsoft Authentication Broker (device "
        "registration, primary refresh token), or through another client with a second signal: "
        "open risk on the sign-in, a country new to the user, or a recent flag on the user."
    ),
    severity=Severity.MEDIUM,
    risk_score=65,
    mitre=("T1566.002", "T1528", "T1078.004"),
    kinds=("signIn",),
    dedup_fields=("principal", "app_id"),
    dedup_window=timedelta(minutes=60),  # Panther: 60 minutes
    investigation=(
        "Ask the user whether they typed a code at microsoft.com/devicelogin, and for whom.",
        "Look for a device registered for the user right after (Device Registration Service) "
        "and for new MFA methods: the campaigns persist that way.",
        "Revoke the user's sessions and refresh tokens; delete devices registered in the window.",
        "Block the device code flow with a Conditional Access authentication-flows policy "
        "except for the devices that need it.",
    ),
    false_positives=(
        "Teams Rooms, TVs, kiosks and command-line tools sign in with device codes: without "
        "the broker they alert only with a second signal.",
        "A user setting up a new device through the broker themselves.",
    ),
    references=(
        "https://github.com/panther-labs/panther-analysis/blob/main/rules/azure_signin_rules/"
        "azure_device_code_broker_client.yml",
        "https://www.microsoft.com/en-us/security/blog/2025/02/13/"
        "storm-2372-conducts-device-code-phishing-campaign/",
        "https://learn.microsoft.com/en-us/entra/identity/conditional-access/"
        "policy-block-authentication-flows",
    ),
    known_gaps=(
        "Graph v1.0 objects may lack authenticationProtocol: such a sign-in is never read as "
        "a device code grant (use the beta endpoint or the export).",
        "A recent flag is known only for the flag retention (30 days) and only from alerts and "
        "risky sign-ins Riskwatch saw.",
    ),
    params=(
        Param(name="recent_flag_days", default=7,
              description="How long a risky sign-in or alert on the user counts as a signal.",
              minimum=1, maximum=30),
        Param(name="min_history_days", default=7,
              description="History needed before a new country counts.", minimum=0, maximum=180),
        Param(name="baseline_days", default=30,
              description="How far back a country counts as known.", minimum=1, maximum=180),
    ),
    match=match,
    tests=(
        RuleTest(name="broker device code sign-in fires (Panther positive)",
                 event=sign_in(**BROKER), expect=True, severity=Severity.MEDIUM,
                 dedup=("alice@contoso.com", BROKER_APP_ID)),
        RuleTest(name="broker only as the CA audience fires",
                 event=sign_in(**DEVICE_CODE, conditional_access_audiences=(BROKER_APP_ID,)),
                 expect=True),
        RuleTest(name="Azure CLI device code without a second signal does not (Panther negative)",
                 event=sign_in(**CLI), expect=False),
        RuleTest(name="a TV signing in with a device code does not",
                 before=HOME, event=sign_in(**TV), expect=False),
        RuleTest(name="failed broker device code does not",
                 event=sign_in(**BROKER, success=False, error_code=50126), expect=False),
        RuleTest(name="broker without the device code flow does not",
                 event=sign_in(app_id=BROKER_APP_ID), expect=False),
        RuleTest(name="unknown protocol (v1.0) is not read as device code",
                 event=sign_in(app_id=BROKER_APP_ID, authentication_protocol=None),
                 expect=False),
        RuleTest(name="CLI device code with open risk is high",
                 event=sign_in(**CLI, risk_level_during_sign_in="medium", risk_state="atRisk"),
                 expect=True, severity=Severity.HIGH),
        RuleTest(name="CLI device code with dismissed risk does not",
                 event=sign_in(**CLI, risk_level_during_sign_in="high", risk_state="dismissed"),
                 expect=False),
        RuleTest(name="CLI device code with remediated risk does not",
                 event=sign_in(**CLI, risk_level_during_sign_in="high", risk_state="remediated"),
                 expect=False),
        RuleTest(name="CLI device code with confirmed safe risk does not",
                 event=sign_in(**CLI, risk_level_during_sign_in="high",
                               risk_state="confirmedSafe"),
                 expect=False),
        RuleTest(name="TV device code from a country new to the user fires",
                 before=HOME, event=sign_in(**TV, location=NIGERIA), expect=True,
                 severity=Severity.HIGH),
        RuleTest(name="new country without enough history does not",
                 before=HOME[:2], event=sign_in(**TV, location=NIGERIA), expect=False),
        RuleTest(name="device code after a risky sign-in of the user fires",
                 before=(sign_in(id="risky", time=T0 - 2 * DAY, risk_level_during_sign_in="high",
                                 risk_state="atRisk"),),
                 event=sign_in(**CLI), expect=True, severity=Severity.HIGH),
        RuleTest(name="a risky sign-in long ago is no signal",
                 before=(sign_in(id="risky", time=T0 - 20 * DAY, risk_level_during_sign_in="high",
                                 risk_state="atRisk"),),
                 event=sign_in(**CLI), expect=False),
    ),
)
