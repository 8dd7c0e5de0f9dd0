"""Files per minute: `redact --cluster local:N` (1, 2, 4 workers) against the local `--jobs` batch.

A folder of short clips is cut from a real video (faces walking past) into a temporary
folder, and each configuration redacts it from scratch with the command a user types, so
the figures include what the user waits for: process and cluster start, model loading, the
files themselves. Ratios are against ``--jobs 1`` measured in the same run.

    python benchmarks/bench_cluster.py [--clips 20] [--frames 24] [--source VIDEO]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "videos" / "face_recognition_short_hamilton_clip.mp4"
CONFIGS = ("--jobs 1", "--jobs 2", "--cluster local:1", "--cluster local:2", "--cluster local:4")


def cut_clips(source: Path, folder: Path, clips: int, frames: int) -> None:
    """``clips`` clips of ``frames`` frames each, from successive stretches of ``source`` (wrapping)."""
    import av

    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate
        pictures = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    for n in range(clips):
        with av.open(str(folder / f"clip{n:02}.mp4"), "w") as out:
            video = out.add_stream("libx264", rate=rate)
            video.height, video.width = pictures[0].shape[:2]
            video.pix_fmt = "yuv420p"
            for i in range(frames):
                picture = av.VideoFrame.from_ndarray(pictures[(n * frames + i) % len(pictures)], format="rgb24")
                out.mux(video.encode(picture))
            out.mux(video.encode(None))


def timed_run(src: Path, out: Path, extra: list) -> float:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "redact", str(src), "-o", str(out), "-q", *extra],
                            capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(extra)} failed ({result.returncode}): {result.stderr.strip()}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--frames", type=int, default=24, help="frames per clip (default 24: 0.8 s)")
    parser.add_argument("--source", type=Path, default=SOURCE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        src = Path(tmp) / "clips"
        src.mkdir()
        cut_clips(args.source, src, args.clips, args.frames)
        os.environ.setdefault("REDACT_CONFIG_DIR", str(Path(tmp) / "config"))  # a throwaway device key
        walls = {name: timed_run(src, Path(tmp) / f"out{i}", name.split()) for i, name in enumerate(CONFIGS)}
    base = walls[CONFIGS[0]]
    print(f"{args.clips} clips of {args.frames} frames ({args.source.name}), default detectors, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print("| run | wall s | files/min | vs --jobs 1 |")
    print("| --- | ---: | ---: | ---: |")
    for name, wall in walls.items():
        print(f"| `{name}` | {wall:.1f} | {60 * args.clips / wall:.1f} | {base / wall:.2f} |")


if __name__ == "__main__":
    main()
