"""People as instances with identities: instance recall, coverage and ID switches.

Usage::

    python benchmarks/eval_people.py [DATA_DIR] [--profile balanced] [--every 1]
                                     [--pets-frames N] [--coco-limit N] [--hog]
                                     [--default-heads N] [--time-720p N] [--time-photos N]
                                     [--coco-as-video] [--pets-as-stills]
                                     [--still-sizes N,N|none] [--[no-]still-stronger-stay]

``DATA_DIR`` is the shared evaluation folder (default ``../shared/data`` beside the
checkout, or ``$REDACT_DATA_DIR``); it must hold ``people/coco_val2017``,
``people/pets09_s2l1`` and ``videos/opencv_vtest_pedestrians.avi`` (PETS09-S2L1; key
``PETS09-S2L1/NNNNNN`` is the N-th decoded frame, 1-based). Boxes marked ``ignore`` are
not scored.

Figures, per set and GT box height bucket:

* **instance recall**: a GT person counts as found when some `Kind.PERSON` row of the
  detector has IoU >= 0.5 with it (a box per person, not just coverage);
* **coverage recall**: as ``benchmarks/eval_detect.py``: at least 80% of the GT box lies under
  the mask the default style would obscure for the body rows, PERSON and SILHOUETTE (what
  bystander redaction relies on); on PETS also the head (top 15% of the box, middle 60%)
  under the FACE rows;
* **rows per frame**: PERSON rows the detector emits (and per GT person), the GT persons
  present, the false and duplicate PERSON rows (`extra_rows`: left over after matching the
  rows one to one to the GT persons; a duplicate still has IoU >= 0.5 with one, rows on
  ``ignore`` boxes are neither), and the SILHOUETTE rows (mask parts no person box took);
* **photos**: COCO's photos run through the detector as ``redact IMAGE`` runs it
  (`redact.detectors.for_stills`: the views and rules that pay off on photos only);
  ``--coco-as-video`` runs them as video frames;
* **identities** (PETS): every ``--every``-th frame is detected, frames in between go to
  `redact.pipeline.tracking.Tracker` with ``detected=False`` as in the pipeline. On each detected
  frame, GT boxes are matched one to one to the tracker's PERSON rows (detections and held
  predictions), greedily, best IoU first, IoU >= 0.5. An *ID switch* is a GT track matched
  to a different track id than the one it last matched; a *fragmentation* is a GT track
  matched again after frames on which it was present but unmatched (CLEAR MOT). *Id share*:
  per GT track, the share of its matched frames carrying its most frequent track id, mean
  over tracks (1.0: the subject of an incident keeps one id whenever matched).
* **vehicles** (``vehicles/coco_val2017``, the same photos): a GT vehicle (car, bus, truck,
  bicycle) counts as found when a `Kind.VEHICLE` row has IoU >= 0.5 with it, by width
  (< 40 px, >= 40 px); and the VEHICLE rows per photo with vehicles, false ones and
  duplicates (`VehicleScore`). Vehicles on traffic video: ``benchmarks/eval_vehicles.py``;
* **heads in the default mode** (``--default-heads N``: every N-th PETS frame): the head
  test above for the FACE rows of the detectors ``redact IN -o OUT`` runs for faces
  (`redact.detectors.build_detectors` with `Kind.FACE`: the face detector and, in
  ``balanced`` and ``thorough``, `redact.detectors.persons.HeadDetector`);
* **720p time** (``--time-720p N``): the person detector (with vehicles) on N frames of
  ``videos/theaiguys_license_plate.mp4`` (1280x720), against the HOG-instance plan of
  before the SSD (`HOG_PLANS`), calls interleaved, medians;
* **photo time** (``--time-photos N``): the person detector (with vehicles) on N COCO photos
  as video frames and as photos (`for_stills`), calls interleaved, medians;
* **ms/frame**: detector wall time per frame after one warm-up call (model load and JIT,
  printed apart), and tracker time per frame. 2-core machine shared with other jobs.

``--hog`` scores the HOG-instance plan of before the SSD (`HOG_PLANS`) instead.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_detect import BUCKETS, COVERED, covered_fraction, redaction_masks  # noqa: E402

from redact import Kind, Regions  # noqa: E402
from redact.core.geometry import box_areas, iou_matrix, overlap_areas  # noqa: E402
from redact.core.profile import Profile  # noqa: E402
from redact.core.types import BODIES  # noqa: E402

#: Least IoU for a GT person to count as found by a row, and for identity matching.
IOU_FOUND = 0.5
PETS_KEY = "PETS09-S2L1/{:06d}"
#: Vehicles at least this wide (px) are the target's; narrower ones are reported apart.
VEHICLE_WIDE = 40
#: The person plans of before the SSD: instances from HOG on the segmentation's parts.
HOG_PLANS = {
    Profile.FAST: dict(segment_grids=(1, 3), hog_upscale=1.0, hog_threshold=-0.5, hog_scale_step=1.1),
    Profile.BALANCED: dict(segment_grids=(1, 3, 4), hog_upscale=1.5, hog_threshold=0.0, hog_scale_step=1.1),
    Profile.THOROUGH: dict(segment_grids=(1, 2, 3, 4), hog_upscale=1.5, hog_threshold=-0.5, hog_scale_step=1.05),
}


def greedy_match(iou: np.ndarray, threshold: float = IOU_FOUND) -> np.ndarray:
    """Row -> column one-to-one matching, best IoU first; -1 for unmatched rows."""
    match = np.full(iou.shape[0], -1, np.int64)
    if iou.size == 0:
        return match
    order = np.argsort(-iou, axis=None, kind="stable")
    used_r, used_c = set(), set()
    for flat in order:
        r, c = divmod(int(flat), iou.shape[1])
        if iou[r, c] < threshold:
            break
        if r in used_r or c in used_c:
            continue
        used_r.add(r)
        used_c.add(c)
        match[r] = c
    return match


def xywh_to_xyxy(xywh: np.ndarray) -> np.ndarray:
    xywh = np.asarray(xywh, np.float64).reshape(-1, 4)
    return np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)


def bucket_of(heights: np.ndarray) -> np.ndarray:
    out = np.zeros(len(heights), np.int64)
    for b, (lo, hi, _) in enumerate(BUCKETS):
        out[(heights >= lo) & (heights < hi)] = b
    return out


class Recall:
    """Hits and totals per height bucket."""

    def __init__(self):
        self.hits = np.zeros(len(BUCKETS), np.int64)
        self.total = np.zeros(len(BUCKETS), np.int64)

    def add(self, heights: np.ndarray, hit: np.ndarray) -> None:
        b = bucket_of(heights)
        np.add.at(self.total, b, 1)
        np.add.at(self.hits, b, hit.astype(np.int64))

    def cells(self, lo_bucket: int = 0) -> str:
        def r(h, n):
            return f"{h / n:.3f}" if n else "-"
        per = "".join(f"{r(h, n):>8s}" for h, n in zip(self.hits, self.total))
        return (per + f"{r(self.hits.sum(), self.total.sum()):>8s}"
                + f"{r(self.hits[3:].sum(), self.total[3:].sum()):>8s}")


class FrameScore:
    """Instance and coverage recall of one set."""

    def __init__(self):
        self.instance = Recall()
        self.coverage = Recall()
        self.heads = Recall()
        self.rows = 0
        self.false = 0
        self.duplicates = 0
        self.silhouettes = 0
        self.people = 0
        self.frames = 0
        self.seconds = 0.0

    def add(self, gt_xywh: np.ndarray, regions, height: int, width: int, heads: bool = False,
            ignore_xywh=None) -> None:
        people = regions.of_kind(Kind.PERSON)
        bodies = regions.select(np.isin(regions.kind, BODIES))
        gt = xywh_to_xyxy(gt_xywh)
        h = gt_xywh[:, 3] if len(gt_xywh) else np.zeros(0)
        iou = iou_matrix(gt, people.xyxy)
        self.instance.add(h, iou.max(axis=1) >= IOU_FOUND if iou.shape[1] else np.zeros(len(gt), bool))
        hidden, _ = redaction_masks(bodies, height, width)
        self.coverage.add(h, covered_fraction(hidden, gt_xywh) >= COVERED)
        if heads:
            x, y, w, hh = (gt_xywh[:, i] for i in range(4))
            head = np.stack([x + 0.2 * w, y, 0.6 * w, 0.15 * hh], axis=1)
            face_hidden, _ = redaction_masks(regions.of_kind(Kind.FACE), height, width)
            self.heads.add(h, covered_fraction(face_hidden, head) >= COVERED)
        false, duplicate = extra_rows(gt, people.xyxy, None if ignore_xywh is None else xywh_to_xyxy(ignore_xywh))
        self.false += int(np.sum(false))
        self.duplicates += int(np.sum(duplicate))
        self.rows += len(people)
        self.silhouettes += len(bodies) - len(people)
        self.people += len(gt)
        self.frames += 1


class Identity:
    """CLEAR-MOT style ID switches and fragmentations of GT tracks (see module docstring)."""

    def __init__(self):
        self.last_id = {}
        self.was_matched = {}
        self.switches = 0
        self.fragments = 0
        self.ids = defaultdict(Counter)
        self.present = Counter()

    def add(self, gt_ids: np.ndarray, gt_xyxy: np.ndarray, out_xyxy: np.ndarray, out_ids: np.ndarray) -> None:
        match = greedy_match(iou_matrix(gt_xyxy, out_xyxy))
        for g, m in zip(gt_ids.tolist(), match.tolist()):
            self.present[g] += 1
            if m < 0:
                if g in self.last_id:
                    self.was_matched[g] = False
                continue
            tid = int(out_ids[m])
            if g in self.last_id:
                if self.last_id[g] != tid:
                    self.switches += 1
                if not self.was_matched.get(g, True):
                    self.fragments += 1
            self.last_id[g] = tid
            self.was_matched[g] = True
            self.ids[g][tid] += 1

    def summary(self) -> dict:
        tracks = len(self.present)
        share = [c.most_common(1)[0][1] / sum(c.values()) for c in self.ids.values()]
        matched = sum(sum(c.values()) for c in self.ids.values())
        return {"tracks": tracks, "switches": self.switches, "fragments": self.fragments,
                "switches_per_track": self.switches / max(tracks, 1),
                "fragments_per_track": self.fragments / max(tracks, 1),
                "id_share": float(np.mean(share)) if share else float("nan"),
                "ids_per_track": float(np.mean([len(c) for c in self.ids.values()])) if share else float("nan"),
                "matched": matched / max(sum(self.present.values()), 1)}


def extra_rows(gt_xyxy: np.ndarray, rows_xyxy: np.ndarray, ignore_xyxy=None) -> tuple:
    """Which rows are *false* and which *duplicates*, as two bool arrays.

    The rows are matched one to one to the GT boxes (`greedy_match`, IoU >= 0.5); a row left
    over is a duplicate when it still has IoU >= 0.5 with a GT box (a second box on a found
    object), excused (neither) when it has IoU >= 0.5 with an ignored box or lies at least
    half inside one, and false otherwise.
    """
    gt = np.asarray(gt_xyxy, np.float64).reshape(-1, 4)
    rows = np.asarray(rows_xyxy, np.float64).reshape(-1, 4)
    iou = iou_matrix(gt, rows)
    left = greedy_match(iou.T) < 0
    duplicate = left & (iou.max(axis=0) >= IOU_FOUND if len(gt) else np.zeros(len(rows), bool))
    ignore = np.asarray(ignore_xyxy if ignore_xyxy is not None else np.zeros((0, 4)), np.float64).reshape(-1, 4)
    excused = np.zeros(len(rows), bool)
    if len(ignore) and len(rows):
        inside = np.stack([overlap_areas(rows, box) for box in ignore], axis=1)
        inside /= np.maximum(box_areas(rows), 1e-9)[:, None]
        excused = np.any((iou_matrix(rows, ignore) >= IOU_FOUND) | (inside >= 0.5), axis=1)
    return left & ~duplicate & ~excused, duplicate


class VehicleScore:
    """Vehicle recall (IoU >= 0.5) by width, and VEHICLE rows per image: false ones and
    duplicates (`extra_rows`).

    A GT vehicle is found when some VEHICLE row has IoU >= 0.5 with it.
    """

    def __init__(self):
        self.hits = np.zeros(2, np.int64)     # [< VEHICLE_WIDE, >= VEHICLE_WIDE]
        self.total = np.zeros(2, np.int64)
        self.rows = 0
        self.false = 0
        self.duplicates = 0
        self.images = 0

    def add(self, gt_xyxy: np.ndarray, regions, ignore_xyxy=None) -> np.ndarray:
        """Score one image's VEHICLE rows; returns which GT vehicles were found."""
        cars = regions.of_kind(Kind.VEHICLE)
        gt = np.asarray(gt_xyxy, np.float64).reshape(-1, 4)
        iou = iou_matrix(gt, cars.xyxy)
        hit = iou.max(axis=1) >= IOU_FOUND if iou.shape[1] else np.zeros(len(gt), bool)
        wide = ((gt[:, 2] - gt[:, 0]) >= VEHICLE_WIDE).astype(np.int64)
        np.add.at(self.total, wide, 1)
        np.add.at(self.hits, wide, hit.astype(np.int64))
        false, duplicate = extra_rows(gt, cars.xyxy, ignore_xyxy)
        self.false += int(np.sum(false))
        self.duplicates += int(np.sum(duplicate))
        self.rows += len(cars)
        self.images += 1
        return hit

    def line(self) -> str:
        def r(h, n):
            return f"{h / n:.3f} ({h}/{n})" if n else "-"
        n = max(self.images, 1)
        return (f"vehicles (IoU>=0.5): >= {VEHICLE_WIDE} px wide {r(self.hits[1], self.total[1])}, "
                f"narrower {r(self.hits[0], self.total[0])}, all {r(self.hits.sum(), self.total.sum())}; "
                f"per image {self.rows / n:.2f} VEHICLE rows, {self.false / n:.2f} false, "
                f"{self.duplicates / n:.2f} duplicates")


