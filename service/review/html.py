"""The review as one self-contained HTML file: Jinja2 templates, autoescaped.

``render_review_html`` renders exactly the review dict (review.json's content) with the
templates in ``templates/``: no script, no request to any other host (charts are inline
SVG drawn on the server, see ``service.review.charts``), and a Content-Security-Policy of
``default-src 'none'`` that allows the page's one ``<style>`` element by its hash. The
page has no ``style=`` attribute, so a browser enforcing the policy logs no violation.
Attacker-controlled text (UPNs, cities, app names, user agents) is escaped by Jinja2's
autoescape wherever it lands, SVG ``<text>`` and ``<title>`` included.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup

from detections.enrich import WEEKDAYS
from service.review import charts

TEMPLATES = "templates"
STYLE = resources.files("service.review").joinpath(TEMPLATES, "review.css").read_text("utf-8")
# Lone surrogates cannot be encoded to UTF-8; C0/C1 controls (but tab, newline) are noise.
_UNPRINTABLE = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_RESULTS = {charts.SUCCESS: "Success", **charts.CLASS_LABELS}
_KINDS = {"signin": "Sign-in", "detection": "Detection", "risky_user": "Risky user",
          "audit": "Directory change", "omitted": "Left out"}
_LABELS = {"tp": "true positive", "fp": "false positive", "indeterminate": "indeterminate"}


def style_hash(style: str = STYLE) -> str:
    """The CSP source for the ``<style>`` element's exact text: ``'sha256-<base64>'``."""
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")
    return f"'sha256-{digest}'"


CSP = f"default-src 'none'; style-src {style_hash()}; base-uri 'none'; form-action 'none'"


def _clean(value: Any) -> Any:
    """Every printed value: text loses what UTF-8 or HTML cannot carry (as U+FFFD), even
    inside markup already escaped (a filter's or a macro's output)."""
    if isinstance(value, Markup):
        return Markup(_UNPRINTABLE.sub("\ufffd", value))  # noqa: S704 - already escaped
    if isinstance(value, str):
        return _UNPRINTABLE.sub("\ufffd", value)
    return value


def _dash(value: Any, digits: int | None = None) -> Any:
    if value is None or value == "":
        return "—"
    if digits is not None and isinstance(value, int | float):
        return f"{value:,.{digits}f}"
    return value


def _num(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(_dash(value))


def _n1(value: float) -> str:
    """An SVG coordinate: at most one decimal, no trailing zeros."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _utc(value: str | None) -> str:
    if value is None:
        return "—"
    return datetime.fromisoformat(value).astimezone(ZoneInfo("UTC")).strftime(
        "%a %Y-%m-%d %H:%M UTC")


def _local(value: str, zone: str) -> str:
    return datetime.fromisoformat(value).astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _interval(row: dict[str, Any]) -> str:
    low, high = row["ci_low"], row["ci_high"]
    return "—" if low is None or high is None else f"{low * 100:.0f}\N{EN DASH}{high * 100:.0f}%"


def _weekdays(days: list[int]) -> str:
    return ", ".join(WEEKDAYS[d] for d in sorted(days)) or "no days"


def _place(entry: dict[str, Any]) -> str:
    parts = [p for p in (entry.get("city"), entry.get("country")) if p]
    return ", ".join(parts) or "—"


def _supported_text(value: bool | None) -> str:
    return {True: "Yes, supported", False: "No, not supported", None: "Not enough data"}[value]


def _supported_class(value: bool | None) -> str:
    return {True: "supported-yes", False: "supported-no", None: "supported-unknown"}[value]


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("service.review", TEMPLATES),
        autoescape=True,  # every template is HTML (with SVG inside): escape everything
        undefined=jinja2.StrictUndefined,
        finalize=_clean,
        trim_blocks=False,
        keep_trailing_newline=True,
    )
    env.filters.update(
        dash=_dash, num=_num, n1=_n1, utc=_utc, local=_local, pct=_pct, interval=_interval,
        weekdays=_weekdays, place=_place, supported_text=_supported_text,
        supported_class=_supported_class,
        result_name=lambda v: "—" if v is None else _RESULTS.get(v, v),
        kind_name=lambda v: _KINDS.get(v, v), label_name=lambda v: _LABELS.get(v, v),
    )
    return env


_ENV = _environment()


def render_review_html(review: dict[str, Any]) -> str:
    """The review dict (review.json's content) as one self-contained HTML page."""
    window = review["window"]
    hours = window["business_hours"]
    sign_ins = review["inventory"]["sign_ins"]
    users = review["users"]
    return _ENV.get_template("review.html.j2").render(
        review=review,
        csp=CSP,
        style=Markup(STYLE),  # noqa: S704 - our own stylesheet, shipped with the package
        hour_chart=charts.hour_of_week(sign_ins["by_hour_of_week"], hours),
        failure_chart=charts.failures_over_time(sign_ins["failures_over_time"],
                                                hours["timezone"]),
        country_charts=[charts.countries(u["breakdown"]) for u in users],
        strip_charts=[charts.timeline_strip(u["timeline"], window["since"], window["until"],
                                            hours) for u in users],
    )
