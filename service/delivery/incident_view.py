"""What a chat message shows of an incident, in one format-neutral shape.

Teams (``teams_incident.py``) and Slack (``slack_incident.py``) show the same things in
the same order: the verdict with its score, the top reasons (raises and lowers, marked),
the breakdown, a short timeline (its first and last entries) and links into the Entra
admin center. Values stay raw here, each already cut to the ``Budget``'s sizes; each sink
escapes them for its own format. The incident is ``Incident.to_dict()``; a field that is
missing or of the wrong type shows as "-" instead of failing the delivery.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from service.delivery.escape import flatten, truncate
from service.delivery.render import Fact, Link, portal_links

RESULT_LABELS = (
    ("success", "success"),
    ("credential_failure", "credential failure"),
    ("mfa_failure", "MFA failure"),
    ("interrupt", "interrupt"),
    ("consent", "consent"),
    ("policy_block", "policy block"),
    ("other", "other"),
)
_RESULT_TEXT = dict(RESULT_LABELS)
EFFECT_MARKS = {"raises": "▲ raises", "lowers": "▼ lowers"}
Cut = Callable[..., str]  # a value flattened and cut, noting whether it was cut
LOWERS_SHOWN = 2  # lowering reasons always get a place among the top ones when present


@dataclass(frozen=True, slots=True)
class Budget:
    """How much of each list a message shows, and how long one value may be."""

    value_chars: int = 300  # one reason, list item or timeline field
    row_chars: int = 900  # one breakdown row or timeline entry, all its items together
    items: int = 5  # per breakdown list (countries, IPs, devices, apps, related)
    reasons: int = 6
    entries: int = 8  # timeline entries, half from the start and half from the end


@dataclass(frozen=True, slots=True)
class ReasonLine:
    mark: str  # EFFECT_MARKS value: our text
    effect: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentView:
    incident_id: str
    revision: str
    verdict: str
    score: str
    principal: str
    principal_type: str
    privileged: bool
    when: str
    reasons: tuple[ReasonLine, ...]
    reasons_left_out: int
    breakdown: tuple[Fact, ...]
    timeline: tuple[str, ...]
    timeline_total: int  # real entries the incident's timeline stands for
    timeline_left_out: int  # of those, not in ``timeline``
    rules: str
    links: tuple[Link, ...]
    truncated: bool  # some value was cut to fit the budget
    response: tuple[str, ...] = ()  # the response policy's actions (issue 17), cut
    response_mode: str = ""  # plan or enforce, when ``response`` is set

    @property
    def headline(self) -> str:
        """``High risk (80/100): alice@contoso.com``: the verdict first, then who."""
        return f"{self.verdict.capitalize()} risk ({self.score}/100): {self.principal}"

    @property
    def timeline_heading(self) -> str:
        if not self.timeline_left_out:
            return f"Timeline ({self.timeline_total} entries)"
        return (f"Timeline ({len(self.timeline)} of {self.timeline_total} entries: "
                "the first, the last and the turning points)")

    @property
    def response_heading(self) -> str:
        if self.response_mode == "plan":
            return "Proposed response (plan mode, nothing was called)"
        return "Response by policy (see riskwatch audit for the outcome)"

    @property
    def summary(self) -> str:
        kind = {"ip": "source IP", "tenant": "tenant-wide",
                "app": "application"}.get(self.principal_type, "user")
        parts = [f"{kind} incident", f"revision {self.revision}", self.when]
        if self.privileged:
            parts.append("privileged account")
        return " · ".join(parts)


def incident_view(
    incident: Mapping[str, Any], portal_url: str, budget: Budget = Budget()
) -> IncidentView:
    if not isinstance(incident, Mapping):  # a damaged outbox row still gets a message
        incident = {}
    cuts: list[bool] = []

    def cut(value: object, limit: int = budget.value_chars) -> str:
        flat = flatten(value)
        short = truncate(flat, limit)
        cuts.append(short != flat)
        return short

    reasons, reasons_left_out = _top_reasons(_dicts(incident.get("reasons")), budget.reasons)
    lines = tuple(
        ReasonLine(EFFECT_MARKS[r["effect"]], r["effect"], cut(r.get("text")) or "-")
        for r in reasons
    )
    breakdown = _breakdown(incident, budget, cut)
    entries, left_out, total = _short_timeline(_dicts(incident.get("timeline")), budget.entries)
    # Entries the stored notification itself gave up to fit a Table property.
    stored_cut = _count(_mapping(incident.get("truncated")).get("timeline"))
    left_out, total = left_out + stored_cut, total + stored_cut
    first, last = _short_time(incident.get("first_seen")), _short_time(incident.get("last_seen"))
    rules = ", ".join(cut(r, 80) for r in _list(incident.get("rules")))
    responses = _dicts(incident.get("response"))[: budget.items]
    return IncidentView(
        incident_id=cut(incident.get("incident_id"), 100) or "-",
        revision=cut(incident.get("revision"), 20) or "-",
        verdict=cut(incident.get("verdict"), 20) or "unknown",
        score=cut(incident.get("score"), 20) or "-",
        principal=cut(incident.get("principal"), max(budget.value_chars, 150)) or "unknown",
        principal_type=flatten(incident.get("principal_type")),
        privileged=incident.get("privileged") is True,
        when=cut(first if first == last else f"{first} to {last}", 120),
        reasons=lines,
        reasons_left_out=reasons_left_out,
        breakdown=breakdown,
        timeline=tuple(cut(_entry_text(e, cut), budget.row_chars) for e in entries),
        timeline_total=total,
        timeline_left_out=left_out,
        rules=cut(rules, budget.row_chars),
        # The incident carries no user object id, so no profile link: the two blades.
        links=portal_links(portal_url, {}),
        truncated=any(cuts),
        response=tuple(cut(f"{_plain(r.get('text'))}: {_plain(r.get('reason'))}",
                           budget.row_chars) for r in responses),
        response_mode="plan" if any(r.get("mode") == "plan" for r in responses) else "enforce",
    )


def _top_reasons(
    reasons: list[dict[str, Any]], limit: int
) -> tuple[list[dict[str, Any]], int]:
    """The first raises and lowers (scoring orders each by weight), lowers never crowded out."""
    known = [r for r in reasons if isinstance(r.get("effect"), str) and r["effect"] in EFFECT_MARKS]
    lowers = [r for r in known if r["effect"] == "lowers"][: min(LOWERS_SHOWN, limit // 2)]
    raises = [r for r in known if r["effect"] == "raises"][: limit - len(lowers)]
    shown = raises + [r for r in known if r["effect"] == "lowers"][: limit - len(raises)]
    return shown, len(known) - len(shown)


def _breakdown(incident: Mapping[str, Any], budget: Budget, cut: Cut) -> tuple[Fact, ...]:
    data = incident.get("breakdown")
    if not isinstance(data, Mapping):  # left out to fit storage: no counts rather than zeros
        return (Fact("Breakdown", "not available for this notification"),)
    signins = _mapping(data.get("signins"))
    counts = [(label, _count(signins.get(key))) for key, label in RESULT_LABELS]
    total = sum(n for _, n in counts)
    by_result = ", ".join(f"{label} {n}" for label, n in counts if n) or "none"
    facts = [
        Fact("Sign-ins", f"{total}: {by_result}"),
        Fact("Off hours", f"{_count(data.get('off_hours'))}, on a weekend "
                          f"{_count(data.get('weekend'))}"),
    ]
    item = max(20, budget.value_chars // 2)

    def row(label: str, key: str, show: Callable[[dict[str, Any]], str]) -> None:
        rows = _dicts(data.get(key))
        if not rows:
            return
        shown = [f"{show(r)} ({_count(r.get('count'))})" for r in rows[: budget.items]]
        more = f"; {len(rows) - budget.items} more" if len(rows) > budget.items else ""
        facts.append(Fact(label, cut("; ".join(shown), budget.row_chars - len(more)) + more))

    def place(r: dict[str, Any]) -> str:
        cities = [cut(c, item) for c in _list(r.get("cities"))[: budget.items]]
        country = cut(r.get("country"), item) or "-"
        return f"{country} [{', '.join(cities)}]" if cities else country

    def address(r: dict[str, Any]) -> str:
        asn = r.get("asn")
        ip = cut(r.get("ip"), item) or "-"
        return f"{ip} AS{asn}" if isinstance(asn, int) and not isinstance(asn, bool) else ip

    row("Countries", "countries", place)
    row("IP addresses", "ips", address)
    row("Devices", "devices", lambda r: cut(r.get("device"), item) or "-")
    row("Apps", "apps", lambda r: cut(r.get("app"), item) or "-")
    related = _dicts(incident.get("related"))
    if related:
        count = len(related) + _count(_mapping(incident.get("truncated")).get("related"))
        shown = [cut(r.get("principal"), item) or "-" for r in related[: budget.items]]
        more = f"; {count - len(shown)} more" if count > len(shown) else ""
        facts.append(Fact(f"Related ({count})", "; ".join(shown) + more))
    return tuple(facts)


def _short_timeline(
    entries: list[dict[str, Any]], limit: int
) -> tuple[list[dict[str, Any]], int, int]:
    """At most ``limit`` real entries: the first and last, then the turning points; how
    many are left out, of how many.

    An ``omitted`` entry of the thinned timeline is a gap, not an event: it counts its
    ``omitted`` number towards the total and is never shown itself.
    """
    real = [e for e in entries if e.get("kind") != "omitted"]
    gaps = sum(_omitted(e) for e in entries if e.get("kind") == "omitted")
    total = len(real) + gaps
    if len(real) <= limit:
        return real, gaps, total
    ends = min(2, limit // 2)  # first and last two, or one each on a tiny budget
    middle = range(ends, len(real) - ends)
    # The rest of the places go to the turning points: detections and risky-user records
    # first, then sign-ins that did not simply succeed, then the rest, in time order.
    ranked = sorted(middle, key=lambda i: (_plainness(real[i]), i))[: limit - 2 * ends]
    keep = {*range(ends), *range(len(real) - ends, len(real)), *ranked}
    shown = [e for i, e in enumerate(real) if i in keep]
    return shown, total - len(shown), total


def _plainness(entry: Mapping[str, Any]) -> int:
    if entry.get("kind") != "signin":
        return 0
    return 1 if entry.get("result") != "success" else 2


def _entry_text(entry: dict[str, Any], cut: Cut) -> str:
    """``time · summary · ip · city, country · device · result · risk`` (known parts only)."""
    place = ", ".join(p for p in (cut(entry.get("city")), cut(entry.get("country"))) if p)
    risk = cut(entry.get("risk"))
    summary = cut(entry.get("summary"))
    result = cut(_RESULT_TEXT.get(str(entry.get("result")), entry.get("result")))
    parts = [
        cut(_short_time(entry.get("time")), 40), summary, cut(entry.get("ip")), place,
        cut(entry.get("device")),
        "" if result in summary else result,  # a detection's summary already says its state
        f"risk {risk}" if risk else "",
    ]
    return " · ".join(p for p in parts if p)


def _short_time(value: object) -> str:
    """``2026-11-05 07:49 UTC``: minutes are enough to read a timeline by."""
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return flatten(value)
    if when.utcoffset() == timedelta(0):
        return f"{when:%Y-%m-%d %H:%M} UTC"
    return when.isoformat(sep=" ", timespec="minutes")


def _omitted(entry: Mapping[str, Any]) -> int:
    """The entries a gap stands for; the summary says "N entries left out"."""
    head = flatten(entry.get("summary")).split(" ", 1)[0]
    return int(head) if head.isdecimal() and len(head) < 10 else 0


def _plain(value: object) -> str:
    return flatten(value) or "-"


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
