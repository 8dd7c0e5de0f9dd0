"""Detectors: each turns an RGB frame into `Regions` of one or more kinds.

A detector is any object with

``kinds``   tuple of `Kind` it reports
``models``  tuple of model registry names it loaded (for the manifest)
``model_specs``  optional: list of ``{"name", "sha256", "licence"}`` for models the registry
            does not know (a third-party detector's own)
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


def describe_models(detectors) -> list:
    """``[{"name", "sha256", "licence"}]`` of every model the detectors use, for the manifest.

    A detector's own ``model_specs`` win; other names come from the registry. A name known
    to neither is recorded with ``sha256`` None rather than failing after the work is done.
    """
    from ..models import REGISTRY

    found = {}
    for detector in detectors:
        for spec in getattr(detector, "model_specs", None) or ():
            found[spec["name"]] = {"name": spec["name"], "sha256": spec.get("sha256"),
                                   "licence": spec.get("licence", "unknown")}
        for name in getattr(detector, "models", ()):
            if name not in found:
                known = REGISTRY.get(name)
                found[name] = {"name": name, "sha256": known.sha256 if known else None,
                               "licence": known.licence if known else "unknown"}
    return [found[name] for name in sorted(found)]


def detect_all(detectors, frame: np.ndarray) -> Regions:
    """Every detector's regions on one frame, concatenated."""
    return Regions.concat([d.detect(frame) for d in detectors])
