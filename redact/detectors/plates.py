"""Licence-plate detector: every text region in the frame, grown to the plate around it.

No permissively licensed licence-plate detector ships in a package registry, and a plate
detector trained on one country's plates misses the others. A plate is, before anything
else, a short line of large characters, so this detector finds *text*: PaddleOCR's PP-OCRv4
text detector (DBNet, Apache-2.0, taken from the ``rapidocr`` wheel) runs through
``cv2.dnn`` at two or three scales, and each probability map is decoded into boxes
(threshold, ``cv2.connectedComponents``, one Numba pass for box and score, DB's *unclip*
expansion). Each text box is then grown by a fixed share of its character height to reach
the plate's border, which carries the issuing state or country. Nothing in it is specific
to one country's plates (the tests find US, UK and German photographed plates and rendered
US, European long and Brazilian Mercosur layouts).

A text detector also fires on crowds, clothes and foliage. Each text box is therefore read
by PP-OCR's recogniser (`redact.detectors.text_reader`) and kept only when it holds
characters (boxes too small to read are kept unread).

Plates are where vehicles are. Given the frame's vehicle rows (any detector's
`Kind.VEHICLE`; `redact.detectors.detect_all` passes them), the detector also searches
each vehicle's lower part enlarged up to 4x (`plate_search`), all vehicles packed into one
network call (`pack`): a 30-px plate's characters are 5 px tall, under what the whole-frame
views read, and 15-20 px in the search. Fail closed where a plate cannot be read for sure:
a vehicle too small to search has its plate area obscured (`plate_area`), and plate-sized
text on a vehicle is kept without asking the recogniser (`plate_sized`). Text on a vehicle
is a plate (`Kind.PLATE`); text on no vehicle (`Kind.TEXT`: house numbers, street signs,
logos) stays obscured by default, since a house number or a street name locates a home;
``--plates-only`` (`PlatePlan.vehicles_only`) shows it. The older shape rules
(`plate_shaped`, `PlatePlan.plate_shape`) remain for experiments.
"""
from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass, replace

import numpy as np

from ..core.geometry import box_areas, on_vehicle, overlap_areas, tile_rects
from ..core.profile import Profile
from ..core.types import Kind, Regions, check_frame
from . import runtime as net_runtime
from .models import model_path
from .plate_check import PlateCheck
from .resize import resize
from .runtime import OnnxNet
from .text_reader import REC_MODEL

#: Registry name of the text detector.
TEXT_MODEL = "ppocr_det_v4"
#: PP-OCR's detector is trained on BGR images normalised with the ImageNet statistics
#: (PaddleOCR's ``NormalizeImage``); measured, this beats RapidOCR's 0.5/0.5 (0.977 vs 0.941).
_BGR_MEAN = np.array([0.406, 0.456, 0.485], np.float32) * 255.0
_BGR_STD = np.array([0.225, 0.224, 0.229], np.float32) * 255.0
#: The network's input sides must be multiples of its largest stride.
_ALIGN = 32
#: Two views whose scales on a frame are within this factor of each other find the same
#: text: the later one is skipped.
_SAME_SCALE = 1.2


@dataclass(frozen=True)
class PlateView:
    """One pass of the text detector over the frame at one scale.

    Parameters
    ----------
    long_side : int
        The frame is scaled so its longer side has this many pixels...
    min_scale : float
        ...but never by less than this (1.0: never shrink, so small far-away plates keep
        every pixel)...
    max_upscale : float
        ...and never by more than this (tiny frames are not blown up)...
    max_side : int
        ...nor past this many pixels on the longer side (0: no bound).
    every : int
        On video, run on one analysed frame in this many (`PlateDetector.light` leaves it out
        of the others; `redact.pipeline.redactor.Analyser` schedules them): what it finds is
        text of the scene, which the tracker holds and the look-ahead draws back over the
        frames between. Photos and `redact pick` run all their views on every frame.
    stills_only : bool
        Run on still images only (`PlateDetector.for_stills`), not on video frames.

    Examples
    --------
    >>> full = PlateView(960, min_scale=1.0, max_side=1280)
    >>> [round(full.scale(w, w * 9 // 16), 3) for w in (640, 768, 1280, 1920)]
    [1.5, 1.25, 1.0, 0.667]
    """

    long_side: int
    min_scale: float = 0.0
    max_upscale: float = 2.0
    max_side: int = 0
    every: int = 1
    stills_only: bool = False

    def scale(self, width: int, height: int) -> float:
        """Scale from frame to network pixels."""
        longer = max(width, height)
        scale = min(max(self.long_side / longer, self.min_scale), self.max_upscale)
        return min(scale, self.max_side / longer) if self.max_side else scale


