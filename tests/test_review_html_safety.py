"""The review's HTML report is safe to open: service/review/html.py's page checked by parsing.

Its CSP hash is the hash of its one <style>; there is no style= attribute, no script, no
link or source outside the page; attacker-controlled text (the hostile samples, and any
text hypothesis finds) stays text; and the templates ship with the package.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import re
import tomllib
from pathlib import Path

from hypothesis import given, settings

from service.review.html import render_review_html
from tests.review_factory import (
    HOSTILE_AGENT,
    HOSTILE_APP,
    HOSTILE_CITY,
    HOSTILE_UPN,
    hostile_review,
    review,
)
from tests.review_html_tree import Element, parse, review_page
from tests.strategies import strings

ROOT = Path(__file__).resolve().parents[1]


def test_the_csp_allows_exactly_the_one_style_element() -> None:
    tree = review_page(review())
    styles = tree.find_all("style")
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].text().encode()).digest()).decode()
    metas = [m for m in tree.find_all("meta") if m.attrs.get("http-equiv")]
    assert [m.attrs["http-equiv"] for m in metas] == ["Content-Security-Policy"]
    policy = dict(part.strip().split(" ", 1) for part in (metas[0].attrs["content"] or "")
                  .split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["style-src"] == f"'sha256-{digest}'"
    assert "</" not in styles[0].text()


def test_nothing_runs_styles_inline_or_leaves_the_page() -> None:
    for data in (review(), hostile_review()):
        html = render_review_html(data)
        tree, _ = parse(html)
        elements = list(tree.iter())
        assert not [e for e in elements if e.tag in ("script", "img", "iframe", "object",
                                                      "embed", "link", "base", "form")]
        attributes = {name for e in elements for name in e.attrs}
        assert "style" not in attributes and "src" not in attributes
        assert not [n for n in attributes if n.startswith("on")]
        ids = {e.attrs["id"] for e in elements if "id" in e.attrs}
        hrefs = [e.attrs["href"] or "" for e in elements if "href" in e.attrs]
        assert hrefs and all(h.startswith("#") and h[1:] in ids for h in hrefs)
        urls = re.findall(r"url\(([^)]*)\)", html)
        assert urls and all(u.startswith("#") for u in urls)  # SVG patterns, same page
        assert " style=" not in html and "<script" not in html


def test_hostile_upn_city_app_and_agent_stay_text() -> None:
    data = hostile_review()
    tree = review_page(data)
    article = tree.by_id("user-1")
    assert article.find("span", "principal").words() == HOSTILE_UPN
    assert article.find("table", "bd-countries").rows()[0][1] == HOSTILE_CITY
    assert article.find("table", "bd-apps").rows()[0][0] == HOSTILE_APP
    assert article.find("table", "bd-devices").rows()[0][:3] == [HOSTILE_AGENT] * 3
    svg_titles = [t.words() for t in article.find_all("title")]
    assert f"Sign-ins per country for {HOSTILE_UPN}" in svg_titles
    assert [li.words() for li in tree.by_id("ips-table").find_all("li")] == [HOSTILE_UPN]
    plain, _ = parse(render_review_html(hostile_review("plain")))
    assert _tags(tree) == _tags(plain)  # not one element more or less than plain text gives


def _tags(tree: Element) -> list[str]:
    return [e.tag for e in tree.iter()]


def _printable(text: str) -> str:
    return re.sub("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", "\ufffd", text)


@settings(max_examples=60, deadline=None)
@given(text=strings(min_size=1, max_size=60).filter(lambda s: s.strip() != ""))
def test_any_attacker_text_changes_no_markup(text: str) -> None:
    """Random text in the UPN, city, app and agent places yields the same elements as a
    plain word there, and reads back exactly (what UTF-8 cannot carry becomes U+FFFD)."""
    html = render_review_html(hostile_review(text))
    html.encode("utf-8")
    tree, errors = parse(html)
    plain, _ = parse(render_review_html(hostile_review("plain")))
    assert errors == []
    assert _tags(tree) == _tags(plain)
    principal = tree.by_id("user-1").find("span", "principal").text()
    assert principal == _printable(text)


def test_the_templates_ship_with_the_package() -> None:
    """pip install (wheel) and the Functions package both carry the templates."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["service.review"]
    shipped = sorted((ROOT / "service" / "review" / "templates").iterdir())
    assert shipped
    for path in shipped:
        relative = path.relative_to(ROOT / "service" / "review").as_posix()
        assert any(fnmatch.fnmatch(relative, p) for p in patterns), relative
    ignored = (ROOT / ".funcignore").read_text(encoding="utf-8").split()
    assert not [p for p in ignored if fnmatch.fnmatch("service/review/templates/", p)]
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8").lower()
    assert "jinja2" in requirements
    assert any(d.lower().startswith("jinja2") for d in config["project"]["dependencies"])


def test_the_hostile_strings_are_hostile() -> None:
    """The fixtures must carry markup, or the escaping tests prove nothing."""
    for text in (HOSTILE_UPN, HOSTILE_CITY, HOSTILE_APP, HOSTILE_AGENT):
        assert "<" in text and ">" in text
