"""Benign look-alikes (seed 002's cautions): each is labelled with the rules that must stay
quiet on it."""

from __future__ import annotations

from synth import geo
from synth.kit import Kit
from synth.tenant import DAY, HOUR, MINUTE, App, Stay, add_trip, build_users

CONSENT_APP = App("Contoso Expenses", "5b1f9f0e-8c3e-4a57-9b6e-2d4f0a7c1e93", "Microsoft Graph",
                  "00000003-0000-0000-c000-000000000000", "Browser")  # fmt: skip


def _weekend(k: Kit) -> int:
    """The first Saturday of the window (day index)."""
    for day in range(k.days):
        if (int((k.start + day * DAY) // DAY) + 3) % 7 == 5:
            return day
    raise ValueError("stories need a weekend inside the window (at least 7 days)")


def travel_lookalikes(k: Kit) -> None:
    # Five cities of one country over a weekend: one phone, one carrier, one session.
    sat = _weekend(k)
    try:
        u = k.victim(("US",))  # the country with the most cities in the table
    except ValueError:
        u = k.victim()
    big = u.home.country
    t0 = k.at(sat, 0)
    k.reserve(u, t0, t0 + 2 * DAY)
    cities = list(geo.cities_in(big))[:5]
    session = k.attempt(u, t0).session_id
    ids = []
    for i, city in enumerate(cities):
        for j in range(3):
            t = t0 + (8 + i * 7.5 + j * 1.5) * HOUR
            a = k.attempt(u, t, city=city, ip=u.mobile.address(k.rng), asn=u.mobile.asn,
                          device=u.phone or u.laptop, session_id=session, interactive=j == 0)
            ids.append(k.signin(a))
    k.label_quiet("five_cities_weekend", ("impossible_travel", "session_multiple_ips",
                  "unfamiliar_country"), u, t0, t0 + 2 * DAY, ids,
                  f"{len(cities)} cities of {big} in one weekend on carrier AS{u.mobile.asn}: "
                  "carrier routing, same device, same country")  # fmt: skip

    # 5-10 addresses of one mobile carrier in one session on a Saturday.
    u = k.victim()
    t0 = k.at(sat + 1, 9 - u.utc_offset_h)
    k.reserve(u, t0 - HOUR, t0 + 8 * HOUR)
    session = k.attempt(u, t0).session_id
    ids = []
    for i in range(8):
        a = k.attempt(u, t0 + i * 50 * MINUTE, ip=u.mobile.address(k.rng), asn=u.mobile.asn,
                      device=u.phone or u.laptop, session_id=session, interactive=i == 0)
        ids.append(k.signin(a))
    k.label_quiet("carrier_ips", ("session_multiple_ips", "impossible_travel"), u, t0,
                  t0 + 7 * HOUR, ids, f"8 addresses of {u.mobile.name} (AS{u.mobile.asn}) "
                  "in one session, one city")  # fmt: skip

    # A long-haul flight at airliner speed, early in the window.
    u = k.victim(("GB", "DE", "FR", "NL", "US"))
    dest = k.abroad(u, min_km=5000, max_km=10000)
    depart = k.at(1, 7.0)
    home_id = k.signin(k.attempt(u, depart - 2 * HOUR))
    back = add_trip(u, dest, depart, nights=2, rng=k.rng)
    landed = depart + geo.flight_hours(u.home, dest) * HOUR
    k.label_quiet("long_haul_flight", ("impossible_travel", "unfamiliar_country"), u,
                  depart - 2 * HOUR, back, [home_id],
                  f"{u.home.name} -> {dest.name} ({geo.distance_km(u.home, dest):.0f} km) and "
                  f"back, flights of {(landed - depart) / HOUR:.1f} h door to door; ordinary "
                  "sign-ins at the destination")  # fmt: skip

    # A new joiner whose first week starts abroad: no baseline yet.
    new = build_users(k.rng, 1, k.start)[0]
    new.index = len(k.users)
    new.upn = f"new.joiner@{new.upn.split('@')[1]}"
    new.display_name = "New Joiner"
    k.users.append(new)
    first = k.at(k.days - 3, 0)
    dest = k.abroad(new, min_km=1500, max_km=9000)
    new.stays.append(Stay(0, first, None))
    add_trip(new, dest, first - geo.flight_hours(new.home, dest) * HOUR, nights=2, rng=k.rng)
    new.first_active = first
    k.taken.add(new.index)
    k.label_quiet("new_user_abroad", ("unfamiliar_country", "impossible_travel"), new, first,
                  k.at(k.days, 0), [], f"user created {k.days - 3} days in; first sign-ins in "
                  f"{dest.name} ({dest.country}), then home in {new.home.country}")  # fmt: skip


def failure_lookalikes(k: Kit) -> None:
    # A 65001 storm: an app without admin consent, 16 users through the corporate VPN.
    crowd = k.crowd(16)
    t0 = k.at(k.days - 2, 8.0)
    ip = geo.VPN.address(k.rng)
    ids = []
    for i, v in enumerate(crowd):
        for j in range(2):
            a = k.attempt(v, t0 + i * 70 + j * 15, app=CONSENT_APP, ip=ip, asn=geo.VPN.asn,
                          error=65001)
            ids.append(k.signin(a))
    # One keen user retries twelve times in ten minutes, then consent is granted.
    keen = crowd[0]
    for i in range(12):
        ids.append(k.signin(k.attempt(keen, t0 + 30 * MINUTE + i * 45, app=CONSENT_APP, ip=ip,
                                      asn=geo.VPN.asn, error=65001)))  # fmt: skip
    ids.append(k.signin(k.attempt(keen, t0 + 45 * MINUTE, app=CONSENT_APP, ip=ip,
                                  asn=geo.VPN.asn, mfa=True, ca_status="success")))
    k.label_quiet("consent_storm_65001", ("password_spray", "brute_force", "account_lockouts",
                  "success_after_failures"), keen, t0, t0 + HOUR, ids,
                  "65001 (admin consent missing) for 16 users from one IP, one user 14 times "
                  "then success: not a credential attack", users=[v.upn for v in crowd])

    # MFA interrupts: 50074/50076 are prompts, not denials.
    u = k.victim()
    t0 = k.at(k.days - 2, 9.0 - u.utc_offset_h)
    ids = [k.signin(k.attempt(u, t0 + i * 70, error=(50074, 50076)[i % 2])) for i in range(8)]
    ids.append(k.signin(k.attempt(u, t0 + 10 * MINUTE, mfa=True, ca_status="success")))
    k.label_quiet("mfa_interrupts", ("mfa_fatigue", "brute_force", "success_after_failures"),
                  u, t0, t0 + 15 * MINUTE, ids, "8 MFA-required interrupts then success")

    # A high risk an administrator dismissed.
    u = k.victim()
    t0 = k.at(k.days - 3, 16.0)
    a = k.attempt(u, t0, risk_during="high", risk_aggregated="high", risk_state="dismissed",
                  risk_detail="adminDismissedAllRiskForUser",
                  risk_types=("unfamiliarFeatures",))  # fmt: skip
    sid = k.signin(a)
    did = k.detection(a, risk_type="unfamiliarFeatures", level="high", state="dismissed",
                      detail="adminDismissedAllRiskForUser", detected_after=20,
                      updated_after=3 * HOUR)  # fmt: skip
    rid = k.risky_user(u, t0 + 3 * HOUR, "none", "dismissed", "adminDismissedAllRiskForUser")
    k.label_quiet("dismissed_high_risk", ("signin_risk_detection", "risk_level_passthrough",
                  "high_risk_signin_succeeded", "user_risk_detection"), u, t0, t0 + 4 * HOUR,
                  [sid, did, rid], "high risk, dismissed by an administrator")  # fmt: skip
