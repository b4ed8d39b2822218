"""Labelled attack stories: each one should make its rule alert.

``also`` names other rules the same activity may reasonably trigger, so a reader of the
demo's alerts can account for every one of them.
"""

from __future__ import annotations

from synth import geo
from synth.kit import HOSTILE_APP, HOSTILE_UA, HOSTILE_UPNS, SPRAY_UA, Kit
from synth.tenant import BACKGROUND_APPS, HOUR, MINUTE

EUROPE = ("GB", "DE", "FR", "NL", "SE", "ES")


def seed_rule_stories(k: Kit) -> None:
    """Identity Protection's own verdicts (issue 2's seed rules)."""
    # An open medium sign-in risk: the detection and the sign-in that carries it.
    u = k.victim()
    t = k.at(1, 13.2)
    proxy = k.proxy()
    a = k.by_attacker(u, t, proxy, proxy.address(k.rng), risk_during="medium",
                      risk_aggregated="medium", risk_state="atRisk",
                      risk_types=("unfamiliarFeatures",))  # fmt: skip
    sid = k.signin(a)
    did = k.detection(a, risk_type="unfamiliarFeatures", level="medium", state="atRisk",
                      detail="none", detected_after=40)  # fmt: skip
    k.label("open_signin_risk", "signin_risk_detection", alert=True, users=[u.upn], time=t,
            window=(t, t + HOUR), event_ids=[did], also=("risk_level_passthrough",),
            description="medium unfamiliarFeatures detection still atRisk")  # fmt: skip
    k.label("open_signin_risk", "risk_level_passthrough", alert=True, users=[u.upn], time=t,
            window=(t, t + HOUR), event_ids=[sid], description="sign-in at medium risk, atRisk")

    # User risk: a threat-intelligence detection and the risky user it leaves.
    u = k.victim()
    t = k.at(2, 9.5)
    did = k.user_detection(u, t, "investigationsThreatIntelligence", "medium")
    rid = k.risky_user(u, t + 2 * HOUR, "medium", "atRisk", "none")
    k.label("user_at_risk", "user_risk_detection", alert=True, users=[u.upn], time=t,
            window=(t, t + 3 * HOUR), event_ids=[did, rid],
            description="offline user-activity detection; riskyUser atRisk medium")  # fmt: skip

    # High risk, unchallenged (critical), through an attacker-registered app.
    u = k.victim()
    t = k.at(3, 15.7)
    proxy = k.proxy()
    a = k.by_attacker(u, t, proxy, proxy.address(k.rng), app=HOSTILE_APP, risk_during="high",
                      risk_aggregated="high", risk_state="atRisk",
                      risk_types=("anonymizedIPAddress",))  # fmt: skip
    sid = k.signin(a)
    did = k.detection(a, risk_type="anonymizedIPAddress", level="high", state="atRisk",
                      detail="none", detected_after=15)  # fmt: skip
    rid = k.risky_user(u, t + 600, "high", "atRisk", "none")
    k.label("high_risk_unchallenged", "high_risk_signin_succeeded", alert=True, users=[u.upn],
            time=t, window=(t, t + HOUR), event_ids=[sid],
            also=("risk_level_passthrough", "signin_risk_detection", "user_risk_detection"),
            description="riskDetail none: no policy challenged a high-risk success (critical); "
            "the app name is hostile markup")  # fmt: skip

    # High risk, challenged: the user passed risk-based MFA, which auto-remediates.
    u = k.victim()
    t = k.at(4, 10.1)
    a = k.attempt(u, t, risk_during="high", risk_aggregated="high", risk_state="remediated",
                  risk_detail="userPassedMFADrivenByRiskBasedPolicy", mfa=True,
                  ca_status="success", risk_types=("unfamiliarFeatures",))  # fmt: skip
    sid = k.signin(a)
    k.detection(a, risk_type="unfamiliarFeatures", level="high", state="remediated",
                detail="userPassedMFADrivenByRiskBasedPolicy", detected_after=10)  # fmt: skip
    k.label("high_risk_mfa_passed", "high_risk_signin_succeeded", alert=True, users=[u.upn],
            time=t, window=(t, t + HOUR), event_ids=[sid],
            description="riskDetail userPassedMFADrivenByRiskBasedPolicy (riskState remediated, "
            "as Entra writes it): high, confirm it was the real user")  # fmt: skip

    # Still at risk from an earlier event: aggregated high, this sign-in none.
    u = k.victim()
    t = k.at(5, 11.4)
    sid = k.signin(k.attempt(u, t, risk_aggregated="high", risk_state="atRisk"))
    k.label("unremediated_user", "unremediated_user_risk", alert=True, users=[u.upn], time=t,
            window=(t, t + HOUR), event_ids=[sid], also=("risk_level_passthrough",),
            description="riskLevelAggregated high, riskLevelDuringSignIn none")  # fmt: skip

    # Priority types: a replayed token (offline), and leaked credentials.
    u = k.victim()
    t = k.at(6, 14.0)
    a = k.attempt(u, t, interactive=False, app=BACKGROUND_APPS[0])
    k.signin(a)
    did = k.detection(a, risk_type="anomalousToken", level="low", state="atRisk", detail="none",
                      timing="offline", detected_after=5 * HOUR)  # fmt: skip
    k.label("anomalous_token", "priority_risk_detection", alert=True, users=[u.upn], time=t,
            window=(t, t + 6 * HOUR), event_ids=[did], also=("signin_risk_detection",),
            description="anomalousToken at low level: AiTM/token replay, act at any level")
    u = k.victim()
    t = k.at(k.days - 2, 4.0)
    did = k.user_detection(u, t, "leakedCredentials", "high")
    rid = k.risky_user(u, t + 2 * HOUR, "high", "atRisk", "none")
    k.label("leaked_credentials", "priority_risk_detection", alert=True, users=[u.upn], time=t,
            window=(t, t + 3 * HOUR), event_ids=[did, rid], also=("user_risk_detection",),
            description="leakedCredentials: rotate the password now")  # fmt: skip


