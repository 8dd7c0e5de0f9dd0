"""Show that redacting a video takes the same peak memory whatever the clip's length.

What it measures
----------------
1. Synthetic clips, one per ``--minutes`` value (default 1 and 10): 640x360, 30 fps,
   H.264 (libx264, preset ultrafast) written with PyAV. Each frame is a window onto a fixed
   random texture (coarse blocks plus fine grain) that scrolls diagonally, with a bright
   square bouncing across it, so motion search and residual coding do real work. Clips are
   kept in ``--workdir`` (``clip-<minutes>min.mp4``) and reused when already there; without
   ``--workdir`` they go to a temporary folder deleted at the end.
2. Each clip is redacted by the real command line in a fresh process::

       python -m redact CLIP -o OUT --detect none --zone 0.25,0.25,0.5,0.5 -q --overwrite

   No detectors run, so the figures isolate decode -> obscure -> encode. Outputs always go
   to a fresh temporary folder: an output with its manifest beside it would otherwise be
   skipped as already complete on a second run.
3. Per clip: frames, peak RSS, wall time of the whole process (interpreter start-up and
   imports included), frames per second, and whether the output holds exactly the input's
   frame count (video packets counted by demuxing both files). Then the ratio
   peak(longest clip) / peak(shortest clip): memory is called constant when it is below 1.15.
4. With ``--people``: issue 25's memory target on real footage instead. The shared data's
   ``facenet_pytorch_video.mp4`` (1080p, people walking at the camera, 105 frames) played
   ``--loops`` times (default 3: 315 frames, x264 crf 18, into ``--workdir`` or a temporary
   folder, never the project) is redacted by the default command, every detector loaded::

       python -m redact CLIP -o OUT -q --overwrite

   and its peak RSS is compared with the target, 500 MB (a Raspberry Pi 4 with 2 GB runs
   other things too). Children are started with ``python -P``, so ``PYTHONPATH`` alone says
   which checkout's ``redact`` runs (``-c`` would put the working directory first); without
   it, this benchmark's checkout.

How peak RSS is read
--------------------
The child runs the CLI module through a tiny wrapper (``_CHILD`` below) that, in a
``finally`` after the CLI returns, reads ``VmHWM`` from its own ``/proc/self/status``: the
high-water mark of the resident set of this process's address space, which covers every
thread, FFmpeg/x264 buffer and mapped library page. Interpreter shutdown after that point
only frees memory. ``ru_maxrss`` is not used, neither ``os.wait4`` on the child nor
``RUSAGE_CHILDREN`` deltas: Linux seeds a child's ``ru_maxrss`` with the peak RSS of the
address space it replaced at ``exec``, which for ``subprocess`` (vfork) is this benchmark's
own, so a child could report the parent's peak instead of its own. ``VmHWM`` starts afresh
at ``exec``. Polling ``/proc/<pid>/status`` from outside would miss a peak reached after
the last poll.

How to run
----------
From the repository root (Linux only, for ``/proc``)::

    python benchmarks/bench_memory.py                        # 1 and 10 minute clips
    python benchmarks/bench_memory.py --minutes 0.5 2 --workdir /tmp/bench-clips
    PYTHONPATH=$PWD python benchmarks/bench_memory.py --people --workdir /tmp/bench-clips
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

WIDTH, HEIGHT, FPS = 640, 360, 30
SCROLL = 256  # texture margin: the window's offset wraps after this many pixels
SQUARE = 48  # side of the bouncing square, pixels
CONSTANT_RATIO = 1.15
REDACT_ARGS = ["--detect", "none", "--zone", "0.25,0.25,0.5,0.5", "-q", "--overwrite"]
PEAK_MARK = "BENCH_PEAK_RSS_KIB"
#: Issue 25's target for the default command at 1080p (`--people`).
RSS_TARGET_MB = 500
PEOPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos" / "facenet_pytorch_video.mp4"

# Runs `python -m redact ...` in this process, then reports the process's own VmHWM.
_CHILD = f"""
import runpy
try:
    runpy.run_module("redact", run_name="__main__", alter_sys=True)
