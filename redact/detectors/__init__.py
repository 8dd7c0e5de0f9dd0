"""Detectors: each turns an RGB frame into `Regions` of one or more kinds.

A detector is any object with

``kinds``   tuple of `Kind` it reports
``models``  tuple of model registry names it loaded (for the manifest)
``detect(frame) -> Regions``   ``frame`` is RGB uint8 (H, W, 3)

Detectors load their models when built, so a missing model stops the run before any
output is written (`redact.models.ModelMissingError` says how to fetch it).
"""
from __future__ import annotations

from typing import Protocol

import numpy as np

from ..policy import Profile
from ..types import Kind, Regions


class Detector(Protocol):
    kinds: tuple
    models: tuple

    def detect(self, frame: np.ndarray) -> Regions: ...


def build_detectors(kinds, profile: Profile = Profile.BALANCED, models_dir=None) -> list:
    """Detectors for the requested kinds (a `Kind` or iterable of them) at a profile."""
    kinds = {Kind(k) for k in ([kinds] if isinstance(kinds, (Kind, int)) else kinds)}
    profile = Profile(profile)
    detectors = []
    if Kind.FACE in kinds:
        from .faces import FaceDetector

        detectors.append(FaceDetector(profile, models_dir))
    if Kind.PLATE in kinds:
        from .plates import PlateDetector

        detectors.append(PlateDetector(profile, models_dir))
    if Kind.PERSON in kinds:
        from .persons import PersonDetector

        detectors.append(PersonDetector(profile, models_dir))
    return detectors


def detect_all(detectors, frame: np.ndarray) -> Regions:
    """Every detector's regions on one frame, concatenated."""
    return Regions.concat([d.detect(frame) for d in detectors])
