"""An example `redact` detector plugin: OpenCV's Haar cascade for frontal faces.

A plugin is any package with an entry point in the ``redact.detectors`` group naming a
factory ``build(profile, models_dir)`` that returns an object with ``kinds``, ``models``,
``model_specs`` (its own models' name, sha256 and licence, for the manifest) and
``detect(frame) -> redact.Regions``. Install it (``pip install examples/plugin_detector``)
and run ``redact clip.mp4 -o out.mp4 --detect face,haar_faces``.
"""
import hashlib
from pathlib import Path

import numpy as np

import redact

CASCADE = "haarcascade_frontalface_default.xml"


class HaarFaces:
    """Frontal faces by OpenCV's Viola-Jones cascade (shipped in the OpenCV wheel)."""

    kinds = (redact.Kind.FACE,)

    def __init__(self, profile=redact.Profile.BALANCED):
        import cv2

        path = Path(cv2.data.haarcascades) / CASCADE
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise RuntimeError(f"cannot load {path}")
        self.models = ("opencv-haar-frontalface",)
        # The model is the plugin's own, not in redact's registry: it says what it is.
        self.model_specs = [{"name": self.models[0], "licence": "Intel open-source (BSD-3-Clause)",
                             "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}]
        self._min_neighbours = 3 if redact.Profile(profile) is redact.Profile.THOROUGH else 5

    def detect(self, frame: np.ndarray) -> redact.Regions:
        import cv2

        grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
        found = self._cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=self._min_neighbours)
        boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in found], np.float32).reshape(-1, 4)
        return redact.Regions.from_boxes(boxes, kind=redact.Kind.FACE, score=0.9)


def build(profile, models_dir=None) -> HaarFaces:
    """The entry point's factory: redact calls it with the run's profile and model folder."""
    return HaarFaces(profile)
