"""The review's charts as plain geometry: pure functions of the review dict.

Each function returns frozen records (positions in SVG user units, labels as data) that
the Jinja2 macros in ``templates/charts.html.j2`` draw, so every piece of text, attacker
text included, reaches the page through autoescaping. Colours are the Okabe-Ito palette,
named by CSS class; each series also has a pattern or a shape, and a text label, so colour
is never the only cue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from detections.enrich import WEEKDAYS as DAYS
from detections.review.inventory import FAILURE_CLASSES

WIDTH = 880  # every chart's viewBox width
CLASS_LABELS = {"credential_failure": "Wrong password", "mfa_failure": "MFA failed",
                "interrupt": "Interrupted", "consent": "Consent needed",
                "policy_block": "Blocked by policy", "other": "Other failure"}
SUCCESS = "success"
MIN_GAP = 1.0  # SVG units (about a pixel): narrower business hours are not drawn apart
QUIET = "outside business hours"
QUIET_CLOSED = "outside business hours (business hours between are too short to show)"


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str  # the CSS class: colour and pattern
    label: str  # what the shape stands for, as the shape's <title>


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True, slots=True)
class HourOfWeek:
    bars: tuple[Rect, ...]
    shading: tuple[Rect, ...]  # business hours
    days: tuple[Tick, ...]
    hours: tuple[Tick, ...]
    top: int  # the y axis' top value
    rows: tuple[tuple[str, int, int, int], ...]  # day, total, in business hours, outside
    busiest: str  # e.g. "Tue 10:00 (31 sign-ins)"
    height: int


@dataclass(frozen=True, slots=True)
class Stacked:
    bars: tuple[Rect, ...]
    totals: tuple[Tick, ...]  # one per bucket, at the bar's centre
    labels: tuple[Tick, ...]  # the bucket names under the bars
    legend: tuple[tuple[str, str], ...]  # css class, label
    top: int
    height: int
    rows: tuple[tuple[str, tuple[int, ...], int], ...]  # bucket, counts by class, total


@dataclass(frozen=True, slots=True)
class CountryBars:
    bars: tuple[Rect, ...]
    labels: tuple[Tick, ...]  # country text beside each bar (x unused: left aligned)
    values: tuple[Tick, ...]  # count text at each bar's end
    height: int


@dataclass(frozen=True, slots=True)
class Mark:
    x: float
    shape: str  # circle | triangle | diamond | gap
    css: str  # result class: success | failure | neutral
    alerted: bool
    label: str


@dataclass(frozen=True, slots=True)
class Strip:
    marks: tuple[Mark, ...]
    quiet: tuple[Rect, ...]  # off-hours and weekend spans
    days: tuple[Tick, ...]
    height: int


def _nice_top(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 5 times a power of ten)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if value <= step * factor:
                return step * factor
        step *= 10


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _in_business(hours: Mapping[str, Any], day: int, hour: int) -> bool:
    start, end = _clock(hours["start"]), _clock(hours["end"])
    return day in hours["days"] and start <= time(hour) < end


def hour_of_week(counts: Sequence[int], hours: Mapping[str, Any]) -> HourOfWeek:
    """Sign-ins by local hour of the week (Monday 00:00 first), business hours shaded."""
    left, base = 40.0, 150.0  # 168 bars of 5 units each
    top = _nice_top(max([*counts, 1]))
    bars, shading, rows = [], [], []
    for day in range(7):
        inside = sum(counts[day * 24 + h] for h in range(24) if _in_business(hours, day, h))
        total = sum(counts[day * 24: day * 24 + 24])
        rows.append((DAYS[day], total, inside, total - inside))
        business = [h for h in range(24) if _in_business(hours, day, h)]
        if business:
            shading.append(Rect(left + (day * 24 + business[0]) * 5, 10, len(business) * 5,
                                base - 10, "business", f"{DAYS[day]} business hours"))
    for slot, count in enumerate(counts):
        height = (base - 10) * count / top
        day, hour = divmod(slot, 24)
        bars.append(Rect(left + slot * 5 + 0.5, base - height, 4, height, "bar",
                         f"{DAYS[day]} {hour:02d}:00, {count} sign-ins"))
    peak = max(range(len(counts)), key=lambda i: (counts[i], -i)) if counts else 0
    day, hour = divmod(peak, 24)
    busiest = f"{DAYS[day]} {hour:02d}:00 ({counts[peak] if counts else 0} sign-ins)"
    return HourOfWeek(
        bars=tuple(bars), shading=tuple(shading),
        days=tuple(Tick(left + d * 120 + 60, DAYS[d]) for d in range(7)),
        hours=tuple(Tick(left + d * 120 + h * 5, f"{h:02d}") for d in range(7) for h in (0, 12)),
        top=top, rows=tuple(rows), busiest=busiest, height=190,
    )


def _bucket_label(start: str, bucket: str, zone: ZoneInfo) -> str:
    moment = datetime.fromisoformat(start).astimezone(zone)
    return moment.strftime("%a %d %b") if bucket == "day" else moment.strftime("%a %H:%M")


def failures_over_time(failures: Mapping[str, Any], timezone: str) -> Stacked:
    """Failed sign-ins per bucket, stacked by failure class."""
    zone = ZoneInfo(timezone)
    series = list(failures["series"])
    left, plot, base = 40.0, WIDTH - 60.0, 170.0
    totals = [sum(int(item["counts"].get(c, 0)) for c in FAILURE_CLASSES) for item in series]
    top = _nice_top(max([*totals, 1]))
    slot = plot / max(len(series), 1)
    width = min(slot * 0.7, 60.0)
    bars, ticks, labels, rows = [], [], [], []
    every = max(1, len(series) // 12)  # at most about 12 bucket names under the axis
    for index, item in enumerate(series):
        x = left + index * slot + (slot - width) / 2
        y = base
        label = _bucket_label(item["start"], failures["bucket"], zone)
        counts = tuple(int(item["counts"].get(c, 0)) for c in FAILURE_CLASSES)
        for name, count in zip(FAILURE_CLASSES, counts, strict=True):
            if count:
                height = (base - 20) * count / top
                y -= height
                bars.append(Rect(x, y, width, height, f"f-{name}",
                                 f"{label}: {count} {CLASS_LABELS[name].lower()}"))
        ticks.append(Tick(x + width / 2, str(totals[index])))
        if index % every == 0:
            labels.append(Tick(x + width / 2, label))
        rows.append((label, counts, totals[index]))
    legend = tuple((f"f-{name}", CLASS_LABELS[name]) for name in FAILURE_CLASSES)
    return Stacked(bars=tuple(bars), totals=tuple(ticks), labels=tuple(labels), legend=legend,
                   top=top, height=215, rows=tuple(rows))


def countries(breakdown: Mapping[str, Any]) -> CountryBars:
    """The user's sign-ins per country, longest bar first."""
    items = list(breakdown["countries"])
    top = max([int(c["count"]) for c in items] + [1])
    left, plot, row = 70.0, WIDTH - 140.0, 22.0
    bars, labels, values = [], [], []
    for index, item in enumerate(items):
        y = 6 + index * row
        length = max(plot * int(item["count"]) / top, 1.0)
        cities = ", ".join(item["cities"])
        bars.append(Rect(left, y, length, row - 8, "country",
                         f"{item['country']}: {item['count']} sign-ins ({cities})"))
        labels.append(Tick(y + row / 2, item["country"]))
        values.append(Tick(left + length + 6, str(item["count"])))
    return CountryBars(bars=tuple(bars), labels=tuple(labels), values=tuple(values),
                       height=int(12 + row * max(len(items), 1)))


