"""Recall and over-redaction of redact's detectors on an annotated image set.

Usage::

    python benchmarks/eval_detect.py DATASET_DIR [--profile balanced] [--kind face]
                                     [--deface] [--limit N]

``DATASET_DIR`` holds a ``gt_boxes.json`` (format: ``shared/data/README.md``); its images are
files relative to that folder, or frames of a video named in the file's ``info``.

A ground-truth box counts as redacted when at least 80% of its pixels are fully covered by
the redaction mask: the detections rasterised exactly as `redact.pipeline.obscure.obscure` would with
the default `redact.Style` (padding and feather), only with a fill. Feathered pixels are
blended, not hidden, so they count for over-redaction but not for recall (both sides
fail closed). Boxes marked ``ignore`` are not scored. Over-redaction is the share of the
pixels outside every 1.5x-enlarged ground-truth box (ignored ones included) that the mask
touches. Time is the mean wall time of the detectors per image, after one warm-up call
that also compiles the Numba kernels (reported separately).

With ``--deface`` the same images go through deface 1.5.0, installed in its own virtual
environment under the user cache on first use, as lossless PNG copies: a box counts when
at least 80% of its pixels changed, over-redaction is the share of changed pixels outside
the enlarged boxes. It runs twice: with deface's defaults and with
``--boxes --mask-scale 1.5 --thresh 0.1``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redact import Kind, Method, Style  # noqa: E402
from redact.app.bench import DEFACE  # noqa: E402
from redact.core.policy import Policy  # noqa: E402
from redact.core.profile import Profile  # noqa: E402
from redact.core.types import BODIES  # noqa: E402
from redact.detectors import detect_all, detectors_for, for_stills  # noqa: E402
from redact.pipeline.compose import obscured  # noqa: E402
from redact.pipeline.obscure import obscure  # noqa: E402

#: Box-height buckets (pixels, half-open).
BUCKETS = ((0, 16, "<16"), (16, 32, "16-32"), (32, 64, "32-64"), (64, 128, "64-128"),
           (128, float("inf"), ">=128"))
#: Ground-truth label -> kind.
LABEL_KINDS = {"face": Kind.FACE, "license_plate": Kind.PLATE, "plate": Kind.PLATE,
               "person": Kind.PERSON}
#: Share of a box's pixels that must be hidden for the box to count as redacted.
COVERED = 0.8
#: Enlargement of ground-truth boxes before pixels outside them count as over-redaction.
ENLARGE = 1.5
DEFACE_RUNS = (("deface (defaults)", ()),
               ("deface --boxes --mask-scale 1.5 --thresh 0.1",
                ("--boxes", "--mask-scale", "1.5", "--thresh", "0.1")))


@dataclasses.dataclass
class Sample:
    """One annotated image: boxes as float (N, 4) ``x, y, w, h`` with their kinds."""

    key: str
    width: int
    height: int
    xywh: np.ndarray
    kind: np.ndarray
    ignore: np.ndarray


@dataclasses.dataclass
class Tally:
    """Scores of one method on one kind, summed over images."""

    hits: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(len(BUCKETS), np.int64))
    total: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(len(BUCKETS), np.int64))
    over_pixels: int = 0
    outside_pixels: int = 0
    seconds: float = 0.0
    images: int = 0

    def add(self, sample: Sample, kind: Kind, hidden: np.ndarray, touched: np.ndarray) -> None:
        """Score one image from its fully hidden and touched pixel masks (H, W) bool."""
        mine = sample.kind == int(kind)
        scored = mine & ~sample.ignore
        fraction = covered_fraction(hidden, sample.xywh[scored])
        heights = sample.xywh[scored, 3]
        for b, (lo, hi, _) in enumerate(BUCKETS):
            in_bucket = (heights >= lo) & (heights < hi)
            self.total[b] += int(in_bucket.sum())
            self.hits[b] += int((in_bucket & (fraction >= COVERED)).sum())
        outside = ~enlarged_union(sample.xywh[mine], sample.height, sample.width)
        self.outside_pixels += int(outside.sum())
        self.over_pixels += int((touched & outside).sum())
        self.images += 1


def load_samples(dataset: Path, limit: int | None) -> tuple[list[Sample], dict]:
    """Annotated images of ``dataset/gt_boxes.json`` (first ``limit``), and its ``info``."""
    gt_path = dataset / "gt_boxes.json"
    if not gt_path.is_file():
        raise SystemExit(f"{gt_path} not found: DATASET_DIR must hold a gt_boxes.json")
    gt = json.loads(gt_path.read_text())
    samples = []
    for key, entry in list(gt["images"].items())[:limit]:
        boxes = [b for b in entry["boxes"] if b["label"] in LABEL_KINDS]
        samples.append(Sample(
            key, int(entry["width"]), int(entry["height"]),
            np.array([b["bbox"] for b in boxes], np.float64).reshape(-1, 4),
            np.array([int(LABEL_KINDS[b["label"]]) for b in boxes], np.int8),
            np.array([bool(b.get("ignore", False)) for b in boxes], bool)))
    return samples, gt.get("info", {})


def read_frames(dataset: Path, samples: list[Sample], info: dict):
    """Yield ``(sample, rgb uint8 frame)``: image files, or frames of the set's video."""
    import cv2

    if samples and not (dataset / samples[0].key).is_file():
        yield from _video_frames(dataset, samples, info)
        return
    for sample in samples:
        bgr = cv2.imread(str(dataset / sample.key), cv2.IMREAD_COLOR)
        if bgr is None:
            raise SystemExit(f"cannot read image {dataset / sample.key}")
        yield sample, np.ascontiguousarray(bgr[:, :, ::-1])


