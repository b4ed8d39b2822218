"""The pySigma processing pipeline that renames a rule's fields to Riskwatch's canonical ones.

One ``FieldMappingTransformation`` per rule, conditioned on the rule's logsource
(``product: azure`` and its service), built from the rule's own field names looked up
case-insensitively in ``fields.SIGMA_NAMES``. A field with no mapping is left as written
and the compiler reports it (``unmapped_fields``), with the reason from ``fields.UNMAPPED``.
"""

from __future__ import annotations

from collections.abc import Iterator

from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import FieldMappingTransformation
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule

from detections.sigma.fields import SIGMA_NAMES, UNMAPPED, Service


def rule_fields(rule: SigmaRule) -> list[str]:
    """Every field name the rule's detections use, in order of appearance, once."""
    found: dict[str, None] = {}
    for detection in rule.detection.detections.values():
        for item in _items(detection):
            if item.field is not None:
                found.setdefault(item.field, None)
    return list(found)


def _items(detection: SigmaDetection) -> Iterator[SigmaDetectionItem]:
    for item in detection.detection_items:
        if isinstance(item, SigmaDetection):
            yield from _items(item)
        else:
            yield item


def pipeline_for(rule: SigmaRule, service: Service) -> ProcessingPipeline:
    names = SIGMA_NAMES[service]
    mapping: dict[str | None, str | list[str]] = {
        f: names[f.lower()] for f in rule_fields(rule) if f.lower() in names
    }
    return ProcessingPipeline(
        name=f"riskwatch-{service}",
        items=[ProcessingItem(
            identifier=f"riskwatch_{service}_fields",
            transformation=FieldMappingTransformation(mapping),
            rule_conditions=[LogsourceCondition(product="azure", service=service)],
        )],
    )


def unmapped_fields(rule: SigmaRule, service: Service) -> list[str]:
    """The reason for each field of ``rule`` (before mapping) that has no canonical field."""
    names = SIGMA_NAMES[service]
    out = []
    for f in rule_fields(rule):
        if f.lower() in names:
            continue
        why = UNMAPPED.get((service, f.lower()), "no canonical event field holds it")
        out.append(f"field {f!r} is not mapped for {service}: {why}")
    return out
