"""Live redaction with a latency budget: detection in a worker thread, frames out on time.

`LiveRedactor` is `redact.pipeline.redactor.Redactor` for a camera. Its `push` does the cheap
steps on the caller's thread (scene-cut and motion checks, tracking, the policy, obscuring)
and hands detection, 200-800 ms a frame on a small device, to one worker thread (the
detectors are not thread-safe: one frame at a time). `push` never waits for a network. A
frame comes out when it is analysed or, at the latest, when it has waited the budget; then
fail closed, as below. Frames come out in order, none dropped, none unredacted.

It is a class of its own, not an option of `Redactor`, because it owns a thread: it must be
closed (`flush`, `close`, or ``with``), and which frames a `push` returns depends on time.
`Redactor` stays synchronous and deterministic for files, replays and tests.

The fail-closed rule
--------------------
Frames are analysed in order as `Redactor` analyses them (`Analyser.plan`, ``detect``,
``track``), with one difference: a frame that asks for the detectors (their schedule, motion
outside the followed tracks, a scene cut) gets them only if it is the newest frame pushed
when its turn comes; an older one, left behind while the worker was busy, is *skipped*
(tracked as a frame without detection). Analysis waits at a frame under detection until its
result is in. A frame then comes out

1. analysed, its detection run or not asked for: exactly what `Redactor` gives with the same
   detections (the cadence achieved);
2. skipped, or not analysed yet when it has waited the budget: covered by what is known,
   every live track at its predicted box on that frame, grown by the frames since its last
   detection (`redact.pipeline.tracking.Tracker.predicted`), with the plates carried by their
   vehicles, *plus* every place that moved outside the followed tracks since the last detected
   frame, grown (`redact.pipeline.motion.MotionGate.moved_boxes`: the motion that makes
   `Redactor` run the detectors, so a face entering between detections is covered where it
   moved); and *whole* when what is known cannot be trusted: no detection has succeeded yet,
   the last one failed, it is more than the hold (``hold_frames``) before the frame, or a scene
   cut lies between; whole too when the moved areas add up to `MOVED_WHOLE` of the frame
   (as safe, and cheaper to obscure). These frames are flagged (`LATE`, `MISSED`), except one skipped with
   nothing moving outside its tracks, whose detection only the schedule asked for.

A detector that raises obscures its frame whole and flags it, as in `Redactor`.

Latency
-------
A frame comes out at the first `push` (or `poll`) at which it has waited ``max_latency``
seconds or ``max_latency_frames`` pushes (fail closed if it is not analysed by then), or
earlier once analysed: up to `EARLY_RELEASES` such frames a push, so the frames a detection
held back come out over the next pushes, not all in one. With a camera pushing at ``fps``, a
frame waits at most ``latency`` frames (``ceil(max_latency * fps)``): ``max_latency`` plus one
frame interval, plus that push's own time (obscuring the frames it returns). `flush` returns
the rest at the end. Measured with ``benchmarks/live_latency.py`` (docs/measurements.md,
"Live frames with a latency budget"): ``fast``, 0.25 s, a loaded 2-core machine: on a 1080p
25 fps clip at most 6 of the 7 frames declared, but up to 1.8 s of wall time after the push;
on a 640x360 30 fps clip up to 2.7 s after the frame's time, the pushes (obscuring the frames
that came due together) having fallen 2.5 s behind the camera (the synchronous `Redactor`: 50 s).
"""
from __future__ import annotations

import math
import numbers
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..core.geometry import box_areas, pixel_boxes
from ..core.policy import Policy
from ..core.profile import Profile
from ..core.types import Kind, Regions
from .redactor import RedactedFrame, Redactor, _Pending

#: Flag of a frame that came out over the latency budget before its analysis.
LATE = "live: over the latency budget before its detection"
#: Flag of a frame that moved while the detectors were busy with an earlier one.
MISSED = "live: moved while the detectors were busy"
#: Frames a push returns before their time is up besides those due: the frames a detection
#: held come out over the next pushes, not all in one (obscuring is a push's main cost).
EARLY_RELEASES = 2
#: Moved areas adding up to this share of the frame cover it whole: as safe, and cheaper to
#: obscure than the many boxes of a crowd moving.
MOVED_WHOLE = 0.5
#: How a flagged frame is covered (appended to the flag).
MOVED_COVER, WHOLE_COVER = "predicted tracks and moved areas obscured", "whole frame obscured"


@dataclass
class _Frame:
    rgb: np.ndarray | None  # None once out and no longer the newest: nobody will look at it
    index: int
    item: object
    pushed: float  # time.perf_counter() when pushed
    cut: bool  # starts a new shot
    done: tuple | None = None  # (pending, regions) once analysed
    released: bool = False


def _timed(detect, rgb: np.ndarray) -> tuple:
    started = time.perf_counter()
    found, flagged = detect(rgb)
    return found, flagged, time.perf_counter() - started