def gt_arrays(entry: dict, labels=("person",)) -> tuple:
    boxes = [b for b in entry["boxes"] if b["label"] in labels and not b.get("ignore", False)]
    xywh = np.array([b["bbox"] for b in boxes], np.float64).reshape(-1, 4)
    ids = np.array([b.get("track_id", -1) for b in boxes], np.int64)
    return xywh, ids


def ignored_arrays(entry: dict, labels=("person",)) -> np.ndarray:
    """``x, y, w, h`` of the boxes of those labels marked ``ignore``."""
    boxes = [b["bbox"] for b in entry["boxes"] if b["label"] in labels and b.get("ignore", False)]
    return np.array(boxes, np.float64).reshape(-1, 4)


#: COCO's vehicle classes in ``vehicles/coco_val2017`` (motorcycle, train, boat have none there).
VEHICLE_LABELS = ("car", "bus", "truck", "bicycle", "motorcycle")


def eval_coco(root: Path, detector, limit, vehicles_root: Path | None = None) -> tuple:
    """People (`FrameScore`) and, from the same calls, vehicles (`VehicleScore`, when
    ``vehicles_root`` holds their ground truth for the same photos)."""
    import cv2

    images = json.loads((root / "gt_boxes.json").read_text())["images"]
    vehicle_gt = json.loads((vehicles_root / "gt_boxes.json").read_text())["images"] if vehicles_root else {}
    score, cars = FrameScore(), VehicleScore()
    for rel in sorted(images)[:limit]:
        bgr = cv2.imread(str(root / rel), cv2.IMREAD_COLOR)
        if bgr is None:
            raise SystemExit(f"cannot read image {root / rel}")
        frame = np.ascontiguousarray(bgr[:, :, ::-1])
        start = time.perf_counter()
        regions = detector.detect(frame)
        score.seconds += time.perf_counter() - start
        xywh, _ = gt_arrays(images[rel])
        score.add(xywh, regions, frame.shape[0], frame.shape[1], ignore_xywh=ignored_arrays(images[rel]))
        if rel in vehicle_gt:
            cars.add(xywh_to_xyxy(gt_arrays(vehicle_gt[rel], VEHICLE_LABELS)[0]), regions,
                     xywh_to_xyxy(ignored_arrays(vehicle_gt[rel], VEHICLE_LABELS)))
    return score, cars


