"""Benign look-alikes of a user's own devices and networks (issue 18): each is labelled
with the rules that must stay quiet on it once the user's familiarity has warmed up (the
last days of the window; ``detections.familiarity`` needs 7 days of history)."""

from __future__ import annotations

from synth import geo
from synth.kit import Kit
from synth.tenant import HOUR, MINUTE, Device, User, new_id

# The corporate VPN of this tenant: a trusted named location (Microsoft's own network is
# ignored by the session rule anyway, so the VPN here is a provider of its own).
CORPORATE_VPN = geo.Network("Contoso corporate VPN", 62044, "*", "cloud", ("165.225",))
TRUSTED_VPN = [{"networkType": "trustedNamedLocation", "networkNames": ["Contoso VPN"]}]


def _far_cities(user: User) -> list[geo.City]:
    # Far enough for impossible travel in 30 minutes (500 km, 800 km/h), same country.
    return [c for c in geo.cities_in(user.home.country) if geo.distance_km(user.home, c) > 600]


def _user(k: Kit, *, device_id: bool = False) -> User | None:
    """A free ordinary user with a phone, living in a country with cities far apart (a
    registered laptop when asked), first at work on day 0 (the warm-up counts from it);
    None when the tenant has none left (a small one: the look-alike is left out)."""
    pool = [u for u in k.users if u.index not in k.taken and not u.stays
            and u.first_active == k.start and _far_cities(u) and u.phone is not None
            and (not device_id or u.laptop.device_id)]  # fmt: skip
    if not pool:
        return None
    user = k.rng.choice(pool)
    k.taken.add(user.index)
    k.signin(k.attempt(user, k.at(0, 8.0 - user.utc_offset_h)))
    return user


def _at_home(k: Kit, user: User, phone: Device, days: range) -> list[str]:
    """The phone on its carrier at home, 18:00 local each of ``days``."""
    return [k.signin(k.attempt(user, k.at(d, 18.0 - user.utc_offset_h), device=phone,
                               ip=user.mobile.address(k.rng), asn=user.mobile.asn))
            for d in days]  # fmt: skip


def _far_city(k: Kit, user: User) -> geo.City:
    return k.rng.choice(_far_cities(user))


def _desk_and_far_phone(k: Kit, user: User, phone: Device, day: int,
                        city: geo.City) -> list[str]:
    """The laptop at home at 09:00 local, the phone on its carrier 30 minutes later,
    geolocated to ``city`` hundreds of kilometres away."""
    t = k.at(day, 9.0 - user.utc_offset_h)
    k.reserve(user, t - HOUR, t + HOUR)
    desk = k.signin(k.attempt(user, t))
    far = k.signin(k.attempt(user, t + 30 * MINUTE, city=city, device=phone,
                             ip=user.mobile.address(k.rng), asn=user.mobile.asn))
    return [desk, far]


def familiarity_lookalikes(k: Kit) -> None:
    last_days = range(k.days - 2, k.days)

    # A registered phone whose carrier geolocates far away, every day (it was at home on
    # the same carrier all week): a known device on a known network, however far the city.
    u = _user(k, device_id=True)
    if u is None or u.phone is None:
        return
    city = _far_city(k, u)
    ids = _at_home(k, u, u.phone, range(1, k.days - 2))
    ids += [i for d in last_days for i in _desk_and_far_phone(k, u, u.phone, d, city)]
    k.label_quiet("carrier_phone_far_away", ("impossible_travel",), u,
                  k.at(last_days[0], 0), k.at(k.days, 0), ids,
                  f"laptop at home in {u.home.name}, the phone (at home all week) on "
                  f"{u.mobile.name} (AS{u.mobile.asn}) geolocated to {city.name} 30 minutes "
                  "later, daily")

    # The same user's registered laptop, one browser, one session: home, then the trusted
    # corporate VPN (the day before the phone's first trip, at 13:00 local).
    t = k.at(k.days - 3, 13.0 - u.utc_offset_h)
    k.reserve(u, t - HOUR, t + 2 * HOUR)
    session = new_id(k.rng)
    ids = [k.signin(k.attempt(u, t, session_id=session))]
    for i, minutes in enumerate((20, 45, 70)):
        ids.append(k.signin(k.attempt(
            u, t + minutes * MINUTE, session_id=session, ip=CORPORATE_VPN.address(k.rng),
            asn=CORPORATE_VPN.asn, interactive=i == 0,
            extra={"networkLocationDetails": TRUSTED_VPN})))
    k.label_quiet("laptop_home_to_vpn", ("session_multiple_ips", "impossible_travel"), u, t,
                  t + 2 * HOUR, ids, f"one laptop session from home (AS{u.broadband.asn}) to "
                  f"the corporate VPN (AS{CORPORATE_VPN.asn}, a trusted named location)")

    # A phone bought a week ago: used daily at home since, then on the far-away carrier.
    u = _user(k)
    if u is None or u.phone is None:
        return
    bought = Device(new_id(k.rng), f"PHONE-{u.upn.upper()[:6]}-NEW", u.phone.profile, True,
                    True)
    first = k.days - 7
    ids = _at_home(k, u, bought, range(first, k.days - 2))
    city = _far_city(k, u)
    ids += [i for d in last_days for i in _desk_and_far_phone(k, u, bought, d, city)]
    k.label_quiet("new_phone_last_week", ("impossible_travel",), u, k.at(last_days[0], 0),
                  k.at(k.days, 0), ids, f"a new phone from day {first}, used daily at home, "
                  f"then on its carrier geolocated to {city.name}")  # fmt: skip
