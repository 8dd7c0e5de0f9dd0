"""One frame's detector work on two lanes (threads), longest piece first.

`redact.detectors.detect_all` hands over the pieces of a frame's work that wait for nothing:
each detector that reads no other's regions, and the early passes of those that do (the
plate detector's whole-frame text views, which need no vehicles: `PlateDetector.early`).
They are run here on ``lanes`` threads, the caller's one of them, each lane taking the
longest piece left as it frees up (list scheduling, longest first: within a third of the best
split). How long a piece takes is what it took on the last frame (`Durations`); a piece
never timed goes first.

The pieces of ``balanced`` at 720p (people walking at the camera), each timed alone on one
thread: face detector ~165 ms, text at 960 px ~147, the people/vehicle network ~69, text at
480 px ~37. The two fixed lanes before (faces; the people network, then the whole plate
search) put 280 ms of them in one lane; longest first, no lane holds more than ~222. On
``fast`` (face ~55, text at 736 px ~84, vehicles ~58, text at 480 px ~37), 207 against ~121.
That is the work's split; the wall time gained depends on a second core being free (the
decoder, the encoder and other processes share them).

Pieces of one *group* (one detector: its networks may not be thread-safe) never run at
once, so each detector still runs from one thread at a time.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

#: Pieces timed at most; older entries go first (detectors come and go in a long batch).
REMEMBERED = 256


@dataclass
class Piece:
    """One piece of a frame's work: ``run()`` gives its result; ``key`` names it across
    frames (for its duration), ``group`` the detector whose networks it uses."""

    key: Any
    group: Any
    run: Callable[[], Any]


@dataclass
class Durations:
    """Seconds each piece (by key) took the last time it ran."""

    seconds: dict = field(default_factory=dict)

    def order(self, pieces: list) -> list:
        """``pieces`` longest first; those never timed before all others, in their order."""
        return sorted(pieces, key=lambda p: -self.seconds.get(p.key, float("inf")))

    def record(self, key, seconds: float) -> None:
        self.seconds.pop(key, None)
        self.seconds[key] = seconds
        while len(self.seconds) > REMEMBERED:
            del self.seconds[next(iter(self.seconds))]


#: The durations of this process's pieces (one process runs one set of detectors at a time).
DURATIONS = Durations()


def run_pieces(pieces: list, lanes: int, durations: Durations = DURATIONS) -> dict:
    """Run every piece, on ``lanes`` threads (the caller's and ``lanes - 1`` started here),
    longest first; returns ``{key: result}``. A piece's exception is raised here, once every
    lane has stopped (the lanes take no new piece after one).

    >>> order = []
    >>> pieces = [Piece(k, k, lambda k=k: order.append(k) or k * 10) for k in (1, 2, 3)]
    >>> run_pieces(pieces, lanes=1, durations=Durations({2: 0.5, 3: 0.1}))
    {1: 10, 2: 20, 3: 30}
    >>> order   # never timed first, then the longest
    [1, 2, 3]
    """
    todo = durations.order(pieces)
    done: dict = {}
    busy: set = set()
    failed: list = []
    ready = threading.Condition()

    def lane() -> None:
        while True:
            with ready:
                while True:
                    if failed or not todo:
                        return
                    piece = next((p for p in todo if p.group not in busy), None)
                    if piece is not None:
                        break
                    ready.wait()
                todo.remove(piece)
                busy.add(piece.group)
            started = time.perf_counter()
            try:
                result = piece.run()
            except BaseException as exc:  # handed to the caller's thread, raised there
                with ready:
                    failed.append(exc)
                    busy.discard(piece.group)
                    ready.notify_all()
                return
            with ready:
                durations.record(piece.key, time.perf_counter() - started)
                done[piece.key] = result
                busy.discard(piece.group)
                ready.notify_all()

    helpers = [threading.Thread(target=lane, name="redact-detect-lane", daemon=True)
               for _ in range(min(lanes, len(pieces)) - 1)]
    for helper in helpers:
        helper.start()
    try:
        lane()
    finally:
        for helper in helpers:
            helper.join()
    if failed:
        raise failed[0]
    return {p.key: done[p.key] for p in pieces}