@dataclass(frozen=True)
class PlatePlan:
    """How one profile looks for text.

    Parameters
    ----------
    views : tuple of PlateView
        Scales the frame is searched at; their boxes are united. The network answers to a
        band of character sizes, and on real plates that band is narrower and less regular
        than one would hope: a plate missed at one scale is usually found at another.
    tile : int
        When a view's scaled frame is longer than this on a side, it is cut into
        overlapping tiles of at most ``tile`` x ``tile`` network pixels (0: never),
        bounding memory and the network's input size.
    tile_overlap : float
        Share of a tile that its neighbour repeats, so a plate cut by one edge is whole in
        the next tile.
    threshold : float
        Probability above which a map pixel is text (DB's ``thresh``).
    box_threshold : float
        Minimum mean probability of a component (DB's ``box_thresh``).
    unclip : float
        DB's unclip ratio: the network is trained on text shrunk inward, so each component
        is grown back by ``area * unclip / perimeter`` on every side.
    margin : float
        Further growth on every side, as a share of the text's character height: the
        plate's frame and the small print on it. The character height is the text box's
        shorter side, but at most `LINE_ASPECT` times less than its longer side.
    min_side : int
        Components thinner than this many map pixels are noise.
    plate_shape : bool
        Keep only text shaped like a plate (below; ``--plates-only`` before it meant text on
        vehicles, `vehicles_only`). Off: a
        tilted plate's box is near square once grown, a motorcycle plate is square, and a
        plate beside lettering joins its line, so the rules can drop real plates.
    aspect : (float, float)
        Width over height of a kept box (grown to the plate): from a two-line square plate
        to a European long one. Single letters and long lines (signs, shop fronts,
        lettering on clothes) fall outside.
    max_height : float
        Kept boxes are at most this share of the frame's height...
    large_aspect, large_score : (float, float), float
        ...unless they are plate-shaped in this narrower range and this confident (a plate
        close to the camera).
    min_score : float
        Mean text probability of a kept box.
    read_check : bool
        Keep only text boxes that `TextReader` reads as characters (`TextReader.legible`):
        the text detector also fires on crowds, clothes and foliage, which hold none.
    read_min_height : float
        Text boxes lower than this many frame pixels are kept unread: the recogniser cannot
        read characters that small, and such a box hides little (fail closed).
    read_min_chars, read_min_prob : int, float
        A box is legible when it holds this many characters read with this probability.
    read_max : int
        Text found in more places than this in one frame is read in its first ``read_max``
        places (most confident first) and kept unread in the rest, bounding the time a
        cluttered frame costs.
    vehicle_search : bool
        Given the frame's vehicles (`PlateDetector.detect`'s ``context``), also search each
        one's lower part (`plate_search`) at a scale that brings its plate's characters to a
        size the network reads: far more pixels where plates are, none elsewhere.
    vehicle_width : float
        A searched vehicle is scaled to about this many network pixels wide (a plate is a
        fifth to a quarter of a car's width and its characters a sixth of the plate's, so
        about 13 px tall at 400, inside the band the network reads best)...
    vehicle_max_scale : float
        ...but never enlarged more than this, nor shrunk; a vehicle the whole-frame views
        already see at `vehicle_gain` of that scale is not searched again.
    vehicle_gain : float
        See ``vehicle_max_scale``.
    vehicle_min_width : float
        A vehicle narrower than this (frame pixels) is too small for the search to be
        trusted: its plate area (the lower part) is obscured unread (fail closed).
    vehicle_lower : float
        The search covers the vehicle's box from this share of its height down (plates sit
        low on a vehicle, front or back)...
    vehicle_whole : float
        ...or all of it when the vehicle is narrower than this (frame pixels): a small
        vehicle's box is loose, and searching all of it costs little.
    vehicle_budget : float
        Network pixels of the vehicle search per frame, at most: when the vehicles' scaled
        parts add up to more, all are scaled down together (never below 1).
    vehicles_only : bool
        Report text on vehicles only (``--plates-only``): signs and house numbers are
        shown. Text on no vehicle is otherwise reported as `Kind.TEXT` and obscured.
    """

    views: tuple
    tile: int = 1280
    tile_overlap: float = 0.25
    threshold: float = 0.3
    box_threshold: float = 0.5
    unclip: float = 1.6
    margin: float = 0.35
    min_side: int = 2
    plate_shape: bool = False
    aspect: tuple = (1.2, 6.0)
    max_height: float = 0.25
    large_aspect: tuple = (1.3, 4.5)
    large_score: float = 0.8
    min_score: float = 0.7
    read_check: bool = True
    read_min_height: float = 10.0
    read_min_chars: int = 2
    read_min_prob: float = 0.5
    read_max: int = 32
    vehicle_search: bool = True
    vehicle_width: float = 400.0
    vehicle_max_scale: float = 4.0
    vehicle_gain: float = 1.25
    vehicle_min_width: float = 48.0
    vehicle_lower: float = 0.4
    vehicle_whole: float = 240.0
    vehicle_budget: float = 5e5
    vehicles_only: bool = False


