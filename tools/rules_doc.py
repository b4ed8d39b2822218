"""Render the README's rule table from the registry, so the README stays true.

``python tools/rules_doc.py`` rewrites the table between the markers in README.md;
tests/test_readme.py fails when the README and the registry disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from detections.registry import load_rules
from detections.rule import Rule

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- rules:start -->", "<!-- rules:end -->"


def _window(rule: Rule) -> str:
    minutes = int(rule.dedup_window.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _params(rule: Rule) -> str:
    if not rule.params:
        return "none"
    # The valid range is what the settings accept (checked at start-up, see Settings).
    return "<br>".join(
        f"`{p.setting_name(rule.id)}` = {p.default} ({p.range_text()})"
        for p in rule.params
    )


def table() -> str:
    lines = [
        "| Rule id | Severity | Detects | Thresholds (setting = default (valid)) | Dedup "
        "| Known gaps |",
        "|---|---|---|---|---|---|",
    ]
    for rule in load_rules():
        dedup = f"{', '.join(rule.dedup_fields) or 'per finding'} / {_window(rule)}"
        gaps = " ".join(rule.known_gaps) or "none recorded"
        lines.append(
            f"| `{rule.id}` v{rule.version} | {rule.severity.value} | {_cell(rule.description)} "
            f"| {_params(rule)} | {_cell(dedup)} | {_cell(gaps)} |"
        )
    return "\n".join(lines)


def render(readme: str) -> str:
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{table()}\n{END}{tail}"


def main() -> int:
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"{README}: markers {START} / {END} not found", file=sys.stderr)
        return 2
    README.write_text(render(text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
