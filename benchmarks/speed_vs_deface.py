"""Issue 25's speed table: the default command against deface and the decode + encode ceiling, on real clips.

Every figure is a whole process as a user runs it (start-up and model loading included), and
every ratio is taken between runs of the same round, so it holds on a shared, loaded machine
where absolute frame rates drift; the table quotes the median over ``--rounds``.

Clips (cut and scaled into a temporary folder, never into the project), from the shared data:

* **1080p people**: ``facenet_pytorch_video.mp4`` (1080p, people walking at the camera)
  played ``--people-loops`` times (3: 318 frames);
* **720p people**: the same, scaled to 1280x720;
* **720p plate**: ``theaiguys_license_plate.mp4`` (720p, a car with a readable plate) played
  ``--plate-loops`` times (2: 282 frames).

Runs on each clip, in turn within a round:

* **ceiling**: PyAV decode -> RGB -> x264 ``veryfast`` crf 20, nothing else (no redaction
  tool that re-encodes beats it);
* **redact** ``python -m redact CLIP -o OUT --profile P -q`` for ``balanced`` (the default),
  ``fast`` and ``pi``, its peak RSS read from the process itself (``VmHWM``, see
  ``bench_memory.py``);
* **deface** 1.5.0 on its OpenCV backend (``--deface-backend``), from ``--deface PATH`` or
  the virtual environment ``redact bench --install-deface`` makes.

    python benchmarks/speed_vs_deface.py                          # the whole table, 2 rounds
    python benchmarks/speed_vs_deface.py --rounds 1 --people-loops 1 --plate-loops 1   # a quick look
    python benchmarks/speed_vs_deface.py --baseline ../main        # also the default from another checkout

``--baseline DIR`` runs the default profile a second time from another checkout (its
``PYTHONPATH``) in the same rounds, and prints the ratio this checkout / that one.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_memory import _CHILD, PEAK_MARK  # noqa: E402  (VmHWM read by the child itself)

VIDEOS = HERE.parent.parent / "shared" / "data" / "videos"
PEOPLE, PLATE = "facenet_pytorch_video.mp4", "theaiguys_license_plate.mp4"
PROFILES = ("balanced", "fast", "pi")

#: Issue 25's targets: (label, numerator, denominator, clip, target).
TARGETS = (("balanced / deface, 720p", "balanced", "deface", "720p people", 2.0),
           ("balanced / deface, 1080p", "balanced", "deface", "1080p people", 3.0),
           ("fast / ceiling, 720p", "fast", "ceiling", "720p people", 0.60),
           ("pi / ceiling, 720p", "pi", "ceiling", "720p people", 0.70))
RSS_TARGET_MB = 500


def make_clip(src: Path, dst: Path, loops: int, size: tuple | None) -> int:
    """``src`` played ``loops`` times into ``dst`` (x264 crf 18), scaled to ``size`` (w, h) when
    given; returns the frame count."""
    import av
    import cv2

    frames = 0
    with av.open(str(src)) as probe:
        rate = probe.streams.video[0].average_rate
    with av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.pix_fmt, stream.options = "yuv420p", {"crf": "18", "preset": "veryfast"}
        for _ in range(loops):
            with av.open(str(src)) as inp:
                for frame in inp.decode(video=0):
                    rgb = frame.to_ndarray(format="rgb24")
                    if size is not None and (rgb.shape[1], rgb.shape[0]) != size:
                        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
                    if not frames:
                        stream.width, stream.height = rgb.shape[1], rgb.shape[0]
                    for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                        out.mux(packet)
                    frames += 1
        for packet in stream.encode(None):
            out.mux(packet)
    return frames


def ceiling_child(src: str, dst: str) -> None:
    """In a fresh process: decode -> RGB -> x264 veryfast crf 20, nothing else."""
    import av

    with av.open(src) as inp, av.open(dst, "w") as out:
        video = inp.streams.video[0]
        video.thread_type = "AUTO"
        stream = out.add_stream("libx264", rate=video.average_rate)
        stream.width, stream.height, stream.pix_fmt = video.width, video.height, "yuv420p"
        stream.options = {"crf": "20", "preset": "veryfast"}
        for frame in inp.decode(video):
            rgb = frame.to_ndarray(format="rgb24")
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def timed(cmd: list, env: dict | None = None) -> tuple[float, float | None, str]:
    """Wall seconds of ``cmd``, its peak RSS in MB where it prints one, and its last error line."""
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    peak = next((float(line.split()[1]) / 1024 for line in done.stdout.splitlines()
                 if line.startswith(PEAK_MARK)), None)
    error = "" if done.returncode == 0 else (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
    return wall, peak, error


def deface_command(explicit: str | None) -> list | None:
    """deface's command: ``explicit``, or the venv `redact bench --install-deface` makes."""
    if explicit:
        return [explicit]
    from redact.app.bench import deface_venv

    venv = deface_venv(allow_install=False)
    return [str(venv / "bin" / "deface")] if venv else None


def python_in(checkout: Path) -> tuple:
    """``(argv prefix, environment)`` of a Python that imports redact from ``checkout``.

    ``-c`` puts the working directory ahead of ``PYTHONPATH`` on ``sys.path``: run from one
    checkout, a child pointed at another by ``PYTHONPATH`` alone imports the first one's
    redact (``--baseline`` then timed this checkout twice). ``-P`` leaves the working
    directory out, so ``PYTHONPATH`` decides.
    """
    return [sys.executable, "-P"], {**os.environ, "PYTHONPATH": str(Path(checkout).resolve())}


