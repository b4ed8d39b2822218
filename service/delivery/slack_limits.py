"""Slack's documented Block Kit limits, checked on a finished message.

Slack answers 400 ``invalid_blocks`` to a message over any limit, and the sink treats a
400 as permanent, so an alert over a limit would never be delivered. The builder in
``service/delivery/slack.py`` fits every text to these limits; ``problems`` checks the
final message, so a builder bug degrades the message instead of losing the alert.

Sources: the Block Kit reference (api.slack.com/reference/block-kit/blocks and
composition-objects), as enforced by slack-sdk's block models: 50 blocks per message,
header text 150, section text 3000, 10 fields of 2000 each, 10 context elements, any
text object 1 to 3000; the message ``text`` is cut by Slack after 40,000.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_BLOCKS = 50
HEADER_CHARS = 150
SECTION_TEXT_CHARS = 3000
FIELDS_PER_SECTION = 10
FIELD_CHARS = 2000
CONTEXT_ELEMENTS = 10
TEXT_OBJECT_CHARS = 3000
MESSAGE_TEXT_CHARS = 40_000


def length(text: str) -> int:
    """A text's length as Slack may count it: UTF-16 code units.

    Never less than Python's count of code points; an emoji outside the BMP counts 2,
    so a limit checked this way holds however Slack counts.
    """
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def problems(message: Mapping[str, Any]) -> list[str]:
    """Every Block Kit limit the message breaks, each naming where (empty when it fits)."""
    found: list[str] = []
    _text(found, "text", message.get("text"), MESSAGE_TEXT_CHARS)
    blocks = message.get("blocks")
    if not isinstance(blocks, list):
        return [*found, "blocks: not a list"]
    if len(blocks) > MAX_BLOCKS:
        found.append(f"blocks: {len(blocks)} blocks, limit {MAX_BLOCKS}")
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind == "header":
            _text_object(found, f"{where}.text", block.get("text"), HEADER_CHARS, "plain_text")
        elif kind == "section":
            _section(found, where, block)
        elif kind == "context":
            _context(found, where, block)
        elif kind != "divider":
            found.append(f"{where}: unexpected block type {kind!r}")
    return found


def _section(found: list[str], where: str, block: Mapping[str, Any]) -> None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and not fields:
        found.append(f"{where}: a section needs text or fields")
    if text is not None:
        _text_object(found, f"{where}.text", text, SECTION_TEXT_CHARS)
    if fields is not None:
        if not isinstance(fields, list) or len(fields) > FIELDS_PER_SECTION:
            count = len(fields) if isinstance(fields, list) else "not a list of"
            found.append(f"{where}.fields: {count} fields, limit {FIELDS_PER_SECTION}")
            return
        for j, field in enumerate(fields):
            _text_object(found, f"{where}.fields[{j}]", field, FIELD_CHARS)


def _context(found: list[str], where: str, block: Mapping[str, Any]) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= CONTEXT_ELEMENTS:
        found.append(f"{where}.elements: need 1 to {CONTEXT_ELEMENTS} elements")
        return
    for j, element in enumerate(elements):
        _text_object(found, f"{where}.elements[{j}]", element, TEXT_OBJECT_CHARS)


def _text_object(
    found: list[str], where: str, obj: object, limit: int, kind: str | None = None
) -> None:
    if not isinstance(obj, Mapping) or obj.get("type") not in {"plain_text", "mrkdwn"}:
        found.append(f"{where}: not a text object")
        return
    if kind is not None and obj["type"] != kind:
        found.append(f"{where}: must be {kind}, not {obj['type']}")
    _text(found, f"{where}.text", obj.get("text"), min(limit, TEXT_OBJECT_CHARS))


def _text(found: list[str], where: str, text: object, limit: int) -> None:
    if not isinstance(text, str) or not text:
        found.append(f"{where}: empty or not a string")
    elif (size := length(text)) > limit:
        found.append(f"{where}: {size} characters, limit {limit}")
