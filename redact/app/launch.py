"""The `redact` command's first lines: a stop (Ctrl-C, SIGTERM) is caught from here on.

`redact.app.cli` pulls in NumPy and the rest (a third of a second here, more on a small
device); a stop during that import met Python's own handlers: a KeyboardInterrupt
traceback and death by SIGINT (exit -2), or death by SIGTERM (-15). So the handlers are put
in place before it, with the standard library and `redact.media.safeio` alone loaded, and
every stop, wherever it lands, ends the process with 130 and one line saying what is
complete. (Python's own start-up, before any of redact runs, stays Python's.)
"""
from __future__ import annotations

import signal
import sys

from ..core.safetext import shown
from ..media.safeio import catch_stops, committed_outputs, request_stop, stop_on_signal, stop_requested

#: The exit status of a run that was stopped (128 + SIGINT, as the shell reports Ctrl-C).
EXIT_STOPPED = 130


def stopped_line() -> str:
    """What a stop left, in one line: the outputs written in full before it (a stop after an
    output was renamed into place cannot undo it, and it is complete: its signed manifest
    beside it), and that nothing partial stands under a final name."""
    done = committed_outputs()
    rest = "no partial output was left under a final name"
    if not done:
        return f"interrupted; {rest}"
    if len(done) == 1:
        return (f"interrupted after {done[0]} was written in full with its signed manifest (`redact verify "
                f"{done[0]}` checks it); {rest}")
    return (f"interrupted after {len(done)} outputs were written in full, each with its signed manifest (the "
            f"last: {done[-1]}; a rerun skips them); {rest}")


def say_stopped() -> int:
    """Print `stopped_line` on stderr; the exit status of a stopped run."""
    print(f"redact: {shown(stopped_line())}", file=sys.stderr)
    return EXIT_STOPPED


def _flag_only(signum, frame) -> None:
    request_stop()


def main() -> int:
    """Run the `redact` command (`redact.app.cli.main`) with stops caught from the start."""
    catch_stops()
    try:
        from .cli import main as run

        code = run()
        # The run is over: a stop from here on has nothing to unwind, and an exception
        # raised now would be Python's traceback at exit. It is noted, and said below.
        for sig in (signal.SIGTERM, signal.SIGINT):
            if signal.getsignal(sig) is stop_on_signal:
                signal.signal(sig, _flag_only)
    except BaseException:
        # A stop during the imports, or between the run's end and the line above; an error
        # that a lost stop caused in C code (an import cut short) is the stop's too.
        if not stop_requested():
            raise
        return say_stopped()
    if stop_requested() and code != EXIT_STOPPED:
        return say_stopped()
    return code
