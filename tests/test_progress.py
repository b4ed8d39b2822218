"""The progress line of ``scan`` and ``baseline``: on a terminal only, throttled."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from service.cli.commands import build_parser, run_scan
from service.cli.progress import NoProgress, TerminalProgress, progress_for
from tests.test_cli import graph_sign_in, write_lines

ROOT = Path(__file__).resolve().parent.parent


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal, and keeps what was written."""

    def isatty(self) -> bool:
        return True


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TickingClock:
    """Each reading is a second later: every update is due."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_progress_is_throttled_to_one_line_per_half_second_then_cleared():
    clock, screen = ManualClock(), FakeTerminal()
    progress = TerminalProgress(screen, label="scan", clock=clock)
    for at, events in ((0.1, 100), (0.4, 400)):
        clock.now = 100.0 + at
        progress.update(events=events, skipped=1, alerts=0)
    assert screen.getvalue() == ""  # quick work shows nothing
    clock.now = 100.5
    progress.update(events=5000, skipped=2, alerts=3)
    first = "\rscan: 5,000 events read, 2 skipped, 3 alerts (10,000 events/s)"
    assert screen.getvalue() == first
    clock.now = 100.9
    progress.update(events=9000, skipped=2, alerts=3)
    assert screen.getvalue() == first  # throttled
    clock.now = 101.0
    progress.update(events=10_000, skipped=2, alerts=4)
    second = "\rscan: 10,000 events read, 2 skipped, 4 alerts (10,000 events/s)"
    assert screen.getvalue() == first + second
    progress.done()
    assert screen.getvalue() == first + second + "\r" + " " * len(second[1:]) + "\r"


def test_a_shorter_line_blanks_what_the_longer_one_left():
    clock, screen = ManualClock(), FakeTerminal()
    progress = TerminalProgress(screen, label="x", clock=clock)
    clock.now += 1
    progress.update(events=123_456, skipped=0, alerts=0)
    long_line = screen.getvalue()
    clock.now += 1000  # the rate falls: a shorter line
    progress.update(events=123_456, skipped=0, alerts=0)
    assert len(screen.getvalue()) == 2 * len(long_line)


def test_only_a_terminal_gets_a_progress_line():
    assert isinstance(progress_for(io.StringIO()), NoProgress)
    assert isinstance(progress_for(FakeTerminal()), TerminalProgress)


def test_scan_on_a_terminal_shows_progress_and_clears_it_before_the_summary(tmp_path):
    path = write_lines(tmp_path / "s.jsonl", [
        graph_sign_in(1), graph_sign_in(2, riskLevelDuringSignIn="high", riskState="atRisk")])
    out, err = io.StringIO(), FakeTerminal()
    args = build_parser().parse_args(["scan", str(path)])
    assert run_scan(args, out, err, clock=TickingClock()) == 0
    text = err.getvalue()
    assert "\rscan: 2 events read, 0 skipped, 2 alerts (" in text
    summary = text.rpartition("\r")[2]
    assert summary.startswith("scanned 2 events")  # the line was blanked first
    assert len(out.getvalue().splitlines()) == 2  # stdout holds only the alerts


def test_scan_with_stderr_not_a_terminal_prints_no_progress_line(tmp_path):
    lines = [graph_sign_in(n % 60, id=f"si-{n}") for n in range(3000)]
    path = write_lines(tmp_path / "many.jsonl", lines)
    done = subprocess.run(
        [sys.executable, "-m", "service.cli.commands", "scan", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "events read" not in done.stderr
    assert done.stderr.splitlines() == [done.stderr.strip()]  # the summary line only
    assert all(json.loads(line) for line in done.stdout.splitlines())