def runs_for(args, tmp: Path) -> dict:
    """Name -> (command builder ``f(src, dst)``, environment) of every tool measured."""
    runs = {"ceiling": (lambda s, d: [sys.executable, __file__, "--ceiling-child", str(s), str(d)], None)}
    checkouts = {profile: HERE.parent for profile in PROFILES}
    if args.baseline:
        checkouts["balanced (baseline)"] = args.baseline
    for name, checkout in checkouts.items():
        python, env = python_in(checkout)
        profile = name.split()[0]
        runs[name] = (lambda s, d, p=profile, py=python: [*py, "-c", _CHILD, str(s), "-o", str(d), "--profile",
                                                          p, "-q", "--overwrite", "--force"], env)
    deface = deface_command(args.deface)
    if deface is None:
        print("deface left out: not installed (redact bench --install-deface, or --deface PATH)", file=sys.stderr)
    else:
        backend = ["--backend", args.deface_backend] if args.deface_backend else []
        runs["deface"] = (lambda s, d: [*deface, str(s), "-o", str(d), *backend], None)
    return runs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--people-loops", type=int, default=3)
    p.add_argument("--plate-loops", type=int, default=2)
    p.add_argument("--videos", type=Path, default=VIDEOS)
    p.add_argument("--deface", help="deface's command (default: redact bench's venv)")
    p.add_argument("--deface-backend", default="opencv", help="deface --backend (default opencv; '' for its own)")
    p.add_argument("--baseline", type=Path, help="another checkout whose default profile runs beside this one")
    p.add_argument("--clips", nargs="+", choices=("1080p people", "720p people", "720p plate"),
                   default=["1080p people", "720p people", "720p plate"])
    args = p.parse_args(argv)
    for name in (PEOPLE, PLATE):
        if not (args.videos / name).is_file():
            p.error(f"{args.videos / name}: not found (give --videos, the shared data's videos folder)")
    with tempfile.TemporaryDirectory(prefix="speed-vs-deface-") as tmp_name:
        tmp = Path(tmp_name)
        specs = {"1080p people": (PEOPLE, args.people_loops, (1920, 1080)),
                 "720p people": (PEOPLE, args.people_loops, (1280, 720)),
                 "720p plate": (PLATE, args.plate_loops, (1280, 720))}
        clips = {}
        for name in args.clips:
            video, loops, size = specs[name]
            path = tmp / f"{name.replace(' ', '-')}.mp4"
            clips[name] = (path, make_clip(args.videos / video, path, loops, size))
        runs = runs_for(args, tmp)
        fps: dict = {}  # (clip, run) -> [fps per round]
        peak: dict = {}
        for round_ in range(args.rounds):
            for clip, (path, frames) in clips.items():
                for run, (command, env) in runs.items():
                    wall, mb, error = timed(command(path, tmp / "out.mp4"), env)
                    if error:
                        print(f"round {round_ + 1}, {clip}, {run}: failed: {error}", file=sys.stderr)
                        continue
                    fps.setdefault((clip, run), []).append(frames / wall)
                    if mb is not None:
                        peak.setdefault((clip, run), []).append(mb)
                    print(f"round {round_ + 1}, {clip}, {run}: {frames / wall:.2f} fps"
                          + (f", peak {mb:.0f} MB" if mb else ""), file=sys.stderr, flush=True)
    print(report(fps, peak, {c: n for c, (_, n) in clips.items()}, list(runs), args))
    return 0


def ratio(fps: dict, clip: str, a: str, b: str) -> float | None:
    """Median over rounds of the same-round ratio a/b on ``clip``."""
    pairs = list(zip(fps.get((clip, a), []), fps.get((clip, b), [])))
    return statistics.median(x / y for x, y in pairs) if pairs else None


def report(fps: dict, peak: dict, frames: dict, runs: list, args) -> str:
    """The fps table and the targets table, as Markdown."""
    def cell(clip, run):
        values = fps.get((clip, run))
        if not values:
            return "-"
        text = f"{statistics.median(values):.2f}"
        if run in PROFILES and (clip, "deface") in fps:
            text += f" ({ratio(fps, clip, run, 'deface'):.2f}x deface)"
        return text

    lines = [f"{args.rounds} round(s), medians; whole processes; load average {os.getloadavg()[0]:.1f} at the end",
             "", "| clip | frames | " + " | ".join(f"{r} fps" for r in runs) + " |",
             "| --- | ---: |" + " ---: |" * len(runs)]
    for clip, n in frames.items():
        lines.append(f"| {clip} | {n} | " + " | ".join(cell(clip, r) for r in runs) + " |")
    lines += ["", "| measure | figure | target |", "| --- | ---: | ---: |"]
    for label, a, b, clip, target in TARGETS:
        value = ratio(fps, clip, a, b)
        lines.append(f"| {label} | {'-' if value is None else f'{value:.2f}'} | >= {target:g} |")
    rss = peak.get(("1080p people", "balanced"))
    lines.append(f"| peak RSS, 1080p default | {f'{max(rss):.0f} MB' if rss else '-'} | <= {RSS_TARGET_MB} MB |")
    if args.baseline:
        for clip in frames:
            value = ratio(fps, clip, "balanced", "balanced (baseline)")
            if value is not None:
                lines.append(f"| balanced / baseline balanced, {clip} | {value:.2f} | |")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--ceiling-child":
        ceiling_child(sys.argv[2], sys.argv[3])
    else:
        sys.exit(main())
