"""The one currency type the stages pass to each other: `Regions`, a struct of arrays."""
from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np


class Kind(enum.IntEnum):
    """What a region shows. The integer values are stored in `Regions.kind`.

    ``PERSON`` is one person (a box per person); ``SILHOUETTE`` a part of the person
    segmentation's mask that no person box covers: someone the person detector missed, or
    a thing that only looks like a person. Both are hidden as bodies (`BODIES`); only
    persons are numbered, followed as identities and kept as subjects. ``OTHER`` marks
    privacy zones and frames that could not be analysed; it is never detected. ``TEXT`` is
    text on no vehicle (a sign, a house number, lettering): the plate detector finds it with
    the plates, and it is obscured with them unless ``plates_only`` asks for the text on
    vehicles only. ``VEHICLE`` rows are obscured only when vehicles are asked for; otherwise
    they tell the plate detector where plates are and carry the plates between detections.
    """

    FACE = 0
    PLATE = 1
    PERSON = 2
    OTHER = 3
    VEHICLE = 4
    SILHOUETTE = 5
    TEXT = 6


#: Whether each int8 value (as its byte, 0-255) is a `Kind`: a lookup, not ``np.isin``, since a
#: `Regions` is made many times a frame (``select``, ``concat``).
_KNOWN_KIND = np.zeros(256, bool)
_KNOWN_KIND[[int(k) for k in Kind]] = True

#: Kinds hidden as whole bodies when people are redacted: the persons and the mask's rest.
BODIES = (Kind.PERSON, Kind.SILHOUETTE)


def _as_array(value, dtype, shape_tail, name, n=None):
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim == 0 and n is not None and not shape_tail:
        arr = np.full(n, arr, dtype=dtype)
    want_ndim = 1 + len(shape_tail)
    if arr.ndim != want_ndim or arr.shape[1:] != shape_tail or (n is not None and arr.shape[0] != n):
        want = ("N" if n is None else str(n),) + tuple(str(s) for s in shape_tail)
        raise ValueError(f"Regions.{name}: expected shape ({', '.join(want)}), got {arr.shape}")
    # Always a private copy: the arrays are frozen below, and the caller's must not be.
    return np.array(arr, dtype=dtype, order="C", copy=True)


@dataclass(frozen=True, eq=False)
class Regions:
    """Boxes found in one frame, as parallel arrays (one row per region).

    Parameters
    ----------
    xyxy : array_like, shape (N, 4)
        ``x0, y0, x1, y1`` in pixels, float; ``x1 >= x0`` and ``y1 >= y0``. Boxes may reach
        outside the frame; `redact.core.geometry.pixel_boxes` clips them.
    score : array_like, shape (N,) or scalar
        Detector confidence in [0, 1]; tracked predictions carry their last score.
    kind : array_like, shape (N,) or scalar
        `Kind` values.
    track_id : array_like, shape (N,) or scalar
        Track identity, ``-1`` for untracked regions.
    vehicle : array_like, shape (N,) or scalar, optional
        Track identity of the vehicle the region lies on (a plate's car), ``-1`` for none or
        not known (the default); set after tracking (`redact.pipeline.vehicles.link_to_vehicles`).

    Examples
    --------
    >>> r = Regions.from_boxes([[10, 10, 50, 60]], kind=Kind.FACE)
    >>> len(r), bool(r.kind[0] == Kind.FACE)
    (1, True)
    """

    xyxy: np.ndarray
    score: np.ndarray
    kind: np.ndarray
    track_id: np.ndarray
    vehicle: np.ndarray = None  # type: ignore[assignment]  # None: -1 in every row

    def __post_init__(self):
        xyxy = _as_array(self.xyxy, np.float32, (4,), "xyxy")
        n = xyxy.shape[0]
        score = _as_array(self.score, np.float32, (), "score", n)
        kind = _as_array(self.kind, np.int8, (), "kind", n)
        track_id = _as_array(self.track_id, np.int64, (), "track_id", n)
        vehicle = _as_array(-1 if self.vehicle is None else self.vehicle, np.int64, (), "vehicle", n)
        if not np.all(np.isfinite(xyxy)):
            raise ValueError("Regions.xyxy: expected finite coordinates, got NaN or inf")
        if np.any(xyxy[:, 2] < xyxy[:, 0]) or np.any(xyxy[:, 3] < xyxy[:, 1]):
            raise ValueError("Regions.xyxy: expected x1 >= x0 and y1 >= y0 in every row")
        if len(kind) and not _KNOWN_KIND[kind.astype(np.intp) & 0xFF].all():
            raise ValueError(f"Regions.kind: expected values in {sorted(int(k) for k in Kind)}, "
                             f"got {np.unique(kind).tolist()}")
        for name, arr in (("xyxy", xyxy), ("score", score), ("kind", kind), ("track_id", track_id),
                          ("vehicle", vehicle)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @classmethod
    def empty(cls) -> "Regions":
        """No regions."""
        return cls.from_boxes(np.zeros((0, 4), np.float32))

    @classmethod
    def from_boxes(cls, xyxy, *, kind=Kind.OTHER, score=1.0, track_id=-1, vehicle=-1) -> "Regions":
        """Regions from an (N, 4) array of boxes; scalars broadcast to every row."""
        xyxy = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
        n = xyxy.shape[0]
        return cls(
            xyxy,
            np.broadcast_to(np.asarray(score, np.float32), (n,)),
            np.broadcast_to(np.asarray(int(kind) if np.ndim(kind) == 0 else kind, np.int8), (n,)),
            np.broadcast_to(np.asarray(track_id, np.int64), (n,)),
            np.broadcast_to(np.asarray(vehicle, np.int64), (n,)),
        )

    @classmethod
    def concat(cls, parts) -> "Regions":
        """All regions of several `Regions`, in order."""
        parts = list(parts)
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.xyxy for p in parts]),
            np.concatenate([p.score for p in parts]),
            np.concatenate([p.kind for p in parts]),
            np.concatenate([p.track_id for p in parts]),
            np.concatenate([p.vehicle for p in parts]),
        )

    def __len__(self) -> int:
        return self.xyxy.shape[0]

    def select(self, index) -> "Regions":
        """The rows picked by a boolean mask or integer index array."""
        return Regions(self.xyxy[index], self.score[index], self.kind[index], self.track_id[index],
                       self.vehicle[index])

    def of_kind(self, kind: Kind) -> "Regions":
        return self.select(self.kind == int(kind))

    def with_vehicle(self, vehicle) -> "Regions":
        """The same rows with ``vehicle`` (an (N,) array or a scalar) as their vehicle link."""
        return Regions(self.xyxy, self.score, self.kind, self.track_id, vehicle)

    def __repr__(self) -> str:
        counts = {Kind(k).name.lower(): int(c) for k, c in zip(*np.unique(self.kind, return_counts=True))}
        return f"Regions(n={len(self)}, {counts})"


