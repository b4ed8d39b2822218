"""The review's two files: ``review.json`` (for machines) and ``review.html`` (for people,
rendered by ``service.review.html``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

JSON_NAME = "review.json"
HTML_NAME = "review.html"


def review_json(review: dict[str, Any]) -> str:
    """Strict JSON (no NaN), UTF-8, stable key order as built."""
    return json.dumps(review, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def review_html(review: dict[str, Any]) -> str:
    from service.review.html import render_review_html  # Jinja2 is only loaded here

    return render_review_html(review)


def write_review(review: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / JSON_NAME, out_dir / HTML_NAME
    json_path.write_text(review_json(review), encoding="utf-8")
    html_path.write_text(review_html(review), encoding="utf-8")
    return json_path, html_path
