"""Plates and the vehicles they lie on: which vehicle a region is on, and plates carried on
their vehicle's box between detections.

A licence plate is on a vehicle; text on no vehicle is a sign or a house number. The rule
that says which vehicle a box lies on (`on_vehicle`) is written once here: the plate
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

from ..core.geometry import box_areas
from ..core.types import Kind, Regions

#: A box lies on a vehicle when its centre is inside the vehicle's box and it is no wider than
#: this many times the vehicle and no taller than the vehicle (a billboard behind a small car
#: is not on it).
MAX_WIDTH_SHARE = 1.1
#: A carried plate's box grows on every side by this share of its own size, plus `RIDE_SLACK`
#: of its vehicle's: vehicle boxes from one detection to the next differ by a few percent
#: of the vehicle, which moves the plate by as much.
RIDE_MARGIN, RIDE_SLACK = 0.2, 0.03


def on_vehicle(xyxy: np.ndarray, vehicles: np.ndarray) -> np.ndarray:
    """For each box, the index of the vehicle box it lies on, or -1.

    A box lies on a vehicle when its centre is inside the vehicle's box and it is not larger
    than the vehicle (`MAX_WIDTH_SHARE`); of several such vehicles the smallest (a car in
    front of a bus: the plate is the car's).

    >>> vehicles = np.array([[0, 0, 200, 100], [50, 40, 120, 100]], np.float32)
    >>> on_vehicle(np.array([[70, 80, 100, 90], [10, 10, 30, 20], [300, 0, 330, 10]], np.float32), vehicles).tolist()
    [1, 0, -1]
    """
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    vehicles = np.asarray(vehicles, np.float64).reshape(-1, 4)
    out = np.full(len(xyxy), -1, np.int64)
    if not len(xyxy) or not len(vehicles):
        return out
    cx, cy = (0.5 * (xyxy[:, 0] + xyxy[:, 2]))[:, None], (0.5 * (xyxy[:, 1] + xyxy[:, 3]))[:, None]
    vx0, vy0, vx1, vy1 = (vehicles[:, i][None, :] for i in range(4))
    inside = (cx >= vx0) & (cx <= vx1) & (cy >= vy0) & (cy <= vy1)
    inside &= (xyxy[:, 2:3] - xyxy[:, 0:1]) <= MAX_WIDTH_SHARE * (vx1 - vx0)
    inside &= (xyxy[:, 3:4] - xyxy[:, 1:2]) <= (vy1 - vy0)
    area = np.where(inside, box_areas(vehicles)[None, :], np.inf)
    found = inside.any(axis=1)
    out[found] = np.argmin(area[found], axis=1)
    return out


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
        vehicles = {int(t): regions.xyxy[i].astype(np.float64)
                    for i, t in enumerate(regions.track_id)
                    if regions.kind[i] == Kind.VEHICLE and t >= 0}
        for i in np.flatnonzero((regions.kind == Kind.PLATE) & (regions.vehicle >= 0) & (regions.track_id >= 0)):
            plate, vehicle = int(regions.track_id[i]), int(regions.vehicle[i])
            if plate in observed and vehicle in vehicles:
                self._rides[plate] = (vehicle, _relative(regions.xyxy[i], vehicles[vehicle]), float(regions.score[i]))
        self._rides = {p: r for p, r in self._rides.items() if r[0] in vehicles}
        carried = [(p, r) for p, r in self._rides.items() if p not in observed]
        if not carried:
            return regions
        boxes = np.array([_placed(rel, vehicles[vehicle]) for _, (vehicle, rel, _) in carried]).reshape(-1, 4)
        return Regions.concat([regions, Regions.from_boxes(
            boxes, kind=Kind.PLATE, score=np.array([r[2] for _, r in carried], np.float32),
            track_id=np.array([p for p, _ in carried], np.int64),
            vehicle=np.array([r[0] for _, r in carried], np.int64))])


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
