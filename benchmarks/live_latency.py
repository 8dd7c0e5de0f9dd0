"""Live latency: push time and release latency of `redact.pipeline.live.LiveRedactor` against
the synchronous `redact.Redactor`, on a real clip standing in for a camera.

    python benchmarks/live_latency.py ../shared/data/videos/facenet_pytorch_video.mp4 --realtime

The clip is decoded first, then pushed frame by frame: through `Redactor` (no look-ahead; a
push returns its frame, so its latency is the push time), then through `LiveRedactor` once per
budget in ``--budgets`` (seconds). ``--realtime`` pushes each frame at its time in the clip, as
a camera would; without it frames follow each other as fast as pushes return. Printed per run:
push time (median, p99, max), release latency (frames pushed meanwhile and ms, median, p99,
max; from the frame's time in the clip with ``--realtime``, so a push falling behind the camera
counts) of the frames released by pushes (those `flush` returns at the end are counted apart),
frames flagged (over the budget, moved while the detector was busy; covered by moved areas
or whole), the share of pixels obscured, and, against the synchronous output, boxes it
obscured (faces, plates) that the live output leaves visible (`VISIBLE_SHARE` of the box
unchanged). The first frames, which compile kernels and warm the networks, run before timing
on a redactor of their own.
"""
from __future__ import annotations

import argparse
import time
from fractions import Fraction

import numpy as np

import redact
from redact.core.geometry import pixel_boxes
from redact.core.types import Kind
from redact.detectors import detectors_for
from redact.pipeline.live import LiveRedactor

#: A box counts as visible when this share of its pixels is left as in the input.
VISIBLE_SHARE = 0.1
#: Pixels sampled (every n-th row and column) for the share obscured.
SAMPLE = 4


def decode(path: str, limit: int | None) -> tuple[list, Fraction]:
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        fps = Fraction(stream.average_rate or 30)
        frames = []
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            if limit and len(frames) >= limit:
                break
    return frames, fps


def visible_boxes(original: np.ndarray, out: np.ndarray, regions) -> int:
    """Boxes of ``regions`` (faces and plates) with `VISIBLE_SHARE` of their pixels unchanged."""
    height, width = original.shape[:2]
    rows = np.isin(regions.kind, [Kind.FACE, Kind.PLATE])
    count = 0
    for x0, y0, x1, y1 in pixel_boxes(regions.xyxy[rows], width, height):
        if x1 > x0 and y1 > y0:
            same = (out[y0:y1, x0:x1] == original[y0:y1, x0:x1]).all(axis=2)
            count += float(same.mean()) >= VISIBLE_SHARE
    return count


def obscured_share(original: np.ndarray, out: np.ndarray) -> float:
    return float((out[::SAMPLE, ::SAMPLE] != original[::SAMPLE, ::SAMPLE]).any(axis=2).mean())


def stats(values) -> str:
    values = np.asarray(values, np.float64)
    if not len(values):
        return "-"
    return f"{np.median(values):.0f} / {np.percentile(values, 99):.0f} / {values.max():.0f}"


