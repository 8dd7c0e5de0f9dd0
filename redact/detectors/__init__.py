"""Detectors: each turns an RGB frame into `Regions` of one or more kinds.

A detector is any object with

``kinds``   tuple of `Kind` it reports
``models``  tuple of model registry names it loaded (for the manifest)
``model_specs``  optional: list of ``{"name", "sha256", "licence"}`` for models the registry
            does not know (a third-party detector's own)
``detect(frame) -> Regions``   ``frame`` is RGB uint8 (H, W, 3)
``uses``    optional: kinds of the other detectors' regions it reads; it then runs after
            them as ``detect(frame, context)``, ``context`` their regions of those kinds
            (the plate detector reads the vehicles: `detect_all`)
``early``   optional, with ``uses``: ``early(frame) -> list of callables``, the part of its
            work that reads no other detector's regions; `detect_all` runs them beside the
            other detectors and passes their results as ``detect(frame, context, early=...)``

Detectors load their models when built, so a missing model stops the run before any
output is written (`redact.detectors.models.ModelMissingError` says how to fetch it).

Other packages add detectors as plugins: an entry point in the ``redact.detectors`` group
names a factory ``factory(profile, models_dir) -> Detector``, and ``--detect NAME`` (or
``Policy(plugins=("NAME",))``) then runs it beside the built-in ones. See
``examples/plugin_detector/``.
"""
from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import Protocol, runtime_checkable

import numpy as np

from ..core.profile import Profile
from ..core.threads import apply_opencv, budget
from ..core.types import Kind, Regions
from .faces import FaceDetector
from .lanes import Piece, run_pieces
from .models import REGISTRY
from .objects import ObjectDetector
from .persons import HEAD_PROFILES, HeadDetector, PersonDetector
from .plates import PLANS, PlateDetector

#: Entry-point group where other packages register detector factories.
PLUGIN_GROUP = "redact.detectors"


@runtime_checkable
class Detector(Protocol):
    """What the pipeline needs of a detector (``isinstance`` checks the members)."""

    kinds: tuple
    models: tuple

    def detect(self, frame: np.ndarray) -> Regions: ...


def _face(profile, models_dir):
    return FaceDetector(profile, models_dir)


def _plate(profile, models_dir):
    return PlateDetector(profile, models_dir)


def _person(profile, models_dir):
    return PersonDetector(profile, models_dir)


def _vehicle(profile, models_dir):
    return ObjectDetector(profile, models_dir, kinds=(Kind.VEHICLE,))


#: The built-in detector of each kind: ``factory(profile, models_dir)``.
BUILT_IN = {Kind.FACE: _face, Kind.PLATE: _plate, Kind.PERSON: _person, Kind.VEHICLE: _vehicle}


def plugin_names() -> list:
    """Names of the detector plugins installed (entry points in `PLUGIN_GROUP`)."""
    from importlib.metadata import entry_points

    return sorted(ep.name for ep in entry_points(group=PLUGIN_GROUP))


def build_detectors(kinds, profile: Profile = Profile.BALANCED, models_dir=None, plugins=()) -> list:
    """Detectors for the requested kinds (a `Kind` or iterable of them) at a profile, and
    the named ``plugins`` (see `PLUGIN_GROUP`); each must satisfy `Detector`."""
    from importlib.metadata import entry_points

    apply_opencv()  # cv2.dnn's networks run on the process's share of the cores
    kinds = {Kind(k) for k in ([kinds] if isinstance(kinds, (Kind, int)) else kinds)}
    profile = Profile(profile)
    detectors = [BUILT_IN[k](profile, models_dir) for k in (Kind.FACE, Kind.PLATE) if k in kinds]
    # One pass of the box networks gives people, their heads and vehicles: the vehicles come
    # from the detector that runs it anyway. Plates are looked for on vehicles, so plates need
    # them too (obscured only when asked for: `redact.pipeline.compose.obscured`).
    vehicles = bool({Kind.VEHICLE, Kind.PLATE} & kinds)
    if Kind.PERSON in kinds:
        detectors.append(PersonDetector(profile, models_dir, vehicles=vehicles))
    elif Kind.FACE in kinds and profile.detectors in HEAD_PROFILES:
        # Heads the face detector misses (the person detector gives them itself).
        detectors.insert(1, HeadDetector(profile, models_dir, vehicles=vehicles))
    elif vehicles:
        detectors.append(BUILT_IN[Kind.VEHICLE](profile, models_dir))
    found = {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)}
    for name in plugins:
        if name not in found:
            raise ValueError(f"detector plugin {name!r} is not installed; installed: "
                             f"{', '.join(sorted(found)) or 'none'} (a package adds one with an entry point "
                             f"in the {PLUGIN_GROUP!r} group)")
        detector = found[name].load()(profile, models_dir)
        if not isinstance(detector, Detector):
            raise TypeError(f"detector plugin {name!r} returned {type(detector).__name__}, which lacks "
                            "kinds, models or detect(frame)")
        detectors.append(detector)
    return detectors


def detectors_for(policy, models_dir=None) -> list:
    """The detectors a `redact.core.policy.Policy` asks for: its kinds, then its plugins."""
    detectors = build_detectors(policy.kinds, policy.profile, models_dir, policy.plugins)
    if policy.plates_only and Kind.PLATE in policy.kinds:
        import dataclasses

        plan = dataclasses.replace(PLANS[policy.profile.detectors], vehicles_only=True)
        detectors = [PlateDetector(policy.profile, models_dir, plan=plan) if isinstance(d, PlateDetector) else d
                     for d in detectors]
    return detectors


