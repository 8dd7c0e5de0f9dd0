"""Hold back what native libraries print straight to file descriptor 2.

libpng and libjpeg complain about a damaged file, and LiteRT announces its XNNPACK delegate
on every interpreter it builds, ignoring ``TF_CPP_MIN_LOG_LEVEL``: beside redact's own
one-line messages a user would take either for something to act on. Errors still reach
Python as return values or exceptions, and redact reports them itself.
"""
from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def muted_native_stderr():
    """Native code's writes to file descriptor 2 go nowhere inside the block (Python's own
    buffered stderr is flushed first, so nothing of redact's is lost)."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to mute
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
