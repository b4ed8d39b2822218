"""One error root for the rule module, each error knowing where the problem is."""

from __future__ import annotations

from dataclasses import dataclass


class RiskwatchError(Exception):
    """Root of every error Riskwatch raises on purpose."""


@dataclass(frozen=True, slots=True)
class Where:
    """Where a problem is: a source (file name, URL, blob), a line and a field."""

    source: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        text = self.source
        if self.line is not None:
            text += f":{self.line}"
        if self.field:
            text += f": field {self.field!r}"
        return text


class InputError(RiskwatchError):
    """A whole input cannot be read (not JSON, not CSV, no records at all)."""

    def __init__(self, where: Where, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


class RuleValidationError(RiskwatchError):
    """One or more rules break the rule policy; every problem is listed."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid rules:\n  " + "\n  ".join(problems))
        self.problems = problems
