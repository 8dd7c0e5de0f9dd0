"""`redact.detectors.detect_all` in two lanes: the detectors no other waits for run beside the rest."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from redact.core.types import Kind, Regions
from redact.detectors import detect_all

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"


class Boxes:
    """A detector reporting fixed boxes, waiting at ``barrier`` first when given (it then
    finishes only when the other lane's detector reaches it too: the two run at once)."""

    def __init__(self, kinds, rows, barrier=None, uses=(), fail=False):
        self.kinds, self.models, self.rows, self.barrier, self.fail = kinds, (), rows, barrier, fail
        if uses:
            self.uses = uses
        self.seen: list = []  # the context each call was given
        self.threads: set = set()

    def detect(self, frame, context=None):
        self.threads.add(threading.get_ident())
        self.seen.append(context)
        if self.barrier is not None:
            self.barrier.wait()
        if self.fail:
            raise RuntimeError("network fault")
        return Regions.from_boxes(np.array([r[1] for r in self.rows], np.float32).reshape(-1, 4),
                                  kind=np.array([r[0] for r in self.rows], np.int8))


def detectors(barrier=None, fail=False):
    face = Boxes((Kind.FACE,), [(Kind.FACE, (0, 0, 10, 10))], barrier, fail=fail)
    heads = Boxes((Kind.FACE, Kind.VEHICLE), [(Kind.FACE, (1, 1, 9, 9)), (Kind.VEHICLE, (20, 20, 60, 50))], barrier)
    plates = Boxes((Kind.PLATE,), [(Kind.PLATE, (30, 40, 40, 45))], uses=(Kind.VEHICLE,))
    return face, heads, plates


def test_face_runs_beside_the_box_network_and_the_plate_search():
    face, heads, plates = detectors(threading.Barrier(2, timeout=10))
    found = detect_all([face, heads, plates], np.zeros((64, 64, 3), np.uint8), lanes=2)
    assert face.threads != heads.threads  # met at the barrier: both ran at once
    assert plates.threads == {threading.get_ident()}  # after the vehicles, in the caller's thread
    [context] = plates.seen
    assert context.kind.tolist() == [Kind.VEHICLE] and context.xyxy.tolist() == [[20, 20, 60, 50]]
    assert found.kind.tolist() == [Kind.FACE, Kind.FACE, Kind.VEHICLE, Kind.PLATE]


def test_one_lane_gives_the_same_regions_in_the_callers_thread():
    two = detect_all(list(detectors()), np.zeros((64, 64, 3), np.uint8), lanes=2)
    face, heads, plates = detectors()
    one = detect_all([face, heads, plates], np.zeros((64, 64, 3), np.uint8), lanes=1)
    assert face.threads == heads.threads == plates.threads == {threading.get_ident()}
    assert one.xyxy.tolist() == two.xyxy.tolist() and one.kind.tolist() == two.kind.tolist()


def test_a_fault_in_the_side_lane_is_raised_to_the_caller():
    face, heads, plates = detectors(fail=True)
    with pytest.raises(RuntimeError, match="network fault"):
        detect_all([face, heads, plates], np.zeros((64, 64, 3), np.uint8), lanes=2)


def test_real_detectors_find_the_same_in_two_lanes():
    """balanced's face, people/vehicle and plate detectors on a frame of a real car clip."""
    import av

    from redact.core.policy import Policy
    from redact.detectors import detectors_for
    from redact.detectors.models import ModelMissingError

    clip = VIDEOS / "theaiguys_license_plate.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip} not found (the shared evaluation data)")
    try:
        dets = detectors_for(Policy())
    except ModelMissingError as exc:
        pytest.skip(str(exc))
    with av.open(str(clip)) as video:
        frame = next(video.decode(video=0)).to_ndarray(format="rgb24")
    one, two = detect_all(dets, frame, lanes=1), detect_all(dets, frame, lanes=2)
    assert Kind.PLATE in one.kind.tolist()
    np.testing.assert_array_equal(one.xyxy, two.xyxy)
    assert one.kind.tolist() == two.kind.tolist()


class EarlyPlates(Boxes):
    """A plate detector with whole-frame passes that read no vehicles (`early`), each meeting
    the vehicle network at ``barrier`` when given."""

    def __init__(self, barrier=None, passes=2):
        super().__init__((Kind.PLATE,), [(Kind.PLATE, (30, 40, 40, 45))], uses=(Kind.VEHICLE,))
        self.pass_barrier, self.passes = barrier, passes
        self.early_threads: set = set()
        self.running = 0
        self.overlapped = False
        self.given: list = []

    def early(self, frame):
        def run(i):
            self.early_threads.add(threading.get_ident())
            self.running += 1
            self.overlapped |= self.running > 1
            if self.pass_barrier is not None and i == 0:
                self.pass_barrier.wait()
            time.sleep(0.02)
            self.running -= 1
            return f"pass {i}"
        return [lambda i=i: run(i) for i in range(self.passes)]

    def detect(self, frame, context=None, early=None):
        self.given.append(early)
        return super().detect(frame, context)


def test_the_plate_passes_that_need_no_vehicles_run_beside_the_vehicle_network():
    """The whole-frame text views wait for nothing: one runs while the box network finds the
    vehicles, and the plate search gets their results with the vehicles afterwards."""
    barrier = threading.Barrier(2, timeout=10)
    face = Boxes((Kind.FACE,), [(Kind.FACE, (0, 0, 10, 10))])
    heads = Boxes((Kind.FACE, Kind.VEHICLE), [(Kind.VEHICLE, (20, 20, 60, 50))], barrier)
    plates = EarlyPlates(barrier)
    found = detect_all([face, heads, plates], np.zeros((64, 64, 3), np.uint8), lanes=2)
    assert plates.early_threads and heads.threads and not plates.early_threads & heads.threads
    assert plates.given == [["pass 0", "pass 1"]]  # in the order of early(), whoever ran them
    [context] = plates.seen
    assert context.kind.tolist() == [Kind.VEHICLE]
    assert found.kind.tolist() == [Kind.FACE, Kind.VEHICLE, Kind.PLATE]


def test_one_detectors_pieces_never_run_at_once():
    """Its networks need not be thread-safe: two lanes free, its passes still one at a time."""
    plates = EarlyPlates(passes=4)
    detect_all([Boxes((Kind.FACE,), []), plates], np.zeros((64, 64, 3), np.uint8), lanes=2)
    assert len(plates.early_threads) >= 1 and not plates.overlapped


def test_the_longest_piece_goes_first_once_timed():
    """List scheduling, longest first: the slow detector is started before the quick ones,
    so the quick ones fill the other lane meanwhile."""
    from redact.detectors.lanes import Durations, Piece, run_pieces

    started: list = []

    def piece(name, seconds):
        return Piece(name, name, lambda: started.append(name) or time.sleep(seconds))

    durations = Durations()
    for _ in range(2):
        started.clear()
        run_pieces([piece("quick", 0.01), piece("quicker", 0.0), piece("slow", 0.1)], 1, durations)
    assert started == ["slow", "quick", "quicker"]
