"""Does a face view pay for itself on native-aspect pictures? ``balanced`` with and without a view.

The stretched mirrored CenterFace view of ``balanced`` was chosen on WIDER val, whose photos
were mostly squashed to 416x416 by their source: every face it added there was on a squashed
photo. Video has square pixels, so this measures the view where the aspect is the camera's:

* ``dlib_faces`` (4 PASCAL VOC photos, ground truth) and ``wider_val/native`` (3 WIDER photos at
  their own size, ground truth): recall by box height as ``eval_detect.py`` scores it;
* the ``ultralight_group_photos`` (no ground truth): faces that `exposure.Judge` proposes and
  both of its networks confirm, at least 32 px, as the ground truth.

    python benchmarks/face_views.py                    # balanced on photos, on video, without its 2nd view
    python benchmarks/face_views.py --drop 1 --faces ../shared/data/faces

Prints, per set and plan, recall of faces >= 32 px (the issue's measure), all faces, and the
detector's time per image.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from eval_detect import Sample, Tally, load_samples, print_table, read_frames, redaction_masks  # noqa: E402

from redact import Kind  # noqa: E402

FACES = HERE.parent.parent / "shared" / "data" / "faces"


def judged_samples(folder: Path) -> list:
    """(Sample, frame) of every image in ``folder``, its boxes the judge's confirmed faces."""
    import cv2
    from exposure import JUDGE_SCORE, Judge

    judge = Judge()
    out = []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
        rgb = np.ascontiguousarray(cv2.imread(str(path))[:, :, ::-1])
        found = judge.proposer.detect(rgb)
        boxes = [b for b, s in zip(found.xyxy, found.score)
                 if s >= JUDGE_SCORE and judge.confirmations(rgb, b) == 2]
        xywh = np.array([[b[0], b[1], b[2] - b[0], b[3] - b[1]] for b in boxes], np.float64).reshape(-1, 4)
        out.append((Sample(path.name, rgb.shape[1], rgb.shape[0], xywh, np.full(len(boxes), int(Kind.FACE), np.int8),
                           np.zeros(len(boxes), bool)), rgb))
    return out


def score(detector, pairs) -> Tally:
    """Faces' tally of ``detector`` over (Sample, frame) pairs."""
    tally = Tally()
    for sample, frame in pairs:
        started = time.perf_counter()
        regions = detector.detect(frame)
        tally.seconds += time.perf_counter() - started
        hidden, touched = redaction_masks(regions, sample.height, sample.width)
        tally.add(sample, Kind.FACE, hidden, touched)
    return tally


def main(argv=None) -> int:
    from redact.core.profile import Profile
    from redact.detectors.faces import PLANS, FaceDetector

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--faces", type=Path, default=FACES, help="the shared data's faces folder")
    p.add_argument("--drop", type=int, default=1, help="index of the balanced CenterFace view to leave out")
    args = p.parse_args(argv)
    plan = PLANS[Profile.BALANCED]
    views = plan.centerface
    without = dataclasses.replace(plan, centerface=views[:args.drop] + views[args.drop + 1:])
    # As redact runs them on photos (every view) and on video (no stills-only view).
    detectors = {"balanced, photos": FaceDetector(plan=plan).for_stills(), "balanced, video": FaceDetector(plan=plan),
                 f"balanced without its view {args.drop}": FaceDetector(plan=without).for_stills()}
    sets = {}
    dlib, info = load_samples(args.faces / "dlib_faces", None)
    sets["dlib_faces"] = list(read_frames(args.faces / "dlib_faces", dlib, info))
    wider, info = load_samples(args.faces / "wider_val", None)
    native = [s for s in wider if s.key.startswith("native/")]
    sets["wider_val native"] = list(read_frames(args.faces / "wider_val", native, info))
    sets["ultralight group photos (judged)"] = judged_samples(args.faces / "ultralight_group_photos")
    for detector in detectors.values():  # warm-up: model load and Numba compilation
        detector.detect(sets["dlib_faces"][0][1])
    for name, pairs in sets.items():
        print(f"\n== {name}: {len(pairs)} images")
        print_table(Kind.FACE, {label: score(d, pairs) for label, d in detectors.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
