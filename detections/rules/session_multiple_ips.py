"""One session used from different countries or networks within an hour: token
replay, the AiTM pattern (Panther: >= 2 IPs per sessionId in 60 min; Elastic:
across autonomous systems).

Five to ten IPs of one carrier are routing, not replay (seed 002): only a change
of country or of autonomous system counts, and Microsoft's own networks are
ignored by default. A session that moves to another network is the user, not replay,
when both sides carry the same device id and user agent *and* the network it moves to
is one the user already uses (``detections.familiarity``, after the warm-up) or a
trusted named location: one laptop going from home to the corporate VPN or the office.
Only the side moved to is judged: the familiarity of the side it came from never
excuses the other (a token stolen in the office and replayed from abroad). A hosting
ASN (a VPS) is never excused.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from detections.correlation import MICROSOFT_ASNS, asn_set, user_sign_in
from detections.correlation_history import attempt_record
from detections.helpers import who
from detections.history_records import Attempt, UserState
from detections.model import Device, Event, Location, Severity
from detections.predicates import user_key
from detections.rule import Context, Finding, JsonValue, Param, Rule, RuleTest
from detections.rules._familiar_timelines import (
    OFFICE,
    PROXY,
    VPN,
    VPS,
    session,
    weeks_of_home_vpn_office,
)
from detections.testing import series, sign_in
from detections.windows import between

AMSTERDAM = Location(city="Amsterdam", country="NL", latitude=52.37, longitude=4.9)
# Hosting and VPS providers a replay is typically sent from: DigitalOcean, OVH, Hetzner,
# Linode, Vultr, AWS (two), Google Cloud, Contabo, M247, QuadraNet, ColoCrossing.
HOSTING_ASNS = "14061,16276,24940,63949,20473,16509,14618,396982,51167,9009,8100,36352"


def _differs(a: Attempt, country: str | None, asn: int | None,
             ignored: frozenset[int]) -> list[str]:
    """What differs between ``a`` and a sign-in from ``country`` and ``asn``."""
    why = []
    if a.country and country and a.country.upper() != country.upper():
        why.append("country")
    asns = (a.asn, asn)
    if None not in asns and a.asn != asn and not ignored & set(asns):
        why.append("network")
    return why


def _changed(src: Attempt, dst: Attempt, user: UserState,
             hosting: frozenset[int]) -> list[str]:
    """What makes the move from ``src`` to ``dst`` replay; empty: the user's own client
    moving to a network of the user's (only ``dst``'s network is asked about)."""
    changed = []
    if not src.device or not dst.device:
        changed.append("no device id")
    elif src.device != dst.device:
        changed.append("device")
    if src.agent != dst.agent or not dst.agent:
        changed.append("client")
    if dst.asn is not None and dst.asn in hosting:
        changed.append("hosting network")
    known = user.familiar(dst.time)
    if not dst.trusted and (known is None or not known.known_network(dst.asn, dst.ip, dst.time)):
        changed.append("new network")
    return changed


def match(event: Event, ctx: Context) -> Finding | None:
    success = user_sign_in(event, "none")
    if success is None or not success.session_id or not success.ip_address:
        return None
    user = ctx.history.user(user_key(success))
    if user is None:
        return None
    session = user.sessions.get(success.session_id)
    if not session:
        return None  # the first sign-in of the session: nothing to compare it with
    span = timedelta(minutes=ctx.int_param("window_minutes"))
    ignored = asn_set(ctx.str_param("ignore_asns"))
    # Compared on the event's own country and ASN (what its history record holds): the
    # record is built only for a session that did move, not for every sign-in of one.
    country, asn = success.location.country, success.autonomous_system_number
    moved: list[tuple[Attempt, list[str]]] = []
    for n in between(session, success.time - span, success.time + span):
        if n.event_id == success.id or (n.asn == asn and n.country == country):
            continue  # the sign-in itself, or the same network and country: nothing moved
        why = _differs(n, country, asn, ignored)
        if why:
            moved.append((n, why))
    if not moved:
        return None
    here = attempt_record(success)
    hosting = asn_set(ctx.str_param("hosting_asns"))
    others: list[tuple[Attempt, list[str], list[str]]] = []
    for n, why in moved:
        src, dst = (n, here) if (n.time, n.event_id) < (here.time, here.event_id) else (here, n)
        changed = _changed(src, dst, user, hosting)
        if changed:
            others.append((n, why, changed))
    if not others:
        return None
    reasons = sorted({r for _, why, _ in others for r in why})
    changes = sorted({c for _, _, changed in others for c in changed})
    networks: list[JsonValue] = [
        {"ip_address": n.ip, "asn": n.asn, "country": n.country, "time": n.time.isoformat(),
         "device_id": n.device, "user_agent": n.agent, "trusted_location": n.trusted}
        for n in [here, *(n for n, _, _ in others)][:10]
    ]
    return Finding(
        title=f"Session of {success.principal} used from another "
        f"{' and '.join(reasons)} within {ctx.int_param('window_minutes')} minutes "
        f"({', '.join(changes)})",
        severity=Severity.HIGH if "country" in reasons or "hosting network" in changes
        else None,
        context={
            **who(success),
            "session_id": success.session_id,
            "changed": list(reasons),
            "what_changed": list(changes),
            "networks": networks,
        },
        related_event_ids=tuple(n.event_id for n, _, _ in others[:20]),
    )


HOME: dict[str, Any] = {"autonomous_system_number": 7922}  # a residential carrier
UNMARKED_VPN = {**VPN, "trusted_location": None, "named_networks": ()}
NO_ID = Device(os="Windows 10", browser="Chrome 131")  # the proxy's browser: no device id

RULE = Rule(
    uses_history=True,
    id="session_multiple_ips",
    version=2,
    title="One session from several networks (token replay)",
    description=(
        "Successful sign-ins sharing one sessionId from different countries or autonomous "
        "systems within an hour: a stolen session cookie or token replayed elsewhere (AiTM). "
        "Not replay: both sides with the same device id and user agent, moving to a network "
        "the user already uses (30-day familiarity, after a 7-day warm-up) or a trusted named "
        "location; the side it came from never excuses the other, and a hosting ASN never. "
        "High for another country or a hosting ASN. Divergence from the peers: Panther and "
        "Elastic alert on every change of IP or ASN, so a laptop going from home to the "
        "corporate VPN or the office alerts; this reads the device id, user agent and "
        "networkLocationDetails they ignore."
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
        "A device id and user agent copied by the attacker, moving to a network the user "
        "already uses (a compromised home router), looks like the user.",
        "Only the hosting ASNs listed are known as hosting; residential proxies are caught by "
        "their missing or other device id, not their network.",
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
        Param(
            name="hosting_asns",
            default=HOSTING_ASNS,
            description="Comma list of hosting ASNs: never the user's own network (high).",
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
                autonomous_system_number=7018,
            ),
            expect=True,
            severity=Severity.MEDIUM,
            dedup=("alice@contoso.com", "sess-1"),
        ),
        RuleTest(
            name="home to the corporate VPN on one laptop is quiet",
            before=(session(0, 0, "home"),),
            event=session(0, 20, "vpn", **VPN),
            expect=False,
        ),
        RuleTest(
            name="home to the office on one laptop is quiet",
            before=(*weeks_of_home_vpn_office(), session(0, 0, "home"),
                    session(0, 20, "vpn", **VPN)),
            event=session(0, 50, "office", **OFFICE),
            expect=False,
        ),
        RuleTest(
            name="a VPN used for weeks but not marked trusted is quiet",
            before=(*weeks_of_home_vpn_office(), session(0, 0, "home")),
            event=session(0, 20, "vpn", **UNMARKED_VPN),
            expect=False,
        ),
        RuleTest(
            name="the same unmarked VPN on the first day fires",
            before=(session(0, 0, "home"),),
            event=session(0, 20, "vpn", **UNMARKED_VPN),
            expect=True,
            severity=Severity.MEDIUM,
        ),
        RuleTest(
            name="same-country AiTM replay from a VPS fires high, even with a copied client",
            before=(*weeks_of_home_vpn_office(), session(0, 0, "home")),
            event=session(0, 10, "vps", **VPS),
            expect=True,
            severity=Severity.HIGH,
        ),
        RuleTest(
            name="same-country replay from a residential proxy without a device id fires",
            before=(*weeks_of_home_vpn_office(), session(0, 0, "home")),
            event=session(0, 10, "proxy", device=NO_ID, user_agent="Mozilla/5.0 Chrome/131",
                          **PROXY),
            expect=True,
            severity=Severity.MEDIUM,
        ),
        RuleTest(
            name="replay abroad after the office fires: the office never excuses it",
            before=(*weeks_of_home_vpn_office(), session(0, 0, "office", **OFFICE)),
            event=session(0, 15, "abroad", location=AMSTERDAM, autonomous_system_number=1136,
                          ip_address="145.1.1.1"),
            expect=True,
            severity=Severity.HIGH,
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
