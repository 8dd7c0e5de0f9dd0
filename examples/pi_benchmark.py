"""What can this device redact? A short benchmark to run on a Raspberry Pi (or anything).

    python examples/pi_benchmark.py [CLIP] [--profiles fast balanced] [--seconds 4]

Without a clip it draws a 720p street-like scene with a moving plate. Each profile redacts
the clip end to end (decode, detect, track, obscure, encode, manifest), and a decode plus
encode pass with the same encoder settings gives the ceiling any re-encoding tool has on
this device. It prints one table, with the machine it ran on, to paste into an issue.

On a Pi 4 or 5 with 64-bit Raspberry Pi OS::

    python3 -m venv ~/redact && . ~/redact/bin/activate
    pip install redactcam && redact models fetch
    python examples/pi_benchmark.py
"""
import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

import redact


def draw_clip(path: Path, seconds: float, size=(1280, 720), fps: int = 30) -> None:
    """A drawn scene: textured street, a plate-like sign crossing it."""
    import av
    import cv2

    width, height = size
    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur(rng.integers(60, 200, (height, width, 3), dtype=np.uint8), (0, 0), 3)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(int(seconds * fps)):
            img = background.copy()
            x = 40 + i * 8
            cv2.rectangle(img, (x, 420), (x + 300, 490), (250, 250, 250), -1)
            cv2.putText(img, "AB12 CDE", (x + 18, 472), cv2.FONT_HERSHEY_SIMPLEX, 1.7, (10, 10, 10), 4)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def ceiling(src: Path, dst: Path) -> float:
    """Frames per second of decode + encode alone, with redact's encoder settings."""
    from redact.video import VideoReader, VideoWriter

    started = time.perf_counter()
    with VideoReader(src) as reader:
        info = reader.info
        writer = VideoWriter(dst, info.width, info.height, info.time_base, info.fps)
        for frame in reader:
            writer.write(frame.rgb, frame.pts)
        writer.close()
    return writer.frames_written / (time.perf_counter() - started)


def machine() -> str:
    model = ""
    for name in ("/proc/device-tree/model", "/sys/firmware/devicetree/base/model"):
        try:
            model = Path(name).read_text().strip("\x00\n")
            break
        except OSError:
            continue
    if not model:
        try:
            model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                         if line.startswith("model name"))
        except (OSError, StopIteration):
            model = platform.processor() or "unknown CPU"
    import os

    return f"{model}, {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("clip", nargs="?", type=Path)
    p.add_argument("--profiles", nargs="+", default=["fast", "balanced"], choices=[x.value for x in redact.Profile])
    p.add_argument("--seconds", type=float, default=4.0, help="length of the drawn clip (default 4)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="redact-bench-") as tmp:
        tmp = Path(tmp)
        src = args.clip or tmp / "drawn-720p.mp4"
        if args.clip is None:
            draw_clip(src, args.seconds)
        top = ceiling(src, tmp / "ceiling.mp4")
        rows = []
        for profile in args.profiles:
            policy = redact.Policy(profile=profile)
            detectors = redact.detectors_for(policy)
            started = time.perf_counter()
            manifest = redact.redact_video(src, tmp / f"{profile}.mp4", policy, detectors=detectors)
            fps = manifest.frames_out / (time.perf_counter() - started)
            rows.append((profile, manifest.frames_out, fps))
        print(f"machine: {machine()}")
        print(f"clip: {src.name}, decode + encode ceiling {top:.1f} fps")
        print("| profile | frames | fps | x ceiling |\n| --- | ---: | ---: | ---: |")
        for profile, frames, fps in rows:
            print(f"| {profile} | {frames} | {fps:.1f} | {fps / top:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
