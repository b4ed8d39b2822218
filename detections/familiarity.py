"""What a user's own sign-ins look like: known devices, networks and places.

Learned from the user's successful sign-ins (not risky, not through an anonymizer) and
kept per user in the correlation history: each device (device id, else OS/browser),
network (autonomous system and /24 or /48 prefix) and place (country and city) with
its first and last sighting and a count. Bounded per kind (the least recently seen goes
first) and forgotten ``RETENTION`` after its last sighting. Nothing is "known" before the
user has ``WARMUP`` of history (``unfamiliar_country``'s warm-up): a new deployment does
not know anybody yet.

Compact: one array per user, four unsigned 32-bit numbers a key (its tag, first and last
second since the epoch, count), no object or string per key. A tag is the kind in its top
four bits and 28 bits of the key: an IPv4 /24 or an ASN below 2**28 itself, else (device,
place, IPv6 /48, a larger ASN) its CRC-32. Two of one user's keys sharing a CRC is a
chance of about 1 in 10**7: the cost would be one key read as known.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from ipaddress import ip_network
from typing import TYPE_CHECKING, Any, cast
from zlib import crc32

if TYPE_CHECKING:
    _Numbers = array[int]
else:
    _Numbers = array  # not subscriptable at run time

RETENTION = timedelta(days=30)  # the baseline window: unfamiliar_country's default
WARMUP = timedelta(days=7)  # history needed before anything is "known"
# Kinds (a tag's top four bits) and how many of each a user keeps (networks share a cap).
DEVICE, ASN, PREFIX, PLACE = 1, 2, 3, 4
CAPS = {DEVICE: 16, ASN: 32, PLACE: 32}
_GROUP = {DEVICE: DEVICE, ASN: ASN, PREFIX: ASN, PLACE: PLACE}
_LOW = (1 << 28) - 1
_MAX = 2**32 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STRIDE = 4  # tag, first, last, count


def seconds(time: datetime) -> int:
    return max(0, min(_MAX, int((time - _EPOCH).total_seconds())))


def _tag(kind: int, value: int) -> int:
    return (kind << 28) | (value & _LOW)


def _text_tag(kind: int, text: str) -> int:
    return _tag(kind, crc32(text.encode("utf-8", "surrogatepass")))


def device_key(device: str | None) -> int | None:
    """A device fingerprint's tag (``correlation_history.device_of``)."""
    return _text_tag(DEVICE, device) if device else None


def asn_key(asn: int | None) -> int | None:
    if not asn:
        return None
    return _tag(ASN, asn) if asn <= _LOW else _text_tag(ASN, str(asn))


def prefix_key(ip: str | None) -> int | None:
    """The tag of the /24 of an IPv4 address or the /48 of an IPv6 one, else None."""
    if not ip:
        return None
    if ":" not in ip:
        parts = ip.split(".")
        if len(parts) != 4:
            return None
        try:
            a, b, c = (int(p) for p in parts[:3])
        except ValueError:
            return None
        return _tag(PREFIX, (a << 16 | b << 8 | c) & 0xFFFFFF) if max(a, b, c) < 256 else None
    try:
        net = ip_network(f"{ip.split('%', 1)[0]}/48", strict=False)
    except ValueError:
        return None
    return _text_tag(PREFIX, str(net))


def network_keys(asn: int | None, ip: str | None) -> tuple[int | None, int | None]:
    return (asn_key(asn), prefix_key(ip))


def place_key(country: str | None, city: str | None) -> int | None:
    if not country or not city:
        return None
    return _text_tag(PLACE, f"{country.upper()}|{city.lower()}")


class Familiarity(_Numbers):
    """One user's known devices, networks and places: ``_STRIDE`` numbers a key."""

    __slots__ = ()

    def __new__(cls) -> Familiarity:
        return cast(Familiarity, super().__new__(cls, "I"))

    def __len__(self) -> int:
        return super().__len__() // _STRIDE

    def _at(self, tag: int) -> int:
        """The index of ``tag``'s entry, else -1 (a tag equal to a time or count is no match)."""
        at = -1
        while True:
            try:
                at = self.index(tag, at + 1)
            except ValueError:
                return -1
            if at % _STRIDE == 0:
                return at

    def learn(self, keys: Iterable[int | None], time: datetime) -> bool:
        """Count one sighting of each key at ``time``; False when nothing was given."""
        now = seconds(time)
        learned = False
        for tag in keys:
            if not tag:
                continue
            learned = True
            at = self._at(tag)
            if at < 0:
                self.extend((tag, now, now, 1))
                self._trim(tag >> 28, now)
                continue
            # Comparisons, not min() and max(): three calls fewer on every known key of a success.
            if now < self[at + 1]:
                self[at + 1] = now
            if now > self[at + 2]:
                self[at + 2] = now
            count = self[at + 3]
            self[at + 3] = count + 1 if count < _MAX else _MAX
        return learned

    def _trim(self, kind: int, now: int) -> None:
        # Only when a key was added: the common sighting of a known key costs no scan.
        lasts = self[2::_STRIDE]
        horizon = max(now, max(lasts)) - int(RETENTION.total_seconds())
        for i in reversed(range(len(lasts))):
            if lasts[i] < horizon:
                del self[_STRIDE * i : _STRIDE * i + _STRIDE]
        group = _GROUP.get(kind, kind)
        same = [i for i in range(0, super().__len__(), _STRIDE)
                if _GROUP.get(self[i] >> 28) == group]
        if len(same) > CAPS[group]:
            oldest = min(same, key=lambda i: self[i + 2])
            del self[oldest : oldest + _STRIDE]

    def seen(self, key: int | None) -> tuple[datetime, datetime, int] | None:
        """(first, last, count) of ``key``, else None."""
        at = self._at(key) if key else -1
        if at < 0:
            return None
        return (_EPOCH + timedelta(seconds=self[at + 1]),
                _EPOCH + timedelta(seconds=self[at + 2]), self[at + 3])

    def known(self, key: int | None, at: datetime, baseline: timedelta = RETENTION) -> bool:
        """Seen before ``at`` (not first by the sign-in at ``at`` itself) and within
        ``baseline`` of it."""
        i = self._at(key) if key else -1
        if i < 0:
            return False
        when = seconds(at)
        return self[i + 1] < when and self[i + 2] >= when - int(baseline.total_seconds())

    def known_network(self, asn: int | None, ip: str | None, at: datetime) -> bool:
        """The network is known: its autonomous system, else its /24 or /48 prefix."""
        return any(self.known(k, at) for k in network_keys(asn, ip))

    def to_list(self) -> list[list[int]]:
        return [list(self[i : i + _STRIDE]) for i in range(0, super().__len__(), _STRIDE)]

    @classmethod
    def from_list(cls, rows: Iterable[list[Any]]) -> Familiarity:
        known = cls()
        for row in rows:
            values = [max(0, min(_MAX, int(v))) for v in row[:_STRIDE]]
            if len(values) == _STRIDE and (values[0] >> 28) in _GROUP:
                known.extend(values)  # a kind this version does not know is learned again
        return known
