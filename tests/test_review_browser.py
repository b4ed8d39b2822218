"""The review report as a reader sees it: Debian's Chromium, driven by Playwright.

JavaScript is off, every request is routed, recorded and aborted (the page comes from
memory, so any request at all is a leak), and console messages are recorded: Chromium
reports a Content-Security-Policy violation (a blocked style or image) as a console error,
which the control test below proves before the others rely on it. The sample tenant's
review is rendered too; with WRITE_REVIEW_SCREENSHOT=docs/review.png (``make screenshot``)
the top of it becomes the README's screenshot.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import chdir, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from service.review.html import render_review_html
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS
from tests.review_factory import (
    HOSTILE_AGENT,
    HOSTILE_APP,
    HOSTILE_CITY,
    HOSTILE_UPN,
    hostile_review,
    review,
    validated,
)

ROOT = Path(__file__).resolve().parents[1]
VIEWPORT = {"width": 1280, "height": 1600}
SHOT = {"width": 1280, "height": 1440}  # the README's crop: the top of the page, < 300 KB
SCREENSHOT_SETTING = "WRITE_REVIEW_SCREENSHOT"  # a path: where the README's PNG goes
README_PNG = ROOT / "docs" / "review.png"
PNG_LIMIT = 300 * 1024
# The sample tenant spans Monday 2026-11-02 to Thursday 2026-11-12 (samples/README.md).
SAMPLE_WINDOW = ["--since", "2026-11-02T00:00:00Z", "--until", "2026-11-12T00:00:00Z",
                 "--now", "2026-11-12T07:00:00Z"]


@dataclass
class Opened:
    """One report in one fresh browser context, with what it asked for and logged."""

    page: Any
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def quiet(self) -> bool:
        return self.requests == [] and self.console == [] and self.errors == []

    def texts(self, selector: str) -> list[str]:
        return [t.strip() for t in self.page.locator(selector).all_inner_texts()]

    def count(self, selector: str) -> int:
        return int(self.page.locator(selector).count())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):  # make test installs it: in CI its absence is a failure
            pytest.fail("/usr/bin/chromium is missing in CI")
        pytest.skip("/usr/bin/chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def open_report(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def opener(html: str, media: str = "screen") -> Opened:
        context = browser.new_context(java_script_enabled=False, viewport=VIEWPORT)
        contexts.append(context)
        page = context.new_page()
        opened = Opened(page)

        def abort(route: Any) -> None:
            opened.requests.append(route.request.url)
            route.abort()

        context.route("**/*", abort)
        page.on("console", lambda message: opened.console.append(
            f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: opened.errors.append(str(error)))
        page.emulate_media(media=media)
        page.set_content(html, wait_until="load")
        return opened

    yield opener
    for context in contexts:
        context.close()


def test_the_browser_reports_a_csp_violation_as_a_console_error(open_report: Any) -> None:
    """The control: a style= attribute and an image on another host are refused and logged,
    so an empty console in the other tests means the policy saw nothing to refuse."""
    html = render_review_html(review())
    injected = html.replace('<h1>', '<h1 style="color:red">', 1).replace(
        "</h1>", '</h1><img src="https://evil.example/pixel.png" alt="">', 1)
    opened = open_report(injected)
    violations = [m for m in opened.console if "Content Security Policy" in m]
    assert len(violations) >= 2, opened.console
    assert all(m.startswith("error: ") for m in violations)
    assert opened.requests == []  # the image was refused before any request


def test_the_report_renders_without_script_requests_or_console_errors(
    open_report: Any, tmp_path: Path
) -> None:
    data = validated(hostile_review())
    opened = open_report(render_review_html(data))
    assert opened.page.title() == f"Riskwatch review: {data['window']['label']}"
    opened.page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
    assert (tmp_path / "review.png").stat().st_size > 10_000
    assert opened.quiet(), (opened.requests, opened.console, opened.errors)
    assert opened.page.evaluate("() => 1") == 1  # our probe runs; the page's scripts could not
    assert opened.count("script") == 0
    for section in ("window", "inventory", "users", "ips", "actions", "accuracy"):
        assert opened.page.locator(f"#{section}").is_visible()
    principals = opened.texts("article.user span.principal")
    assert principals == [u["principal"] for u in data["users"]]
    for index in range(len(principals)):
        assert opened.page.locator(f"#user-{index + 1}").is_visible()


def test_hostile_upn_city_app_and_agent_show_as_literal_text(open_report: Any) -> None:
    opened = open_report(render_review_html(hostile_review()))
    plain = open_report(render_review_html(hostile_review("plain")))
    article = opened.page.locator("#user-1")
    text = article.inner_text()
    for hostile in (HOSTILE_UPN, HOSTILE_CITY, HOSTILE_APP, HOSTILE_AGENT):
        assert hostile in text
    assert opened.page.locator("#user-1 span.principal").inner_text() == HOSTILE_UPN
    # Not one element more than the same report with a plain word in those places.
    assert opened.count("*") == plain.count("*")
    assert opened.count("img") == opened.count("script") == opened.count("a[onclick]") == 0
    hrefs = opened.page.eval_on_selector_all("a", "els => els.map(e => e.getAttribute('href'))")
    assert hrefs and all(h.startswith("#") for h in hrefs)
    assert opened.quiet()


def test_the_printed_report_renders_too(open_report: Any, tmp_path: Path) -> None:
    data = review()
    opened = open_report(render_review_html(data), media="print")
    assert opened.page.evaluate("() => matchMedia('print').matches")
    opened.page.screenshot(path=str(tmp_path / "print.png"), full_page=True)
    pdf = opened.page.pdf(path=str(tmp_path / "review.pdf"), format="A4")
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) >= 3  # sections start new pages
    assert opened.page.locator("#accuracy").is_visible()
    assert opened.page.locator("nav.toc").is_visible()
    assert opened.texts("article.user span.principal") == [u["principal"] for u in data["users"]]
    assert opened.quiet(), (opened.requests, opened.console, opened.errors)


@pytest.fixture(scope="module")
def sample_review(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """``riskwatch review`` of the sample tenant, as the README shows it."""
    from service.cli.commands import main

    out = tmp_path_factory.mktemp("sample-review")
    # From the repository root, so the report names samples/tenant/... as the README does.
    with chdir(ROOT), redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()) as err:
        code = main(["review", "--input", "samples/tenant", *SAMPLE_WINDOW, "--out", str(out)])
    assert code == 0, err.getvalue()
    data = json.loads((out / "review.json").read_text(encoding="utf-8"))
    return validated(data), (out / "review.html").read_text(encoding="utf-8")


def test_the_sample_tenant_review_in_the_browser(
    open_report: Any, sample_review: tuple[dict[str, Any], str], tmp_path: Path
) -> None:
    data, html = sample_review
    assert data["users"], "the sample tenant's stories flag users"
    opened = open_report(html)
    assert opened.quiet(), (opened.requests, opened.console, opened.errors)
    assert opened.texts("article.user span.principal") == [u["principal"] for u in data["users"]]
    page_text = opened.page.locator("body").inner_text()
    hostile = {text for text in _strings(data) if "<!" in text}
    assert len(hostile) >= 2, "the sample's hostile names reach the review"
    for text in hostile:
        assert " ".join(text.split()) in " ".join(page_text.split())
    assert opened.count("img") == opened.count("script") == 0
    top = tmp_path / "review-top.png"
    opened.page.screenshot(path=str(top), clip={"x": 0, "y": 0, **SHOT})
    assert top.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    target = os.environ.get(SCREENSHOT_SETTING)
    if target:
        destination = Path(target) if Path(target).is_absolute() else ROOT / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(top, destination)
        assert destination.stat().st_size < PNG_LIMIT, destination.stat().st_size


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_the_readme_screenshot_is_a_small_png() -> None:
    """docs/review.png: made by ``make screenshot`` (the test above), committed."""
    data = README_PNG.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (SHOT["width"], SHOT["height"])
    assert len(data) < PNG_LIMIT
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/review.png)" in readme
