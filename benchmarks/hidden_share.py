"""How much of each frame a redaction hides, on real clips, beside deface.

Over-redaction in video is what a recipient sees: a frame of grey slabs shows nothing of the
incident. This redacts each clip with the command line as a user runs it (and with deface
when ``--deface`` names its executable), decodes input and output side by side, and counts a
pixel as hidden when any channel moved by more than ``--threshold`` grey levels (x264's own
error at crf 20 stays well under it). Prints the mean, median and largest share per clip.

    python benchmarks/hidden_share.py ../shared/data/videos/face_recognition_short_hamilton_clip.mp4 \
        --profiles balanced fast --deface ~/.cache/redact/bench/deface-venv/bin/deface
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import av
import numpy as np


def frames(path: Path):
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="rgb24")


def hidden_shares(src: Path, out: Path, threshold: int) -> np.ndarray:
    """Per frame, the share of pixels that moved by more than ``threshold`` in any channel."""
    shares = []
    for a, b in zip(frames(src), frames(out)):
        if a.shape[0] > b.shape[0] or a.shape[1] > b.shape[1]:
            raise SystemExit(f"{out}: frame size {b.shape} is smaller than the input's {a.shape}")
        b = b[:a.shape[0], :a.shape[1]]  # deface's encoder pads to whole macroblocks
        moved = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2) > threshold
        shares.append(moved.mean())
    return np.asarray(shares)


def run_redact(src: Path, out: Path, profile: str) -> None:
    subprocess.run([sys.executable, "-m", "redact", str(src), "-o", str(out), "--profile", profile, "-q",
                    "--overwrite"], check=True)


def run_deface(deface: str, src: Path, out: Path) -> None:
    # deface's defaults (blur, threshold 0.2), as a user runs it.
    subprocess.run([deface, str(src), "-o", str(out), "--backend", "opencv"], check=True,
                   capture_output=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("clips", nargs="+", type=Path)
    p.add_argument("--profiles", nargs="+", default=["balanced"])
    p.add_argument("--deface", help="deface's executable, to run beside")
    p.add_argument("--threshold", type=int, default=30)
    args = p.parse_args()
    print("| clip | method | mean hidden | median | largest | frames |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        for clip in args.clips:
            methods = [(f"redact {profile}", lambda s, o, pr=profile: run_redact(s, o, pr))
                       for profile in args.profiles]
            if args.deface:
                methods.append(("deface", lambda s, o: run_deface(args.deface, s, o)))
            for name, run in methods:
                out = Path(tmp) / f"{clip.stem}.{name.replace(' ', '_')}.mp4"
                run(clip, out)
                shares = hidden_shares(clip, out, args.threshold)
                print(f"| {clip.name} | {name} | {shares.mean():.1%} | {np.median(shares):.1%} | {shares.max():.1%} "
                      f"| {len(shares)} |", flush=True)


if __name__ == "__main__":
    main()