finally:
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    print("{PEAK_MARK}", peak, flush=True)
"""


@dataclass
class Result:
    minutes: float
    frames: int
    peak_mib: float
    wall_s: float
    frames_out: int

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s


def make_texture(seed: int = 0) -> np.ndarray:
    """Coarse 8x8-pixel colour blocks plus fine grain, larger than a frame by `SCROLL`."""
    rng = np.random.default_rng(seed)
    height, width = HEIGHT + SCROLL, WIDTH + SCROLL
    coarse = rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.int16)
    blocks = np.repeat(np.repeat(coarse, 8, axis=0), 8, axis=1)
    grain = rng.integers(-24, 25, blocks.shape, dtype=np.int16)
    return np.clip(blocks + grain, 0, 255).astype(np.uint8)


def bounce(t: int, span: int) -> int:
    """Position at step ``t`` of a point going back and forth over ``0..span``."""
    t %= 2 * span
    return t if t <= span else 2 * span - t


def synthetic_frame(texture: np.ndarray, i: int) -> np.ndarray:
    """Frame ``i``: the texture scrolled 3 px right and 1 px down per frame, and a white square."""
    x, y = (3 * i) % SCROLL, i % SCROLL
    frame = texture[y:y + HEIGHT, x:x + WIDTH].copy()
    sx, sy = bounce(5 * i, WIDTH - SQUARE), bounce(4 * i, HEIGHT - SQUARE)
    frame[sy:sy + SQUARE, sx:sx + SQUARE] = 255
    return frame


def write_clip(path: Path, frames: int) -> None:
    """Write ``frames`` synthetic frames as H.264 (ultrafast) MP4, renamed into place when done."""
    partial = path.with_name(f".{path.name}.partial")
    texture = make_texture()
    with av.open(str(partial), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=Fraction(FPS))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(synthetic_frame(texture, i), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    partial.rename(path)


def clip_for(minutes: float, workdir: Path) -> Path:
    """The clip of this length in ``workdir``, written first unless already there."""
    path = workdir / f"clip-{minutes:g}min.mp4"
    if path.exists():
        print(f"reusing {path}", flush=True)
    else:
        frames = round(minutes * 60 * FPS)
        print(f"writing {path} ({frames} frames) ...", flush=True)
        start = time.perf_counter()
        write_clip(path, frames)
        print(f"  done in {time.perf_counter() - start:.1f} s", flush=True)
    return path


def count_frames(path: Path) -> int:
    """Video packets in the file's first video stream (one per frame for H.264 in MP4)."""
    with av.open(str(path)) as container:
        return sum(1 for packet in container.demux(video=0) if packet.size)


def run_redact(clip: Path, out: Path, args: list = REDACT_ARGS) -> tuple[float, float]:
    """Redact ``clip`` into ``out`` in a fresh process; returns (peak RSS in MiB, wall seconds)."""
    cmd = [sys.executable, "-P", "-c", _CHILD, str(clip), "-o", str(out), *args]
    # -P: PYTHONPATH alone picks the checkout; without one, this benchmark's own.
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH") or str(Path(__file__).resolve().parents[1])}
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"redact failed on {clip} (exit {proc.returncode}):\n{proc.stderr}")
    peak_kib = next(int(line.split()[1]) for line in proc.stdout.splitlines() if line.startswith(PEAK_MARK))
    return peak_kib / 1024, wall


def measure(minutes: float, workdir: Path, outdir: Path) -> Result:
    clip = clip_for(minutes, workdir)
    frames = count_frames(clip)
    out = outdir / f"{clip.stem}.redacted.mp4"
    print(f"redacting {clip.name} ...", flush=True)
    peak_mib, wall = run_redact(clip, out)
    return Result(minutes, frames, peak_mib, wall, count_frames(out))