def _video_frames(dataset: Path, samples: list[Sample], info: dict):
    """Frames of ``info['video']`` whose 1-based index is the digits ending each key."""
    import av

    video = (dataset / str(info.get("video", "")).split(" ")[0]).resolve()
    if not video.is_file():
        raise SystemExit(f"{dataset}: keys are not image files and no video found at {video}")
    wanted = {int(s.key.rsplit("/", 1)[-1]): s for s in samples}
    with av.open(str(video)) as container:
        for index, frame in enumerate(container.decode(video=0), start=1):
            if index in wanted:
                yield wanted[index], frame.to_ndarray(format="rgb24")
            if index >= max(wanted):
                break


def covered_fraction(mask: np.ndarray, xywh: np.ndarray) -> np.ndarray:
    """Share of each box's pixels (boxes rounded to whole pixels, clipped) that are set."""
    h, w = mask.shape
    integral = np.zeros((h + 1, w + 1), np.int64)
    integral[1:, 1:] = mask.cumsum(0).cumsum(1)
    x0 = np.clip(np.round(xywh[:, 0]), 0, w).astype(int)
    y0 = np.clip(np.round(xywh[:, 1]), 0, h).astype(int)
    x1 = np.clip(np.round(xywh[:, 0] + xywh[:, 2]), 0, w).astype(int)
    y1 = np.clip(np.round(xywh[:, 1] + xywh[:, 3]), 0, h).astype(int)
    area = (x1 - x0) * (y1 - y0)
    inside = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
    # A box wholly off the frame shows nothing, so there is nothing to hide.
    return np.where(area > 0, inside / np.maximum(area, 1), 1.0)


def enlarged_union(xywh: np.ndarray, height: int, width: int) -> np.ndarray:
    """Pixels inside any box grown ``ENLARGE`` times about its centre."""
    union = np.zeros((height, width), bool)
    for x, y, bw, bh in xywh:
        cx, cy, hw, hh = x + bw / 2, y + bh / 2, ENLARGE * bw / 2, ENLARGE * bh / 2
        union[max(0, int(np.floor(cy - hh))):max(0, int(np.ceil(cy + hh))),
              max(0, int(np.floor(cx - hw))):max(0, int(np.ceil(cx + hw)))] = True
    return union