def eval_default_heads(root: Path, video: Path, profile: Profile, every: int, models_dir) -> tuple:
    """Share of PETS heads hidden by the FACE rows of the face detectors alone (the default
    command's), every ``every``-th frame; and their ms per frame."""
    import av

    from redact.detectors import build_detectors, detect_all

    detectors = build_detectors({Kind.FACE}, profile, models_dir)
    images = json.loads((root / "gt_boxes.json").read_text())["images"]
    score = FrameScore()
    with av.open(str(video)) as container:
        for index, vf in enumerate(container.decode(video=0), start=1):
            entry = images.get(PETS_KEY.format(index))
            if (index - 1) % every or entry is None:
                continue
            frame = vf.to_ndarray(format="rgb24")
            if not score.frames:
                detect_all(detectors, frame)  # warm-up
            start = time.perf_counter()
            regions = detect_all(detectors, frame)
            score.seconds += time.perf_counter() - start
            score.add(gt_arrays(entry)[0], regions, frame.shape[0], frame.shape[1], heads=True)
    return score, [type(d).__name__ for d in detectors]


#: ``--objects``: which box networks give the person and vehicle instances (`ObjectPlan` fields).
OBJECT_CHOICES = {
    "profile": {},
    "ssd": dict(ssd=True, nanodet_grid=None),
    "nanodet": dict(ssd=False, nanodet_grid=1),
    "nanodet-tiles": dict(ssd=False, nanodet_grid=2),
    "both": dict(ssd=True, nanodet_grid=1),
    "both-whole": dict(ssd=True, tile_grid=0, nanodet_grid=1),
    "both-tiles": dict(ssd=True, nanodet_grid=2),
}


