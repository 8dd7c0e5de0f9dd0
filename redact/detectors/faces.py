"""Face detector: BlazeFace and CenterFace through ``cv2.dnn``, merged into one set of boxes.

One whole-frame BlazeFace pass misses most faces under about a tenth of the frame, so the
profiles add *views* that show small faces bigger: CenterFace on the frame scaled to a
pixel budget (small frames are scaled up), horizontally stretched and mirrored views (for
squeezed faces and heads turned one way), and overlapping tiles through BlazeFace full-range.
Every view maps its boxes back to frame pixels exactly (one affine per view, undone inside
the Numba decoders, then the mirror undone on the boxes); the candidates of
all views are merged by non-maximum suppression into the union of each face's confident
boxes (see `redact._kernels.anchors.weighted_nms`), never smaller than the best one.

The profiles were chosen with ``benchmarks/eval_detect.py`` on ``shared/data/faces``.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.geometry import nested, tile_rects
from ..core.profile import Profile
from ..core.types import Kind, Regions, check_frame
from . import runtime as net_runtime
from .models import model_path
from .resize import resize
from .runtime import CV2_DNN, ONNXRUNTIME, OnnxNet


@dataclass(frozen=True)
class BlazeFaceSpec:
    """Input side and anchor layout of a BlazeFace model of the registry.

    ``strides`` and ``per_cell`` fold MediaPipe's SSD layers that share a stride (see
    `redact._kernels.anchors.anchor_centers`).
    """

    model: str
    input_size: int
    strides: tuple
    per_cell: tuple


#: MediaPipe's anchor settings of BlazeFace full-range: one anchor per cell of a 48x48 grid.
BLAZEFACE_FULL_RANGE = BlazeFaceSpec("blazeface_full_range", 192, (4,), (1,))

#: Growth of BlazeFace boxes as fractions of their size (left, top, right, bottom). Its boxes
#: span brows to mouth; grown like this, their median edges lie on or just outside WIDER
#: FACE's annotated forehead and chin.
BLAZEFACE_GROW = (0.05, 0.2, 0.05, 0.1)
#: Growth of CenterFace boxes. Their sides match WIDER FACE's boxes; top and bottom fall
#: short of forehead and chin by more than the style's padding on about one face in ten.
CENTERFACE_GROW = (0.0, 0.1, 0.0, 0.1)
#: CenterFace's input sides must be multiples of its largest stride.
CENTERFACE_ALIGN = 32
#: CenterFace networks kept, one per input shape (a video needs one or two; folders vary).
CENTERFACE_NETS = 4


@dataclass(frozen=True)
class CenterFaceView:
    """One CenterFace pass.

    Parameters
    ----------
    pixels : int
        Input area: the frame is scaled (up or down) so that its area is about this.
    stretch : float
        Extra horizontal scale. Above 1 it widens faces that the picture squeezes
        (anamorphic video, the edges of wide-angle lenses, images resized without keeping
        their aspect), which CenterFace otherwise scores low.
    max_upscale : float
        Upper bound of the scale, so tiny frames are not blown up to the whole budget.
    threshold : float, optional
        Minimum score of this view; default the plan's ``centerface_threshold``.
    mirror : bool
        Look at the frame flipped left to right. CenterFace's misses are not symmetric
        (heads turned one way, half-profiles), so the mirrored frame finds faces the
        plain one scores low.
    stills_only : bool
        Run this view on still images only (`FaceDetector.for_stills`), not on video frames:
        for views measured to pay for themselves on photos but not on video, whose
        neighbouring frames, tracking and holds cover what one frame's view misses.
    """

    pixels: int
    stretch: float = 1.0
    max_upscale: float = 2.0
    threshold: float | None = None
    mirror: bool = False
    stills_only: bool = False

    def size(self, width: int, height: int) -> tuple:
        """Resized (width, height) of a frame, before padding to the stride."""
        scale = min(math.sqrt(self.pixels / (width * height * self.stretch)), self.max_upscale)
        return max(1, round(width * scale * self.stretch)), max(1, round(height * scale))


@dataclass(frozen=True)
class FacePlan:
    """The views one profile runs and how their candidates are kept.

    Parameters
    ----------
    blazeface_whole : bool
        BlazeFace full-range over the whole (letterboxed) frame.
    blazeface_tiles : tuple of float
        Tile sides, as fractions of the frame's shorter side (at least the model's 192 px
        input), each tiling the frame with BlazeFace full-range.
    tile_overlap : float
        Share of a tile that its neighbour repeats, so a face cut by one edge is whole in
        the next tile.
    centerface : tuple of CenterFaceView
        CenterFace passes.
    blazeface_threshold, centerface_threshold : float
        Minimum scores; low, because a missed face is the worst failure.
    small_face : float
        Height in frame pixels under which a box needs ``small_threshold``: faces that small
        carry little identity, while weak detections of that size are mostly texture.
    small_threshold : float
        Minimum score of boxes shorter than ``small_face``.
    nms_iou : float
        IoU from which candidates are taken for the same face.
    """

    blazeface_whole: bool = True
    blazeface_tiles: tuple = ()
    tile_overlap: float = 0.25
    centerface: tuple = ()
    blazeface_threshold: float = 0.5
    centerface_threshold: float = 0.1
    small_face: float = 12.0
    small_threshold: float = 0.3
    nms_iou: float = 0.5

    @property
    def models(self) -> tuple:
        """Registry names of the models the plan needs."""
        names = []
        if self.blazeface_whole or self.blazeface_tiles:
            names.append(BLAZEFACE_FULL_RANGE.model)
        if self.centerface:
            names.append("centerface")
        return tuple(names)


#: Views per profile, chosen with ``benchmarks/eval_detect.py`` on WIDER FACE val (most faces
#: tiny, most images squashed to 416x416 by their source). Recall of 16-32 / >=32 px faces and
#: over-redaction (faces alone): ``fast`` 0.64 / 0.91 / 7.1%, ``balanced`` 0.97 / 0.98 / 10.7%,
#: ``thorough`` 0.98 / 0.97 / 12.8%. ``balanced`` scales a 720p frame to 0.66x and a 416 px
#: image to 1.5x. Its second view, 1.5x wide and mirrored, finds what the plain view scores
#: low: faces the picture squeezed (every face it adds on WIDER is on a squashed photo) and
#: heads turned one way (the stretched view unmirrored reaches 0.956 on >=32 px, mirrored 0.976;
#: a mirrored plain view 0.932). It doubles the face detector's time, so it runs on photos
#: only (``stills_only``): on native-aspect photos it still adds heads turned one way (the
#: ultralight group photos, >= 32 px 0.985 -> 1.000; dlib and WIDER native equal either way,
#: ``benchmarks/face_views.py``), while on video the six face clips of
#: ``benchmarks/exposure.py`` show no face without it. ``fast`` has none: for
#: a live camera (square pixels) it would cost a fifth of ``fast``'s frame rate at 720p
#: (``redact bench``: 18.1 -> 14.5 fps) for a gain measured on squashed photos (0.65 / 0.92
#: -> 0.79 / 0.95).
PLANS = {
    Profile.FAST: FacePlan(centerface=(CenterFaceView(100_000),), centerface_threshold=0.15),
    Profile.BALANCED: FacePlan(centerface=(CenterFaceView(400_000),
                                           CenterFaceView(400_000, stretch=1.5, mirror=True, stills_only=True))),
    Profile.THOROUGH: FacePlan(blazeface_tiles=(0.5,),
                               centerface=(CenterFaceView(1_000_000), CenterFaceView(400_000, stretch=1.5),
                                           CenterFaceView(400_000, stretch=1.5, mirror=True))),
}


def _resize_into(image: np.ndarray, width: int, height: int, canvas: np.ndarray) -> np.ndarray:
    """Resize ``image`` to ``width`` x ``height`` into the top-left of ``canvas``; rest black.

    Returns the affine ``[ax, bx, ay, by]`` from canvas pixels back to ``image`` pixels
    (``x = ax * u + bx``). cv2's resize maps pixel edges to pixel edges, so the map is
    exact for any size, including non-uniform scales.
    """
    h, w = image.shape[:2]
    canvas[:] = 0
    canvas[:height, :width] = resize(image, width, height)
    return np.array([w / width, 0.0, h / height, 0.0], np.float64)


def _grow(xyxy: np.ndarray, grow: tuple) -> np.ndarray:
    """Boxes grown by fractions of their own width/height (left, top, right, bottom)."""
    w = xyxy[:, 2] - xyxy[:, 0]
    h = xyxy[:, 3] - xyxy[:, 1]
    return np.stack([xyxy[:, 0] - grow[0] * w, xyxy[:, 1] - grow[1] * h,
                     xyxy[:, 2] + grow[2] * w, xyxy[:, 3] + grow[3] * h], axis=1).astype(np.float32)


class FaceDetector:
    """Faces in RGB frames, at a speed/recall `Profile`.

    Parameters
    ----------
    profile : Profile or str
        ``fast``, ``balanced`` (default) or ``thorough``; see `PLANS`.
    models_dir : path, optional
        Model cache (see `redact.detectors.models.models_dir`).
    plan : FacePlan, optional
        Views to run instead of the profile's (for experiments and benchmarks).
    runtime : str, optional
        What runs CenterFace: ``"onnxruntime"`` or ``"cv2.dnn"`` (`redact.detectors.runtime`);
        default ONNX Runtime when installed (alone 1.3-1.6x faster at the profiles' input
        sizes on this project's 2-core x86_64 machine, within noise in the whole pipeline;
        one session for every size, so less memory; outputs equal to 1e-5). BlazeFace always
        runs in ``cv2.dnn``, which reads its TFLite file.

    Raises
    ------
    redact.detectors.models.ModelMissingError
        When a model the plan needs is not in the cache, with the command that fetches it.

    Notes
    -----
    ``cv2.dnn`` networks are not thread-safe: use one detector per thread.

    Examples
    --------
    >>> detector = FaceDetector("balanced")                         # doctest: +SKIP
    >>> detector.detect(np.zeros((720, 1280, 3), np.uint8))         # doctest: +SKIP
    Regions(n=0, {})
    """

    kinds = (Kind.FACE,)

    def __init__(self, profile: Profile = Profile.BALANCED, models_dir=None, *, plan: FacePlan | None = None,
                 runtime: str | None = None):
        import cv2

        from .._kernels.anchors import anchor_centers  # numba (~1 s): on first detection only

        self.profile = Profile(profile)
        self.plan = PLANS[self.profile.detectors] if plan is None else plan
        self.models = self.plan.models
        self.still = False  # video frames; see `for_stills`
        self._blaze: Any = None  # a cv2.dnn.Net when the plan uses BlazeFace
        self._center: dict = {}
        if BLAZEFACE_FULL_RANGE.model in self.models:
            spec = BLAZEFACE_FULL_RANGE
            self._blaze = cv2.dnn.readNetFromTFLite(str(model_path(spec.model, models_dir)))
            self._anchors = anchor_centers(spec.input_size, np.array(spec.strides, np.int64),
                                           np.array(spec.per_cell, np.int64))
        self.runtimes: dict = {}
        if "centerface" in self.models:
            self._center_path = str(model_path("centerface", models_dir))
            self._center_runtime = runtime or (ONNXRUNTIME if net_runtime.onnxruntime_available() else CV2_DNN)
            self.runtimes["centerface"] = self._center_runtime
            # Load one network now so an unreadable file fails here, not on the first frame.
            self._center_net((CENTERFACE_ALIGN, CENTERFACE_ALIGN))

    def detect(self, frame: np.ndarray) -> Regions:
        """Faces in one frame.

        Parameters
        ----------
        frame : ndarray, uint8, shape (H, W, 3)
            RGB, any size from 1x1.

        Returns
        -------
        Regions
            Kind `Kind.FACE`, float boxes in frame pixels (they may reach past the frame's
            edges), scores in [0, 1], ``track_id`` -1.
        """
        from .._kernels.anchors import weighted_nms  # numba (~1 s): on first detection only

        frame = check_frame(frame)
        parts: list = []
        if self._blaze is not None:
            parts.extend(self._blazeface(frame, view) for view in self._blazeface_views(frame))
        parts.extend(self._centerface(frame, view) for view in self.centerface_views)
        xyxy = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, 4), np.float32)
        score = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.float32)
        keep = (xyxy[:, 3] - xyxy[:, 1] >= self.plan.small_face) | (score >= self.plan.small_threshold)
        xyxy, score = np.ascontiguousarray(xyxy[keep]), np.ascontiguousarray(score[keep])
        out_xyxy = np.empty_like(xyxy)
        out_score = np.empty_like(score)
        n = weighted_nms(xyxy, score, self.plan.nms_iou, out_xyxy, out_score)
        # A box inside a face's box that scores higher (a part of a close face, a second box
        # of it) hides nothing more here, but in video it would start a track of its own,
        # held and moved on its own after the face's box.
        keep = ~nested(out_xyxy[:n], out_score[:n])
        return Regions.from_boxes(out_xyxy[:n][keep], kind=Kind.FACE, score=out_score[:n][keep])

    @property
    def centerface_views(self) -> tuple:
        """The CenterFace views `detect` runs: the plan's, without its stills-only ones unless
        this detector is for still images (`for_stills`)."""
        return tuple(v for v in self.plan.centerface if self.still or not v.stills_only)

    def for_stills(self) -> "FaceDetector":
        """This detector for still images: the plan's stills-only views run too. It shares
        this detector's networks (use both from one thread); ``self`` when the plan has none."""
        if self.still or not any(v.stills_only for v in self.plan.centerface):
            return self
        twin = copy.copy(self)
        twin.still = True
        return twin

    def _blazeface_views(self, frame: np.ndarray) -> list:
        """Frame rectangles ``(x0, y0, x1, y1)`` that BlazeFace looks at."""
        h, w = frame.shape[:2]
        views = [(0, 0, w, h)] if self.plan.blazeface_whole else []
        for fraction in self.plan.blazeface_tiles:
            tile = max(BLAZEFACE_FULL_RANGE.input_size, round(fraction * min(h, w)))
            if tile >= max(h, w):
                continue  # One tile would be the whole frame again.
            views += tile_rects(w, h, tile, tile, self.plan.tile_overlap)
        return views

    def _blazeface(self, frame: np.ndarray, view: tuple) -> tuple:
        """Candidates of BlazeFace full-range on one rectangle of the frame, letterboxed."""
        import cv2

        from .._kernels.anchors import decode_blazeface  # numba (~1 s): on first detection only

        size = BLAZEFACE_FULL_RANGE.input_size
        x0, y0, x1, y1 = view
        scale = size / max(x1 - x0, y1 - y0)
        width = min(size, max(1, round((x1 - x0) * scale)))
        height = min(size, max(1, round((y1 - y0) * scale)))
        canvas = np.empty((size, size, 3), np.uint8)
        affine = _resize_into(frame[y0:y1, x0:x1], width, height, canvas)
        affine[1] += x0
        affine[3] += y0
        # BlazeFace takes RGB scaled to [-1, 1].
        self._blaze.setInput(cv2.dnn.blobFromImage(canvas, 1.0 / 127.5, mean=(127.5, 127.5, 127.5)))
        logits, regressors = self._blaze.forward(self._blaze.getUnconnectedOutLayersNames())
        logits = np.ascontiguousarray(logits.reshape(-1))
        regressors = np.ascontiguousarray(regressors.reshape(logits.shape[0], -1))
        out_xyxy = np.empty((logits.shape[0], 4), np.float32)
        out_score = np.empty(logits.shape[0], np.float32)
        n = decode_blazeface(logits, regressors, self._anchors, size, self.plan.blazeface_threshold,
                             affine, out_xyxy, out_score)
        return _grow(out_xyxy[:n], BLAZEFACE_GROW), out_score[:n]

    def _center_net(self, shape: tuple):
        """The CenterFace network (a `redact.detectors.runtime.OnnxNet`) for one input
        (width, height).

        ONNX Runtime runs every shape in one session. Under ``cv2.dnn`` there is one network
        per shape, the last few kept: a ``cv2.dnn`` ONNX network keeps the buffers of the
        first input shape it ran and returns garbage for another (OpenCV 4.14).
        """
        if self._center_runtime == ONNXRUNTIME:
            shape = (0, 0)
        net = self._center.pop(shape, None)
        if net is None:
            net = OnnxNet(self._center_path, self._center_runtime, any_size=True)
            if len(self._center) >= CENTERFACE_NETS:
                del self._center[next(iter(self._center))]
        self._center[shape] = net
        return net

    def _centerface(self, frame: np.ndarray, view: CenterFaceView) -> tuple:
        """Candidates of one CenterFace view of the frame."""
        import cv2

        from .._kernels.anchors import decode_centerface  # numba (~1 s): on first detection only

        h, w = frame.shape[:2]
        width, height = view.size(w, h)
        threshold = self.plan.centerface_threshold if view.threshold is None else view.threshold
        align = CENTERFACE_ALIGN
        canvas = np.empty((-(-height // align) * align, -(-width // align) * align, 3), np.uint8)
        affine = _resize_into(frame, width, height, canvas)
        if view.mirror:
            canvas[:height, :width] = canvas[:height, width - 1::-1]
        net = self._center_net((canvas.shape[1], canvas.shape[0]))
        # CenterFace takes RGB in 0..255 as it is.
        heatmap, scale, offset, _ = net.forward_all(cv2.dnn.blobFromImage(canvas))
        heatmap = np.ascontiguousarray(heatmap[0, 0])
        cells = heatmap.size
        out_xyxy = np.empty((cells, 4), np.float32)
        out_score = np.empty(cells, np.float32)
        n = decode_centerface(heatmap, np.ascontiguousarray(scale[0]), np.ascontiguousarray(offset[0]),
                              threshold, affine, out_xyxy, out_score)
        xyxy = out_xyxy[:n]
        if view.mirror:
            # The flipped canvas column u is column width - u unflipped, and the affine maps
            # canvas to frame as x = (w / width) * u, so frame x becomes w - x: exact.
            xyxy = np.stack([w - xyxy[:, 2], xyxy[:, 1], w - xyxy[:, 0], xyxy[:, 3]], axis=1)
        return _grow(xyxy, CENTERFACE_GROW), out_score[:n]