#: Plans per profile, chosen on ``shared/data/plates/openalpr_benchmarks`` (222 US cars, one
#: plate each, mostly 1280x720): see `PlateDetector` for the figures.
PLANS = {
    # The larger view is the dearest network call of a detection (720p: 960 px ~150 ms, 736
    # px ~85, against ~90 and ~55 for the faces). On video it runs on one plate search in
    # `PlateView.every`, the tracker holding its text between (docs/measurements.md).
    # ``balanced``'s reads the frame at full size, up to 1280 px (as 960 px would on smaller
    # frames): at 0.75x of a 720p frame the 960 px view saw nothing of some 45 px plates no
    # vehicle explains (rendered on a 30 fps 720p street: 36 of 576 readable with it on
    # every other search, 1 with full size on one in four, for about the same CPU). Photos,
    # with no tracker to carry text, run it beside the 960 px view they were measured with.
    # ``fast`` (and ``pi``) too: its 736 px view on every other search (0.58x at 720p) left
    # 333 of 576 such plates readable, full size on one search in four 5.
    Profile.FAST: PlatePlan(views=(PlateView(480), PlateView(736, min_scale=1.0, max_side=1280, every=4))),
    Profile.BALANCED: PlatePlan(views=(PlateView(480), PlateView(960, stills_only=True),
                                       PlateView(960, min_scale=1.0, max_side=1280, every=4))),
    Profile.THOROUGH: PlatePlan(views=(PlateView(640), PlateView(960), PlateView(1280, min_scale=1.0))),
}


#: A line of text is at least this many times longer than its characters are tall (two
#: characters side by side); a plate's line, at any tilt, at least 2.8 (three characters).
LINE_ASPECT = 2.0


def character_height(width, height) -> np.ndarray:
    """The character height of text in boxes of this width and height (arrays): the shorter
    side, but no more than the longer side over `LINE_ASPECT`. A box of one line has its
    characters' height as its shorter side; a block of lines found as one (a placard, a
    sign, a two-line plate) is several lines tall, and a margin of a share of that grew
    placards' and signs' boxes far past their text (WIDER FACE, the default command: 0.5
    points of over-redaction; OpenALPR's plates obscured as before).

    >>> character_height(np.array([100.0, 60.0, 20.0]), np.array([20.0, 50.0, 20.0])).tolist()
    [20.0, 30.0, 10.0]
    """
    width, height = np.asarray(width), np.asarray(height)
    return np.minimum(np.minimum(width, height), np.maximum(width, height) / LINE_ASPECT)


def plate_shaped(xyxy: np.ndarray, score: np.ndarray, frame_height: int, plan: PlatePlan) -> np.ndarray:
    """Which text boxes (grown to the plate) could be a licence plate, by shape and size.

    A box whose text line (`line_aspect`) is longer than a plate is a sign and goes too.
    Measured on ``faces/wider_val`` (no plates: every box is over-redaction) and
    ``plates/openalpr_benchmarks`` with ``balanced``: pixels obscured outside the faces
    11.2% -> 7.2%, plate recall 0.986 -> 0.986 (a house number is plate-shaped and stays);
    after the recogniser check, 7.8% -> 6.0% at 0.977 -> 0.977.

    >>> plan = PlatePlan(views=(), plate_shape=True)
    >>> boxes = np.array([[0, 0, 100, 40], [0, 100, 400, 140], [0, 200, 30, 240]], np.float32)
    >>> plate_shaped(boxes, np.full(3, 0.9, np.float32), 720, plan).tolist()
    [True, False, False]
    """
    w = xyxy[:, 2] - xyxy[:, 0]
    h = xyxy[:, 3] - xyxy[:, 1]
    aspect = w / np.maximum(h, 1e-6)
    share = h / max(frame_height, 1)
    small = ((aspect >= plan.aspect[0]) & (aspect <= plan.aspect[1]) & (share <= plan.max_height)
             & (score >= plan.min_score))
    large = ((share > plan.max_height) & (aspect >= plan.large_aspect[0]) & (aspect <= plan.large_aspect[1])
             & (score >= plan.large_score))
    sign = line_aspect(xyxy) > plan.aspect[1]
    return (small | large) & ~sign & ~_inside_any(xyxy, xyxy[sign])


