"""What the command line shows a person: exit codes, and record text made safe for a terminal."""

from __future__ import annotations

from service.delivery.escape import terminal_text

EXIT_OK = 0  # it ran (alerts or not)
EXIT_FAILED = 1  # a feed, sink or rule failed
EXIT_USAGE = 2  # bad arguments (argparse's own) or invalid settings
EXIT_NO_INPUT = 3  # no input could be read
EXIT_WOULD_ACT = 4  # riskwatch respond without --yes: printed the call, made none


def printable(text: object) -> str:
    """``text`` with control and format characters escaped (C0, C1, bidi overrides): record
    values and receivers' answers are not ours, and must not move the cursor, recolour a
    terminal or reorder what a person reads."""
    return terminal_text(text)
