"""Vehicles on traffic video: recall (IoU >= 0.5) by width and false vehicle boxes, per profile.

Usage::

    python benchmarks/eval_vehicles.py [DATA_DIR] [--profile balanced --profile fast ...]
                                       [--labels PATH] [--misses DIR]

``DATA_DIR`` is the shared evaluation folder (default ``../shared/data`` beside the checkout,
or ``$REDACT_DATA_DIR``); it must hold ``videos/intel_car-detection.mp4`` and
``videos/theaiguys_license_plate.mp4``. The ground truth is
``benchmarks/labels/vehicles_video_frames.json``: vehicles labelled by hand on frames of those
two clips (how: the file's ``how``), frame ``N`` being the N-th decoded frame, 0-based.

The detector is the one ``redact IN -o OUT --detect vehicle`` builds at the profile
(`redact.detectors.build_detectors` with `Kind.VEHICLE`: the profile's
`redact.detectors.objects.ObjectDetector`, vehicles only; with people or plates asked for, the
person or head detector runs the same plan and gives the same vehicle rows). ``pi`` runs
``fast``'s detectors.

Figures per profile, per clip and both (`eval_people.VehicleScore`):

* **recall** of the vehicles not marked ``ignore``, at least `eval_people.VEHICLE_WIDE` (40) px
  wide and narrower: found when a `Kind.VEHICLE` row has IoU >= 0.5 with it;
* **per frame**: VEHICLE rows, *false* ones (no labelled vehicle under them, ignored ones
  excused) and *duplicates* (a second row on a found vehicle);
* **cut by the frame edge** (ignored above): the recall of their visible part, as a line apart;
* **ms/frame**: the detector's wall time after one warm-up call (2 cores shared with other jobs).

``--misses DIR`` writes a crop of each missed vehicle at least 40 px wide, with the VEHICLE rows
drawn (red) and the label (green), to DIR: for looking at, never into the project.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_people import VEHICLE_WIDE, VehicleScore  # noqa: E402

from redact import Kind  # noqa: E402
from redact.core.profile import Profile  # noqa: E402

LABELS = Path(__file__).resolve().parent / "labels" / "vehicles_video_frames.json"


def load_labels(path: Path) -> dict:
    """``{video name: {frame index: [label, ...]}}`` of the label file (see its header)."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return {name: {int(i): objs for i, objs in video["frames"].items()} for name, video in doc["videos"].items()}


def boxes(objs: list, ignore: bool, reason: str | None = None) -> np.ndarray:
    """``xyxy`` of the labels with that ``ignore`` flag (and ``reason``, when given)."""
    out = [o["box"] for o in objs if o["ignore"] == ignore and (reason is None or o.get("reason") == reason)]
    return np.array(out, np.float64).reshape(-1, 4)


def labelled_frames(video: Path, wanted):
    """``(index, rgb)`` of the decoded frames whose 0-based index is in ``wanted``."""
    import av

    wanted = set(wanted)
    with av.open(str(video)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                yield index, frame.to_ndarray(format="rgb24")
            if index >= max(wanted):
                break


def save_miss(folder: Path, name: str, index: int, rgb: np.ndarray, box, rows: np.ndarray) -> None:
    """A crop around one missed vehicle, the rows drawn red and its label green (BGR PNG)."""
    import cv2

    x0, y0, x1, y1 = (int(v) for v in box)
    pad = max(x1 - x0, y1 - y0) // 2
    img = np.ascontiguousarray(rgb[:, :, ::-1])
    for r in rows.astype(int):
        cv2.rectangle(img, (r[0], r[1]), (r[2], r[3]), (0, 0, 255), 1)
    cv2.rectangle(img, (x0, y0), (x1, y1), (0, 255, 0), 1)
    h, w = img.shape[:2]
    crop = img[max(0, y0 - pad):min(h, y1 + pad), max(0, x0 - pad):min(w, x1 + pad)]
    folder.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / f"{Path(name).stem}_{index:04d}_{x0}_{y0}.png"), crop)


def evaluate(data: Path, labels: dict, profile: Profile, models_dir=None, misses: Path | None = None) -> tuple:
    """Per clip (and ``"all"``) the `VehicleScore` of the labelled vehicles and of those cut by
    the frame edge, the missed vehicles >= 40 px ``(clip, frame, box)``, and seconds per frame."""
    from redact.detectors import build_detectors

    (detector,) = build_detectors({Kind.VEHICLE}, profile, models_dir)
    scores, cut = defaultdict(VehicleScore), defaultdict(VehicleScore)
    missed, seconds, frames = [], 0.0, 0
    for name, by_frame in labels.items():
        for index, rgb in labelled_frames(data / "videos" / name, by_frame):
            if not frames:
                detector.detect(rgb)  # warm-up: model load and JIT
            start = time.perf_counter()
            regions = detector.detect(rgb)
            seconds += time.perf_counter() - start
            frames += 1
            objs = by_frame[index]
            gt, ignored = boxes(objs, False), boxes(objs, True)
            for key in (name, "all"):
                hit = scores[key].add(gt, regions, ignored)
                cut[key].add(boxes(objs, True, "cut"), regions)
            rows = regions.of_kind(Kind.VEHICLE).xyxy
            for box in gt[~hit & (gt[:, 2] - gt[:, 0] >= VEHICLE_WIDE)]:
                missed.append((name, index, box.tolist()))
                if misses is not None:
                    save_miss(misses / profile.value, name, index, rgb, box, rows)
    return scores, cut, missed, seconds / max(frames, 1)


def parse_args(argv=None) -> argparse.Namespace:
    default = os.environ.get("REDACT_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, nargs="?", default=Path(default), metavar="DATA_DIR")
    parser.add_argument("--profile", action="append", choices=[p.value for p in Profile],
                        help="profile to measure (repeat; default: balanced and fast)")
    parser.add_argument("--labels", type=Path, default=LABELS, help="label file (default: the project's)")
    parser.add_argument("--models-dir", help="model cache folder (default: redact's)")
    parser.add_argument("--misses", type=Path, metavar="DIR", help="write a crop of each missed vehicle >= 40 px here")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    labels = load_labels(args.labels)
    for name in labels:
        if not (args.data / "videos" / name).is_file():
            raise SystemExit(f"{args.data / 'videos' / name} not found: DATA_DIR must be the shared evaluation "
                             "data folder")
    print(f"python {' '.join(sys.argv)}")
    for profile in map(Profile, args.profile or ["balanced", "fast"]):
        scores, cut, missed, seconds = evaluate(args.data, labels, profile, args.models_dir, args.misses)
        print(f"\nprofile {profile.value}: {1000 * seconds:.0f} ms/frame (detector, after a warm-up call)")
        for key in (*labels, "all"):
            print(f"  {key:28s} {scores[key].images:3d} frames  {scores[key].line()}")
        print(f"  {'cut by the frame edge':28s} recall of the visible part: {cut['all'].line().split(';')[0]}")
        for name, index, box in missed:
            print(f"  missed >= {VEHICLE_WIDE} px: {name} frame {index} {[round(v) for v in box]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