def _inside_any(boxes: np.ndarray, others: np.ndarray, share: float = 0.9) -> np.ndarray:
    """Boxes lying (by ``share`` of their area) inside one of ``others``: pieces of a sign."""
    out = np.zeros(len(boxes), bool)
    area = np.maximum(box_areas(boxes), 1e-6)
    for o in others:
        out |= overlap_areas(boxes, o) >= share * area
    return out


def line_aspect(xyxy: np.ndarray) -> np.ndarray:
    """Width over height of the text line each box belongs to.

    The network finds a sign's words one by one at some scales, and each word looks like a
    plate; boxes of one height band that touch or overlap side by side are one line, and a
    line far longer than a plate is a sign, whatever its words look like.

    >>> line_aspect(np.array([[0, 0, 90, 30], [95, 0, 200, 30], [0, 100, 60, 130]], np.float32)).round(1).tolist()
    [6.7, 6.7, 2.0]
    """
    n = len(xyxy)
    parent = np.arange(n)

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    h = xyxy[:, 3] - xyxy[:, 1]
    for i in range(n):
        for j in range(i + 1, n):
            low, high = min(h[i], h[j]), max(h[i], h[j])
            overlap = min(xyxy[i, 3], xyxy[j, 3]) - max(xyxy[i, 1], xyxy[j, 1])
            gap = max(xyxy[i, 0], xyxy[j, 0]) - min(xyxy[i, 2], xyxy[j, 2])
            if overlap >= 0.6 * low and high <= 1.6 * low and gap < 0.5 * low:
                parent[root(i)] = root(j)
    roots = np.array([root(i) for i in range(n)], np.int64)
    out = np.zeros(n, np.float64)
    for r in np.unique(roots):
        m = roots == r
        out[m] = (xyxy[m, 2].max() - xyxy[m, 0].min()) / max(float(xyxy[m, 3].max() - xyxy[m, 1].min()), 1e-6)
    return out


def plate_search(vehicles: np.ndarray, width: int, height: int, plan: PlatePlan, seen_scale: float) -> tuple:
    """Where and at what scale to look for each vehicle's plate.

    Each vehicle's lower part (from `PlatePlan.vehicle_lower` of its height down, a little
    wider and lower than its box; all of it when narrower than `PlatePlan.vehicle_whole`)
    is searched at the scale that makes the vehicle `PlatePlan.vehicle_width` network
    pixels wide, between 1 and `PlatePlan.vehicle_max_scale`. Vehicles the whole-frame
    views (largest scale ``seen_scale``) already see at `PlatePlan.vehicle_gain` of that
    are left to them. When the parts add up to more than `PlatePlan.vehicle_budget`
    network pixels, every scale shrinks by the same factor, to no less than 1.

    Returns
    -------
    rects : int64 (K, 4)
        ``x0, y0, x1, y1`` in frame pixels, clipped to the frame, non-empty.
    scales : float64 (K,)
    small : bool (N,)
        Vehicles narrower than `PlatePlan.vehicle_min_width`: not searched, their plate
        area to be obscured (`plate_area`).

    >>> plan = PlatePlan(views=())
    >>> rects, scales, small = plate_search(np.array([[100, 100, 240, 180], [0, 0, 20, 10]], np.float32),
    ...                                     1280, 720, plan, 0.75)
    >>> rects.tolist(), scales.round(2).tolist(), small.tolist()
    ([[93, 100, 247, 188]], [2.86], [False, True])
    """
    xyxy = np.asarray(vehicles, np.float64).reshape(-1, 4)
    vw, vh = xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]
    small = vw < plan.vehicle_min_width
    wanted = plan.vehicle_width / np.maximum(vw, 1e-6)
    scale = np.clip(wanted, 1.0, plan.vehicle_max_scale)
    todo = ~small & (wanted >= plan.vehicle_gain * seen_scale)
    top = np.where(vw < plan.vehicle_whole, xyxy[:, 1], xyxy[:, 1] + plan.vehicle_lower * vh)
    rects = np.stack([np.floor(xyxy[:, 0] - 0.05 * vw), np.floor(top),
                      np.ceil(xyxy[:, 2] + 0.05 * vw), np.ceil(xyxy[:, 3] + 0.1 * vh)], axis=1)
    rects = np.clip(rects, 0, [width, height, width, height]).astype(np.int64)
    todo &= (rects[:, 2] > rects[:, 0]) & (rects[:, 3] > rects[:, 1])
    rects, scale = rects[todo], scale[todo]
    area = float(np.sum((rects[:, 2] - rects[:, 0]) * (rects[:, 3] - rects[:, 1]) * scale ** 2))
    if area > plan.vehicle_budget:
        scale = np.maximum(scale * math.sqrt(plan.vehicle_budget / area), 1.0)
    return rects, scale, small


