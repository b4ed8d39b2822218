"""The Teams card as an analyst sees it: rendered by the official Adaptive Cards renderer.

The card is rendered in Debian's Chromium (driven by Playwright, JavaScript on) by npm
``adaptivecards``, twice: with markdown-it as its markdown processor, the closest stand-in
for Teams, and with none, as a host that shows TextBlocks as typed (where the old
backslash escapes showed). The page is set from memory and every request is aborted, so
nothing can leave the machine. The checks read the VISIBLE text: no backslash escapes,
hostile values shown exactly as received, and nothing clickable but our own portal buttons.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.delivery.render import view
from service.delivery.teams import encode, fitted_message
from service.delivery.teams_incident import incident_card
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS
from tests.sink_alerts import HOSTILE, HOSTILE_APP, critical_signin_alert, hostile_alert, sink_alert
from tests.sink_checks import card_of
from tests.sink_incidents import hostile_incident, huge_incident

NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
RENDERER = NODE_MODULES / "adaptivecards" / "dist" / "adaptivecards.min.js"
MARKDOWN_IT = NODE_MODULES / "markdown-it" / "dist" / "browser" / "markdown-it.umd.min.js"
OUR_BUTTONS = ["Risky sign-ins", "Risky users", "User profile"]
PAGE = "<!doctype html><html><head><meta charset='utf-8'></head><body><div id='card'></div>"

# Renders the card with or without markdown-it; returns the renderer's parse warnings.
RENDER = """([card, markdown]) => {
  const md = window.markdownit();
  AdaptiveCards.AdaptiveCard.onProcessMarkdown = (text, result) => {
    result.outputHtml = markdown ? md.render(text) : undefined;
    result.didProcess = markdown;
  };
  const adaptive = new AdaptiveCards.AdaptiveCard();
  const context = new AdaptiveCards.SerializationContext();
  adaptive.parse(card, context);
  const events = [];
  for (let i = 0; i < context.eventCount; i++) events.push(context.getEventAt(i).message);
  const target = document.getElementById("card");
  target.appendChild(adaptive.render());
  return events;
}"""


class Page:
    """One browser page with the renderer loaded and every request aborted and recorded."""

    def __init__(self, page: Any, requests: list[str], markdown: bool) -> None:
        self.page = page
        self.requests = requests
        self.markdown = markdown

    def render(self, alert: dict[str, Any], screenshot: Path) -> tuple[str, list[str]]:
        """The alert card's visible text and the renderer's warnings; saves a screenshot."""
        return self.render_card(card_of(fitted_message(view(alert))), screenshot)

    def render_card(self, card: dict[str, Any], screenshot: Path) -> tuple[str, list[str]]:
        self.page.set_content(PAGE)
        self.page.add_script_tag(content=MARKDOWN_IT.read_text(encoding="utf-8"))
        self.page.add_script_tag(content=RENDERER.read_text(encoding="utf-8"))
        events: list[str] = self.page.evaluate(RENDER, [card, self.markdown])
        self.page.locator("#card").screenshot(path=str(screenshot))
        return self.page.locator("#card").inner_text(), events

    def clickable(self) -> dict[str, list[str]]:
        anchors = self.page.eval_on_selector_all("#card a[href]", "els => els.map(e => e.href)")
        buttons = self.page.eval_on_selector_all(
            "#card button, #card [role=button]", "els => els.map(e => e.innerText.trim())"
        )
        return {"links": anchors, "buttons": buttons}


@pytest.fixture(scope="module", params=["markdown-it", "no-markdown"])
def browser_page(request: pytest.FixtureRequest) -> Iterator[Page]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):  # make test installs it: in CI its absence is a failure
            pytest.fail("/usr/bin/chromium is missing in CI")
        pytest.skip("/usr/bin/chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(java_script_enabled=True)

        def abort(route: Any) -> None:
            # The page and scripts come from memory: any request at all is a leak.
            requests.append(route.request.url)
            route.abort()

        context.route("**/*", abort)
        try:
            yield Page(context.new_page(), requests, markdown=request.param == "markdown-it")
        finally:
            context.close()
            browser.close()


def test_the_issue_examples_read_as_typed(browser_page: Page, tmp_path: Path) -> None:
    """Issue 12: ``high\\_risk\\_signin\\_succeeded``, ``critical \\(risk score 80\\)`` and
    ``Payroll \\*Update\\* \\<!here\\> \\[sign in\\]\\(https://evil.example/p\\)`` were shown."""
    text, events = browser_page.render(critical_signin_alert(), tmp_path / "critical.png")
    assert (tmp_path / "critical.png").stat().st_size > 0
    assert events == []
    assert "\\" not in text
    assert "high_risk_signin_succeeded" in text
    assert "critical (risk score 80)" in text
    assert HOSTILE_APP in text
    assert browser_page.clickable() == {"links": [], "buttons": OUR_BUTTONS}
    assert browser_page.requests == []


@pytest.mark.parametrize(
    ("name", "alert", "shown"),
    [
        ("hostile", hostile_alert(), [HOSTILE, f"Sign-in risk for {HOSTILE}"]),
        (
            "links",
            sink_alert(
                context={
                    "city": "[x](javascript:alert(1)) <b>bold</b>",
                    "app_display_name": "see www.evil.example or https://evil.example",
                }
            ),
            [
                "[x](javascript:alert(1)) <b>bold</b>",
                "see www.evil.example or https://evil.example",
            ],
        ),
        ("plain", sink_alert(), ["unfamiliarFeatures", "Review the risk event type"]),
    ],
)
def test_hostile_text_is_shown_literally_and_nothing_is_clickable(
    browser_page: Page, tmp_path: Path, name: str, alert: dict[str, Any], shown: list[str]
) -> None:
    text, events = browser_page.render(alert, tmp_path / f"{name}.png")
    assert events == []
    assert "\\" not in text
    for expected in shown:
        assert expected in text
    clickable = browser_page.clickable()
    assert clickable["links"] == []
    assert clickable["buttons"] == OUR_BUTTONS[: len(view(alert).links)]
    assert browser_page.requests == []


def test_the_investigation_steps_read_as_a_numbered_list(
    browser_page: Page, tmp_path: Path
) -> None:
    alert = critical_signin_alert()
    text, _ = browser_page.render(alert, tmp_path / "steps.png")
    steps = list(alert["investigation"])
    if browser_page.markdown:
        items = browser_page.page.eval_on_selector_all(
            "#card ol li", "els => els.map(e => e.innerText.trim())"
        )
        assert items == steps
    else:
        assert "\n".join(f"{n}. {step}" for n, step in enumerate(steps, 1)) in text
    assert "Investigation" in text and "*" not in text.replace(HOSTILE_APP, "")


LINKS = "[x](javascript:alert(1)) <b>bold</b> see www.evil.example or https://evil.example"


@pytest.mark.parametrize(
    ("name", "incident", "shown"),
    [
        ("incident-app", hostile_incident(HOSTILE_APP), [HOSTILE_APP, HOSTILE_APP.lower()]),
        ("incident-links", hostile_incident(LINKS), [LINKS, LINKS.lower()]),
        ("incident-huge", huge_incident((HOSTILE * 30)[:2000]), [HOSTILE[:40], "more reasons"]),
    ],
)
def test_an_incident_card_shows_hostile_text_literally_and_only_our_buttons(
    browser_page: Page, tmp_path: Path, name: str, incident: dict[str, Any], shown: list[str]
) -> None:
    card = card_of(encode(incident_card(incident, "https://entra.microsoft.com")))
    text, events = browser_page.render_card(card, tmp_path / f"{name}.png")
    assert events == []
    assert "\\" not in text
    for expected in ("▲ raises: ", "Why", "Breakdown", "Timeline (", *shown):
        assert expected in text
    assert text.index("risk (") < text.index("Why") < text.index("Breakdown")
    assert browser_page.clickable() == {"links": [], "buttons": OUR_BUTTONS[:2]}
    assert browser_page.requests == []