def object_plan(profile: Profile, choice: str, nanodet_score: float | None = None, still_sizes=None,
                still_stronger_stay: bool | None = None):
    """The profile's `ObjectPlan` with the ``--objects`` choice's networks and the other
    options given (None: the profile's)."""
    import dataclasses

    from redact.detectors.objects import PLANS

    changes = dict(OBJECT_CHOICES[choice])
    if nanodet_score is not None:
        changes["nanodet_score"] = nanodet_score
    if still_sizes is not None:
        changes["still_sizes"] = tuple(still_sizes)
    if still_stronger_stay is not None:
        changes["still_stronger_stay"] = still_stronger_stay
    return dataclasses.replace(PLANS[profile.detectors], **changes)


def time_720p(clip: Path, frames: int, profile: Profile, models_dir, objects=None) -> tuple:
    """Median ms per 1280x720 frame of the person detector (with vehicles) and of the HOG
    plan of before, the two called in turn on each frame."""
    import dataclasses

    import av

    from redact.detectors.persons import PLANS, PersonDetector

    new = PersonDetector(profile, models_dir, vehicles=True, objects=objects)
    old = PersonDetector(profile, models_dir, plan=dataclasses.replace(PLANS[profile.detectors],
                                                                       instances=False, **HOG_PLANS[profile.detectors]))
    times: dict = {"ssd": [], "hog": []}
    with av.open(str(clip)) as container:
        for index, vf in enumerate(container.decode(video=0)):
            if index >= frames + 1:
                break
            frame = vf.to_ndarray(format="rgb24")
            for name, det in (("ssd", new), ("hog", old)) if index % 2 else (("hog", old), ("ssd", new)):
                start = time.perf_counter()
                det.detect(frame)
                if index:  # the first frame warms up
                    times[name].append(time.perf_counter() - start)
    return frame.shape, {k: 1000 * float(np.median(v)) for k, v in times.items()}