def plate_area(vehicles: np.ndarray) -> np.ndarray:
    """The part of each vehicle box a plate can be in: its lower half (front or back view).

    >>> plate_area(np.array([[0, 0, 40, 20]], np.float32)).tolist()
    [[0.0, 10.0, 40.0, 20.0]]
    """
    xyxy = np.asarray(vehicles, np.float32).reshape(-1, 4)
    return np.stack([xyxy[:, 0], 0.5 * (xyxy[:, 1] + xyxy[:, 3]), xyxy[:, 2], xyxy[:, 3]], axis=1)


#: A text box on a vehicle is plate-sized when it is at most these shares of the vehicle's
#: width and height (a plate is about a quarter of a car's width; lettering along a van's
#: side is longer).
PLATE_SIZED = (0.5, 0.3)


def plate_sized(text: np.ndarray, vehicles: np.ndarray) -> np.ndarray:
    """Whether each text box is small enough, against the vehicle it lies on (row for row),
    to be that vehicle's plate (`PLATE_SIZED`).

    >>> plate_sized(np.array([[0, 0, 50, 10], [0, 0, 150, 10]], np.float32),
    ...             np.array([[0, 0, 200, 100]] * 2, np.float32)).tolist()
    [True, False]
    """
    tw, th = text[:, 2] - text[:, 0], text[:, 3] - text[:, 1]
    vw, vh = vehicles[:, 2] - vehicles[:, 0], vehicles[:, 3] - vehicles[:, 1]
    return (tw <= PLATE_SIZED[0] * vw) & (th <= PLATE_SIZED[1] * vh)


