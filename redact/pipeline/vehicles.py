"""Plates and the vehicles they lie on: which vehicle a region is on, and plates carried on
their vehicle's box between detections.

A licence plate is on a vehicle; text on no vehicle is a sign or a house number. The rule
that says which vehicle a box lies on (`redact.core.geometry.on_vehicle`) is written once: the plate
detector uses it on one frame's detections to tell plates from other text
(`redact.detectors.plates`), and the pipeline on the tracked rows to link each plate to its
vehicle's track (`link_to_vehicles`, `Regions.vehicle`). Any detector's `Kind.VEHICLE` rows
serve; nothing here knows which network found them.

`PlateRides` is the hold that follows: a plate found on a tracked vehicle is drawn at its
place on that vehicle's box (detected or predicted) on every frame its own track is not
detected, for as long as the vehicle's track lives. Between detections (``fast``, ``pi``)
the plate then moves with its car instead of staying where it was last seen. It only ever
adds rows (fail closed).
"""
from __future__ import annotations

import numpy as np

from ..core.geometry import on_vehicle
from ..core.types import Kind, Regions

#: A carried plate's box grows on every side by this share of its own size, plus `RIDE_SLACK`
#: of its vehicle's: vehicle boxes from one detection to the next differ by a few percent
#: of the vehicle, which moves the plate by as much.
RIDE_MARGIN, RIDE_SLACK = 0.2, 0.03


def link_to_vehicles(regions: Regions) -> Regions:
    """``regions`` with each plate row's ``vehicle`` set to the track id of the vehicle row
    (of the same frame, detected or held) it lies on (`on_vehicle`); other rows keep theirs."""
    plates = np.flatnonzero(regions.kind == Kind.PLATE)
    vehicles = np.flatnonzero((regions.kind == Kind.VEHICLE) & (regions.track_id >= 0))
    if not len(plates) or not len(vehicles):
        return regions
    where = on_vehicle(regions.xyxy[plates], regions.xyxy[vehicles])
    link = regions.vehicle.copy()
    link[plates[where >= 0]] = regions.track_id[vehicles[where[where >= 0]]]
    return regions.with_vehicle(link)


class PlateRides:
    """Plates carried on their vehicles' boxes: the plate's hold, by its vehicle's track.

    Call `update` once per frame with the tracker's output and the track ids detected on
    that frame. A plate row detected on a vehicle (`link_to_vehicles`) records where on the
    vehicle's box it lies; on later frames where that plate's track is not detected and the
    vehicle's track is in the frame, a plate row is added at that place on the vehicle's
    current box (grown by `RIDE_MARGIN` and `RIDE_SLACK`), with the plate's track id and
    the vehicle's as its link. A ride ends with its vehicle's track; `reset` ends all (a
    scene cut).

    Examples
    --------
    >>> rides = PlateRides()
    >>> car = Regions.from_boxes([[100, 100, 300, 200]], kind=Kind.VEHICLE, track_id=1)
    >>> plate = Regions.from_boxes([[180, 170, 220, 185]], kind=Kind.PLATE, track_id=2)
    >>> out = rides.update(Regions.concat([car, plate]), observed={1, 2})
    >>> out.vehicle.tolist()
    [-1, 1]
    >>> moved = Regions.from_boxes([[140, 100, 340, 200]], kind=Kind.VEHICLE, track_id=1)
    >>> rides.update(moved, observed=set()).xyxy[1].round().tolist()   # the plate moved 40 px with its car
    [206.0, 164.0, 274.0, 191.0]
    """

    def __init__(self):
        # plate track id -> (vehicle track id, plate box in the vehicle box's unit square, score)
        self._rides: dict = {}

    def reset(self) -> None:
        """Forget every ride (a new shot: its vehicles are other vehicles)."""
        self._rides = {}

    def update(self, regions: Regions, observed) -> Regions:
        """``regions`` linked to their vehicles, plus the carried plates of this frame."""
        regions = link_to_vehicles(regions)
        vehicles = _vehicle_boxes(regions)
        for i in np.flatnonzero((regions.kind == Kind.PLATE) & (regions.vehicle >= 0) & (regions.track_id >= 0)):
            plate, vehicle = int(regions.track_id[i]), int(regions.vehicle[i])
            if plate in observed and vehicle in vehicles:
                self._rides[plate] = (vehicle, _relative(regions.xyxy[i], vehicles[vehicle]), float(regions.score[i]))
        self._rides = {p: r for p, r in self._rides.items() if r[0] in vehicles}
        return self._carry(regions, vehicles, observed)

    def carried(self, regions: Regions) -> Regions:
        """``regions`` of a frame nothing was detected on, linked to their vehicles, plus the
        plates those vehicles carry. Read-only: no ride starts or ends (live redaction covers
        a frame with this while its detection is still running)."""
        regions = link_to_vehicles(regions)
        return self._carry(regions, _vehicle_boxes(regions), observed=frozenset())

    def _carry(self, regions: Regions, vehicles: dict, observed) -> Regions:
        carried = [(p, r) for p, r in self._rides.items() if p not in observed and r[0] in vehicles]
        if not carried:
            return regions
        boxes = np.array([_placed(rel, vehicles[vehicle]) for _, (vehicle, rel, _) in carried]).reshape(-1, 4)
        return Regions.concat([regions, Regions.from_boxes(
            boxes, kind=Kind.PLATE, score=np.array([r[2] for _, r in carried], np.float32),
            track_id=np.array([p for p, _ in carried], np.int64),
            vehicle=np.array([r[0] for _, r in carried], np.int64))])


def _vehicle_boxes(regions: Regions) -> dict:
    """Track id -> box (float64) of each tracked vehicle row."""
    return {int(t): regions.xyxy[i].astype(np.float64)
            for i, t in enumerate(regions.track_id) if regions.kind[i] == Kind.VEHICLE and t >= 0}


def _relative(box: np.ndarray, vehicle: np.ndarray) -> np.ndarray:
    """``box`` in the unit square of ``vehicle``'s box."""
    size = np.maximum(vehicle[2:] - vehicle[:2], 1e-6)
    return (np.asarray(box, np.float64) - np.tile(vehicle[:2], 2)) / np.tile(size, 2)


def _placed(relative: np.ndarray, vehicle: np.ndarray) -> np.ndarray:
    """A box given in a vehicle box's unit square, in pixels on ``vehicle``, grown by the ride's margin."""
    size = vehicle[2:] - vehicle[:2]
    box = relative * np.tile(size, 2) + np.tile(vehicle[:2], 2)
    grow = RIDE_MARGIN * (box[2:] - box[:2]) + RIDE_SLACK * size
    return np.concatenate([box[:2] - grow, box[2:] + grow])