def _result_class(entry: Mapping[str, Any]) -> str:
    result = entry.get("result")
    if entry["kind"] != "signin" or result is None:
        return "neutral"
    return "success" if result == SUCCESS else "failure"


_SHAPES = {"signin": "circle", "detection": "triangle", "risky_user": "diamond",
           "audit": "square", "omitted": "gap"}


def _quiet_spans(since: datetime, until: datetime, hours: Mapping[str, Any]
                 ) -> list[tuple[datetime, datetime]]:
    """Outside business hours (weekends whole) in local time, clipped to the window; spans
    that touch are one (a weeknight, Friday evening to Monday morning)."""
    zone = ZoneInfo(hours["timezone"])
    start, end = _clock(hours["start"]), _clock(hours["end"])
    spans: list[tuple[datetime, datetime]] = []
    day = since.astimezone(zone).date()
    while datetime.combine(day, time(0), zone) < until:
        midnight = datetime.combine(day, time(0), zone)
        following = datetime.combine(day + timedelta(days=1), time(0), zone)
        if day.weekday() in hours["days"]:
            spans += [(midnight, datetime.combine(day, start, zone)),
                      (datetime.combine(day, end, zone), following)]
        else:
            spans.append((midnight, following))
        day += timedelta(days=1)
    merged: list[tuple[datetime, datetime]] = []
    for a, b in spans:
        if b <= since or a >= until or a == b:
            continue
        a, b = max(a, since), min(b, until)
        if merged and merged[-1][1] >= a:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _shaded(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float, bool]]:
    """Spans on the x axis with gaps narrower than ``MIN_GAP`` (invisible) closed:
    (start, end, whether a gap was closed), so a long window draws a bounded number
    of rectangles (at most the plot's width over ``MIN_GAP``)."""
    out: list[tuple[float, float, bool]] = []
    for a, b in spans:
        if out and a - out[-1][1] < MIN_GAP:
            out[-1] = (out[-1][0], max(out[-1][1], b), True)
        else:
            out.append((a, b, False))
    return out


def timeline_strip(timeline: Sequence[Mapping[str, Any]], since: str, until: str,
                   hours: Mapping[str, Any]) -> Strip:
    """The user's timeline on the window's time axis, off-hours and weekends shaded."""
    times = [datetime.fromisoformat(e["time"]) for e in timeline]
    first = min([datetime.fromisoformat(since), *times])
    last = max([datetime.fromisoformat(until), *times])
    span = max((last - first).total_seconds(), 1.0)
    left, plot = 20.0, WIDTH - 40.0

    def x_of(moment: datetime) -> float:
        return left + plot * (moment - first).total_seconds() / span

    spans = [(x_of(a), x_of(b)) for a, b in _quiet_spans(first, last, hours)]
    quiet = tuple(Rect(a, 4, max(b - a, 0.5), 40, "quiet",
                       QUIET_CLOSED if closed else QUIET)
                  for a, b, closed in _shaded(spans))
    zone = ZoneInfo(hours["timezone"])
    days, day = [], first.astimezone(zone).date()
    while (midnight := datetime.combine(day, time(0), zone)) <= last:
        if midnight >= first and x_of(midnight) <= left + plot - 40:  # room for the label
            days.append(Tick(x_of(midnight), midnight.strftime("%a %d")))
        day += timedelta(days=1)
    every = max(1, len(days) // 10)
    marks = tuple(
        Mark(x_of(moment), _SHAPES[entry["kind"]], _result_class(entry), bool(entry["alerted"]),
             f"{moment.astimezone(zone):%a %d %b %H:%M}: {entry['summary']}")
        for moment, entry in zip(times, timeline, strict=True)
    )
    return Strip(marks=marks, quiet=quiet, days=tuple(days[::every]), height=70)