def pack(sizes: list, align: int) -> tuple:
    """Top-left corners to lay ``(width, height)`` rectangles side by side on one canvas, in
    shelves of roughly square total, with a gap of ``align`` between neighbours; and the
    canvas's ``(width, height)``, multiples of ``align``.

    >>> pack([(100, 50), (60, 60), (100, 40)], 32)
    ([(96, 0), (0, 0), (256, 0)], (384, 64))
    """
    order = sorted(range(len(sizes)), key=lambda i: -sizes[i][1])
    steps = [-(-(w + align) // align) * align for w, _ in sizes]

    def shelves(canvas_w):
        places: list = [(0, 0)] * len(sizes)
        x = y = shelf = 0
        for i in order:
            if x and x + sizes[i][0] > canvas_w:
                x, y, shelf = 0, y + shelf + align, 0
            places[i] = (x, y)
            x += steps[i]
            shelf = max(shelf, sizes[i][1])
        return places, (canvas_w, -(-(y + shelf) // align) * align)

    # The canvas width that wastes least: each width a shelf's worth of crops fills.
    widest = -(-max(w for w, _ in sizes) // align) * align
    widths = {max(widest, sum(steps[i] for i in order[k:k + n]) - align) for k in range(len(order))
              for n in range(1, len(order) + 1)}
    return min((shelves(w) for w in widths), key=lambda p: (p[1][0] * p[1][1], p[1][0]))


class PlateDetector:
    """Licence plates and other text in RGB frames, at a speed/recall `Profile`: text on the
    vehicles ``detect`` is given is a plate, other text is `Kind.TEXT` (see the module).

    Measured with ``benchmarks/eval_detect.py`` on ``shared/data/plates/openalpr_benchmarks``
    (222 US cars, one plate labelled each, mostly 1280x720; a plate counts when 80 % of its
    box is hidden under the default style), x86_64 on 2 cores shared with other jobs
    (with the recogniser check, ONNX Runtime, mean ms per image, 2026-12-02):

    ==========  ===============================  =====  =====  ======  =====  =====  ======
    profile     views (network long side, px)    16-32  32-64  64-128  >=128  all    ms/img
    ==========  ===============================  =====  =====  ======  =====  =====  ======
    fast        480 + 736                        0.85   0.94   0.97    1.00   0.937  99
    balanced    480 + 960                        0.96   0.98   0.97    1.00   0.977  143
    thorough    640 + 960 + native (>= 1280,     1.00   0.99   1.00    1.00   0.995  311
                tiles of 1280)
    ==========  ===============================  =====  =====  ======  =====  =====  ======

    Plate heights bucketed in pixels (26, 157, 35 and 4 plates). A single view at 960 px
    reaches 0.977, at 736 px 0.914: the network misses some clearly legible plates at one
    scale and finds them at another, hence two views even in ``fast``. The boxes cover about
    2.5 % of the frame outside the labelled plates (other plates, badges, signs); without the
    check 3 %, and ``balanced`` found 0.986 (see `PlatePlan.read_check`). A plate
    blurred past legibility (``plates/opencv_licenseplate_motion.jpg``) is not text to the
    network and is missed.

    Parameters
    ----------
    profile : Profile or str
        ``fast``, ``balanced`` (default) or ``thorough``; see `PLANS`.
    models_dir : path, optional
        Model cache (see `redact.detectors.models.models_dir`).
    plan : PlatePlan, optional
        Settings to use instead of the profile's (for experiments and benchmarks).
    runtime : str, optional
        ``"onnxruntime"`` or ``"cv2.dnn"`` (`redact.detectors.runtime`); default: ONNX
        Runtime when installed.

    Raises
    ------
    redact.detectors.models.ModelMissingError
        When the text model is not in the cache, with the command that fetches it.

    Notes
    -----
    Its network is not thread-safe: use one detector per thread.

    Examples
    --------
    >>> detector = PlateDetector("balanced")                        # doctest: +SKIP
    >>> detector.detect(np.zeros((720, 1280, 3), np.uint8))         # doctest: +SKIP
    Regions(n=0, {})
    """

    kinds = (Kind.PLATE, Kind.TEXT)
    #: Kinds of other detectors' regions `detect` reads (`redact.detectors.detect_all`).
    uses = (Kind.VEHICLE,)

    def __init__(self, profile: Profile = Profile.BALANCED, models_dir=None, *,
                 plan: PlatePlan | None = None, runtime: str | None = None):
        self.profile = Profile(profile)
        self.plan = PLANS[self.profile.detectors] if plan is None else plan
        self._net = OnnxNet(model_path(TEXT_MODEL, models_dir), runtime)
        self.runtimes = {TEXT_MODEL: self._net.runtime}
        # Without ONNX Runtime (no wheel for this machine) the recogniser cannot run: every
        # text box is kept, which obscures more, never less; the manifest lists no recogniser.
        # Looked up on the module at each build, so a test can take ONNX Runtime away.
        checked = self.plan.read_check and net_runtime.onnxruntime_available()
        self._check = PlateCheck(self.plan, models_dir) if checked else None
        self.models = (TEXT_MODEL, *(self._check.models if self._check else ()))
        if self._check is not None:
            self.runtimes[REC_MODEL] = self._check.runtime
        self.still = False  # video frames; see `for_stills`

    @property
    def views(self) -> tuple[PlateView, ...]:
        """The plan's views this detector runs: on still images (`for_stills`) all of them,
        on video frames those not `PlateView.stills_only`."""
        return tuple(v for v in self.plan.views if self.still or not v.stills_only)

    def for_stills(self) -> "PlateDetector":
        """This detector for still images (`PlateView.stills_only`). It shares this detector's
        networks (use both from one thread); ``self`` when the plan has no stills-only view."""
        if self.still or not any(v.stills_only for v in self.plan.views):
            return self
        twin = copy.copy(self)
        twin.still = True
        return twin

    @property
    def views_every(self) -> int:
        """Analysed frames of a video between two runs of every view (`PlateView.every`)."""
        return max((view.every for view in self.views), default=1)

    def light(self) -> "PlateDetector":
        """This detector for the analysed frames between two runs of its sparse views
        (`PlateView.every` > 1): those views left out. It shares this detector's networks
        (use both from one thread); ``self`` when every view runs on every frame."""
        if self.views_every == 1:
            return self
        twin = copy.copy(self)
        twin.plan = replace(self.plan, views=tuple(v for v in self.views if v.every == 1))
        return twin

    @property
    def read_check(self) -> bool:
        """Whether text boxes go through the plate check (off in the plan, or without ONNX Runtime)."""
        return self._check is not None

    def early(self, frame: np.ndarray) -> list:
        """The whole-frame text passes of `detect`, as callables giving its parts: they read
        no vehicles, so `redact.detectors.detect_all` runs them beside the detector that
        finds the vehicles, and hands their results to `detect` as ``early``."""
        frame = check_frame(frame)
        h, w = frame.shape[:2]
        return [functools.partial(self._rectangle, frame, rect, scale) for scale, rect in self._rectangles(w, h)]

    def detect(self, frame: np.ndarray, context: Regions | None = None, early: list | None = None) -> Regions:
        """Plates and other text in one frame.

        Parameters
        ----------
        frame : ndarray, uint8, shape (H, W, 3)
            RGB, any size from 1x1.
        context : Regions, optional
            Regions other detectors found in the frame; its `Kind.VEHICLE` rows are where
            plates are (`redact.detectors.detect_all` passes them: see `uses`). Without it
            nothing is known of vehicles, and every text is reported as a plate.

        Returns
        -------
        Regions
            Float boxes in frame pixels (they may reach past the frame's edges), scores
            (mean text probability) in [0, 1], ``track_id`` -1. With ``context``: text on a
            vehicle (`redact.core.geometry.on_vehicle`) and the plate area of each vehicle too
            small to search are `Kind.PLATE`, other text `Kind.TEXT` (none with
            ``plan.vehicles_only``).
        early : list, optional
            The results of `early`'s callables on this frame, run already.
        """
        frame = check_frame(frame)
        h, w = frame.shape[:2]
        plan = self.plan
        passes = self._rectangles(w, h)
        parts = [run() for run in self.early(frame)] if early is None else list(early)
        vehicles = None if context is None else context.of_kind(Kind.VEHICLE)
        unsearched = Regions.empty()
        if vehicles is not None and plan.vehicle_search and len(vehicles):
            rects, scales, small = plate_search(vehicles.xyxy, w, h, plan, max(s for s, _ in passes))
            if len(rects):
                parts.append(self._mosaic(frame, rects, scales))
            # Too small to search with trust: the plate area is obscured unread (fail closed).
            unsearched = Regions.from_boxes(plate_area(vehicles.xyxy[small]), kind=Kind.PLATE,
                                            score=vehicles.score[small])
        xyxy, text, score = (np.concatenate([p[k] for p in parts]) for k in range(3))
        if plan.plate_shape:
            keep = plate_shaped(xyxy, score, h, plan)
            xyxy, text, score = xyxy[keep], text[keep], score[keep]
        where = np.full(len(xyxy), -1, np.int64) if vehicles is None else on_vehicle(text, vehicles.xyxy)
        if self._check is not None and len(xyxy):
            # Plate-sized text on a vehicle is kept unread: a plate the recogniser cannot
            # decide on (too small, blurred, a grille beside it) must not be shown.
            keep = np.zeros(len(xyxy), bool)
            on = where >= 0
            if vehicles is not None and on.any():
                keep[on] = plate_sized(text[on], vehicles.xyxy[where[on]])
            rest = ~keep
            if rest.any():
                keep[rest] = self._check.keep(frame, text[rest], score[rest])
            xyxy, score, where = xyxy[keep], score[keep], where[keep]
        kind = np.where((where >= 0) | (vehicles is None), int(Kind.PLATE), int(Kind.TEXT))
        if plan.vehicles_only and vehicles is not None:
            xyxy, score, kind = xyxy[where >= 0], score[where >= 0], kind[where >= 0]
        return Regions.concat([Regions.from_boxes(xyxy, kind=kind.astype(np.int8), score=score), unsearched])

    def _rectangles(self, width: int, height: int) -> list:
        """``(scale, (x0, y0, x1, y1))`` of every network pass over a frame of this size."""
        plan = self.plan
        tile = plan.tile if plan.tile > 0 else math.inf
        passes: list[tuple[float, tuple]] = []
        for view in self.views:
            scale = view.scale(width, height)
            if any(scale <= s * _SAME_SCALE and s <= scale * _SAME_SCALE for s, _ in passes):
                continue  # a photo's 960 px and full-size views on a frame about 960 px long
            if width * scale <= tile and height * scale <= tile:
                passes.append((scale, (0, 0, width, height)))
                continue
            # Tiles are laid out in network pixels, then mapped back to frame rectangles.
            side = max(1, math.floor(tile / scale))
            passes += [(scale, rect) for rect in tile_rects(width, height, min(side, width), min(side, height),
                                                           plan.tile_overlap)]
        return passes

    def _rectangle(self, frame: np.ndarray, rect: tuple, scale: float) -> tuple:
        """Boxes grown to the plate, the text boxes inside them and their scores, for the text
        in one rectangle of the frame, in frame pixels."""
        x0, y0, x1, y1 = rect
        width = max(1, round((x1 - x0) * scale))
        height = max(1, round((y1 - y0) * scale))
        blob = np.zeros((1, 3, -(-height // _ALIGN) * _ALIGN, -(-width // _ALIGN) * _ALIGN), np.float32)
        _put(blob, frame[y0:y1, x0:x1], 0, 0, width, height)
        grow, unclip, score = self._text_boxes(self._probabilities(blob, width, height))
        # cv2.resize maps pixel edges to pixel edges, so one scale per axis is exact.
        factor = np.array([(x1 - x0) / width, (y1 - y0) / height] * 2, np.float32)
        origin = np.array([x0, y0, x0, y0], np.float32)
        return grow * factor + origin, unclip * factor + origin, score

    def _mosaic(self, frame: np.ndarray, rects: np.ndarray, scales: np.ndarray) -> tuple:
        """As `_rectangle` for several rectangles, each at its own scale, in one network call:
        the scaled crops are packed side by side on one canvas (`pack`), a gap of zero input
        between them."""
        sizes = [(max(1, round((x1 - x0) * s)), max(1, round((y1 - y0) * s))) for (x0, y0, x1, y1), s in
                 zip(rects.tolist(), scales.tolist())]
        places, (canvas_w, canvas_h) = pack(sizes, _ALIGN)
        blob = np.zeros((1, 3, canvas_h, canvas_w), np.float32)
        for (x0, y0, x1, y1), (w, h), (px, py) in zip(rects.tolist(), sizes, places):
            _put(blob, frame[y0:y1, x0:x1], px, py, w, h)
        grow, unclip, score = self._text_boxes(self._probabilities(blob, canvas_w, canvas_h))
        # Each box belongs to the crop its text's centre lies in (none lies in a gap).
        cx, cy = 0.5 * (unclip[:, 0] + unclip[:, 2]), 0.5 * (unclip[:, 1] + unclip[:, 3])
        out_grow, out_unclip, out_score = [], [], []
        for (x0, y0, x1, y1), (w, h), (px, py) in zip(rects.tolist(), sizes, places):
            mine = (cx >= px) & (cx < px + w) & (cy >= py) & (cy < py + h)
            factor = np.array([(x1 - x0) / w, (y1 - y0) / h] * 2, np.float32)
            shift = np.array([px, py, px, py], np.float32)
            origin = np.array([x0, y0, x0, y0], np.float32)
            out_grow.append((grow[mine] - shift) * factor + origin)
            out_unclip.append((unclip[mine] - shift) * factor + origin)
            out_score.append(score[mine])
        return (np.concatenate(out_grow).reshape(-1, 4), np.concatenate(out_unclip).reshape(-1, 4),
                np.concatenate(out_score))

    def _probabilities(self, blob: np.ndarray, width: int, height: int) -> np.ndarray:
        """The text probability map of the ``width`` x ``height`` image at the blob's top left."""
        return np.ascontiguousarray(self._net.forward(blob)[0, 0, :height, :width], dtype=np.float32)

    def _text_boxes(self, prob: np.ndarray) -> tuple:
        """Boxes grown to the plate, the text boxes inside them and their scores, in the
        map's pixels (float32), from a text probability map (DB's decoding)."""
        import cv2

        from .._kernels.components import component_stats  # numba (~1 s): on first detection only

        plan = self.plan
        n_labels, labels = cv2.connectedComponents((prob > plan.threshold).view(np.uint8), connectivity=8,
                                                   ltype=cv2.CV_32S)
        box = np.zeros((n_labels, 4), np.int32)
        score = np.zeros(n_labels, np.float32)
        component_stats(labels, prob, n_labels, box, score, np.zeros(n_labels, np.int64))
        box, score = box[1:].astype(np.float32), score[1:]
        bw, bh = box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]
        keep = (np.minimum(bw, bh) >= plan.min_side) & (score >= plan.box_threshold)
        box, score, bw, bh = box[keep], score[keep], bw[keep], bh[keep]
        # DB's unclip of a w x h rectangle: offset = area * ratio / perimeter.
        unclip = bw * bh * plan.unclip / (2.0 * (bw + bh))
        grow = unclip + plan.margin * character_height(bw + 2.0 * unclip, bh + 2.0 * unclip)
        sign = np.array([-1, -1, 1, 1], np.float32)
        return ((box + grow[:, None] * sign).astype(np.float32), (box + unclip[:, None] * sign).astype(np.float32),
                score)


def _put(blob: np.ndarray, crop: np.ndarray, x: int, y: int, width: int, height: int) -> None:
    """Write ``crop`` (RGB) resized to ``width`` x ``height`` into ``blob`` at ``x, y``, as the
    network takes it (BGR, normalised); the rest of the blob stays zero, the mean colour."""
    resized = resize(crop, width, height)
    for c in range(3):
        blob[0, c, y:y + height, x:x + width] = (resized[:, :, 2 - c] - _BGR_MEAN[c]) / _BGR_STD[c]
