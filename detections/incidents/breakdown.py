"""The incident breakdown: sign-ins by result, places, addresses, devices and apps.

Counts are exact; the number of distinct keys per list is bounded (``MAX_KEYS``,
the rest counted under ``OTHER``), so an incident that meets a storm of addresses
stays small. A tally can be rebuilt from a published ``Breakdown`` and added to, so a
later revision extends the counts instead of recounting.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from detections.enrich import BusinessHours
from detections.incidents.model import RESULT_CLASSES, Breakdown, Evidence

MAX_KEYS = 50  # distinct countries, addresses, devices or apps listed
MAX_CITIES = 20  # distinct cities listed per country
OTHER = "(other)"
UNKNOWN = "(unknown)"


def _bounded(counter: Counter[str], key: str, limit: int) -> str:
    return key if key in counter or len(counter) < limit else OTHER


@dataclass(slots=True)
class BreakdownTally:
    """Adds sign-in evidence to exact, bounded counts; ``freeze`` gives the Breakdown."""

    hours: BusinessHours = field(default_factory=BusinessHours)
    results: Counter[str] = field(default_factory=Counter)
    countries: Counter[str] = field(default_factory=Counter)
    cities: dict[str, list[str]] = field(default_factory=dict)
    ips: Counter[str] = field(default_factory=Counter)
    asns: dict[str, int | None] = field(default_factory=dict)
    devices: Counter[str] = field(default_factory=Counter)
    device_kinds: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    apps: Counter[str] = field(default_factory=Counter)
    off_hours: int = 0
    weekend: int = 0

    def add(self, item: Evidence) -> None:
        """Count one sign-in (other evidence kinds are in the timeline, not the counts)."""
        if item.kind != "signin":
            return
        result = item.result if item.result in RESULT_CLASSES else "other"
        self.results[result or "other"] += 1
        if item.country:
            country = _bounded(self.countries, item.country, MAX_KEYS)
            self.countries[country] += 1
            cities = self.cities.setdefault(country, [])
            if item.city and item.city not in cities and len(cities) < MAX_CITIES:
                cities.append(item.city)
        if item.ip:
            ip = _bounded(self.ips, item.ip, MAX_KEYS)
            self.ips[ip] += 1
            if item.asn is not None or ip not in self.asns:
                self.asns[ip] = item.asn if ip != OTHER else None
        device = _bounded(self.devices, item.device or UNKNOWN, MAX_KEYS)
        self.devices[device] += 1
        if device not in self.device_kinds or item.os or item.browser:
            self.device_kinds[device] = (item.os, item.browser) if device != OTHER else (None, None)
        if item.app:
            self.apps[_bounded(self.apps, item.app, MAX_KEYS)] += 1
        described = self.hours.describe(item.time)
        self.off_hours += bool(described["outside_business_hours"])
        self.weekend += bool(described["weekend"])

    def add_all(self, items: list[Evidence] | tuple[Evidence, ...]) -> BreakdownTally:
        for item in items:
            self.add(item)
        return self

    def freeze(self) -> Breakdown:
        def ranked(counter: Counter[str]) -> list[tuple[str, int]]:
            return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))

        return Breakdown(
            signins=tuple((name, self.results.get(name, 0)) for name in RESULT_CLASSES),
            countries=tuple(
                (c, tuple(sorted(self.cities.get(c, ()))), n) for c, n in ranked(self.countries)
            ),
            ips=tuple((ip, self.asns.get(ip), n) for ip, n in ranked(self.ips)),
            devices=tuple(
                (d, *self.device_kinds.get(d, (None, None)), n) for d, n in ranked(self.devices)
            ),
            apps=tuple(ranked(self.apps)),
            off_hours=self.off_hours,
            weekend=self.weekend,
        )

    @classmethod
    def of(cls, breakdown: Breakdown, hours: BusinessHours | None = None) -> BreakdownTally:
        """A tally that continues ``breakdown`` (a stored incident's counts)."""
        tally = cls(hours=hours or BusinessHours())
        tally.results.update(dict(breakdown.signins))
        for country, cities, n in breakdown.countries:
            tally.countries[country] = n
            tally.cities[country] = list(cities)
        for ip, asn, n in breakdown.ips:
            tally.ips[ip] = n
            tally.asns[ip] = asn
        for device, os_name, browser, n in breakdown.devices:
            tally.devices[device] = n
            tally.device_kinds[device] = (os_name, browser)
        tally.apps.update(dict(breakdown.apps))
        tally.off_hours, tally.weekend = breakdown.off_hours, breakdown.weekend
        return tally


def breakdown_of(items: list[Evidence] | tuple[Evidence, ...],
                 hours: BusinessHours | None = None) -> Breakdown:
    return BreakdownTally(hours=hours or BusinessHours()).add_all(items).freeze()