def redaction_masks(regions, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(fully hidden, touched) pixels of the default Style, through the library's own kernels."""
    style = dataclasses.replace(Style(), method=Method.FILL, color=(255, 255, 255))
    painted = obscure(np.zeros((height, width, 3), np.uint8), regions, style)[:, :, 0]
    return painted == 255, painted > 0


def evaluate_redact(dataset: Path, samples, info, kinds, profile: Profile, models_dir,
                    plates_only: bool = False) -> tuple[dict, dict, float]:
    """Tallies per kind for redact's detectors; with several kinds or plates, also per kind
    for every region obscured together (what the user sees: the default command runs faces
    and plates, a plate box over a crowd is over-redaction of the faces' photo, and text on
    no vehicle is obscured with the plates); the warm-up time. Vehicles found for the plates
    are not obscured, so not counted (`redact.pipeline.compose.obscured`)."""
    try:
        # Photos: as `redact IMAGE` runs them (`for_stills`).
        detectors = for_stills(detectors_for(Policy(kinds=frozenset(kinds), profile=profile,
                                                    plates_only=plates_only), models_dir))
    except ModuleNotFoundError as err:
        raise SystemExit(f"this checkout of redact cannot detect {[k.name.lower() for k in kinds]} "
                         f"({err}); choose another --kind") from None
    tallies = {kind: Tally() for kind in kinds}
    together = {kind: Tally() for kind in kinds} if len(kinds) > 1 or Kind.PLATE in kinds else {}
    warmup = 0.0
    for i, (sample, frame) in enumerate(read_frames(dataset, samples, info)):
        if i == 0:
            start = time.perf_counter()
            detect_all(detectors, frame)
            warmup = time.perf_counter() - start
        start = time.perf_counter()
        regions = detect_all(detectors, frame)
        elapsed = time.perf_counter() - start
        regions = regions.select(obscured(regions, kinds))
        for kind in kinds:
            # A person is hidden by the body rows: persons and silhouettes (`redact.core.types.BODIES`).
            mine = np.isin(regions.kind, BODIES) if kind is Kind.PERSON else regions.kind == kind
            hidden, touched = redaction_masks(regions.select(mine), sample.height, sample.width)
            tallies[kind].add(sample, kind, hidden, touched)
            tallies[kind].seconds += elapsed
        if together:
            hidden, touched = redaction_masks(regions, sample.height, sample.width)
            for kind in kinds:
                together[kind].add(sample, kind, hidden, touched)
                together[kind].seconds += elapsed
    return tallies, together, warmup


def deface_python() -> Path:
    """Python of deface's own virtual environment (`redact.app.bench.deface_venv`, made on first use)."""
    from redact.app.bench import deface_venv

    venv = deface_venv(allow_install=True)
    if venv is None:
        raise RuntimeError(f"{DEFACE} could not be installed for the comparison")
    return venv / "bin" / "python"


def evaluate_deface(dataset: Path, samples, info, kind: Kind) -> dict:
    """Tallies of deface's runs (see `DEFACE_RUNS`) on PNG copies of the images."""
    import cv2

    python = deface_python()
    tallies = {}
    with tempfile.TemporaryDirectory(prefix="eval-deface-") as tmp:
        originals = {}
        for i, (sample, frame) in enumerate(read_frames(dataset, samples, info)):
            path = Path(tmp) / f"{i:06d}.png"
            cv2.imwrite(str(path), frame[:, :, ::-1])
            originals[path] = sample
        for name, extra in DEFACE_RUNS:
            cmd = [str(python), "-m", "deface.deface", *map(str, originals), *extra]
            start = time.perf_counter()
            result = subprocess.run(cmd, capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            if result.returncode != 0:
                raise RuntimeError(f"`{name}` failed: {result.stderr.strip()[-500:]}")
            tally = Tally(seconds=elapsed)
            for path, sample in originals.items():
                output = path.with_name(path.stem + "_anonymized.png")
                changed = np.any(cv2.imread(str(path)) != cv2.imread(str(output)), axis=2)
                tally.add(sample, kind, changed, changed)
                output.unlink()
            tallies[name] = tally
    return tallies


def _recall(hits, total) -> str:
    return f"{hits / total:.3f}" if total else "-"


def print_table(kind: Kind, rows: dict) -> None:
    """One line per method: recall per bucket (boxes), overall recall, over-redaction, time."""
    first = next(iter(rows.values()))
    print(f"\n{kind.name.lower()}: recall by GT box height (boxes per bucket: "
          + ", ".join(f"{label} {n}" for (_, _, label), n in zip(BUCKETS, first.total)) + ")")
    header = f"{'method':46s}" + "".join(f"{label:>8s}" for _, _, label in BUCKETS)
    print(header + f"{'all':>8s}{'>=32':>8s}{'over%':>8s}{'ms/img':>9s}")
    for name, t in rows.items():
        cells = "".join(f"{_recall(h, n):>8s}" for h, n in zip(t.hits, t.total))
        over = 100.0 * t.over_pixels / max(t.outside_pixels, 1)
        ms = 1000.0 * t.seconds / max(t.images, 1)
        print(f"{name:46s}{cells}{_recall(t.hits.sum(), t.total.sum()):>8s}"
              f"{_recall(t.hits[2:].sum(), t.total[2:].sum()):>8s}{over:8.2f}{ms:9.1f}")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path, metavar="DATASET_DIR")
    parser.add_argument("--profile", default=Profile.BALANCED.value, choices=[p.value for p in Profile])
    parser.add_argument("--kind", action="append", choices=["face", "plate", "person"],
                        help="kind to evaluate (repeatable); default: every kind the set labels")
    parser.add_argument("--deface", action="store_true", help="also measure deface 1.5.0 (faces)")
    parser.add_argument("--plates-only", action="store_true", help="as redact --plates-only: text on vehicles only")
    parser.add_argument("--limit", type=int, help="only the first N images")
    parser.add_argument("--models-dir", help="model cache folder (default: redact's)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    samples, info = load_samples(args.dataset, args.limit)
    labelled = {Kind(k) for s in samples for k in s.kind}
    kinds = sorted({Kind[k.upper()] for k in args.kind} if args.kind else labelled)
    profile = Profile(args.profile)
    tallies, together, warmup = evaluate_redact(args.dataset, samples, info, kinds, profile, args.models_dir,
                                                args.plates_only)
    print(f"{args.dataset}: {len(samples)} images, profile {profile.value}, "
          f"first call (model warm-up + JIT) {1000 * warmup:.0f} ms")
    for kind in kinds:
        rows = {f"redact {profile.value}": tallies[kind]}
        if together and kind in labelled:  # scored against this kind's boxes: only where the set has them
            rows[f"redact {profile.value}, all kinds' regions"] = together[kind]
        if args.deface and kind is Kind.FACE:
            rows.update(evaluate_deface(args.dataset, samples, info, kind))
        print_table(kind, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
