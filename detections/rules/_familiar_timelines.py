"""Timelines of a user's own devices and networks, for the familiarity cases of
``impossible_travel`` and ``session_multiple_ips`` (inline RuleTests and the tests).

Alice works on her managed laptop (``dev-1``) at home in Seattle (a residential carrier,
AS7922) every morning; her registered phone sits on a mobile carrier (AS21928) whose
addresses geolocate to Chicago, 2,800 km away in the same country. The office NAT and the
corporate VPN are trusted named locations. Days count back from ``T0`` (day 0 is the
judged one), so two weeks of history are past the familiarity warm-up.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from detections.model import Device, Location, SignIn
from detections.testing import T0, sign_in

DAY = timedelta(days=1)
CHICAGO = Location(city="Chicago", state="Illinois", country="US", latitude=41.88,
                   longitude=-87.63)
PHONE = Device(device_id="dev-phone", os="iOS 18", browser="Safari")
NEW_PHONE = Device(device_id="dev-phone-2", os="Android 15", browser="Chrome Mobile")
HOME: dict[str, Any] = {"autonomous_system_number": 7922, "ip_address": "203.0.113.10"}
CARRIER: dict[str, Any] = {"autonomous_system_number": 21928, "location": CHICAGO}
VPN: dict[str, Any] = {"autonomous_system_number": 3356, "ip_address": "192.0.2.40",
                       "trusted_location": True, "named_networks": ("Corporate VPN",)}
OFFICE: dict[str, Any] = {"autonomous_system_number": 701, "ip_address": "198.51.100.20",
                          "trusted_location": True, "named_networks": ("Seattle office",)}
VPS: dict[str, Any] = {"autonomous_system_number": 14061, "ip_address": "45.55.10.10"}
# A residential proxy: an ordinary home carrier's address, rented by the attacker.
PROXY: dict[str, Any] = {"autonomous_system_number": 7018, "ip_address": "99.99.1.1"}
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/130.0"


def desk(day: int, **overrides: Any) -> SignIn:
    """Alice on her laptop at home, 09:00 of ``day`` days before T0."""
    fields = {**HOME, "user_agent": BROWSER, "session_id": f"desk-{day}", **overrides}
    return sign_in(id=f"desk{day}", time=T0 - day * DAY, **fields)


def phone(day: int, device: Device = PHONE, **overrides: Any) -> SignIn:
    """Alice's phone on its carrier, geolocated to Chicago, 09:30 of that day."""
    fields = {**CARRIER, "ip_address": f"172.56.{day % 250}.9",
              "session_id": f"{device.device_id}-{day}", **overrides}
    return sign_in(id=f"{device.device_id}-{day}", time=T0 - day * DAY + timedelta(minutes=30),
                   device=device, **fields)


def weeks_of_desk_and_phone(days: int = 14) -> tuple[SignIn, ...]:
    return tuple(s for d in range(days, 0, -1) for s in (desk(d), phone(d)))


def weeks_with_new_phone(days: int = 14, bought: int = 7) -> tuple[SignIn, ...]:
    """Desk every day; the old phone until last week, then the new one daily."""
    return tuple(s for d in range(days, 0, -1)
                 for s in (desk(d), phone(d) if d > bought else phone(d, NEW_PHONE)))


def session(day: int, minutes: int, name: str, **overrides: Any) -> SignIn:
    """A sign-in of Alice's laptop session ``sess-<day>``, ``minutes`` after 09:00."""
    fields = {**HOME, "user_agent": BROWSER, "session_id": f"sess-{day}", **overrides}
    return sign_in(id=f"{name}{day}", time=T0 - day * DAY + timedelta(minutes=minutes), **fields)


def weeks_of_home_vpn_office(days: int = 14) -> tuple[SignIn, ...]:
    """Each day one laptop session: home at 09:00, the VPN at 09:20, the office at 09:50."""
    return tuple(s for d in range(days, 0, -1)
                 for s in (session(d, 0, "home"), session(d, 20, "vpn", **VPN),
                           session(d, 50, "office", **OFFICE)))
