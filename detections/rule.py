"""What a rule is: closed, typed metadata, a pure match function and inline cases.

A rule never keeps state of its own and never does I/O. Rules that need history
(counts in a window, the last place a user signed in from) read it from
``Context.history``, which the engine fills and updates between events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeAlias

from detections.model import Event, EventKind, Severity
from detections.params import parse_param, span

if TYPE_CHECKING:
    from detections.correlation_history import History

JsonValue: TypeAlias = (
    str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None
)
ParamValue: TypeAlias = int | float | str


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """What a rule says about one event. The engine turns findings into alerts."""

    title: str
    severity: Severity | None = None  # None: the rule's default severity
    context: Mapping[str, JsonValue] = field(default_factory=dict)
    # Overrides of what the engine would otherwise derive from the event.
    principal: str | None = None
    # The history key of the user the finding is about when that is not the event's user
    # (spray_success names a user on another user's failure): their flags, roles, evidence.
    about_user: str | None = None
    dedup_values: tuple[str, ...] | None = None
    related_event_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Param:
    """A documented, overridable threshold of a rule, with the range a setting may give it.

    The type of ``default`` is the type of the setting (int, float or text). ``minimum`` and
    ``maximum`` are inclusive; for an ``int_list`` (a comma list such as ASNs) they bound
    each item. The registry requires a range on every number and every list.
    """

    name: str
    default: ParamValue
    description: str
    minimum: int | float | None = None
    maximum: int | float | None = None
    int_list: bool = False
    # The setting's name when it is not RISKWATCH_<RULE_ID>_<NAME> (a name the issue fixed).
    setting: str | None = None

    def setting_name(self, rule_id: str) -> str:
        return self.setting or f"RISKWATCH_{rule_id}_{self.name}".upper()

    def range_text(self) -> str:
        """The valid range for people: ``1-1440``, or ``comma list of 1-4294967295``."""
        if self.minimum is None or self.maximum is None:
            return "any text"
        valid = span(self.minimum, self.maximum)
        return f"comma list of {valid}" if self.int_list else valid

    def parse(self, text: str) -> ParamValue:
        """``text`` as this param's type, in range; ``ParamError`` says why not."""
        return parse_param(self, text)


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """Everything a rule may read besides the event itself."""

    history: History
    params: Mapping[str, ParamValue]

    def int_param(self, name: str) -> int:
        return int(self.params[name])

    def float_param(self, name: str) -> float:
        return float(self.params[name])

    def str_param(self, name: str) -> str:
        return str(self.params[name])


# A rule says nothing (None), one thing, or several: one alert per user a spray's success
# names (spray_success). Every finding is a match of the rule; dedup keeps them apart.
MatchResult: TypeAlias = Finding | tuple[Finding, ...] | None
MatchFunction: TypeAlias = Callable[[Event, Context], MatchResult]


def findings_of(result: MatchResult) -> tuple[Finding, ...]:
    """What a match function returned, as a tuple of findings (empty for None)."""
    if result is None:
        return ()
    return result if isinstance(result, tuple) else (result,)


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleTest:
    """An inline case: ``before`` events are observed first, then ``event`` is judged."""

    name: str
    event: Event
    expect: bool
    severity: Severity | None = None
    dedup: tuple[str, ...] | None = None
    before: tuple[Event, ...] = ()
    params: Mapping[str, ParamValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """A detection. ``id`` never changes; a logic change bumps ``version``."""

    id: str
    version: int
    title: str
    description: str
    severity: Severity
    risk_score: int
    mitre: tuple[str, ...]
    kinds: tuple[EventKind, ...]
    dedup_fields: tuple[str, ...]
    dedup_window: timedelta
    investigation: tuple[str, ...]
    false_positives: tuple[str, ...]
    references: tuple[str, ...]
    match: MatchFunction
    tests: tuple[RuleTest, ...]
    known_gaps: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    # Reads Context.history: judged only once per event (see Engine.evaluate).
    uses_history: bool = False

    def default_params(self) -> dict[str, ParamValue]:
        return {p.name: p.default for p in self.params}


def dedup_values(rule: Rule, event: Event, finding: Finding) -> tuple[str, ...]:
    """The values that identify one alert of ``rule`` (before hashing)."""
    if finding.dedup_values is not None:
        return finding.dedup_values
    return tuple(_field_text(event, name) for name in rule.dedup_fields)


def _field_text(event: Event, dotted: str) -> str:
    value: object = event
    for part in dotted.split("."):
        value = getattr(value, part, None)
        if value is None:
            return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