class LiveRedactor(Redactor):
    """`Redactor` for a camera: detection off the push thread, latency bounded (see the module).

    Parameters
    ----------
    policy : Policy
        Without a look-ahead (``lookahead_seconds=0``): live latency is the budget's. Default:
        the ``fast`` profile, no look-ahead.
    fps : Fraction
        The camera's frame rate (holds are counted in its frames).
    max_latency : float or None
        Seconds a frame may wait for its analysis before it comes out fail closed; 0 never
        waits. None: only ``max_latency_frames`` counts.
    max_latency_frames : int, optional
        The same in frames pushed after it.
    detectors, models_dir, seed
        As for `Redactor`.

    Notes
    -----
    One thread pushes; `flush` (end of stream) waits for the worker, releases every frame
    and stops the thread; `close` (or leaving a ``with`` block) stops it and drops the frames
    not yet returned. A push after either is refused.

    Examples
    --------
    >>> import numpy as np
    >>> import redact
    >>> policy = redact.Policy(lookahead_seconds=0, zones=(redact.Zone(0, 0, 0.5, 0.5),))
    >>> with LiveRedactor(policy, fps=10, max_latency=0.2, detectors=[]) as live:
    ...     done = live.push(np.full((40, 60, 3), 200, np.uint8)) + live.flush()
    >>> live.latency, [d.index for d in done], bool((done[0].rgb[5, 5] != 200).any())
    (2, [0], True)
    """

    #: The motion check runs at every cadence here: it says where a frame not analysed in
    #: time moved.
    _watch_motion = True

    def __init__(self, policy: Policy = Policy(lookahead_seconds=0, profile=Profile.FAST), *,
                 fps=Fraction(30), max_latency: float | None = 0.25, max_latency_frames: int | None = None,
                 detectors=None, models_dir=None, seed: int | None = None):
        super().__init__(policy, fps=fps, detectors=detectors, models_dir=models_dir, seed=seed)
        if self.lookahead_frames:
            raise ValueError(f"LiveRedactor: the policy's look-ahead ({self.lookahead_frames} frames) would hold "
                             "every frame back; live latency is max_latency's: use Policy(lookahead_seconds=0)")
        if max_latency is not None and (isinstance(max_latency, bool) or not isinstance(max_latency, numbers.Real)
                                        or not 0 <= max_latency < math.inf):
            raise ValueError(f"LiveRedactor: max_latency: expected seconds >= 0 (finite) or None, got {max_latency!r}")
        if max_latency_frames is not None and (isinstance(max_latency_frames, bool)
                                               or not isinstance(max_latency_frames, numbers.Integral)
                                               or max_latency_frames < 0):
            raise ValueError(f"LiveRedactor: max_latency_frames: expected a whole number >= 0 or None, "
                             f"got {max_latency_frames!r}")
        if max_latency is None and max_latency_frames is None:
            raise ValueError("LiveRedactor: give max_latency (seconds) or max_latency_frames: a frame must not "
                             "wait for its detection without end")
        self.max_latency: float | None = None if max_latency is None else float(max_latency)
        self.max_latency_frames: int | None = None if max_latency_frames is None else int(max_latency_frames)
        self._fps: Fraction = Fraction(fps)
        self._waiting: deque[_Frame] = deque()  # pushed, not yet returned, in order
        self._unanalysed: deque[_Frame] = deque()  # pushed, not yet analysed, in order
        self._detecting: tuple[_Frame, Future] | None = None
        self._cuts: list[int] = []  # frames starting a shot, after the last detected frame
        self._worker: ThreadPoolExecutor | None = ThreadPoolExecutor(1, thread_name_prefix="redact-live-detect")

    @property
    def latency(self) -> int:
        """Frames a pushed frame waits at most (camera pushing at ``fps``), by the budget."""
        bounds = [self.max_latency_frames] if self.max_latency_frames is not None else []
        if self.max_latency is not None:
            bounds.append(math.ceil(self.max_latency * self._fps))
        return min(bounds)

    def __enter__(self) -> LiveRedactor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def push(self, rgb: np.ndarray, item=None) -> list[RedactedFrame]:
        """Add the next frame (RGB uint8); returns the frames that are now final, in order.

        Never waits for a detection: the frame is copied (it waits while the camera reuses
        its buffer) and analysed when the worker is free.
        """
        rgb = self._accept(rgb).copy()
        frame = _Frame(rgb, self._index, item, time.perf_counter(), self._analyser.is_cut(rgb))
        if frame.cut:
            self._cuts.append(frame.index)
        self._index += 1
        if self._unanalysed and self._unanalysed[-1].released:
            self._unanalysed[-1].rgb = None  # out, and no longer the newest: only counted from now
        self._waiting.append(frame)
        self._unanalysed.append(frame)
        self._advance(final=False)
        return self._release(final=False)

    def poll(self) -> list[RedactedFrame]:
        """The frames that have become final since the last call, without a new frame (a
        camera that paused); [] after `flush` or `close`."""
        if self._worker is None:
            return []
        self._advance(final=False)
        return self._release(final=False)

    def flush(self) -> list[RedactedFrame]:
        """End of stream: wait for the worker, analyse every frame left (each asking for the
        detectors gets them), return them all and stop the thread; a later `push` is refused."""
        if self._worker is None:
            self._flushed = True
            return []
        try:
            while self._unanalysed or self._detecting is not None:
                self._advance(final=True)
            return self._release(final=True)
        finally:
            self.close()

    def close(self) -> None:
        """Stop the worker thread (after the detection under way, if any) and end the stream.
        Frames not yet returned are dropped, never returned unredacted; `flush` returns them."""
        self._flushed = True
        if self._worker is not None:
            self._worker.shutdown(wait=True, cancel_futures=True)
            self._worker = None
        self._waiting.clear()
        self._unanalysed.clear()
        self._detecting = None

    def _advance(self, final: bool) -> None:
        """Analyse frames in order as far as the worker allows (see the module's rule)."""
        analyser = self._analyser
        while True:
            if self._detecting is not None:
                frame, future = self._detecting
                if not (final or future.done()):
                    return
                found, flagged, seconds = future.result()  # waits only at the end (final)
                self._detecting = None
                analyser.seconds["detect"] += seconds
                started = time.perf_counter()
                [frame.done] = analyser.track(frame.rgb, frame.item, detected=True, found=found, flagged=flagged)
                if analyser.detected_at is not None:
                    self._cuts = [c for c in self._cuts if c > analyser.detected_at]
                analyser.seconds["track"] += time.perf_counter() - started
            if not self._unanalysed or self._worker is None:
                return
            frame = self._unanalysed.popleft()
            started = time.perf_counter()
            rgb = frame.rgb
            _, wanted = analyser.plan(rgb, cut=frame.cut)  # no look-ahead: a cut releases nothing
            if wanted and rgb is not None and (frame.index == self._index - 1 or (final and not frame.released)):
                self._detecting = (frame, self._worker.submit(_timed, analyser.detect, rgb))
                analyser.seconds["detect"] += time.perf_counter() - started
                continue
            # Where it moved, asked before tracking it: against the tracks the motion check saw.
            moved = analyser.moved() if wanted and not frame.released else None
            [(pending, regions)] = analyser.track(frame.rgb, frame.item, detected=False)
            if wanted and not frame.released:
                frame.done = self._fail_closed(pending, regions, moved, MISSED)
            else:
                frame.done = (pending, regions)
            analyser.seconds["track"] += time.perf_counter() - started

    def _fail_closed(self, pending: _Pending, regions: Regions, moved: np.ndarray | None,
                     reason: str) -> tuple[_Pending, Regions]:
        """A frame not analysed as asked, covered by what is known (see the module's rule)."""
        at = self._analyser.detected_at
        index = pending.index
        if (moved is None or at is None or index - at > self.hold_frames
                or any(at < c <= index for c in self._cuts) or self._mostly(moved)):
            pending.flagged, pending.faulted = f"{reason}, {WHOLE_COVER}", True
            # The whole frame is the cover: boxes under it would only add obscuring time
            # (80 boxes cost 6-10 times the whole frame's).
            regions = Regions.empty()
        elif len(moved) or reason == LATE:
            pending.flagged, pending.faulted = f"{reason}, {MOVED_COVER}", False
            regions = Regions.concat([regions, Regions.from_boxes(moved, kind=Kind.OTHER)])
        return pending, regions

    def _mostly(self, boxes: np.ndarray) -> bool:
        """Whether ``boxes`` add up to `MOVED_WHOLE` of the frame (overlaps counted twice)."""
        assert self._frame_size is not None  # set by the first push
        height, width = self._frame_size
        return float(box_areas(pixel_boxes(boxes, width, height)).sum()) >= MOVED_WHOLE * width * height

    def _release(self, final: bool) -> list[RedactedFrame]:
        """The frames at the head of the line that are over the budget, and up to
        `EARLY_RELEASES` more that are analysed, in order."""
        out = []
        now = time.perf_counter()
        early = 0
        while self._waiting:
            frame = self._waiting[0]
            if not (final or self._over_budget(frame, now)):
                if frame.done is None or early == EARLY_RELEASES:
                    break
                early += 1
            if frame.done is None:
                assert frame.rgb is not None  # dropped only once out
                pending = _Pending(frame.rgb, frame.index, frame.item, None)
                frame.done = self._fail_closed(pending, self._analyser.predicted(frame.index),
                                               self._analyser.moved(frame.rgb), LATE)
            self._waiting.popleft()
            frame.released = True
            pending, regions = frame.done
            out.append(self.finish(pending, regions))
            # Frames out but not yet analysed wait for a stalled detector: without their
            # pixels, however long it stalls (the newest may still be detected).
            frame.done = None
            if frame.index != self._index - 1:
                frame.rgb = None
        return out

    def _over_budget(self, frame: _Frame, now: float) -> bool:
        return ((self.max_latency is not None and now - frame.pushed >= self.max_latency)
                or (self.max_latency_frames is not None and self._index - 1 - frame.index >= self.max_latency_frames))
