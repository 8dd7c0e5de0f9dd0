"""Benchmark ``redact.pipeline.obscure.obscure`` against OpenCV compositions of the same operations.

What it measures
----------------
1. Per-frame cost, in ms, of ``redact.pipeline.obscure.obscure(frame, regions, style, out=buf)`` on a
   1080p RGB uint8 frame (textured random content, fixed seed) for 1, 10 and 50 regions of
   mixed sizes (24-400 px, fixed seed; the first N of one list), every `Method`, with
   `Shape.ELLIPSE` and `Shape.BOX` (default padding, feather and noise). Each figure is the
   median of ``--repeat`` calls after one warm-up call, so JIT compilation is excluded.
2. The same for the OpenCV baselines in ``opencv_baselines.py`` (one region at a time).
3. Targets, checked on the 10-region rows: redact <= 2 ms per frame and >= 1.5x faster
   than OpenCV (ratio = opencv ms / redact ms).
4. JIT start-up in fresh processes: (a) with an empty ``NUMBA_CACHE_DIR``, the first call
   of each method (compilation), then (b) a second process on the same cache directory
   (loading compiled code), each with the process's total wall time.

Everything runs on one core: ``cv2.setNumThreads(1)``; the Numba kernels are plain
``@njit`` loops (no ``parallel=True``), so they are single-threaded already.

How to run
----------
From the repository root::

    python benchmarks/bench_obscure.py               # full run
    python benchmarks/bench_obscure.py --repeat 31   # steadier medians
    python benchmarks/bench_obscure.py --quick       # 3 repeats, 10 regions, no start-up test
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from opencv_baselines import obscure_opencv, region_geometry  # noqa: E402

from redact.core.policy import Method, Shape, Style  # noqa: E402
from redact.core.types import Regions  # noqa: E402
from redact.pipeline.obscure import obscure  # noqa: E402

WIDTH, HEIGHT = 1920, 1080
REGION_COUNTS = (1, 10, 50)
TARGET_REGIONS = 10
TARGET_MS = 2.0
TARGET_RATIO = 1.5

# Runs in a fresh interpreter: import, then the first obscure() call per method.
_STARTUP_CHILD = """
import json, time
t0 = time.perf_counter()
import numpy as np
from redact.pipeline.obscure import obscure
from redact.core.policy import Method, Style
import redact._kernels.obscure
result = {"import_ms": 1e3 * (time.perf_counter() - t0), "first_call_ms": {}}
frame = np.full((120, 160, 3), 128, np.uint8)
out = np.empty_like(frame)
for method in Method:
    t = time.perf_counter()
    obscure(frame, [[40.0, 30.0, 100.0, 90.0]], Style(method=method), out=out)
    result["first_call_ms"][method.value] = 1e3 * (time.perf_counter() - t)
