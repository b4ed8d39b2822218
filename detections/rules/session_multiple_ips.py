"""One session used from different countries or networks within an hour: token
replay, the AiTM pattern (Panther: >= 2 IPs per sessionId in 60 min; Elastic:
across autonomous systems).

Five to ten IPs of one carrier are routing, not replay (seed 002): only a change
of country or of autonomous system counts, and Microsoft's own networks are
ignored by default.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from detections.correlation import MICROSOFT_ASNS, asn_set, user_sign_in
from detections.correlation_history import attempt_record
from detections.helpers import who
from detections.history_records import Attempt
from detections.model import Event, Location, Severity
from detections.predicates import user_key
from detections.rule import Context, Finding, JsonValue, Param, Rule, RuleTest
from detections.testing import series, sign_in
from detections.windows import between

AMSTERDAM = Location(city="Amsterdam", country="NL", latitude=52.37, longitude=4.9)


def _differs(a: Attempt, b: Attempt, ignored: frozenset[int]) -> list[str]:
    why = []
    if a.country and b.country and a.country.upper() != b.country.upper():
        why.append("country")
    asns = (a.asn, b.asn)
    if None not in asns and a.asn != b.asn and not ignored & set(asns):
        why.append("network")
    return why


def match(event: Event, ctx: Context) -> Finding | None:
    success = user_sign_in(event, "none")
    if success is None or not success.session_id or not success.ip_address:
        return None
    user = ctx.history.user(user_key(success))
    if user is None:
        return None
    here = attempt_record(success)
    span = timedelta(minutes=ctx.int_param("window_minutes"))
    ignored = asn_set(ctx.str_param("ignore_asns"))
    nearby = between(user.sessions.get(success.session_id, []), here.time - span, here.time + span)
    others = [(n, _differs(n, here, ignored)) for n in nearby if n.event_id != here.event_id]
    others = [(n, why) for n, why in others if why]
    if not others:
        return None
    reasons = sorted({r for _, why in others for r in why})
    networks: list[JsonValue] = [
        {"ip_address": n.ip, "asn": n.asn, "country": n.country, "time": n.time.isoformat()}
        for n in [here, *(n for n, _ in others)][:10]
    ]
    return Finding(
        title=f"Session of {success.principal} used from another "
        f"{' and '.join(reasons)} within {ctx.int_param('window_minutes')} minutes",
        severity=Severity.HIGH if "country" in reasons else None,
        context={
            **who(success),
            "session_id": success.session_id,
            "changed": list(reasons),
            "networks": networks,
        },
        related_event_ids=tuple(n.event_id for n, _ in others[:20]),
    )


HOME: dict[str, Any] = {"autonomous_system_number": 7922}  # a residential carrier

RULE = Rule(
    uses_history=True,
    id="session_multiple_ips",
    version=1,
    title="One session from several networks (token replay)",
    description=(
        "Successful sign-ins sharing one sessionId from different countries or autonomous "
        "systems within an hour: a stolen session cookie or token replayed elsewhere (AiTM)."
    ),
    severity=Severity.MEDIUM,
    risk_score=60,
    mitre=("T1550.004", "T1557"),
    kinds=("signIn",),
    dedup_fields=("principal", "session_id"),
    dedup_window=timedelta(hours=24),
    investigation=(
        "Compare the user agents and apps of the sign-ins of the session.",
        "Revoke the user's sessions and check for new MFA methods and inbox rules.",
    ),
    false_positives=(
        "A laptop moving from home broadband to a phone hotspot (another network) mid-session.",
        "Split-tunnel VPNs sending some traffic through another provider.",
    ),
    references=(
        "https://github.com/panther-labs/panther-analysis/blob/main/rules/azure_signin_rules/"
        "azure_graph_session_multiple_ips.yml",
    ),
    known_gaps=(
        "Replay from Microsoft-hosted infrastructure (Azure) is ignored with Microsoft ASNs.",
        "Sign-ins without an ASN and a country cannot be compared.",
    ),
    params=(
        Param(
            name="window_minutes",
            default=60,
            description="How close the sign-ins are.",
            minimum=1, maximum=360,
        ),
        Param(
            name="ignore_asns",
            default=MICROSOFT_ASNS,
            description="Comma list of ASNs never counted as another network.",
            minimum=1, maximum=4294967295, int_list=True,
        ),
    ),
    match=match,
    tests=(
        RuleTest(
            name="another network fires",
            before=(sign_in(id="a", **HOME),),
            event=sign_in(
                id="b",
                time=sign_in().time + timedelta(minutes=20),
                ip_address="198.51.100.7",
                autonomous_system_number=14061,
            ),
            expect=True,
            severity=Severity.MEDIUM,
            dedup=("alice@contoso.com", "sess-1"),
        ),
        RuleTest(
            name="another country is high",
            before=(sign_in(id="a", **HOME),),
            event=sign_in(
                id="b",
                time=sign_in().time + timedelta(minutes=20),
                ip_address="198.51.100.7",
                location=AMSTERDAM,
                **HOME,
            ),
            expect=True,
            severity=Severity.HIGH,
        ),
        RuleTest(
            name="eight IPs of one carrier are routing",
            before=tuple(
                sign_in(id=f"c{i}", time=s.time, ip_address=f"203.0.113.{i}", **HOME)
                for i, s in enumerate(series(8, prefix="x", step=timedelta(minutes=5)))
            ),
            event=sign_in(
                id="c9",
                time=sign_in().time + timedelta(minutes=45),
                ip_address="203.0.113.99",
                **HOME,
            ),
            expect=False,
        ),
        RuleTest(
            name="hours apart does not",
            before=(sign_in(id="a", **HOME),),
            event=sign_in(
                id="b",
                time=sign_in().time + timedelta(hours=3),
                ip_address="198.51.100.7",
                autonomous_system_number=14061,
            ),
            expect=False,
        ),
        RuleTest(
            name="Microsoft network is ignored",
            before=(sign_in(id="a", **HOME),),
            event=sign_in(
                id="b",
                time=sign_in().time + timedelta(minutes=5),
                ip_address="20.190.1.1",
                autonomous_system_number=8075,
            ),
            expect=False,
        ),
    ),
)