def travel_stories(k: Kit) -> None:
    """Impossible travel, an unfamiliar country, and a replayed session."""
    u = k.victim()
    t = k.at(k.days - 2, 9.0 - u.utc_offset_h + 1.5)  # mid-morning local time
    k.reserve(u, t - 6 * HOUR, t + 6 * HOUR)
    home = k.signin(k.attempt(u, t, mfa=True, ca_status="success"))
    dest = k.abroad(u, min_km=5000)
    proxy = k.proxy()
    far = k.signin(k.by_attacker(u, t + 40 * MINUTE, proxy, proxy.address(k.rng), city=dest))
    k.label("impossible_travel", "impossible_travel", alert=True, users=[u.upn],
            time=t + 40 * MINUTE, window=(t, t + HOUR), event_ids=[home, far],
            also=("unfamiliar_country",),
            description=f"{u.home.name} then {dest.name} "
            f"({geo.distance_km(u.home, dest):.0f} km) 40 minutes apart")  # fmt: skip

    # A new country after a week of history, at a speed an airliner could manage.
    u = k.victim(EUROPE)
    t = k.at(k.days - 1, 10.0)
    k.reserve(u, t - 14 * HOUR, t + 14 * HOUR)
    home = k.signin(k.attempt(u, t - 13 * HOUR))
    lagos = geo.CITY["Lagos"]
    hostile_lagos = geo.City("Lagos <!channel> _pwned_ [map](https://evil.example/m)",
                             lagos.state, lagos.country, lagos.lat, lagos.lon, lagos.tz)
    proxy = k.proxy()
    new = k.signin(k.by_attacker(u, t, proxy, proxy.address(k.rng), city=hostile_lagos))
    k.label("unfamiliar_country", "unfamiliar_country", alert=True, users=[u.upn], time=t,
            window=(t - 13 * HOUR, t + HOUR), event_ids=[new],
            description=f"first sign-in from NG after {k.days - 1} days of history in "
            f"{u.home.country}; {geo.distance_km(u.home, lagos):.0f} km in 13 h (plausible "
            "speed, so not travel); the city name is hostile markup")  # fmt: skip
    del home

    # AiTM: the session cookie replayed from another country and network within the hour.
    u = k.victim()
    t = k.at(k.days - 2, 14.0 - u.utc_offset_h)
    k.reserve(u, t - 3 * HOUR, t + 3 * HOUR)
    a = k.attempt(u, t, mfa=True, ca_status="success")
    first = k.signin(a)
    dest = k.abroad(u, min_km=500)
    proxy = k.proxy()
    replay = k.signin(k.by_attacker(u, t + 25 * MINUTE, proxy, proxy.address(k.rng), city=dest,
                                    session_id=a.session_id, interactive=False,
                                    user_agent=HOSTILE_UA, app=BACKGROUND_APPS[1]))  # fmt: skip
    k.label("session_replay", "session_multiple_ips", alert=True, users=[u.upn],
            time=t + 25 * MINUTE, window=(t, t + HOUR), event_ids=[first, replay],
            also=("impossible_travel", "unfamiliar_country"),
            description=f"sessionId {a.session_id} used from {u.home.country} (AS"
            f"{u.broadband.asn}) then {dest.country} (AS{proxy.asn}); hostile user agent")


