"""Parsers for app settings that collect every problem instead of stopping at the first.

Messages name the setting and never repeat a secret's value.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from urllib.parse import urlsplit

from detections.errors import RiskwatchError
from detections.model import Severity
from detections.params import ParamError, check_range, parse_float, parse_int
from detections.registry import did_you_mean
from service.netutil import is_loopback_host

KEY_VAULT_REFERENCE = "@Microsoft.KeyVault("
# A near miss of the reference syntax, or a bare secret URI: App Service resolves neither
# and passes the text on, which would become a webhook URL or, worse, the HMAC key.
_KEY_VAULT_LIKE = re.compile(r"@?\s*microsoft\s*\.\s*key\s*vault", re.IGNORECASE)
_SECRET_URI = re.compile(
    r"(^(secreturi|vaultname)\s*=)|(\.vault\.(azure\.net|azure\.cn|usgovcloudapi\.net|"
    r"microsoftazure\.de)(:\d+)?/secrets/)",
    re.IGNORECASE,
)
KEY_VAULT_FORM = "@Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/<name>)"


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


def key_vault_problem(value: str) -> str | None:
    """Why ``value`` is an unresolved or mistyped Key Vault reference, or None."""
    if value.startswith(KEY_VAULT_REFERENCE):
        if not value.endswith(")"):
            return "Key Vault reference without its closing ')': App Service left it unresolved"
        return ("unresolved Key Vault reference (check the app identity's access to the secret "
                "and the reference syntax)")
    if _KEY_VAULT_LIKE.match(value):
        return f"mistyped Key Vault reference, left unresolved (the form is {KEY_VAULT_FORM})"
    if _SECRET_URI.search(value):
        return f"a Key Vault secret's address, not its value (write it as {KEY_VAULT_FORM})"
    return None


@dataclass
class Reader:
    """Reads settings by name; every problem is collected once, each starting with the name."""

    env: Mapping[str, str]
    problems: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # every name asked for

    def problem(self, name: str, text: str) -> None:
        line = f"{name}: {text}"
        if line not in self.problems:  # a setting read twice is reported once
            self.problems.append(line)

    def raw(self, name: str) -> str | None:
        """The stripped value; None when unset or empty. Whitespace only is a mistake."""
        self.seen.add(name)
        value = self.env.get(name)
        if value is None or value == "":
            return None
        value = value.strip()
        if not value:
            self.problem(name, "only whitespace: remove the setting or give it a value")
            return None
        why = key_vault_problem(value)
        if why:
            self.problem(name, why)
            return None
        return value

    def text(self, name: str, default: str) -> str:
        return self.raw(name) or default

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = parse_int(value)
            check_range(number, low, high)
        except ParamError as exc:
            self.problem(name, str(exc))
            return default
        return number

    def real(self, name: str, default: float, low: float, high: float) -> float:
        """A finite number in range: ``nan`` and ``inf`` never reach a timedelta."""
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = parse_float(value)
            check_range(number, low, high)
        except ParamError as exc:
            self.problem(name, str(exc))
            return default
        return number

    def severity(self, name: str, default: Severity) -> Severity:
        value = self.raw(name)
        if value is None:
            return default
        try:
            return Severity.parse(value)
        except ValueError:
            names = ", ".join(s.value for s in Severity)
            self.problem(name, f"{value[:40]!r} is not a severity ({names})")
            return default

    def url(self, name: str, *, secret: bool, default: str | None = None) -> str | None:
        """An https URL (http only on loopback); the message never shows a secret URL."""
        value = self.raw(name) or default
        if value is None:
            return None
        why = url_problem(value)
        if why:
            shown = "the value" if secret else repr(value[:80])
            self.problem(name, f"{shown} {why}")
            return None
        return value

    def choices(
        self, name: str, default: tuple[str, ...], allowed: tuple[str, ...]
    ) -> tuple[str, ...]:
        value = self.raw(name)
        if value is None:
            return default
        items = tuple(dict.fromkeys(p.strip() for p in value.split(",") if p.strip()))
        unknown = [i for i in items if i not in allowed]
        if unknown:
            shown = ", ".join(f"{i[:40]!r}{did_you_mean(i, allowed)}" for i in unknown[:5])
            self.problem(name, f"unknown {shown}; allowed: {', '.join(allowed)}")
        if not items:
            self.problem(name, "empty list")
        return tuple(i for i in items if i in allowed) or default


def url_problem(value: str) -> str | None:
    """Why ``value`` is not an https URL (http on loopback) with a valid host and port."""
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        return "has a space or control character"
    try:
        parts = urlsplit(value)
        host, port = parts.hostname, parts.port  # .port raises on :abc and :99999
    except ValueError:
        return "is not a URL (bad port or brackets)"
    if port == 0:
        return "has port 0"
    if not host or not _valid_host(host):
        return "has no valid host name"
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(host)):
        return None
    return "must be an https URL (http only for loopback)"


def _valid_host(host: str) -> bool:
    """A name the HTTP clients can encode (labels of 1-63 characters), or an IP literal."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        host.encode("idna")
    except UnicodeError:
        return False
    return all(host.split(".")[:-1]) if host.endswith(".") else all(host.split("."))


def parse_hours(text: str) -> tuple[time, time]:
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError("expected HH:MM-HH:MM")
    first, last = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    if first.tzinfo is not None or last.tzinfo is not None:
        raise ValueError("no UTC offset here: RISKWATCH_BUSINESS_TIMEZONE gives the zone")
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
