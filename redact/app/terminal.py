"""What every command shares with the person at the terminal: exit codes, usage errors on
one line, durations in words."""
from __future__ import annotations

import argparse

from ..core.policy import MAX_DETECT_EVERY

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class OneLineParser(argparse.ArgumentParser):
    """Usage errors on one line, with where to look, instead of a usage block first."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def detect_every(text: str) -> int:
    """A ``--detect-every`` value: a whole number of frames, 1 to
    `redact.core.policy.MAX_DETECT_EVERY` (a longer gap between detections exposes faces
    that enter; see there)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_DETECT_EVERY:
        raise argparse.ArgumentTypeError(f"expected a whole number of frames from 1 to {MAX_DETECT_EVERY} "
                                         f"(longer gaps between detections expose faces that enter), got {text}")
    return value


def elapsed_text(seconds: float) -> str:
    """``4.2 s``, ``3 min 05 s``, ``2 h 01 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