def check_frame(frame) -> np.ndarray:
    """Return ``frame`` if it is an (H, W, 3) uint8 array of at least 1x1, else raise with the
    fix: the conversion (in backquotes) that turns this kind of frame into one, values kept.

    >>> try:
    ...     check_frame(np.full((2, 2, 3), 0.5))
    ... except ValueError as exc:
    ...     print(str(exc).split("; ")[1])
    convert with `(frame * 255).round().astype(np.uint8)`
    """
    if not isinstance(frame, np.ndarray):
        raise TypeError(f"frame: expected a numpy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise ValueError(f"frame: expected dtype uint8, got {frame.dtype}{_to_uint8(frame)}")
    if frame.ndim == 3 and frame.shape[0] in (3, 4) and frame.shape[2] not in (3, 4):
        raise ValueError(f"frame: expected shape (H, W, 3), got {frame.shape}, channels first; convert with "
                         f"`np.ascontiguousarray(frame{'[:3]' if frame.shape[0] == 4 else ''}.transpose(1, 2, 0))`")
    if frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 1):
        raise ValueError(f"frame: expected shape (H, W, 3), got {frame.shape}, grey; convert with "
                         "`np.repeat(frame.reshape(frame.shape[0], frame.shape[1], 1), 3, axis=2)`")
    if frame.ndim == 3 and frame.shape[2] == 4:
        raise ValueError(f"frame: expected shape (H, W, 3), got {frame.shape}, with alpha; drop alpha with "
                         "`np.ascontiguousarray(frame[..., :3])`")
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame: expected shape (H, W, 3) RGB or BGR, got {frame.shape}")
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(f"frame: expected at least 1x1 pixels, got {frame.shape[:2]}")
    return frame


def _to_uint8(frame: np.ndarray) -> str:
    """The conversion to uint8 that keeps what ``frame``'s values mean (a float image in 0..1
    is not 0..255 of black, a 16-bit one is not near-white), as the end of an error message."""
    if frame.dtype == np.uint16:
        return " (16 bits per channel); convert with `(frame >> 8).astype(np.uint8)`"
    if np.issubdtype(frame.dtype, np.floating) and frame.size:
        top = float(np.nanmax(frame))
        if top <= 1.0:
            return " with values in 0..1; convert with `(frame * 255).round().astype(np.uint8)`"
        return f" with values up to {top:g}; convert with `np.clip(frame, 0, 255).round().astype(np.uint8)`"
    return "; convert with `np.clip(frame, 0, 255).astype(np.uint8)`"
