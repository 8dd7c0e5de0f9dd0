"""Reading a text box: the check that tells a plate from a texture the text detector fired on.

The plate detector finds *text* (`redact.detectors.plates`), and a text detector also fires
on crowds, knitwear, foliage and brickwork. Those boxes hold no characters, and a text
recogniser says so: PaddleOCR's PP-OCRv4 recogniser (SVTR with a CTC head, Apache-2.0, from
the same ``rapidocr`` wheel as the detector; 6623 characters: Latin, digits, Chinese and
punctuation) reads each box, and a box is *legible* when it holds at least ``min_chars``
characters read with probability ``min_prob`` or more. A plate of any country passes (it
is characters, whatever their script); a house number or a sign passes too (text is text:
`redact.detectors.plates.plate_shaped` is the switch that drops those).

It runs on ONNX Runtime only: ``cv2.dnn`` cannot run the recogniser (its reshape of the
attention blocks fails, OpenCV 4.14), which is why ``onnxruntime`` is a dependency.
"""
from __future__ import annotations

import collections

import numpy as np

from ..core.geometry import pixel_boxes
from .models import model_path
from .resize import resize
from .runtime import ONNXRUNTIME, OnnxNet

#: Registry names of the recogniser and its character list.
REC_MODEL, REC_KEYS = "ppocr_rec_v4", "ppocr_keys_v1"
#: The recogniser's input height, and the widest crop it reads (longer lines are squeezed:
#: PaddleOCR reads up to 320, and on 149 plates of ``plates/openalpr_benchmarks`` 160 reads
#: as many, 146, for half the network time on long signs).
_HEIGHT, _MAX_WIDTH = 48, 160
#: Crops read per network call (sorted by width, so a batch pads little).
_BATCH = 8
#: Readings remembered, and how close (mean absolute difference in grey levels of the
#: network input) a crop must look to one of them to take its reading instead of a read.
_RECENT, _SAME_LOOK = 64, 3.0


class TextReader:
    """PP-OCRv4's recogniser over boxes of one frame.

    Parameters
    ----------
    models_dir : path, optional
        Model cache (see `redact.detectors.models.models_dir`).

    Raises
    ------
    redact.detectors.models.ModelMissingError
        When the recogniser or its character list is not in the cache.

    Notes
    -----
    Not thread-safe: use one per thread.
    """

    models = (REC_MODEL, REC_KEYS)

    def __init__(self, models_dir=None):
        # Index 0 is CTC's blank; PaddleOCR appends the space after the file's characters.
        self._chars = ["", *model_path(REC_KEYS, models_dir).read_text(encoding="utf-8").splitlines(), " "]
        self._net = OnnxNet(model_path(REC_MODEL, models_dir), ONNXRUNTIME)
        self.runtime = self._net.runtime
        self._recent: collections.deque = collections.deque(maxlen=_RECENT)

    def read(self, frame: np.ndarray, xyxy: np.ndarray) -> list:
        """``(text, probabilities)`` of each box of an RGB frame (``("", empty)`` for an empty crop).

        A crop that looks like one read lately (same network input to within `_SAME_LOOK`
        grey levels on average: still text in a video) takes that reading. The readings are
        for telling text from texture: a crop that close may differ in one character (a
        rendered 7ABC128 takes 7ABC123's reading), hardly in whether it holds characters.
        """
        crops = [_crop(frame, box) for box in xyxy]
        out: list = [("", np.zeros(0, np.float32))] * len(crops)
        widths = [_width(c) for c in crops]
        # BGR in [-1, 1] (PaddleOCR's preprocessing), one image per crop.
        images = {i: resize(c, widths[i], _HEIGHT)[:, :, ::-1].astype(np.float32) / 127.5 - 1.0
                  for i, c in enumerate(crops) if c is not None}
        todo = []
        for i, image in images.items():
            seen = self._recall(image)
            if seen is None:
                todo.append(i)
            else:
                out[i] = seen
        todo.sort(key=lambda i: widths[i])
        for start in range(0, len(todo), _BATCH):
            batch = todo[start:start + _BATCH]
            blob = np.zeros((len(batch), 3, _HEIGHT, max(widths[i] for i in batch)), np.float32)
            for row, i in enumerate(batch):
                blob[row, :, :, :widths[i]] = images[i].transpose(2, 0, 1)  # padded on the right with zeros
            probs = self._net.forward(blob)
            for row, i in enumerate(batch):
                out[i] = self._decode(probs[row])
                self._recent.append((images[i], out[i]))
        return out

    def _recall(self, image: np.ndarray):
        """The reading of a recent crop that looks like ``image``, or None."""
        for seen, reading in reversed(self._recent):
            if seen.shape == image.shape and float(np.abs(seen - image).mean()) * 127.5 < _SAME_LOOK:
                return reading
        return None

    def legible(self, frame: np.ndarray, xyxy: np.ndarray, min_chars: int = 2, min_prob: float = 0.5) -> np.ndarray:
        """Which boxes hold at least ``min_chars`` characters read with ``min_prob`` or more."""
        return np.array([int((p >= min_prob).sum()) >= min_chars for _, p in self.read(frame, xyxy)], bool)

    def _decode(self, probs: np.ndarray) -> tuple:
        """CTC greedy decoding: best class per step, repeats merged, blanks dropped."""
        best = probs.argmax(axis=1)
        keep = (best != 0) & np.concatenate([[True], best[1:] != best[:-1]])
        return "".join(self._chars[i] for i in best[keep]), probs.max(axis=1)[keep].astype(np.float32)


def _crop(frame: np.ndarray, box) -> np.ndarray | None:
    """The box's pixels (clipped to the frame), or None when fewer than 2x2 remain."""
    [(x0, y0, x1, y1)] = pixel_boxes(box, frame.shape[1], frame.shape[0])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return frame[y0:y1, x0:x1]


def _width(crop: np.ndarray | None) -> int:
    """Network width of a crop scaled to the recogniser's height (kept aspect, capped)."""
    if crop is None:
        return 0
    return int(min(_MAX_WIDTH, max(_HEIGHT // 6, np.ceil(_HEIGHT * crop.shape[1] / crop.shape[0]))))
