"""Parsers for app settings that collect every problem instead of stopping at the first.

Messages name the setting and never repeat a secret's value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import TypeVar
from urllib.parse import urlsplit

from detections.errors import RiskwatchError
from detections.model import Severity
from service.netutil import is_loopback_host

KEY_VAULT_REFERENCE = "@Microsoft.KeyVault("
T = TypeVar("T")


class SettingsError(RiskwatchError):
    """Every missing or invalid setting, listed in one error."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid settings:\n  - " + "\n  - ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Secret:
    """A value that must never reach a log: repr and str hide it."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass
class Reader:
    env: Mapping[str, str]
    problems: list[str] = field(default_factory=list)

    def raw(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None or not value.strip():
            return None
        value = value.strip()
        if value.startswith(KEY_VAULT_REFERENCE):
            self.problems.append(
                f"{name}: unresolved Key Vault reference (check the app identity's access "
                "to the secret and the reference syntax)"
            )
            return None
        return value

    def text(self, name: str, default: str) -> str:
        return self.raw(name) or default

    def number(self, name: str, default: T, kind: type[T], low: float, high: float) -> T:
        value = self.raw(name)
        if value is None:
            return default
        try:
            parsed = kind(value)  # type: ignore[call-arg]
        except ValueError:
            self.problems.append(f"{name}: {value[:40]!r} is not a {kind.__name__}")
            return default
        if not low <= parsed <= high:  # type: ignore[operator]
            self.problems.append(f"{name}: {parsed} is outside {low:g}-{high:g}")
        return parsed

    def severity(self, name: str, default: Severity) -> Severity:
        value = self.raw(name)
        if value is None:
            return default
        try:
            return Severity.parse(value)
        except ValueError:
            names = ", ".join(s.value for s in Severity)
            self.problems.append(f"{name}: {value[:40]!r} is not a severity ({names})")
            return default

    def url(self, name: str, *, secret: bool, default: str | None = None) -> str | None:
        """An https URL (http only on loopback); the message never shows a secret URL."""
        value = self.raw(name) or default
        if value is None:
            return None
        shown = "the value" if secret else repr(value[:80])
        try:
            parts = urlsplit(value)
            host = parts.hostname
        except ValueError:
            self.problems.append(f"{name}: {shown} is not a URL")
            return None
        if parts.scheme == "https" and host:
            return value
        if parts.scheme == "http" and is_loopback_host(host):
            return value
        self.problems.append(f"{name}: {shown} must be an https URL (http only for loopback)")
        return None

    def choices(
        self, name: str, default: tuple[str, ...], allowed: tuple[str, ...]
    ) -> tuple[str, ...]:
        value = self.raw(name)
        if value is None:
            return default
        items = tuple(dict.fromkeys(p.strip() for p in value.split(",") if p.strip()))
        unknown = [i for i in items if i not in allowed]
        if unknown:
            self.problems.append(f"{name}: unknown {unknown}; allowed: {', '.join(allowed)}")
        if not items:
            self.problems.append(f"{name}: empty list")
        return tuple(i for i in items if i in allowed) or default


def parse_hours(text: str) -> tuple[time, time]:
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError("expected HH:MM-HH:MM")
    first, last = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    if first >= last:
        raise ValueError("the start must be before the end")
    return first, last


DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_days(text: str) -> frozenset[int]:
    """``Mon-Fri`` or ``Mon,Wed,Sat`` as ISO weekday numbers minus one (Monday = 0)."""
    days: set[int] = set()
    for part in text.split(","):
        first, _, last = part.strip().lower().partition("-")
        lo = DAY_NAMES.index(first[:3]) if first[:3] in DAY_NAMES else -1
        hi = DAY_NAMES.index(last[:3]) if last[:3] in DAY_NAMES else (lo if not last else -1)
        if lo < 0 or hi < 0 or hi < lo:
            raise ValueError(f"{part.strip()!r} is not a day or day range like Mon-Fri")
        days.update(range(lo, hi + 1))
    return frozenset(days)
