"""The review's HTML report (service/review/html.py): every section read back from the page.

The page is parsed (tests/review_html_tree.py) and each section compared with the review
dict it was rendered from (tests/review_factory.py, checked against the review.json schema);
the page's safety is tests/test_review_html_safety.py.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.review_factory import (
    HOSTILE_UPN,
    review,
    second_user,
    timeline_entry,
    user,
)
from tests.review_html_tree import Element, review_page

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("window", "inventory", "users", "ips", "actions", "accuracy")


def utc(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M")


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return review()


@pytest.fixture(scope="module")
def tree(data: dict[str, Any]) -> Element:
    return review_page(data)


def test_every_section_has_an_anchor_in_the_table_of_contents(tree: Element,
                                                               data: dict[str, Any]) -> None:
    toc = [a.attrs["href"] for a in tree.find("nav", "toc").find_all("a")]
    users = [f"#user-{n}" for n in range(1, len(data["users"]) + 1)]
    assert toc == ["#window", "#inventory", "#users", *users, "#ips", "#actions", "#accuracy"]
    for section in SECTIONS:
        assert tree.by_id(section).tag == "section"
    headings = [tree.by_id(s).find("h2").words() for s in SECTIONS]
    assert [h.split(" ", 1)[0] for h in headings] == ["1.", "2.", "3.", "4.", "5.", "6."]


def test_the_window_and_coverage_list_every_source_gap_and_rule(tree: Element,
                                                                data: dict[str, Any]) -> None:
    section, coverage = tree.by_id("window"), data["coverage"]
    times = [t.attrs["datetime"] for t in section.find_all("time")]
    assert times[:3] == [data["window"]["since"], data["window"]["until"], data["generated_at"]]
    assert tree.by_id("inputs-sha256").words() == coverage["inputs_sha256"]
    sources = tree.by_id("sources").rows()
    assert [(r[0], r[1], r[2], r[3], r[6]) for r in sources] == [
        (s["name"], s["kind"], f"{s['records']:,}", str(s["skipped"]), s["sha256"] or "—")
        for s in coverage["sources"]]
    assert utc(coverage["sources"][0]["first"]) in sources[0][4]
    gaps = tree.by_id("gaps").rows()
    assert [(g[0], g[3]) for g in gaps] == [(g["source"], g["why"]) for g in coverage["gaps"]]
    assert [li.words() for li in tree.by_id("rule-versions").find_all("li")] == [
        f"{r['rule_id']} v{r['version']}" for r in coverage["rule_versions"]]
    assert [li.words() for li in tree.by_id("notes").find_all("li")] == coverage["notes"]
    hours = data["window"]["business_hours"]
    assert f"{hours['start']} to {hours['end']} {hours['timezone']}, Mon, Tue" in section.words()


def test_no_gaps_and_no_notes_say_so() -> None:
    data = review()
    data["coverage"].update(gaps=[], notes=[])
    tree = review_page(data)
    assert tree.by_id("gaps").rows() == [["No gaps: every source covers the whole window."]]
    assert not [e for e in tree.iter() if e.attrs.get("id") == "notes"]


def test_the_inventory_counts_every_level_state_type_and_timing(tree: Element,
                                                               data: dict[str, Any]) -> None:
    inventory = data["inventory"]
    for ident, counts in (
        ("risky-by-level", inventory["risky_sign_ins"]["by_level"]),
        ("risky-by-state", inventory["risky_sign_ins"]["by_state"]),
        ("detections-by-level", inventory["detections"]["by_level"]),
        ("detections-by-state", inventory["detections"]["by_state"]),
    ):
        assert dict(tree.by_id(ident).rows()) == {k: str(v) for k, v in counts.items()}
    timing = inventory["detections"]["by_timing"]
    assert tree.by_id("detections-by-timing").rows() == [
        ["Real-time", str(timing["realtime"])], ["Near real-time", str(timing["nearRealtime"])],
        ["Offline", str(timing["offline"])], ["Unknown", str(timing["unknown"])]]
    assert tree.by_id("detections-by-type").rows() == [
        [t["risk_event_type"], str(t["count"])] for t in inventory["detections"]["by_type"]]
    assert tree.by_id("risky-by-type").rows() == [
        [t["risk_event_type"], str(t["count"])] for t in inventory["risky_sign_ins"]["by_type"]]
    summary = tree.by_id("inventory").find("p").words()
    assert f"{inventory['sign_ins']['total']:,} sign-ins" in summary


def test_the_hour_of_week_chart_and_its_table_carry_the_counts(tree: Element,
                                                              data: dict[str, Any]) -> None:
    counts = data["inventory"]["sign_ins"]["by_hour_of_week"]
    svg = tree.by_id("chart-hour-of-week").find("svg")
    assert svg.find("title").words() == "Sign-ins by hour of the week"
    bars = [r.find("title").words() for r in svg.find_all("rect", "bar")]
    assert bars == [f"{('Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun')[i // 24]} "
                    f"{i % 24:02d}:00, {c} sign-ins" for i, c in enumerate(counts) if c]
    shaded = [r.find("title").words() for r in svg.find_all("rect", "business")]
    assert shaded == [f"{d} business hours" for d in ("Mon", "Tue", "Wed", "Thu", "Fri")]
    rows = tree.by_id("hour-of-week-table").rows()
    assert [int(r[1]) for r in rows] == [sum(counts[d * 24:(d + 1) * 24]) for d in range(7)]
    assert [int(r[2]) for r in rows] == [sum(counts[d * 24 + 8:d * 24 + 18]) if d < 5 else 0
                                         for d in range(7)]


def test_the_failures_chart_stacks_every_nonzero_class(tree: Element,
                                                       data: dict[str, Any]) -> None:
    series = data["inventory"]["sign_ins"]["failures_over_time"]["series"]
    svg = tree.by_id("chart-failures").find("svg")
    segments = [r for r in svg.find_all("rect") if r.find_all("title")]
    expected = sum(1 for s in series for v in s["counts"].values() if v)
    assert len(segments) == expected
    legend = [t.words() for t in svg.find_all("text")][-6:]
    assert legend == ["Wrong password", "MFA failed", "Interrupted", "Consent needed",
                      "Blocked by policy", "Other failure"]
    assert [r.attrs["id"] for r in svg.find_all("pattern")] == [
        f"p-{name}" for name in series[0]["counts"]]
    rows = tree.by_id("failures-table").rows()
    assert [int(r[-1]) for r in rows] == [sum(s["counts"].values()) for s in series]
    assert [int(r[1]) for r in rows] == [s["counts"]["credential_failure"] for s in series]


def test_each_flagged_user_has_verdict_reasons_breakdown_and_timeline(
    tree: Element, data: dict[str, Any]
) -> None:
    articles = tree.by_id("users").find_all("article")
    assert [a.find("span", "principal").words() for a in articles] == [
        u["principal"] for u in data["users"]]
    for article, expected in zip(articles, data["users"], strict=True):
        assert article.find("span", "verdict").words() == expected["verdict"]
        assert article.find("dd", "user-verdict").words().startswith(
            f"{expected['verdict']} (score {expected['score']})")
        assert ("privileged account" in article.words()) == expected["privileged"]
        reasons = article.find("ul", "reasons").find_all("li")
        assert [(li.classes, li.words()) for li in reasons] == [
            ([r["effect"]], r["text"] + (f" ({r['rule_id']})" if r["rule_id"] else ""))
            for r in expected["reasons"]]
        b = expected["breakdown"]
        assert [int(r[-1]) for r in article.find("table", "bd-signins").rows()] == [
            *b["signins"].values(), b["off_hours"], b["weekend"]]
        assert article.find("table", "bd-countries").rows() == [
            [c["country"], ", ".join(c["cities"]), str(c["count"])] for c in b["countries"]]
        assert article.find("table", "bd-ips").rows() == [
            [i["ip"], "—" if i["asn"] is None else str(i["asn"]), str(i["count"])]
            for i in b["ips"]]
        assert article.find("table", "bd-devices").rows() == [
            [d["device"], d["os"] or "—", d["browser"] or "—", str(d["count"])]
            for d in b["devices"]]
        assert article.find("table", "bd-apps").rows() == [
            [a["app"], str(a["count"])] for a in b["apps"]]
        _check_timeline(article, expected["timeline"])
        for label in expected["labels"]:
            assert label["note"] in article.words()


def _check_timeline(article: Element, timeline: list[dict[str, Any]]) -> None:
    rows = article.find("table", "timeline").find("tbody").find_all("tr")
    assert [r.find("time").attrs["datetime"] for r in rows] == [e["time"] for e in timeline]
    assert sorted(e["time"] for e in timeline) == [e["time"] for e in timeline]
    for row, entry in zip(rows, timeline, strict=True):
        assert entry["summary"] in row.words()
        if entry["kind"] == "omitted":
            assert row.classes == ["omitted"]
            continue
        marks = [t.words() for t in row.find_all("span", "tag")]
        assert ("alert" in marks) == entry["alerted"] == ("alerted" in row.classes)
        assert ("weekend" in marks) == entry["weekend"]
        assert ("off-hours" in marks) == (entry["off_hours"] and not entry["weekend"])
        assert ("quiet" in row.classes) == (entry["off_hours"] or entry["weekend"])
    strip = article.find_all("svg")[-1]
    shapes = {"signin": "circle", "omitted": "line"}
    marks = strip.find_all(cls="mark")
    assert [m.tag for m in marks] == [shapes.get(e["kind"], "path") for e in timeline]
    for mark, entry in zip(marks, timeline, strict=True):
        assert mark.find("title").words().endswith(entry["summary"])


def test_the_attacking_addresses_name_whom_they_touched(tree: Element,
                                                        data: dict[str, Any]) -> None:
    rows = tree.by_id("ips-table").find("tbody").find_all("tr")
    assert len(rows) == len(data["ips"])
    for row, ip in zip(rows, data["ips"], strict=True):
        cells = [cell.words() for cell in row.find_all("td")]
        assert cells[:3] == [ip["ip"], str(ip["asn"]), ", ".join(ip["countries"])]
        assert cells[4:6] == [str(ip["failures"]), str(ip["successes"])]
        assert cells[6:] == [", ".join(ip["rules"]), ", ".join(ip["incident_ids"])]
        assert [li.words() for li in row.find_all("li")] == ip["users"]


def test_no_users_and_no_addresses_say_so() -> None:
    tree = review_page(review(users=[], ips=[]))
    assert "No user was flagged" in tree.by_id("users").words()
    assert "No attacking address" in tree.by_id("ips").words()


@pytest.mark.parametrize(
    ("actions", "shown"),
    [
        ({"available": False, "why": "no response audit log yet (issue 17)", "items": []},
         "No actions are recorded: no response audit log yet (issue 17)."),
        ({"available": True, "why": None, "items": []},
         "No remediation action was taken in this window."),
    ],
)
def test_actions_without_records_say_why(actions: dict[str, Any], shown: str) -> None:
    assert review_page(review(actions=actions)).by_id("actions-none").words() == shown


def test_recorded_actions_are_listed() -> None:
    items = [{"action": "revoke sessions", "principal": HOSTILE_UPN, "by": "sam"}]
    tree = review_page(review(actions={"available": True, "why": None, "items": items}))
    table = tree.by_id("actions-table")
    assert [dd.words() for dd in table.find_all("dd")] == ["revoke sessions", "sam", HOSTILE_UPN]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


def test_the_accuracy_tables_show_counts_precision_and_interval(tree: Element,
                                                                data: dict[str, Any]) -> None:
    accuracy = data["accuracy"]
    keys = ("tp", "fp", "dismissed", "indeterminate", "resolved_by_policy", "open", "n")

    def expected(row: dict[str, Any]) -> list[str]:
        interval = "—" if row["ci_low"] is None else (
            f"{round(row['ci_low'] * 100)}\N{EN DASH}{round(row['ci_high'] * 100)}%")
        return [*(str(row[k]) for k in keys), _pct(row["precision"]), interval,
                str(row["identity_protection"]), str(row["analyst"])]

    assert tree.by_id("accuracy-by-type").rows() == [
        [r["risk_event_type"], r["risk_level"], *expected(r)]
        for r in accuracy["by_detection_type"]]
    assert tree.by_id("accuracy-by-rule").rows() == [
        [r["rule_id"], *expected(r)] for r in accuracy["by_rule"]]
    decisions = tree.by_id("decisions").rows()
    assert [(d[0], d[1], d[2], d[-1]) for d in decisions] == [
        (d["level"], d["policy"], "Not enough data", d["why"]) for d in accuracy["decisions"]]
    assert decisions[1][7] == "3.0"  # extra MFA prompts a month, medium


def test_a_supported_and_a_refused_decision_read_as_such() -> None:
    data = review()
    decisions = data["accuracy"]["decisions"]
    decisions[0].update(supported=True, why="precision 0.86 (n 40)")
    decisions[1].update(supported=False, why="60% false positives")
    rows = review_page(data).by_id("decisions").find_all("tr")[1:]
    assert [r.find_all("td")[1].words() for r in rows] == [
        "Yes, supported", "No, not supported", "Not enough data"]


def test_a_user_with_an_empty_breakdown_and_a_long_thinned_timeline_renders() -> None:
    empty = {"signins": {}, "countries": [], "ips": [], "devices": [], "apps": [],
             "off_hours": 0, "weekend": 0}
    long = [timeline_entry(m * 7, event_id=f"e{m}", result="credential_failure")
            for m in range(200)]
    users = [user(breakdown=empty, timeline=long, labels=[]), second_user()]
    tree = review_page(review(users=users))
    article = tree.by_id("user-1")
    assert article.find("table", "bd-countries").rows() == [["none"]]
    assert len(article.find("table", "timeline").find("tbody").find_all("tr")) == 200