print(json.dumps(result))
"""


def make_frame(seed: int = 0) -> np.ndarray:
    """1080p RGB frame: smooth colour blobs plus fine grain, so blurs and means do real work."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (HEIGHT // 32, WIDTH // 32, 3), dtype=np.uint8)
    base = cv2.resize(coarse, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    grain = rng.integers(-24, 25, (HEIGHT, WIDTH, 3), dtype=np.int16)
    return np.clip(base + grain, 0, 255).astype(np.uint8)


def make_boxes(n: int, seed: int = 1) -> np.ndarray:
    """The first ``n`` of a fixed list of in-frame boxes, sides 24-400 px (log-uniform widths)."""
    rng = np.random.default_rng(seed)
    count = max(REGION_COUNTS)
    w = np.exp(rng.uniform(np.log(24), np.log(400), count))
    h = np.clip(w * rng.uniform(0.75, 1.33, count), 24, 400)
    x = rng.uniform(0, WIDTH - w)
    y = rng.uniform(0, HEIGHT - h)
    return np.stack([x, y, x + w, y + h], axis=1)[:n]


def extent_kpx(boxes: np.ndarray, style: Style) -> float:
    """Pixels (thousands) in the regions' extents, summed (an overlap counts for each region)."""
    ext = region_geometry(boxes, style, WIDTH, HEIGHT)[2]
    return float(((ext[:, 2] - ext[:, 0]) * (ext[:, 3] - ext[:, 1])).sum()) / 1e3


def median_ms(calls, repeat: int) -> list[float]:
    """Median wall time in ms of each of ``calls`` over ``repeat`` rounds, after one warm-up.

    The calls alternate within each round, so load from other processes hits them alike.
    """
    for call in calls:
        call()
    samples = [[] for _ in calls]
    for _ in range(repeat):
        for call, times in zip(calls, samples):
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
    return [1e3 * statistics.median(times) for times in samples]


def verdict(regions: int, redact_ms: float, ratio: float) -> str:
    if regions != TARGET_REGIONS:
        return ""
    return "PASS" if redact_ms <= TARGET_MS and ratio >= TARGET_RATIO else "MISS"


def run_table(frame: np.ndarray, counts, repeat: int) -> None:
    out = np.empty_like(frame)
    header = (f"{'method':<12} {'shape':<8} {'regions':>7} {'ext kpx':>8} {'redact ms':>10} "
              f"{'opencv ms':>10} {'ratio':>6}  target")
    print(header)
    print("-" * len(header))
    for n in counts:
        boxes = make_boxes(n)
        regions = Regions.from_boxes(boxes)
        for method in Method:
            for shape in (Shape.ELLIPSE, Shape.BOX):
                style = Style(method=method, shape=shape)
                ours, theirs = median_ms([lambda: obscure(frame, regions, style, out=out),
                                          lambda: obscure_opencv(frame, boxes, style, out=out)],
                                         repeat)
                ratio = theirs / ours
                print(f"{method.value:<12} {shape.value:<8} {n:>7} {extent_kpx(boxes, style):>8.0f} "
                      f"{ours:>10.2f} {theirs:>10.2f} {ratio:>6.2f}  {verdict(n, ours, ratio)}",
                      flush=True)


def startup_run(cache_dir: str) -> dict:
    """One fresh interpreter on ``cache_dir``: its JSON report plus its total wall time."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONPATH=str(REPO))
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _STARTUP_CHILD], env=env, cwd=REPO,
                          capture_output=True, text=True, check=True)
    report = json.loads(done.stdout)
    report["process_ms"] = 1e3 * (time.perf_counter() - t0)
    return report


def run_startup() -> None:
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache_dir:
        runs = [("first compile (empty cache)", startup_run(cache_dir)),
                ("cached start-up (same cache)", startup_run(cache_dir))]
    print(f"\nJIT start-up, fresh processes ({', '.join(m.value for m in Method)} in that order)")
    for label, r in runs:
        calls = "  ".join(f"{k} {v:.0f}" for k, v in r["first_call_ms"].items())
        print(f"  {label:<29} import {r['import_ms']:.0f} ms | first call ms: {calls} | "
              f"sum {sum(r['first_call_ms'].values()):.0f} ms | process wall {r['process_ms']:.0f} ms")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=11, help="timed calls per cell (median)")
    parser.add_argument("--quick", action="store_true",
                        help="3 repeats, 10 regions only, skip the start-up measurement")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else args.repeat
    counts = (TARGET_REGIONS,) if args.quick else REGION_COUNTS

    cv2.setNumThreads(1)
    print(f"frame {WIDTH}x{HEIGHT} RGB uint8, median of {repeat} alternating runs after 1 warm-up, one core "
          f"(cv2.setNumThreads(1); numba kernels are serial), cv2 {cv2.__version__}")
    print(f"targets at {TARGET_REGIONS} regions: redact <= {TARGET_MS} ms and "
          f"ratio (opencv/redact) >= {TARGET_RATIO}\n")
    run_table(make_frame(), counts, repeat)
    if not args.quick:
        run_startup()


if __name__ == "__main__":
    main()