def failure_stories(k: Kit) -> None:
    """Brute force, sprays, success after failures, MFA fatigue, lockouts."""
    day = k.days - 3
    # Brute force: 14 bad passwords in 8 minutes from a residential proxy in the victim's city.
    u = k.victim()
    t = k.at(day, 2.0)
    proxy = k.proxy()
    ip = proxy.address(k.rng)
    ids = [k.signin(k.by_attacker(u, t + i * 34, proxy, ip, error=50126)) for i in range(14)]
    k.label("brute_force", "brute_force", alert=True, users=[u.upn], time=t + 13 * 34,
            window=(t, t + 10 * MINUTE), event_ids=ids,
            description="14 x 50126 against one user in 8 minutes, one IP")  # fmt: skip

    # Password spray: one IP, 12 users and 2 made-up (hostile) names, 25 minutes.
    crowd = k.crowd(12)
    t = k.at(day, 3.5)
    proxy = k.proxy()
    ip = proxy.address(k.rng)
    ids = []
    for i, victim in enumerate(crowd):
        ids.append(k.signin(k.by_attacker(victim, t + i * 110, proxy, ip, error=50126,
                                          user_agent=SPRAY_UA)))  # fmt: skip
    for i, name in enumerate(HOSTILE_UPNS):
        ghost = k.by_attacker(crowd[0], t + (12 + i) * 100, proxy, ip, error=50034,
                              user_agent=SPRAY_UA, upn=name, user_id="", display_name=name)
        ids.append(k.signin(ghost))
    k.label("password_spray", "password_spray", alert=True, users=[v.upn for v in crowd],
            time=t + 13 * 100, window=(t, t + 30 * MINUTE), event_ids=ids,
            description=f"one IP {ip}, 14 usernames (two invented, with hostile markup), "
            "all failing, in 25 minutes")  # fmt: skip

    # Distributed spray: 18 users from 5 addresses (3-4 each), the same 50126, in 26 minutes.
    crowd = k.crowd(18)
    t = k.at(day + 1, 1.0)
    proxy = k.proxy()
    ips = [proxy.address(k.rng) for _ in range(5)]
    ids = [k.signin(k.by_attacker(v, t + i * 90, proxy, ips[i % 5], error=50126,
                                  user_agent=SPRAY_UA)) for i, v in enumerate(crowd)]
    k.label("password_spray_distributed", "password_spray", alert=True,
            users=[v.upn for v in crowd], time=t + 17 * 90, window=(t, t + 30 * MINUTE),
            event_ids=ids, description=f"18 users from {len(ips)} IPs (at most 4 per IP), "
            "same error 50126")  # fmt: skip

    # Success after failures: the sixth guess works.
    u = k.victim()
    t = k.at(day, 5.0)
    proxy = k.proxy()
    ip = proxy.address(k.rng)
    ids = [k.signin(k.by_attacker(u, t + i * 120, proxy, ip, error=50126)) for i in range(6)]
    ids.append(k.signin(k.by_attacker(u, t + 15 * MINUTE, proxy, ip)))
    k.label("success_after_failures", "success_after_failures", alert=True, users=[u.upn],
            time=t + 15 * MINUTE, window=(t, t + 20 * MINUTE), event_ids=ids,
            description="6 x 50126 then a success from the same IP within 15 minutes")

    # MFA fatigue: six denied pushes, then the tired user approves.
    u = k.victim()
    t = k.at(day + 1, 22.0 - u.utc_offset_h)
    proxy = k.proxy()
    ip = proxy.address(k.rng)
    ids = [k.signin(k.by_attacker(u, t + i * 80, proxy, ip, error=500121)) for i in range(6)]
    ids.append(k.signin(k.by_attacker(u, t + 9 * MINUTE, proxy, ip, mfa=True,
                                      ca_status="success")))  # fmt: skip
    k.label("mfa_fatigue", "mfa_fatigue", alert=True, users=[u.upn], time=t + 9 * MINUTE,
            window=(t, t + 10 * MINUTE), event_ids=ids,
            also=("success_after_failures", "brute_force"),
            description="6 x 500121 in 7 minutes, then an approved sign-in (high)")

    # Smart lockout across the tenant: 22 users locked within 50 minutes.
    crowd = k.crowd(22)
    t = k.at(day + 2, 0.5)
    proxy = k.proxy()
    ips = [proxy.address(k.rng) for _ in range(3)]
    ids = []
    for i, v in enumerate(crowd):
        s = t + i * 130
        for j, code in enumerate((50126, 50126, 50053)):
            ids.append(k.signin(k.by_attacker(v, s + j * 20, proxy, ips[i % 3], error=code,
                                              user_agent=SPRAY_UA)))  # fmt: skip
    k.label("account_lockouts", "account_lockouts", alert=True, users=[v.upn for v in crowd],
            time=t + 21 * 130 + 40, window=(t, t + HOUR), event_ids=ids,
            also=("password_spray",), description="22 users hit 50053 within 50 minutes")