def time_photos(root: Path, photos: int, detector) -> dict:
    """Median ms per COCO photo of the detector as video frames run it and as photos do
    (`redact.detectors.for_stills`), called in turn on each photo (order alternating)."""
    import cv2

    from redact.detectors import for_stills

    still = for_stills([detector])[0]
    images = sorted(json.loads((root / "gt_boxes.json").read_text())["images"])[:photos]
    times: dict = {"video": [], "photo": []}
    for index, rel in enumerate(images):
        frame = np.ascontiguousarray(cv2.imread(str(root / rel), cv2.IMREAD_COLOR)[:, :, ::-1])
        pair = (("video", detector), ("photo", still))
        for name, det in pair if index % 2 else pair[::-1]:
            start = time.perf_counter()
            det.detect(frame)
            times[name].append(time.perf_counter() - start)
    return {k: 1000 * float(np.median(v)) for k, v in times.items()}


def eval_pets(root: Path, video: Path, detector, every: int, frames: int | None) -> tuple:
    import av

    from redact.pipeline.tracking import Tracker

    images = json.loads((root / "gt_boxes.json").read_text())["images"]
    score, identity = FrameScore(), Identity()
    tracker = Tracker()
    track_seconds = 0.0
    with av.open(str(video)) as container:
        for index, vf in enumerate(container.decode(video=0), start=1):
            if frames is not None and index > frames:
                break
            entry = images.get(PETS_KEY.format(index))
            if (index - 1) % every:
                start = time.perf_counter()
                tracker.update(Regions.empty(), detected=False)
                track_seconds += time.perf_counter() - start
                continue
            frame = vf.to_ndarray(format="rgb24")
            start = time.perf_counter()
            regions = detector.detect(frame)
            score.seconds += time.perf_counter() - start
            start = time.perf_counter()
            tracked = tracker.update(regions)
            track_seconds += time.perf_counter() - start
            if entry is None:
                continue
            xywh, ids = gt_arrays(entry)
            score.add(xywh, regions, frame.shape[0], frame.shape[1], heads=True, ignore_xywh=ignored_arrays(entry))
            people = tracked.of_kind(Kind.PERSON)
            identity.add(ids, xywh_to_xyxy(xywh), people.xyxy, people.track_id)
    return score, identity, track_seconds


