"""``RISKWATCH_EVIDENCE_MIN_VERDICT`` and ``RISKWATCH_EVIDENCE_CONTAINER``: which incidents get an
evidence bundle (``service.response.bundles``) and the blob container that keeps them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, TypeAlias

from service.settings.parsing import Reader

MinVerdict: TypeAlias = Literal["low", "medium", "high"]
MIN_VERDICTS: tuple[MinVerdict, ...] = ("low", "medium", "high")
# Azure's rule for container names: 3-63 lowercase letters, digits and single hyphens.
_CONTAINER = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceSettings:
    min_verdict: MinVerdict = "medium"
    container: str = "evidence"


def evidence_setting(read: Reader) -> EvidenceSettings:
    text = read.text("RISKWATCH_EVIDENCE_MIN_VERDICT", "medium").strip().lower()
    verdict = next((v for v in MIN_VERDICTS if v == text), None)
    if verdict is None:
        read.problem("RISKWATCH_EVIDENCE_MIN_VERDICT",
                     f"{text[:40]!r} is not one of: {', '.join(MIN_VERDICTS)}")
    container = read.text("RISKWATCH_EVIDENCE_CONTAINER", "evidence").strip()
    if not _CONTAINER.match(container):
        read.problem("RISKWATCH_EVIDENCE_CONTAINER",
                     f"{container[:70]!r} is not a blob container name (3-63 lowercase "
                     "letters, digits and single hyphens)")
        container = "evidence"
    return EvidenceSettings(min_verdict=verdict or "medium", container=container)