class Run:
    """What one pass over the clip measured."""

    def __init__(self, name: str):
        self.name = name
        self.push_ms: list = []
        self.wait_ms: list = []
        self.wait_frames: list = []
        self.at_flush = 0
        self.flags: dict = {}
        self.shares: list = []
        self.regions: dict = {}  # frame index -> the regions obscured
        self.visible = {"analysed": 0, "flagged": 0}  # sync boxes left visible, by the frame's kind
        self.frames_detected = 0
        self.behind_ms = 0.0  # most a push started after its frame's time in the clip

    def took(self, done, frames, shot_at, pushes, now, sync=None, flushed=False) -> None:
        for d in done:
            if flushed:
                self.at_flush += 1
            else:
                self.wait_ms.append((now - shot_at[d.index]) * 1000)
                self.wait_frames.append(pushes - 1 - d.index)
            if d.flagged:
                self.flags[d.flagged] = self.flags.get(d.flagged, 0) + 1
            self.shares.append(obscured_share(frames[d.index], d.rgb))
            self.regions[d.index] = d.regions
            if sync is not None:
                self.visible["flagged" if d.flagged else "analysed"] += visible_boxes(
                    frames[d.index], d.rgb, sync.regions[d.index])

    def report(self, sync=None) -> None:
        print(f"{self.name}: push ms (median / p99 / max) {stats(self.push_ms)}; release latency frames "
              f"{stats(self.wait_frames)}, ms {stats(self.wait_ms)}; {self.at_flush} frames left to flush; "
              f"{self.frames_detected} frames detected; {np.mean(self.shares):.1%} of pixels obscured; pushes "
              f"behind the clip's time by up to {self.behind_ms:.0f} ms")
        for flag, count in sorted(self.flags.items()):
            print(f"    {count:4d} flagged: {flag}")
        if sync is not None:
            boxes = sum(int(np.isin(r.kind, [Kind.FACE, Kind.PLATE]).sum()) for r in sync.regions.values())
            print(f"    faces and plates the synchronous run obscured, left visible here: {self.visible['analysed']} "
                  f"on frames analysed (detected on other frames than here), {self.visible['flagged']} on frames "
                  f"flagged, of {boxes}")


def paced(start: float, index: int, fps: Fraction, realtime: bool) -> None:
    if realtime:
        delay = start + float(index / fps) - time.perf_counter()
        if delay > 0:
            time.sleep(delay)


def drive(redactor, run: Run, frames, fps, realtime: bool, sync: Run | None = None) -> Run:
    """Push the clip through ``redactor``, then flush it, recording into ``run``. With
    ``realtime`` a frame's latency counts from its time in the clip (when a camera would have
    delivered it), so pushes that fall behind the camera count too."""
    start = time.perf_counter()
    shot_at = {}
    for i, frame in enumerate(frames):
        paced(start, i, fps, realtime)
        pushed = time.perf_counter()
        run.behind_ms = max(run.behind_ms, (pushed - start - float(i / fps)) * 1000) if realtime else 0.0
        shot_at[i] = start + float(i / fps) if realtime else pushed
        done = redactor.push(frame, i)
        now = time.perf_counter()
        run.push_ms.append((now - pushed) * 1000)
        run.took(done, frames, shot_at, i + 1, now, sync)
    run.took(redactor.flush(), frames, shot_at, len(frames), time.perf_counter(), sync, flushed=True)
    run.frames_detected = redactor.frames_detected
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clip")
    parser.add_argument("--profile", default="fast")
    parser.add_argument("--budgets", type=float, nargs="+", default=[0.0, 0.25, 0.5])
    parser.add_argument("--realtime", action="store_true", help="push each frame at its time in the clip")
    parser.add_argument("--frames", type=int, help="only the first N frames")
    args = parser.parse_args()
    frames, fps = decode(args.clip, args.frames)
    policy = redact.Policy(lookahead_seconds=0, profile=args.profile)
    detectors = detectors_for(policy)
    height, width = frames[0].shape[:2]
    print(f"{args.clip}: {len(frames)} frames {width}x{height} at {float(fps):.2f} fps "
          f"({1000 / float(fps):.0f} ms a frame), profile {args.profile}, detect every {policy.detect_every}, "
          f"{'real-time pacing' if args.realtime else 'no pacing'}")
    warm = redact.Redactor(policy, fps=fps, detectors=detectors)
    for frame in frames[:3]:
        warm.push(frame)
    sync = drive(redact.Redactor(policy, fps=fps, detectors=detectors, seed=1), Run("synchronous Redactor"),
                 frames, fps, args.realtime)
    sync.report()
    for budget in args.budgets:
        with LiveRedactor(policy, fps=fps, max_latency=budget, detectors=detectors, seed=1) as live:
            run = Run(f"LiveRedactor, max_latency {budget} s (declared latency {live.latency} frames)")
            drive(live, run, frames, fps, args.realtime, sync).report(sync)


if __name__ == "__main__":
    main()
