"""The incident timeline: its evidence in time order, thinned when long.

A long timeline keeps its first and last entries, every entry an alert fired on,
every detection, risky-user record and directory audit, and the turning points: a
sign-in whose result, country, address, device or risk differs from the one before it
(failures turning into a success score highest). What is left out becomes an ``omitted``
entry in its place that says how many entries it stands for, so the reader sees where the
gaps are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from detections.incidents.model import Evidence

MAX_KEPT = 200  # entries an incident keeps for later revisions
SHOWN = 30  # entries a published timeline shows
FAILURES = frozenset({"credential_failure", "mfa_failure", "policy_block", "other"})
_KIND_ORDER = {"detection": 0, "risky_user": 1, "signin": 2, "audit": 3, "omitted": 4}


def order_key(item: Evidence) -> tuple[object, ...]:
    return (item.time, _KIND_ORDER[item.kind], item.event_id or "")


def turn_score(before: Evidence | None, item: Evidence) -> int:
    """How much ``item`` changes the story after ``before``: one point per changed field
    (result, country, address, device, risk), three for failures turning into a success."""
    if before is None:
        return 1
    pairs = (
        (before.result, item.result), (before.country, item.country), (before.ip, item.ip),
        (before.device, item.device), (before.risk, item.risk),
    )
    score = sum(1 for old, new in pairs if old != new)
    if before.result in FAILURES and item.result == "success":
        score += 3
    return score


def _marker(first: Evidence, count: int) -> Evidence:
    return Evidence(time=first.time, kind="omitted", event_id=None,
                    summary=f"{count} entries left out", omitted=count)


def thin(items: Iterable[Evidence], limit: int) -> tuple[Evidence, ...]:
    """At most ``limit`` real entries in time order, with ``omitted`` markers for gaps."""
    ordered = sorted(items, key=order_key)
    real = [i for i, e in enumerate(ordered) if e.kind != "omitted"]
    if len(real) <= limit and not _adjacent_markers(ordered):
        return tuple(ordered)
    must = [i for pos, i in enumerate(real)
            if pos in (0, len(real) - 1) or ordered[i].alerted or ordered[i].kind != "signin"]
    keep = set(must[:1] + must[-1:])
    for i in must[1:-1]:
        if len(keep) >= limit:
            break
        keep.add(i)
    previous: Evidence | None = None
    turns: list[tuple[int, int]] = []
    for i in real:
        turns.append((-turn_score(previous, ordered[i]), i))
        previous = ordered[i]
    for _, i in sorted(turns):
        if len(keep) >= limit:
            break
        keep.add(i)
    return tuple(_with_markers(ordered, keep))


def _adjacent_markers(ordered: Sequence[Evidence]) -> bool:
    return any(a.kind == b.kind == "omitted" for a, b in pairwise(ordered))


def _with_markers(ordered: Sequence[Evidence], keep: set[int]) -> list[Evidence]:
    out: list[Evidence] = []
    gap: list[Evidence] = []
    for i, item in enumerate(ordered):
        if i in keep:
            if gap:
                out.append(_marker(gap[0], _gap_size(gap)))
                gap = []
            out.append(item)
        else:
            gap.append(item)
    if gap:
        out.append(_marker(gap[0], _gap_size(gap)))
    return out


def _gap_size(gap: Sequence[Evidence]) -> int:
    return sum(e.omitted if e.kind == "omitted" else 1 for e in gap)


def omitted_count(items: Iterable[Evidence]) -> int:
    return sum(e.omitted for e in items if e.kind == "omitted")


@dataclass(slots=True)
class EvidenceLog:
    """Bounded evidence of one incident as it streams in (time order not required):
    thinned to ``limit`` whenever it holds half as many again, so memory stays bounded."""

    limit: int = MAX_KEPT
    items: list[Evidence] = field(default_factory=list)
    # Ids of evidence taken from the correlation history: the same sign-in arriving
    # again live (or from a second address's window) must not count twice. Live events
    # arrive once (the engine's history recognises re-reads), so only these are kept.
    seeded: set[str] = field(default_factory=set)

    def seed(self, item: Evidence) -> bool:
        """Add evidence recalled from history; True when it was not in yet."""
        if item.event_id is None or item.event_id in self.seeded:
            return False
        self.seeded.add(item.event_id)
        self._keep(item)
        return True

    def add(self, item: Evidence) -> bool:
        """Add live evidence; True unless history already supplied it."""
        if item.event_id is not None and item.event_id in self.seeded:
            return False
        self._keep(item)
        return True

    def _keep(self, item: Evidence) -> None:
        self.items.append(item)
        if len(self.items) >= self.limit + self.limit // 2 + 1:
            self.items = list(thin(self.items, self.limit))

    def kept(self) -> tuple[Evidence, ...]:
        return thin(self.items, self.limit)


def shown(items: Iterable[Evidence], limit: int = SHOWN) -> tuple[Evidence, ...]:
    """The published timeline: the kept evidence thinned to ``limit`` entries."""
    return thin(items, limit)
