"""Independent checks of what the chat sinks send: Slack's block models, the Adaptive Card schema.

Slack: each block is parsed with slack-sdk's models and validated (they raise
``SlackObjectFormationError`` on header, section text and field-count limits); the limits
slack-sdk does not check (2,000 per field, 3,000 per context text, 50 blocks) are asserted
here directly, so the check never relies on the sink's own limit table.

Teams: the card is validated against the official Adaptive Card JSON schema for the
version it declares (``../shared/peer-corpus/adaptivecards``). Teams' host key
``msteams`` is not in the schema, so it is checked separately and removed first.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from slack_sdk.models.blocks import Block

SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "peer-corpus" / "adaptivecards"
CARD_SCHEMA_VERSIONS = ("1.4.0", "1.5.0")  # the card declares 1.4; 1.5 accepts it too


def slack_violations(message: dict[str, Any]) -> list[str]:
    """What slack-sdk and the documented limits say is wrong with a message."""
    found: list[str] = []
    blocks = message["blocks"]
    if not 1 <= len(blocks) <= 50:
        found.append(f"{len(blocks)} blocks")
    if not message.get("text"):
        found.append("no fallback text")
    for i, raw in enumerate(blocks):
        try:
            block = Block.parse(raw)
            assert block is not None, raw
            block.validate_json()
        except Exception as exc:  # noqa: BLE001 - SlackObjectFormationError and parse errors
            found.append(f"blocks[{i}]: {exc}")
        for j, field in enumerate(raw.get("fields") or ()):
            if not 1 <= len(field["text"]) <= 2000:
                found.append(f"blocks[{i}].fields[{j}]: {len(field['text'])} characters")
        for j, element in enumerate(raw.get("elements") or ()):
            if not 1 <= len(element["text"]) <= 3000:
                found.append(f"blocks[{i}].elements[{j}]: {len(element['text'])} characters")
    return found


@cache
def _validator(version: str) -> jsonschema.Draft6Validator:
    schema = json.loads((SCHEMAS / f"schema-{version}.json").read_text(encoding="utf-8"))
    return jsonschema.Draft6Validator(schema)


def card_violations(
    card: dict[str, Any], versions: tuple[str, ...] = CARD_SCHEMA_VERSIONS
) -> list[str]:
    """Schema errors of the card (each with its JSON path) under each schema version."""
    found: list[str] = []
    card = dict(card)
    if card.pop("msteams", {"width": "Full"}) != {"width": "Full"}:
        found.append("msteams: expected {'width': 'Full'}")
    # The schema constrains no "text" value beyond its type: validating the card with the
    # texts replaced gives the same answer, and lets repeated shapes skip the slow check.
    shape = json.dumps(_without_texts(card), sort_keys=True)
    return found + list(_schema_errors(shape, versions))


@cache
def _schema_errors(shape: str, versions: tuple[str, ...]) -> tuple[str, ...]:
    card = json.loads(shape)
    found = []
    for version in versions:
        for error in _validator(version).iter_errors(card):
            best = jsonschema.exceptions.best_match([error]) or error
            found.append(f"schema {version} at {best.json_path}: {best.message[:200]}")
    return tuple(found)


def _without_texts(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: "text" if k == "text" and isinstance(v, str) else _without_texts(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_without_texts(v) for v in node]
    return node


def card_of(body: bytes) -> dict[str, Any]:
    """The Adaptive Card inside a Teams Workflows message body."""
    message = json.loads(body)
    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card: dict[str, Any] = attachment["content"]
    return card


def card_texts(node: Any, kinds: frozenset[str] = frozenset({"TextRun", "TextBlock"})) -> list[str]:
    """The ``text`` of every element of the given kinds, depth first."""
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") in kinds else []
        return own + [t for v in node.values() for t in card_texts(v, kinds)]
    if isinstance(node, list):
        return [t for v in node for t in card_texts(v, kinds)]
    return []
