"""The system Chromium the browser tests drive through Playwright (Debian's package: tools
that download their own browser cannot work here), and its flags: headless, no sandbox (CI runs
as root), no background requests, so a test's request log shows only what the page asked for."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
