"""Video plate exposure measure: does a licence plate's detail survive in the redacted output?

The plate counterpart of `exposure.py` (faces). Two sources of plates:

- **Judged** plates in real clips. A judge stronger than the profile under test, the
  ``thorough`` plate plan on every judged frame, proposes text boxes in the *input*
  frames; each proposal of at least MIN_WIDTH x MIN_HEIGHT px then goes through two
  *independent* checks on its crop (see `Judge`): the same text network again, on an
  enlarged crop at another scale, and a plate-likeness rule that uses no network at all
  (aspect, contrast, a row of character-like connected components). A proposal counts as a
  plate when both agree; those one check confirms are counted apart (``one_j``, ``one_e``),
  every proposal too (``raw_j``, ``raw_e``), as `exposure.py` does with its two networks.
- **Rendered** plates (``--render``): plates of five kinds (white EU/UK front, yellow UK
  rear, black-on-white US, white-on-black, Mercosur with its blue band), 30 to 150 px
  wide, tilted up to 6 degrees and slightly keystoned, moving across frames of a real
  shared clip. Their true boxes are known, so no judge is needed there: exposure is counted
  on every truth box, per width and per kind.

A plate is **exposed** when the normalised correlation of the Laplacians of input and output
inside its box is at least `EXPOSED_CORR` (`plate_exposed`). ``--calibrate`` prints what
that correlation is for a codec-only re-encode of the rendered clip (the plate readable) and
for the same clip with its true plates obscured by `redact.obscure` (the plate gone), per
width (numbers at `EXPOSED_CORR`).

The redaction is the library's default command (`redact IN -o OUT`: faces and plates,
`Policy()`), at ``--profile`` and each ``--detect-every`` N (default: the profile's own),
with a fixed noise seed so a result reproduces.

    python benchmarks/plate_exposure.py --render --profile balanced
    python benchmarks/plate_exposure.py ../shared/data/videos/theaiguys_license_plate.mp4 \\
        ../shared/data/videos/intel_car-detection.mp4 --profile balanced --detect-every 1 \\
        --stride 3 --judge-cache /tmp/plate_judge --crops /tmp/plate_crops -v

``--crops DIR`` saves input|output crops of every exposure (judged plates both or one check
confirms, and rendered plates) for a person to look at.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Run as a script, this folder is on sys.path; the tests put it there too.
from exposure import HEADER, _decode, add, cached, laplacian_corr, row, save_crop
from exposure import ClipResult as JudgedClip

#: Laplacian correlation at or above which a plate counts as readable in the output, as for
#: faces. ``--calibrate`` on the 2 644 rendered boxes: a codec-only re-encode (crf 18) gives
#: 0.96-1.00 at every width; obscured by `redact.obscure`, then re-encoded, -0.06..0.09 at
#: 100 px, at most 0.22 at 45 px and 0.51 at 30 px (1 box of 576: tiny boxes are noisy, so
#: 30-px exposures near the threshold must be looked at). A plate half obscured, one word
#: left readable, scores 0.5-0.8: a higher threshold would hide those.
EXPOSED_CORR = 0.5
#: Smallest proposal the judge scores, in pixels (a 30 px wide plate's grown text box is
#: about this size; below it there is no detail a Laplacian can compare).
MIN_WIDTH, MIN_HEIGHT = 20, 6
#: Bump when `Judge` changes, so ``--judge-cache`` entries of the old judge are not reused.
JUDGE_VERSION = 2
#: The text check enlarges (or shrinks) the crop so the proposal is this tall in network
#: pixels: inside the band of character sizes the network answers to best, and a different
#: scale from the proposer's views for all but a few boxes.
CHECK_HEIGHT = 48

#: Plate widths rendered (px), one lane of the frame per width.
WIDTHS = (30, 45, 70, 100, 150)
#: (name, plate size in mm as width x height, background RGB, text RGB, band).
KINDS = (
    ("white", (520, 111), (245, 245, 245), (10, 10, 10), "eu"),
    ("yellow", (520, 111), (247, 209, 23), (10, 10, 10), None),
    ("us", (305, 152), (240, 240, 240), (20, 30, 90), "us"),
    ("black", (520, 111), (15, 15, 15), (235, 235, 235), None),
    ("mercosur", (400, 130), (245, 245, 245), (10, 10, 10), "mercosur"),
)
RENDER_FRAMES = 120
#: ``--on-cars``: real cars the rendered plates ride on (photos in the shared data, each
#: with its own plate's box, boxed by hand), and the plate widths rendered so (a car is
#: about five plates wide: wider plates' cars would not fit the frame's lanes).
CARS = (("plates/theaiguys_car4.jpg", (362, 241, 454, 269)),
        ("plates/theaiguys_car2.jpg", (852, 636, 1025, 676)),
        ("plates/theaiguys_car3.jpg", (549, 411, 728, 498)))
CAR_WIDTHS = (30, 45)
#: The part of a car photo pasted with its plate, in plate widths around the plate's box
#: (left, up, right, down): the car's body, a little of the road.
CAR_CROP = (2.4, 2.6, 2.4, 0.8)


def plate_exposed(before: np.ndarray, after: np.ndarray, box) -> tuple[bool, float]:
    """Whether the plate in ``box`` (x0, y0, x1, y1) of ``before`` is still readable in ``after``.

    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 255, (40, 80, 3), dtype=np.uint8)
    >>> plate_exposed(a, a, (10, 10, 70, 30))
    (True, 1.0)
    """
    h, w = before.shape[:2]
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    x1, y1 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    if x1 - x0 < 3 or y1 - y0 < 3:
        return False, 0.0
    corr = round(laplacian_corr(before[y0:y1, x0:x1], after[y0:y1, x0:x1]), 6)
    return corr >= EXPOSED_CORR, corr


# --- the judge --------------------------------------------------------------------------

def plate_like(frame: np.ndarray, box) -> bool:
    """A rule that owes nothing to the text network: is the crop shaped and marked like a plate?

    Plate-shaped (width over height 1.2-7: a square-ish two-line US plate to a long EU one,
    its text line grown by the detector's margin), contrasted (grey 5-95 percentile spread
    >= 40), and at least 3 character-like blobs of one polarity (dark on light or light on
    dark): 20-95 % of the crop's height, not solid, of similar heights and on one row, at
    least 2 blobs and 4 glyphs (a blob of bold small characters that run together counts as
    its width over 0.6 heights). Long shop signs fail the aspect, textures and foliage the
    row of characters.

    >>> import cv2
    >>> crop = np.full((30, 100, 3), 240, np.uint8)
    >>> for i in range(5):
    ...     _ = cv2.putText(crop, "A8K4B"[i], (8 + 18 * i, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    >>> plate_like(crop, (0, 0, 100, 30)), plate_like(np.full((30, 100, 3), 240, np.uint8), (0, 0, 100, 30))
    (True, False)
    """
    import cv2

    h, w = frame.shape[:2]
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    x1, y1 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    if x1 - x0 < 4 or y1 - y0 < 4 or not 1.2 <= (x1 - x0) / (y1 - y0) <= 7.0:
        return False
    grey = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)
    lo, hi = np.percentile(grey, (5, 95))
    if hi - lo < 40:
        return False
    # Enlarged to a fixed height so that blob sizes mean the same at every plate size.
    scale = 64.0 / grey.shape[0]
    grey = cv2.resize(grey, (max(4, round(grey.shape[1] * scale)), 64), interpolation=cv2.INTER_CUBIC)
    _, ink = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    for mask in (ink, 255 - ink):
        _, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        bw, bh = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]
        top, fill = stats[1:, cv2.CC_STAT_TOP], stats[1:, cv2.CC_STAT_AREA] / np.maximum(1, bw * bh)
        # Small bold characters run together into one blob: a blob may be a few glyphs wide.
        chars = ((bh >= 0.2 * 64) & (bh <= 0.95 * 64) & (bw >= 2) & (bw <= 8 * bh)
                 & (bw < 0.95 * grey.shape[1]) & (fill <= 0.85))
        if chars.sum() < 2:
            continue
        heights, middles, widths = bh[chars], top[chars] + bh[chars] / 2, bw[chars]
        median_h, median_m = np.median(heights), np.median(middles)
        row = (np.abs(heights - median_h) <= 0.35 * median_h) & (np.abs(middles - median_m) <= 0.35 * median_h)
        glyphs = np.maximum(1, np.round(widths[row] / (0.6 * heights[row]))).sum()
        if row.sum() >= 2 and glyphs >= 4:
            return True
    return False


class Judge:
    """Plates in input frames: proposed by the ``thorough`` plate plan, confirmed twice.

    The proposer is `PlateDetector` at ``thorough`` (640 + 960 + native views: stronger than
    any profile under test) on every judged frame, without the recogniser check the profiles
    run (`redact.detectors.text_reader`). It finds *text*, so each proposal is then checked
    two independent ways:

    1. ``text``: the same network, shown an enlarged crop around the proposal (the box grown
       by its height on every side, scaled so the box is CHECK_HEIGHT px tall: a scale the
       proposer did not use), must put a text box's centre inside the proposal. A one-scale
       flicker of the network (a texture it half-believes) rarely survives a rescale.
    2. ``shape``: `plate_like`, a rule with no network in it: plate aspect, contrast, a row
       of character-like blobs. It rejects what the network rightly calls text but is no
       plate (long shop signs, burned-in captions) and does not share the network's
       blind spots.

    A second network of another family would be a stronger second check, but none with a
    usable licence ships in a registry (see ``redact/detectors/plates.py``); a rule that is
    blind to everything but shape is the independent view available. Proposals only one
    check confirms are counted apart and saved with ``--crops``, so a real plate one check
    misses (a tilted or blurred one failing the blob row) cannot hide.
    """

    def __init__(self):
        import dataclasses

        from redact.core.profile import Profile
        from redact.detectors.plates import PLANS, PlateDetector, PlatePlan, PlateView

        # Both without the recogniser check: it is part of what is measured, so the judge
        # must not share its blind spots.
        self.proposer = PlateDetector(plan=dataclasses.replace(PLANS[Profile.THOROUGH], read_check=False))
        # One view at the crop's own size: the crop is already scaled by `confirmations`.
        self.checker = PlateDetector(plan=PlatePlan(views=(PlateView(1, min_scale=1.0, max_upscale=1.0),),
                                                    read_check=False))

    def text_again(self, frame: np.ndarray, box) -> bool:
        """Check 1: does the text network see text at ``box`` on an enlarged, rescaled crop?"""
        import cv2

        h, w = frame.shape[:2]
        bh = max(1.0, box[3] - box[1])
        x0, y0 = max(0, int(box[0] - bh)), max(0, int(box[1] - bh))
        x1, y1 = min(w, int(np.ceil(box[2] + bh))), min(h, int(np.ceil(box[3] + bh)))
        scale = float(np.clip(CHECK_HEIGHT / bh, 0.5, 8.0))
        crop = cv2.resize(frame[y0:y1, x0:x1], (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))),
                          interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
        for tx0, ty0, tx1, ty1 in self.checker.detect(crop).xyxy:
            mx, my = x0 + (tx0 + tx1) / (2 * scale), y0 + (ty0 + ty1) / (2 * scale)
            if box[0] <= mx <= box[2] and box[1] <= my <= box[3]:
                return True
        return False

    def confirmations(self, frame: np.ndarray, box) -> int:
        """How many of the two checks see a plate at ``box`` (0, 1 or 2)."""
        return int(self.text_again(frame, box)) + int(plate_like(frame, box))


def merge_views(regions):
    """One box per plate: the detector returns a plate once per view that finds it, boxes
    nested in one another; keep the largest and drop the boxes lying (by half their area)
    inside a kept one, so a plate is judged once per frame, on its widest box."""
    from redact.core.geometry import box_areas, overlap_areas

    order = np.argsort(-box_areas(regions.xyxy), kind="stable")
    kept = []
    for i in order:
        box = regions.xyxy[i]
        if not kept or overlap_areas(regions.xyxy[kept], box).max() < 0.5 * box_areas(box[None])[0]:
            kept.append(i)
    return regions.select(np.array(sorted(kept), np.int64))


def judge_clip(path, judge: Judge, stride=1) -> list:
    """Per input frame, the judge's proposals >= MIN_WIDTH x MIN_HEIGHT as (box, track id,
    confirmations), or None for frames skipped by ``stride``."""
    from redact.pipeline.tracking import Tracker

    ids = Tracker(hold_frames=0)  # only to give the judge's plates identities across frames
    judged = []
    for i, frame in enumerate(_decode(path)):
        if i % stride:
            judged.append(None)
            continue
        plates = ids.update(merge_views(judge.proposer.detect(frame)))
        judged.append([(box, int(tid), judge.confirmations(frame, box))
                       for box, tid in zip(plates.xyxy, plates.track_id)
                       if box[2] - box[0] >= MIN_WIDTH and box[3] - box[1] >= MIN_HEIGHT])
    return judged


def cached_judgement(path: Path, judge: Judge, stride: int, cache: Path | None) -> list:
    """`judge_clip`, kept in ``cache`` under the clip's name, size, stride and the judge's settings."""
    return cached(cache, path, f"plates.v{JUDGE_VERSION}.h{CHECK_HEIGHT}.s{stride}.m{MIN_WIDTH}x{MIN_HEIGHT}",
                  lambda: judge_clip(path, judge, stride))


# --- rendered plates --------------------------------------------------------------------

def _plate_text(rng, band) -> tuple[str, str]:
    """A random registration in the style of the plate's country: (main line, small print)."""
    letters, digits = "ABCDEFGHJKLMNPRSTVWXYZ", "0123456789"

    def pick(s, n):
        return "".join(rng.choice(list(s), n))

    if band == "us":
        return pick(digits, 1) + pick(letters, 3) + pick(digits, 3), "CALIFORNIA"
    if band == "mercosur":
        return pick(letters, 3) + pick(digits, 1) + pick(letters, 1) + pick(digits, 2), "BRASIL"
    return pick(letters, 2) + pick(digits, 2) + " " + pick(letters, 3), ""


def plate_image(kind: tuple, text: str, small: str, width: int) -> np.ndarray:
    """One plate, drawn at 4x its size and shrunk to ``width`` px (RGB): border, band, text."""
    import cv2

    name, (mw, mh), bg, ink, band = kind
    W, H = 4 * width, max(8, round(4 * width * mh / mw))
    img = np.full((H, W, 3), bg, np.uint8)
    cv2.rectangle(img, (0, 0), (W - 1, H - 1), ink, max(2, W // 120))
    x_text, y_top, y_bottom = int(0.05 * W), int(0.12 * H), int(0.88 * H)
    if band == "eu":  # the blue country strip on the left
        img[:, : int(0.085 * W)] = (0, 51, 153)
        x_text = int(0.11 * W)
    elif band == "mercosur":  # the blue band on top, the country name in it
        img[: int(0.24 * H)] = (0, 51, 153)
        _fit_text(img, small, (int(0.35 * W), 0, int(0.65 * W), int(0.24 * H)), (255, 255, 255))
        y_top = int(0.30 * H)
    elif band == "us":  # the state name in small print above a taller, narrower registration
        _fit_text(img, small, (int(0.25 * W), int(0.04 * H), int(0.75 * W), int(0.24 * H)), (180, 20, 20))
        y_top, y_bottom = int(0.30 * H), int(0.85 * H)
    _fit_text(img, text, (x_text, y_top, int(0.95 * W), y_bottom), ink)
    return cv2.resize(img, (width, max(3, round(width * mh / mw))), interpolation=cv2.INTER_AREA)


def _fit_text(img, text, rect, colour) -> None:
    """Draw ``text`` as large as fits inside ``rect`` (x0, y0, x1, y1), centred, bold."""
    import cv2

    x0, y0, x1, y1 = rect
    font = cv2.FONT_HERSHEY_DUPLEX
    (tw, th), _ = cv2.getTextSize(text, font, 1.0, 2)
    scale = min((x1 - x0) / tw, (y1 - y0) / th) * 0.95
    thick = max(1, round(scale * 2.2))
    (tw, th), _ = cv2.getTextSize(text, font, scale, thick)
    org = (x0 + (x1 - x0 - tw) // 2, y0 + (y1 - y0 + th) // 2)
    cv2.putText(img, text, org, font, scale, colour, thick, cv2.LINE_AA)


@dataclass
class RenderedPlate:
    """One plate on its lane: it slides right at ``speed`` px per frame and wraps around."""

    plate_id: int
    kind: str
    width: int
    image: np.ndarray
    lane_y: float
    x_start: float
    speed: float
    belt: float  # length of the lane's loop, past the frame's right edge and back in at the left
    tilt: float  # degrees
    keystone: float  # relative height of the right edge to the left (a slight perspective)
    car: np.ndarray | None = None  # with --on-cars: the car it is on, scaled to the plate
    on_car: tuple = (0, 0)  # the plate's top-left corner in ``car``

    def quad(self, t: int, frame_w: int) -> np.ndarray:
        """The plate's four corners (TL, TR, BR, BL) in frame pixels at frame ``t``."""
        h, w = self.image.shape[:2]
        x = (self.x_start + self.speed * t) % self.belt - w  # enters from the left edge
        y = self.lane_y + 3.0 * np.sin(t / 7.0 + self.plate_id)  # a little bounce
        k = self.keystone
        corners = np.array([[0, 0], [w, -k * h / 2], [w, h + k * h / 2], [0, h]], np.float64)
        corners -= (w / 2, h / 2)
        a = np.deg2rad(self.tilt)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        return (corners @ rot.T + (x + w / 2, y)).astype(np.float32)


def render_plates(frame_w: int, frame_h: int, seed: int = 0) -> list[RenderedPlate]:
    """Every kind at every width: one lane per width (small at the top, as if far away),
    the five kinds following each other along it, each tilted and keystoned a little."""
    rng = np.random.default_rng(seed)
    plates = []
    lanes = np.linspace(0.1, 0.85, len(WIDTHS)) * frame_h
    for lane, (width, lane_y) in enumerate(zip(WIDTHS, lanes)):
        belt = max(frame_w + width, 1.3 * width * len(KINDS))  # no gap at the edge, no overlap
        spacing = belt / len(KINDS)
        speed = 3.0 + 1.5 * lane
        for k, kind in enumerate(KINDS):
            text, small = _plate_text(rng, kind[4])
            plates.append(RenderedPlate(
                plate_id=len(plates), kind=kind[0], width=width, image=plate_image(kind, text, small, width),
                lane_y=float(lane_y), x_start=k * spacing + rng.uniform(0, 0.15 * spacing), speed=speed,
                belt=belt, tilt=(-6, -3, 0, 3, 6)[(k + lane) % 5], keystone=(0.0, 0.06, -0.06)[(k + 2 * lane) % 3]))
    return plates


def car_sprite(photo: np.ndarray, plate_box, width: int) -> tuple[np.ndarray, tuple]:
    """The car around ``plate_box`` in ``photo`` (`CAR_CROP`), scaled so its plate is
    ``width`` px wide, and the plate's top-left corner in it."""
    import cv2

    x0, y0, x1, y1 = plate_box
    pw = x1 - x0
    left, up, right, down = CAR_CROP
    cx0, cy0 = max(0, int(x0 - left * pw)), max(0, int(y0 - up * pw))
    cx1, cy1 = min(photo.shape[1], int(x1 + right * pw)), min(photo.shape[0], int(y1 + down * pw))
    scale = width / pw
    crop = cv2.resize(photo[cy0:cy1, cx0:cx1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return crop, (round((x0 - cx0) * scale), round((y0 - cy0) * scale))


def render_on_cars(frame_w: int, frame_h: int, data: Path, seed: int = 0) -> list[RenderedPlate]:
    """As `render_plates`, but each plate on a real car (`CARS`) pasted over the car's own
    plate, the cars following each other along one lane per width of `CAR_WIDTHS`."""
    import cv2

    rng = np.random.default_rng(seed)
    photos = [(cv2.imread(str(data / name))[:, :, ::-1], box) for name, box in CARS]
    plates = []
    lanes = np.linspace(0.35, 0.8, len(CAR_WIDTHS)) * frame_h
    for lane, (width, lane_y) in enumerate(zip(CAR_WIDTHS, lanes)):
        sprites = [car_sprite(photo, box, width) for photo, box in photos]
        belt = frame_w + sum(car.shape[1] for car, _ in sprites)
        x = 0.0
        for k, (car, at) in enumerate(sprites):
            kind = KINDS[(k + 2 * lane) % len(KINDS)]
            text, small = _plate_text(rng, kind[4])
            image = plate_image(kind, text, small, width)
            plates.append(RenderedPlate(
                plate_id=len(plates), kind=kind[0], width=width, image=image, lane_y=float(lane_y),
                x_start=x + at[0] + width, speed=3.0 + 1.5 * lane, belt=belt, tilt=0.0, keystone=0.0,
                car=car, on_car=at))
            x += car.shape[1]
    return plates


def paste_car(frame: np.ndarray, plate: RenderedPlate, quad: np.ndarray) -> None:
    """Paste the plate's car where it puts the plate at ``quad`` (clipped to the frame)."""
    car = plate.car
    x = int(round(quad[:, 0].min())) - plate.on_car[0]
    y = int(round(quad[:, 1].min())) - plate.on_car[1]
    fx0, fy0 = max(0, x), max(0, y)
    fx1, fy1 = min(frame.shape[1], x + car.shape[1]), min(frame.shape[0], y + car.shape[0])
    if fx1 > fx0 and fy1 > fy0:
        frame[fy0:fy1, fx0:fx1] = car[fy0 - y:fy1 - y, fx0 - x:fx1 - x]


def truth_box(quad: np.ndarray, frame_w: int, frame_h: int, min_visible: float = 0.6):
    """The plate's box (x0, y0, x1, y1) clipped to the frame, or None when less than
    ``min_visible`` of its width is in view (a sliver at the edge has no characters to read)."""
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    cx0, cy0, cx1, cy1 = max(0.0, x0), max(0.0, y0), min(float(frame_w), x1), min(float(frame_h), y1)
    if cx1 - cx0 < min_visible * (x1 - x0) or cy1 - cy0 < min_visible * (y1 - y0):
        return None
    return np.array([cx0, cy0, cx1, cy1], np.float32)


def paste(frame: np.ndarray, plate: RenderedPlate, quad: np.ndarray) -> None:
    """Warp the plate onto ``frame`` at ``quad``, with an anti-aliased edge (only the
    rectangle around the quad is touched: warping whole frames made rendering 20x slower)."""
    import cv2

    fh, fw = frame.shape[:2]
    x0, y0 = (max(0, int(v) - 1) for v in quad.min(axis=0))
    x1, y1 = min(fw, int(np.ceil(quad[:, 0].max())) + 1), min(fh, int(np.ceil(quad[:, 1].max())) + 1)
    if x1 <= x0 or y1 <= y0:
        return
    h, w = plate.image.shape[:2]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    m = cv2.getPerspectiveTransform(src, (quad - (x0, y0)).astype(np.float32))
    size = (x1 - x0, y1 - y0)
    warped = cv2.warpPerspective(plate.image, m, size, flags=cv2.INTER_LINEAR).astype(np.float32)
    alpha = cv2.warpPerspective(np.ones((h, w), np.float32), m, size, flags=cv2.INTER_LINEAR)[..., None]
    roi = frame[y0:y1, x0:x1]
    roi[:] = (roi * (1 - alpha) + warped * alpha + 0.5).astype(np.uint8)


def render_clip(background: Path, out: Path, frames: int = RENDER_FRAMES, seed: int = 0,
                cars: Path | None = None) -> list:
    """Write ``out`` (H.264, crf 12): the first ``frames`` frames of ``background`` with the
    plates of `render_plates` moving over them (with ``cars``, the shared data folder: of
    `render_on_cars`, on their cars). Returns, per frame, the visible plates as (box, plate
    id, kind, width)."""
    import av

    with av.open(str(background)) as source:
        rate = source.streams.video[0].average_rate or 25
    truth = []
    with av.open(str(out), "w") as container:
        stream = None
        for t, frame in enumerate(_decode(background)):
            if t == frames:
                break
            h, w = frame.shape[:2]
            if stream is None:
                plates = render_plates(w, h, seed) if cars is None else render_on_cars(w, h, cars, seed)
                stream = container.add_stream("libx264", rate=rate)
                stream.width, stream.height, stream.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
                stream.options = {"crf": "12"}
            frame = np.ascontiguousarray(frame[: h - h % 2, : w - w % 2])
            visible = []
            for plate in plates:
                quad = plate.quad(t, w)
                if plate.car is not None:
                    paste_car(frame, plate, quad)
                paste(frame, plate, quad)
                box = truth_box(quad, frame.shape[1], frame.shape[0])
                if box is not None:
                    visible.append((box, plate.plate_id, plate.kind, plate.width))
            truth.append(visible)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return truth


# --- measuring --------------------------------------------------------------------------

@dataclass
class ClipResult(JudgedClip):
    """`exposure.ClipResult` for plates (``judged``: confirmed by both checks; rendered: every
    truth box), with the rendered plates counted per kind and width."""

    by: dict = field(default_factory=dict)  # rendered: (kind or width) -> [truth, exposed]


def _redact(path, policy, tmp) -> tuple[Path, object, float]:
    from redact.jobs.files import redact_video

    out = Path(tmp) / "out.mp4"
    start = time.perf_counter()
    # A fixed noise seed: a borderline exposure then reproduces, to be looked at.
    manifest = redact_video(path, out, policy, crf=18, seed=0)
    return out, manifest, time.perf_counter() - start


def measure_clip(path, policy, judged, crops=None, rendered=False) -> ClipResult:
    """Redact ``path`` with ``policy`` and compare the plates of input and output.

    ``judged`` is `judge_clip`'s answer, or with ``rendered`` `render_clip`'s truth (every
    box counts, as confirmed twice). With ``crops`` (a folder), save input|output crops of
    every exposure of a plate at least one check confirms.
    """
    result = ClipResult(Path(path).name)
    with tempfile.TemporaryDirectory() as tmp:
        out, manifest, result.seconds = _redact(path, policy, tmp)
        result.frames_detected = manifest.timing["frames_detected"]
        for i, (before, after, plates) in enumerate(zip(_decode(path), _decode(out), judged)):
            result.frames += 1
            result.frames_judged += plates is not None
            for item in plates or ():
                if rendered:
                    box, tid, kind, width = item
                    confirmations, label = 2, f"{kind}{width}"
                else:
                    box, tid, confirmations = item
                    label = f"c{confirmations}"
                exposed, corr = plate_exposed(before, after, box)
                if rendered:
                    for key in (kind, width):
                        counts = result.by.setdefault(key, [0, 0])
                        counts[0] += 1
                        counts[1] += exposed
                if exposed and confirmations and crops is not None:
                    save_crop(crops / f"{Path(path).stem}_N{policy.detect_every}_f{i:05d}_{label}.png",
                              before, after, box)
                result.tally(i, tid, box, exposed, corr, confirmations, label)
        if result.frames != manifest.frames_in or manifest.frames_out != manifest.frames_in:
            raise RuntimeError(f"{path}: {manifest.frames_in} frames in, {manifest.frames_out} out, "
                               f"{result.frames} compared")
    return result


def judge_recall(path: Path, truth: list, judge: Judge, stride: int) -> dict:
    """How many true plates the judge itself finds, per width: {width: [truth, both checks,
    one check]} (a proposal's centre inside the true box finds it). The judged figures on
    real clips say nothing about plates below the size where this falls off."""
    counts = {w: [0, 0, 0] for w in WIDTHS}
    for i, (frame, plates) in enumerate(zip(_decode(path), truth)):
        if i % stride:
            continue
        proposals = [(b, judge.confirmations(frame, b)) for b in merge_views(judge.proposer.detect(frame)).xyxy
                     if b[2] - b[0] >= MIN_WIDTH and b[3] - b[1] >= MIN_HEIGHT]
        for box, _, _, width in plates:
            inside = [c for b, c in proposals
                      if box[0] <= (b[0] + b[2]) / 2 <= box[2] and box[1] <= (b[1] + b[3]) / 2 <= box[3]]
            best = max(inside, default=0)
            counts[width][0] += 1
            counts[width][1] += best == 2
            counts[width][2] += best == 1
    return counts


def calibrate(path: Path, truth: list) -> None:
    """Print the Laplacian correlation of the true plates after a codec-only re-encode
    (crf 18, as the redaction writes) and after `redact.obscure` at the true boxes then the
    same re-encode, per plate width: what `EXPOSED_CORR` must separate."""
    import av

    from redact import obscure
    from redact.core.types import Kind, Regions

    corr = {"codec": {}, "obscured": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name in corr:
            out = Path(tmp) / f"{name}.mp4"
            with av.open(str(out), "w") as container:
                stream = None
                for i, (frame, plates) in enumerate(zip(_decode(path), truth)):
                    if stream is None:
                        stream = container.add_stream("libx264", rate=10)
                        stream.width, stream.height, stream.pix_fmt = frame.shape[1], frame.shape[0], "yuv420p"
                        stream.options = {"crf": "18", "preset": "veryfast"}
                    if name == "obscured" and plates:
                        regions = Regions.from_boxes(np.stack([p[0] for p in plates]), kind=Kind.PLATE)
                        frame = obscure(frame, regions, seed=i)
                    for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                        container.mux(packet)
                for packet in stream.encode(None):
                    container.mux(packet)
            for before, after, plates in zip(_decode(path), _decode(out), truth):
                for box, _, _, width in plates:
                    corr[name].setdefault(width, []).append(plate_exposed(before, after, box)[1])
    print(f"calibration on {sum(map(len, truth))} true plate boxes; Laplacian corr, min / 1% / median / 99% / max:")
    for name, per_width in corr.items():
        for width in sorted(per_width):
            q = np.percentile(per_width[width], (0, 1, 50, 99, 100))
            print(f"  {name:9} {width:4d} px wide: " + " / ".join(f"{v:5.2f}" for v in q)
                  + f"   (>= {EXPOSED_CORR}: {np.mean(np.array(per_width[width]) >= EXPOSED_CORR):.3f})")


def _print_exposures(r: ClipResult) -> None:
    for frame, box, corr, label in r.exposures:
        print(f"    exposed: frame {frame}, {label}, box {np.round(box).astype(int).tolist()}, "
              f"Laplacian corr {corr:.2f}")


def main(argv=None) -> int:
    from redact.core.policy import Policy
    from redact.core.profile import Profile

    data = Path(__file__).resolve().parents[2] / "shared/data"
    default_background = data / "videos/opencv_vtest_pedestrians.avi"
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("videos", nargs="*", type=Path, help="real clips with plates (judged)")
    p.add_argument("--render", action="store_true",
                   help="also measure rendered plates moving over a real clip (truth boxes, no judge)")
    p.add_argument("--background", type=Path, default=default_background, help="the real clip --render draws on")
    p.add_argument("--on-cars", action="store_true",
                   help="with --render: the plates ride on real cars (photos in the shared data), "
                        f"widths {list(CAR_WIDTHS)} px, instead of floating over the clip")
    p.add_argument("--data", type=Path, default=data, help="the shared data folder (--on-cars takes its cars there)")
    p.add_argument("--calibrate", action="store_true",
                   help="with --render: print the Laplacian corr of codec-only vs obscured true plates")
    p.add_argument("--render-judge", action="store_true",
                   help="with --render: also say how many true plates the judge finds (every --stride-th frame)")
    p.add_argument("--profile", type=Profile, default=Profile.BALANCED)
    p.add_argument("--detect-every", type=int, nargs="+", default=[None],
                   help="one or more N (default: the profile's); all run in this process, so their fps compare")
    p.add_argument("--stride", type=int, default=1, help="judge every N-th frame (speed)")
    p.add_argument("-v", "--verbose", action="store_true", help="list every exposure")
    p.add_argument("--crops", type=Path, help="save input|output crops of every exposure in this folder")
    p.add_argument("--judge-cache", type=Path,
                   help="keep the judge's plates per clip here, so a re-measure redacts only (the judge "
                        "takes most of the time and does not depend on the profile)")
    args = p.parse_args(argv)
    if not args.videos and not args.render:
        p.error("give clips, --render, or both")

    policies = {every: Policy(profile=args.profile, detect_every=every) for every in args.detect_every}
    print(f"default command (faces and plates), profile={args.profile.value}, hold "
          f"{Policy.hold_seconds}s, look-ahead {Policy.lookahead_seconds}s, seed 0; exposed: Laplacian corr "
          f">= {EXPOSED_CORR} in the plate's box")
    totals = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.render:
            clip = Path(tmp) / f"rendered_plates_on_{args.background.stem}.mp4"
            truth = render_clip(args.background, clip, cars=args.data if args.on_cars else None)
            print(f"\nrendered{' on cars' if args.on_cars else ''}: {len(KINDS)} kinds x widths "
                  f"{list(CAR_WIDTHS if args.on_cars else WIDTHS)} px over {clip.name} "
                  f"({len(truth)} frames, {sum(map(len, truth))} true plate boxes)")
            if args.calibrate:
                calibrate(clip, truth)
            if args.render_judge:
                found = judge_recall(clip, truth, Judge(), args.stride)
                print("judge on the true plates (both checks / one check / truth): "
                      + "  ".join(f"{w}px {b}/{o}/{n}" for w, (n, b, o) in found.items()))
            for policy in policies.values():
                r = measure_clip(clip, policy, truth, args.crops, rendered=True)
                print(f"N={policy.detect_every}: {r.exposed} of {r.judged} true plate boxes exposed, "
                      f"longest run {r.longest_run} frames, {r.frames / r.seconds:.1f} fps")
                print("    " + "  ".join(f"{w}px {r.by.get(w, [0, 0])[1]}/{r.by.get(w, [0, 0])[0]}" for w in WIDTHS))
                print("    " + "  ".join(f"{k[0]} {r.by.get(k[0], [0, 0])[1]}/{r.by.get(k[0], [0, 0])[0]}"
                                         for k in KINDS))
                if args.verbose:
                    _print_exposures(r)
        if args.videos:
            judge = Judge()
            print(f"\njudged: thorough proposes (>= {MIN_WIDTH}x{MIN_HEIGHT} px), confirmed by the text network "
                  f"on a crop rescaled to {CHECK_HEIGHT} px and by the plate-likeness rule")
            print("judged/exposed: plates both checks confirm; one_j/one_e: one check; raw_j/raw_e: every "
                  "proposal; detected: frames the detectors ran on; fps: all frames")
            print(HEADER)
            for video in args.videos:
                judged = cached_judgement(video, judge, args.stride, args.judge_cache)
                for every, policy in policies.items():
                    r = measure_clip(video, policy, judged, args.crops)
                    print(row(r, policy.detect_every), flush=True)
                    if args.verbose:
                        _print_exposures(r)
                    add(totals.setdefault(every, ClipResult("TOTAL")), r)
            for every, total in totals.items():
                print(row(total, policies[every].detect_every))
    return 0


if __name__ == "__main__":
    sys.exit(main())