def print_table(results: list[Result]) -> bool:
    """Print the table and verdict; True when every output is complete and memory is constant."""
    print(f"\n{'minutes':>7} {'frames':>7} {'peak RSS MiB':>12} {'wall s':>7} {'fps':>6}  frames out")
    for r in results:
        check = "ok" if r.frames_out == r.frames else f"MISMATCH ({r.frames_out})"
        print(f"{r.minutes:>7g} {r.frames:>7} {r.peak_mib:>12.1f} {r.wall_s:>7.1f} {r.fps:>6.1f}  {check}")
    shortest = min(results, key=lambda r: r.minutes)
    longest = max(results, key=lambda r: r.minutes)
    ratio = longest.peak_mib / shortest.peak_mib
    constant = ratio < CONSTANT_RATIO
    print(f"\npeak({longest.minutes:g} min) / peak({shortest.minutes:g} min) = {ratio:.3f} -> "
          f"{'constant' if constant else 'GROWS'} (constant when < {CONSTANT_RATIO})")
    return constant and all(r.frames_out == r.frames for r in results)


def measure_people(loops: int, workdir: Path, outdir: Path) -> bool:
    """Peak RSS of the default command on the 1080p people clip (see the module); True when
    it is within `RSS_TARGET_MB`."""
    from speed_vs_deface import make_clip  # the speed table's clips, made the same way

    if not PEOPLE.exists():
        raise SystemExit(f"--people needs {PEOPLE} (the shared evaluation data)")
    clip = workdir / f"people-1080p-x{loops}.mp4"
    if clip.exists():
        print(f"reusing {clip}", flush=True)
    else:
        print(f"writing {clip} ({PEOPLE.name} x{loops}) ...", flush=True)
        partial = clip.with_name(f".{clip.name}.partial.mp4")
        make_clip(PEOPLE, partial, loops, None)
        partial.rename(clip)
    frames = count_frames(clip)
    out = outdir / "people.redacted.mp4"
    args = ["-q", "--overwrite"]
    print(f"redacting {clip.name} ({frames} frames): python -m redact CLIP -o OUT {' '.join(args)}", flush=True)
    peak_mib, wall = run_redact(clip, out, args)
    written = count_frames(out)
    within = peak_mib <= RSS_TARGET_MB
    print(f"\n1080p default: peak RSS {peak_mib:.0f} MiB ({'within' if within else 'OVER'} the target of "
          f"{RSS_TARGET_MB} MB), {wall:.1f} s, {frames / wall:.2f} fps, frames out "
          f"{'ok' if written == frames else f'MISMATCH ({written})'}")
    return within and written == frames


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0],
                        help="clip lengths in minutes (default: 1 10)")
    parser.add_argument("--workdir", type=Path,
                        help="folder for the clips, reused across runs (default: a temporary folder)")
    parser.add_argument("--people", action="store_true",
                        help="instead: the default command on the 1080p people clip (issue 25's 500 MB target)")
    parser.add_argument("--loops", type=int, default=3, help="with --people: times the clip is played (default 3)")
    args = parser.parse_args(argv)
    if any(m <= 0 for m in args.minutes):
        parser.error("--minutes: lengths must be > 0")
    if args.loops < 1:
        parser.error("--loops: at least 1")
    if args.people:
        with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
            workdir = args.workdir or Path(tmp)
            workdir.mkdir(parents=True, exist_ok=True)
            outdir = Path(tmp) / "out"
            outdir.mkdir()
            return 0 if measure_people(args.loops, workdir, outdir) else 1

    print(f"clips {WIDTH}x{HEIGHT} @ {FPS} fps; per clip: python -m redact CLIP -o OUT {' '.join(REDACT_ARGS)}")
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        outdir = Path(tmp) / "out"
        outdir.mkdir()
        results = [measure(m, workdir, outdir) for m in args.minutes]
    return 0 if print_table(results) else 1


if __name__ == "__main__":
    sys.exit(main())