def print_recall(name: str, score: FrameScore, heads: bool = False) -> None:
    sizes = ", ".join(f"{label} {n}" for (_, _, label), n in zip(BUCKETS, score.instance.total))
    print(f"\n{name}: {score.frames} frames, {score.people} GT persons ({sizes}); "
          f"{score.rows / max(score.frames, 1):.1f} PERSON rows/frame for "
          f"{score.people / max(score.frames, 1):.1f} persons ({score.rows / max(score.people, 1):.2f} per GT "
          f"person; {score.false / max(score.frames, 1):.2f} false and {score.duplicates / max(score.frames, 1):.2f} "
          f"duplicate PERSON rows/frame), {score.silhouettes / max(score.frames, 1):.1f} SILHOUETTE rows/frame; "
          f"{1000 * score.seconds / max(score.frames, 1):.0f} ms/frame (detector)")
    print(f"{'recall':24s}" + "".join(f"{label:>8s}" for _, _, label in BUCKETS) + f"{'all':>8s}{'>=64':>8s}")
    print(f"{'instance (IoU>=0.5)':24s}{score.instance.cells()}")
    print(f"{'coverage (80% hidden)':24s}{score.coverage.cells()}")
    if heads:
        print(f"{'heads (FACE rows)':24s}{score.heads.cells()}")


