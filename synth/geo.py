"""Places and networks of the synthetic tenant: real cities, real carriers' ASNs.

Coordinates are the cities' real ones so distances and implied speeds are true.
Ordinary users get addresses inside their ISP's real prefixes; every address an
attack story uses comes from the documentation ranges (RFC 5737, RFC 3849), so the
samples never accuse a real host.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class City:
    name: str
    state: str
    country: str  # ISO 3166 alpha-2, as Graph's countryOrRegion
    lat: float
    lon: float
    tz: str  # IANA zone: ordinary activity follows local working hours


@dataclass(frozen=True, slots=True)
class Network:
    name: str
    asn: int
    country: str
    kind: str  # broadband | mobile | cloud | hosting
    prefixes: tuple[str, ...]  # "a.b" (IPv4 /16) or "2001:db8:xx" (IPv6 /48)

    def address(self, rng: random.Random) -> str:
        prefix = rng.choice(self.prefixes)
        if ":" in prefix:
            return f"{prefix}:{rng.randrange(1, 0xFFFF):x}::{rng.randrange(1, 0xFFFF):x}"
        if prefix.count(".") == 2:  # a /24 (documentation ranges)
            return f"{prefix}.{rng.randrange(2, 254)}"
        return f"{prefix}.{rng.randrange(0, 256)}.{rng.randrange(2, 254)}"


def _c(name: str, state: str, country: str, lat: float, lon: float, tz: str) -> City:
    return City(name, state, country, lat, lon, tz)


CITIES: tuple[City, ...] = (
    _c("New York", "New York", "US", 40.7128, -74.0060, "America/New_York"),
    _c("Chicago", "Illinois", "US", 41.8781, -87.6298, "America/Chicago"),
    _c("Austin", "Texas", "US", 30.2672, -97.7431, "America/Chicago"),
    _c("Denver", "Colorado", "US", 39.7392, -104.9903, "America/Denver"),
    _c("Seattle", "Washington", "US", 47.6062, -122.3321, "America/Los_Angeles"),
    _c("San Francisco", "California", "US", 37.7749, -122.4194, "America/Los_Angeles"),
    _c("Miami", "Florida", "US", 25.7617, -80.1918, "America/New_York"),
    _c("London", "England", "GB", 51.5074, -0.1278, "Europe/London"),
    _c("Manchester", "England", "GB", 53.4808, -2.2426, "Europe/London"),
    _c("Edinburgh", "Scotland", "GB", 55.9533, -3.1883, "Europe/London"),
    _c("Berlin", "Berlin", "DE", 52.5200, 13.4050, "Europe/Berlin"),
    _c("Munich", "Bavaria", "DE", 48.1351, 11.5820, "Europe/Berlin"),
    _c("Hamburg", "Hamburg", "DE", 53.5511, 9.9937, "Europe/Berlin"),
    _c("Frankfurt", "Hesse", "DE", 50.1109, 8.6821, "Europe/Berlin"),
    _c("Paris", "Ile-de-France", "FR", 48.8566, 2.3522, "Europe/Paris"),
    _c("Lyon", "Auvergne-Rhone-Alpes", "FR", 45.7640, 4.8357, "Europe/Paris"),
    _c("Amsterdam", "North Holland", "NL", 52.3676, 4.9041, "Europe/Amsterdam"),
    _c("Stockholm", "Stockholm County", "SE", 59.3293, 18.0686, "Europe/Stockholm"),
    _c("Madrid", "Madrid", "ES", 40.4168, -3.7038, "Europe/Madrid"),
    _c("Barcelona", "Catalonia", "ES", 41.3874, 2.1686, "Europe/Madrid"),
    _c("Toronto", "Ontario", "CA", 43.6532, -79.3832, "America/Toronto"),
    _c("Vancouver", "British Columbia", "CA", 49.2827, -123.1207, "America/Vancouver"),
    _c("Sydney", "New South Wales", "AU", -33.8688, 151.2093, "Australia/Sydney"),
    _c("Melbourne", "Victoria", "AU", -37.8136, 144.9631, "Australia/Melbourne"),
    _c("Tokyo", "Tokyo", "JP", 35.6762, 139.6503, "Asia/Tokyo"),
    _c("Bengaluru", "Karnataka", "IN", 12.9716, 77.5946, "Asia/Kolkata"),
    _c("Mumbai", "Maharashtra", "IN", 19.0760, 72.8777, "Asia/Kolkata"),
    _c("Singapore", "Singapore", "SG", 1.3521, 103.8198, "Asia/Singapore"),
    _c("Sao Paulo", "Sao Paulo", "BR", -23.5505, -46.6333, "America/Sao_Paulo"),
    _c("Lagos", "Lagos", "NG", 6.5244, 3.3792, "Africa/Lagos"),
)
CITY = {c.name: c for c in CITIES}

# Where ordinary employees live, weighted: a company headquartered in the US and Europe.
HOME_WEIGHTS: dict[str, float] = {
    "US": 30, "GB": 14, "DE": 12, "FR": 8, "NL": 4, "SE": 3, "ES": 4, "CA": 6,
    "AU": 5, "JP": 3, "IN": 8, "SG": 3,
}  # fmt: skip


def _n(name: str, asn: int, country: str, kind: str, *prefixes: str) -> Network:
    return Network(name, asn, country, kind, prefixes)


NETWORKS: tuple[Network, ...] = (
    _n("Comcast", 7922, "US", "broadband", "73.162", "98.207"),
    _n("AT&T", 7018, "US", "broadband", "99.40", "107.77"),
    _n("Verizon Wireless", 22394, "US", "mobile", "174.205", "97.32"),
    _n("T-Mobile USA", 21928, "US", "mobile", "172.58", "2607:fb90:1a"),
    _n("BT", 2856, "GB", "broadband", "86.128", "81.154"),
    _n("EE", 12576, "GB", "mobile", "31.94", "92.40"),
    _n("Deutsche Telekom", 3320, "DE", "broadband", "79.192", "87.150"),
    _n("Telefonica Germany", 6805, "DE", "mobile", "176.0", "2a02:3030:4"),
    _n("Orange", 3215, "FR", "broadband", "90.3", "86.246"),
    _n("SFR", 15557, "FR", "mobile", "109.7", "80.215"),
    _n("KPN", 1136, "NL", "broadband", "77.160", "145.132"),
    _n("Odido", 50266, "NL", "mobile", "62.140"),
    _n("Telia", 3301, "SE", "broadband", "78.72", "81.224"),
    _n("Tele2", 1257, "SE", "mobile", "90.224"),
    _n("Telefonica Spain", 3352, "ES", "broadband", "83.32", "88.24"),
    _n("Vodafone Spain", 12430, "ES", "mobile", "37.132"),
    _n("Bell Canada", 577, "CA", "broadband", "70.48", "142.116"),
    _n("Rogers", 812, "CA", "mobile", "99.224", "174.112"),
    _n("Telstra", 1221, "AU", "broadband", "101.160", "120.152"),
    _n("Optus", 4804, "AU", "mobile", "49.176"),
    _n("NTT", 4713, "JP", "broadband", "153.156", "180.12"),
    _n("SoftBank", 17676, "JP", "mobile", "126.204"),
    _n("Airtel", 24560, "IN", "broadband", "122.171", "106.51"),
    _n("Reliance Jio", 55836, "IN", "mobile", "49.36", "2409:4042:2"),
    _n("Singtel", 7473, "SG", "broadband", "116.14", "118.189"),
    _n("StarHub", 4657, "SG", "mobile", "101.127"),
    _n("Vivo", 26599, "BR", "broadband", "177.32"),
    _n("Claro Brasil", 28573, "BR", "mobile", "177.100"),
    _n("MainOne", 37282, "NG", "broadband", "41.75"),
    _n("MTN Nigeria", 29465, "NG", "mobile", "102.89"),
)
# The corporate VPN egresses from Azure in the user's own country.
VPN = Network("Microsoft Azure (corporate VPN)", 8075, "*", "cloud", ("20.61", "20.90", "52.137"))
# Attackers: hosting and residential-proxy ASNs, with documentation addresses only.
HOSTING = (
    Network("DigitalOcean", 14061, "*", "hosting", ("203.0.113",)),
    Network("M247", 9009, "*", "hosting", ("198.51.100",)),
    Network("OVH", 16276, "*", "hosting", ("192.0.2",)),
    Network("Residential proxy", 396982, "*", "hosting", ("2001:db8:7a",)),
)


def networks(country: str, kind: str) -> tuple[Network, ...]:
    found = tuple(n for n in NETWORKS if n.country == country and n.kind == kind)
    if not found:
        raise ValueError(f"no {kind} network for {country}")
    return found


def cities_in(country: str) -> tuple[City, ...]:
    return tuple(c for c in CITIES if c.country == country)


def distance_km(a: City, b: City) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def flight_hours(a: City, b: City) -> float:
    """Door-to-door time of a real flight: ~750 km/h cruise plus airports at both ends."""
    return distance_km(a, b) / 750.0 + 3.0
