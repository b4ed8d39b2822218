"""The tenant's failures a distributed password spray is read from (``detections.spray``).

Every password accepted in time order reads the failures of one error code in the window
before it: the entries of the sign-in before it, mostly, so their spread (the failures,
their users and their addresses) is built once and reused while the window holds the same
entries. Nothing here decides a spray: it only reads the window.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta
from operator import attrgetter
from typing import cast

from detections.history_records import Attempt
from detections.rule import Context
from detections.windows import between, busiest, with_event

_user = attrgetter("user")
_ip = attrgetter("ip")
_NO_IP = frozenset({None, ""})  # an attempt without an address is from none of the spray's
_event_id = attrgetter("event_id")
_time = attrgetter("time")


def _same_code(
    ctx: Context, code: int, at: datetime, span: timedelta, record: Attempt | None
) -> list[Attempt]:
    """The tenant's failures with ``code`` that ``busiest`` can read around ``at`` (within
    ``span`` of it: the same windows as from all of them), with the failure judged."""
    failures = ctx.history.tenant.failures
    if record is not None and record.event_id in map(_event_id, failures):
        # Seen again (a re-read): counted once, wherever the window holds it.
        return with_event([a for a in failures if a.code == code], record)
    near = between(failures, at - span, at + span)
    same = [a for a in near if a.code == code]
    return same if record is None else with_event(same, record)


Spread = tuple[list[Attempt], set[str], tuple[str, ...]]  # failures, their users and IPs


def tenant_spread(
    ctx: Context, code: int, at: datetime, span: timedelta, record: Attempt | None
) -> Spread:
    """The busiest window of the tenant's failures with ``code`` around ``at``, its users
    and its IPs (sorted). A password accepted in time order (nothing later in the window)
    reads the failures of ``[at - span, at]``: the same entries as the sign-in before it,
    mostly, so their spread is reused while those entries are the same ones."""
    failures = ctx.history.tenant.failures
    key: tuple[object, ...] | None = None
    if record is None and (not failures or failures[-1].time <= at):
        low = bisect.bisect_left(failures, at - span, key=_time)
        high = bisect.bisect_right(failures, at, lo=low, key=_time)
        # Entries are only ever added or trimmed from the oldest end, once each: a range
        # with the same first and last entry and as many entries holds the same ones.
        key = (failures, code, high - low) + (
            (failures[low].event_id, failures[high - 1].event_id) if high > low else ()
        )
        found = ctx.history.derived.get("spray_spread")
        if found is not None and found[0] is failures and found[1:-1] == key[1:]:
            return cast("Spread", found[-1])
    spread = busiest(_same_code(ctx, code, at, span, record), at, span, _user)
    answer = (spread, set(map(_user, spread)), tuple(sorted(set(map(_ip, spread)) - _NO_IP)))
    if key is not None:
        ctx.history.derived["spray_spread"] = (*key, answer)
    return answer