def _sizes(text: str) -> tuple:
    """``--still-sizes``: ``none`` or comma-separated multiples of 32."""
    if text.strip().lower() == "none":
        return ()
    try:
        sizes = tuple(int(v) for v in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or any(v <= 0 or v % 32 for v in sizes):
        raise argparse.ArgumentTypeError(f"expected 'none' or multiples of 32 such as 640,832, got {text!r}")
    return sizes


def parse_args(argv=None) -> argparse.Namespace:
    default = os.environ.get("REDACT_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, nargs="?", default=Path(default), metavar="DATA_DIR")
    parser.add_argument("--profile", default=Profile.BALANCED.value, choices=[p.value for p in Profile])
    parser.add_argument("--every", type=int, default=1, help="detect every N-th PETS frame (tracker between)")
    parser.add_argument("--pets-frames", type=int, help="only the first N PETS frames")
    parser.add_argument("--coco-limit", type=int, help="only the first N COCO photos")
    parser.add_argument("--skip-coco", action="store_true")
    parser.add_argument("--models-dir", help="model cache folder (default: redact's)")
    parser.add_argument("--hog", action="store_true", help="score the HOG-instance plan of before the SSD")
    parser.add_argument("--default-heads", type=int, metavar="N",
                        help="also: PETS heads under the default command's face detectors, every N-th frame")
    parser.add_argument("--time-720p", type=int, metavar="N",
                        help="also: ms per 720p frame on N frames, against the HOG plan")
    parser.add_argument("--time-photos", type=int, metavar="N",
                        help="also: median ms per COCO photo on N photos, as video frames against as photos")
    parser.add_argument("--skip-pets", action="store_true")
    parser.add_argument("--objects", default="profile", choices=sorted(OBJECT_CHOICES),
                        help="box networks for the instances: the profile's, the SSD, NanoDet-g (whole frame or "
                             "with tiles) or both")
    parser.add_argument("--nanodet-score", type=float, help="least NanoDet class probability (default: the plan's)")
    parser.add_argument("--still-sizes", type=_sizes, metavar="N,N|none",
                        help="NanoDet input sides of the photos' extra whole-frame views (default: the plan's)")
    parser.add_argument("--still-stronger-stay", action=argparse.BooleanOptionalAction, default=None,
                        help="on photos, keep a person box that outscores the boxes it holds (default: the plan's)")
    parser.add_argument("--coco-as-video", action="store_true",
                        help="run the COCO photos through the video frames' detector (no stills views)")
    parser.add_argument("--pets-as-stills", action="store_true",
                        help="run the PETS frames through the photos' detector (its extra views)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.every < 1:
        raise SystemExit(f"--every: expected an integer >= 1, got {args.every}")
    people = args.data / "people"
    video = args.data / "videos" / "opencv_vtest_pedestrians.avi"
    for path in (people / "coco_val2017" / "gt_boxes.json", people / "pets09_s2l1" / "gt_boxes.json", video):
        if not path.is_file():
            raise SystemExit(f"{path} not found: DATA_DIR must be the shared evaluation data folder")
    import dataclasses

    from redact.detectors import for_stills
    from redact.detectors.persons import PLANS, PersonDetector

    profile = Profile(args.profile)
    plan = (dataclasses.replace(PLANS[profile.detectors], instances=False, **HOG_PLANS[profile.detectors])
            if args.hog else None)
    objects = object_plan(profile, args.objects, args.nanodet_score, args.still_sizes, args.still_stronger_stay)
    detector = PersonDetector(profile, args.models_dir, plan=plan, vehicles=True, objects=objects)
    start = time.perf_counter()
    detector.detect(np.zeros((576, 768, 3), np.uint8) + 90)
    warmup = time.perf_counter() - start
    print(f"python {' '.join(sys.argv)}")
    print(f"objects: {objects}")
    print(f"profile {args.profile}{' (HOG instances)' if args.hog else ''}; first call (model load + JIT) "
          f"{1000 * warmup:.0f} ms")
    if not args.skip_coco:
        vehicles = args.data / "vehicles" / "coco_val2017"
        # Photos, as `redact IMAGE` runs the detector (`for_stills`), unless asked as video frames.
        still = detector if args.coco_as_video else for_stills([detector])[0]
        if still is not detector:
            still.detect(np.zeros((576, 768, 3), np.uint8) + 90)  # warm-up of its own networks
        coco, cars = eval_coco(people / "coco_val2017", still, args.coco_limit,
                               vehicles if (vehicles / "gt_boxes.json").is_file() else None)
        print_recall(f"people/coco_val2017 ({'video frames' if args.coco_as_video else 'photos'})", coco)
        print(cars.line())
    if args.default_heads:
        heads, names = eval_default_heads(people / "pets09_s2l1", video, profile, args.default_heads,
                                          args.models_dir)
        print(f"\nPETS heads in the default mode ({' + '.join(names)}, every {args.default_heads}th frame, "
              f"{heads.frames} frames): {heads.heads.cells()} (buckets, all, >=64); "
              f"{1000 * heads.seconds / max(heads.frames, 1):.0f} ms/frame")
    if args.time_720p:
        shape, ms = time_720p(args.data / "videos" / "theaiguys_license_plate.mp4", args.time_720p, profile,
                              args.models_dir, objects)
        print(f"\n{shape[1]}x{shape[0]}, {args.time_720p} frames, median ms/frame: person detector (SSD + mask, "
              f"with vehicles) {ms['ssd']:.0f}, HOG plan of before {ms['hog']:.0f}")
    if args.time_photos:
        ms = time_photos(people / "coco_val2017", args.time_photos, detector)
        print(f"\n{args.time_photos} COCO photos, median ms per photo (person detector with vehicles, interleaved): "
              f"as video frames {ms['video']:.0f}, as photos {ms['photo']:.0f}")
    if args.skip_pets:
        return 0
    pets_detector = for_stills([detector])[0] if args.pets_as_stills else detector
    score, identity, track_seconds = eval_pets(people / "pets09_s2l1", video, pets_detector, args.every,
                                               args.pets_frames)
    print_recall(f"people/pets09_s2l1 (every {args.every}{', as photos' if args.pets_as_stills else ''})",
                 score, heads=True)
    s = identity.summary()
    print(f"\nPETS identities ({s['tracks']} GT tracks, Tracker defaults, detect every {args.every}): "
          f"{s['switches']} ID switches ({s['switches_per_track']:.2f} per GT track), "
          f"{s['fragments']} fragmentations ({s['fragments_per_track']:.2f} per track), "
          f"id share {s['id_share']:.3f}, {s['ids_per_track']:.1f} ids per GT track, "
          f"{s['matched']:.3f} of GT boxes matched; tracker "
          f"{1000 * track_seconds / max(score.frames, 1):.2f} ms/frame")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