def detector_settings(policy, models_dir=None) -> tuple:
    """Everything `detectors_for` builds from, as a key: equal keys give equal detectors.

    Kept beside `detectors_for` so that a setting it starts to read is added here too (a
    cache keyed on less would hand one policy's detectors to another).

    >>> from redact import Policy
    >>> detector_settings(Policy(profile="fast")) == detector_settings(Policy(profile="fast", zones=()))
    True
    >>> detector_settings(Policy(profile="fast")) == detector_settings(Policy(profile="thorough"))
    False
    """
    return (policy.kinds, policy.profile, policy.plugins, policy.plates_only,
            None if models_dir is None else str(models_dir))


class DetectorCache:
    """The detectors a policy needs, built once per thread and reused for every later file.

    A worker process (``--jobs``, ``--cluster``) keeps one (`WORKER_CACHE`), so its models
    are loaded for its first file only.
    OpenCV networks must not run in two threads at once, so each thread (a Dask worker runs
    ``--nthreads`` tasks at once) has its own; at most ``size`` settings are kept per thread,
    the least recently used dropped first. A build that fails (a model missing) is not kept.

    >>> from redact import Policy
    >>> cache = DetectorCache()
    >>> cache.get(Policy(kinds=())) is cache.get(Policy(kinds=(), zones=()))
    True
    """

    def __init__(self, size: int = 2):
        self.size = size
        self._local = threading.local()

    def get(self, policy, models_dir=None) -> list:
        entries = self._local.__dict__.setdefault("entries", OrderedDict())
        key = detector_settings(policy, models_dir)
        if key not in entries:
            entries[key] = detectors_for(policy, models_dir)
            if len(entries) > self.size:
                entries.popitem(last=False)
        entries.move_to_end(key)
        return entries[key]


#: This process's detectors, when it is a batch or cluster worker (it lives as long as the worker).
WORKER_CACHE = DetectorCache()


def describe_models(detectors) -> list:
    """``[{"name", "sha256", "licence"}]`` of every model the detectors use, for the manifest
    (with ``"runtime"`` where the detector chose the library that runs it).

    A detector's own ``model_specs`` win; other names come from the registry. A name known
    to neither is recorded with ``sha256`` None rather than failing after the work is done.
    """
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
        # Which library ran a model, where a detector can choose (`redact.detectors.runtime`).
        for name, runtime in getattr(detector, "runtimes", {}).items():
            found[name]["runtime"] = runtime
    return [found[name] for name in sorted(found)]


def for_stills(detectors) -> list:
    """The detectors as they run on still images: each one's ``for_stills()`` where it has one
    (views that pay for themselves on photos but not on video, see
    `redact.detectors.faces.CenterFaceView.stills_only`), else the detector itself."""
    return [d.for_stills() if hasattr(d, "for_stills") else d for d in detectors]


def detect_all(detectors, frame: np.ndarray, lanes: int | None = None) -> Regions:
    """Every detector's regions on one frame, concatenated (in the order of ``detectors``,
    those with ``uses`` last).

    A detector with ``uses`` (kinds) runs after those without, given their regions of those
    kinds as ``detect(frame, context)``: the plate detector reads every detector's vehicles,
    whichever found them. Its ``early(frame)`` pieces, where it has that method (work that reads
    no other detector's regions, as callables), run beforehand with the detectors without
    ``uses``, and their results are passed on as ``detect(frame, context, early=results)``.
    A detector with ``settle(own, others)`` has its regions settled against everyone else's
    once all have run: the heads leave a face the face detector found to that face's box.

    The pieces that wait for nothing run on ``lanes`` threads (default: the thread budget's,
    `redact.core.threads.ThreadBudget.lanes`), longest first (`redact.detectors.lanes`); each
    detector still runs from one thread at a time, and the regions are those of one lane.
    A detector's exception is raised here, after every lane has finished.
    """
    first = [d for d in detectors if not getattr(d, "uses", ())]
    then = [d for d in detectors if getattr(d, "uses", ())]
    pieces = [Piece((id(d), "detect"), id(d), functools.partial(d.detect, frame)) for d in first]
    early: dict = {}
    for d in then:
        if hasattr(d, "early"):
            early[id(d)] = [Piece((id(d), "early", i), id(d), run) for i, run in enumerate(d.early(frame))]
            pieces += early[id(d)]
    results = run_pieces(pieces, budget().lanes if lanes is None else lanes)
    done = {id(d): results[(id(d), "detect")] for d in first}
    before = Regions.concat([done[id(d)] for d in first])
    for d in then:
        context = before.select(np.isin(before.kind, [int(k) for k in d.uses]))
        if id(d) in early:
            done[id(d)] = d.detect(frame, context, early=[results[p.key] for p in early[id(d)]])
        else:
            done[id(d)] = d.detect(frame, context)
    order = first + then
    for d in order:
        if hasattr(d, "settle"):
            done[id(d)] = d.settle(done[id(d)], Regions.concat([done[id(o)] for o in order if o is not d]))
    return Regions.concat([done[id(d)] for d in order])
