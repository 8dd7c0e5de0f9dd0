"""Plates found through their vehicles: searched where plates are, linked to their vehicle,
carried on it between detections; text on no vehicle is text (obscured unless --plates-only)."""
import numpy as np
import pytest

from conftest import PLATE_MODELS, require_models, shared_data
from redact import Kind, Policy, Regions
from redact.pipeline.vehicles import PlateRides, link_to_vehicles

#: A real car (a UK plate, boxed by hand) from the shared photos.
CAR, CAR_PLATE = "plates/theaiguys_car4.jpg", (362, 241, 454, 269)
SSD_MODELS = ("ssd_mobilenetv2_oidv4", "ssd_oidv4_labelmap")


def car_frame(t: int, plate_width: float = 30.0, speed: int = 6, size=(360, 640)):
    """Frame ``t`` of a real car photo, shrunk so its plate is ``plate_width`` px wide, moving
    right by ``speed`` px a frame over a grey noise background; and the plate's box."""
    import cv2

    path = shared_data() / CAR
    if not path.is_file():
        pytest.skip(f"evaluation data not found at {path} (set REDACT_DATA_DIR)")
    scale = plate_width / (CAR_PLATE[2] - CAR_PLATE[0])
    car = cv2.resize(cv2.imread(str(path)), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)[:, :, ::-1]
    h, w = size
    frame = np.clip(np.random.default_rng(0).normal(120, 10, (h, w, 3)), 0, 255).astype(np.uint8)
    ch, cw = car.shape[:2]
    x, y = 40 + speed * t, (h - ch) // 2
    frame[y:y + ch, x:x + cw] = car
    return frame, np.array(CAR_PLATE, np.float64) * scale + (x, y, x, y)


def changed_share(before, after, box) -> float:
    x0, y0 = int(np.floor(box[0])), int(np.floor(box[1]))
    x1, y1 = int(np.ceil(box[2])), int(np.ceil(box[3]))
    return float((before[y0:y1, x0:x1] != after[y0:y1, x0:x1]).any(axis=2).mean())


@pytest.mark.parametrize("profile, plate_width", [("fast", 30), ("balanced", 24)])
def test_a_small_plate_on_a_moving_car_is_hidden_on_every_frame(profile, plate_width):
    """A 24-30 px plate (characters 4-5 px tall: too small for the whole-frame text views)
    on a car moving 6 px a frame: found by searching the car's lower part enlarged, and in
    ``fast`` carried on the car's box on the frames the detectors skip."""
    from redact import Redactor

    require_models(*PLATE_MODELS, *SSD_MODELS)
    redactor = Redactor(Policy(profile=profile, lookahead_frames=0), fps=30, seed=0)
    frames = [car_frame(t, plate_width) for t in range(12)]
    done = []
    for rgb, _ in frames:
        done += redactor.push(rgb)
    done += redactor.flush()
    assert len(done) == len(frames)
    shares = [changed_share(rgb, out.rgb, box) for (rgb, box), out in zip(frames, done)]
    assert min(shares) >= 0.8, [round(s, 2) for s in shares]
    if profile == "fast":
        assert redactor.frames_detected < len(frames)  # some frames were not detected: carried


def test_a_plate_row_is_linked_to_its_vehicle():
    from redact.pipeline.redactor import Analyser

    require_models(*PLATE_MODELS, *SSD_MODELS)
    policy = Policy(profile="balanced", lookahead_frames=0)
    from redact.detectors import detectors_for

    analyser = Analyser(policy, 30, detectors_for(policy))
    out = []
    for t in range(3):
        out += analyser.push(car_frame(t, plate_width=40)[0])
    for _, regions in out:
        plates = np.flatnonzero(regions.kind == Kind.PLATE)
        assert len(plates)
        [vehicle] = np.flatnonzero(regions.kind == Kind.VEHICLE)
        assert (regions.vehicle[plates] == regions.track_id[vehicle]).all()
        assert regions.track_id[vehicle] >= 0


def plate_shaped_sign(frame):
    """A short sign shaped like a plate ("NO 42", a house number) high on a wall, on no vehicle."""
    import cv2

    cv2.rectangle(frame, (460, 30), (620, 80), (240, 240, 235), -1)
    cv2.rectangle(frame, (460, 30), (620, 80), (20, 20, 20), 2)
    cv2.putText(frame, "NO 42", (475, 68), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (10, 10, 10), 3, cv2.LINE_AA)
    return (460, 30, 620, 80)


def centred_in(regions, box):
    cx, cy = 0.5 * (regions.xyxy[:, 0] + regions.xyxy[:, 2]), 0.5 * (regions.xyxy[:, 1] + regions.xyxy[:, 3])
    return (cx >= box[0]) & (cx <= box[2]) & (cy >= box[1]) & (cy <= box[3])


@pytest.mark.parametrize("plates_only", [False, True])
def test_a_sign_off_any_vehicle_is_obscured_unless_plates_only(plates_only):
    """Text on no vehicle locates a home: obscured by default, reported as text, not a plate.
    ``--plates-only`` means text on vehicles only: the sign is shown, even though it is
    shaped like a plate; the car's plate stays obscured either way."""
    from redact import Redactor

    require_models(*PLATE_MODELS, *SSD_MODELS)
    frame, plate = car_frame(0, plate_width=60)
    sign = plate_shaped_sign(frame)
    redactor = Redactor(Policy(profile="balanced", lookahead_frames=0, plates_only=plates_only), fps=30, seed=0)
    [done] = redactor.push(frame) + redactor.flush()
    assert changed_share(frame, done.rgb, plate) >= 0.8
    shown = changed_share(frame, done.rgb, sign)
    if plates_only:
        assert shown == 0.0
    else:
        assert shown >= 0.8
        assert centred_in(done.regions.of_kind(Kind.TEXT), sign).any()
        assert not centred_in(done.regions.of_kind(Kind.PLATE), sign).any()


def test_plate_rides_its_vehicle_and_ends_with_it():
    rides = PlateRides()
    car = Regions.from_boxes([[100, 100, 300, 200]], kind=Kind.VEHICLE, track_id=1)
    plate = Regions.from_boxes([[180, 170, 220, 185]], kind=Kind.PLATE, track_id=2)
    first = rides.update(Regions.concat([car, plate]), observed={1, 2})
    assert first.vehicle.tolist() == [-1, 1] and len(first) == 2
    moved = Regions.from_boxes([[160, 110, 360, 210]], kind=Kind.VEHICLE, track_id=1)
    out = rides.update(moved, observed={1})
    [carried] = np.flatnonzero(out.kind == Kind.PLATE)
    x0, y0, x1, y1 = out.xyxy[carried]
    assert x0 <= 240 and y0 <= 180 and x1 >= 280 and y1 >= 195  # the plate moved 60 px right, 10 down
    assert out.track_id[carried] == 2 and out.vehicle[carried] == 1
    # The vehicle's track ended: so does the ride.
    assert len(rides.update(Regions.empty(), observed=set())) == 0


def test_link_to_vehicles_picks_the_vehicle_under_the_plate():
    rows = Regions.concat([
        Regions.from_boxes([[0, 0, 400, 200]], kind=Kind.VEHICLE, track_id=5),      # a bus behind
        Regions.from_boxes([[100, 80, 220, 200]], kind=Kind.VEHICLE, track_id=6),   # a car in front
        Regions.from_boxes([[140, 170, 180, 185], [500, 10, 540, 20]], kind=Kind.PLATE, track_id=7),
    ])
    assert link_to_vehicles(rows).vehicle.tolist() == [-1, -1, 6, -1]


class _CarSeenPlateOnce:
    """A car the vehicle detector finds wherever it is (its box drawn from the frame: the
    white block), whose plate the plate detector reads once, on the first frame only (it
    then turns unreadable: motion blur, glare), as a detector pair would report them."""

    kinds, models = (Kind.VEHICLE, Kind.PLATE), ()

    def __init__(self):
        self.calls = 0

    def detect(self, frame):
        xs = np.flatnonzero(frame[100, :, 0] > 200)
        car = [xs[0], 60, xs[-1] + 1, 140]
        rows = [Regions.from_boxes([car], kind=Kind.VEHICLE, score=0.9)]
        if self.calls == 0:
            rows.append(Regions.from_boxes([plate_on(car)], kind=Kind.PLATE, score=0.8))
        self.calls += 1
        return Regions.concat(rows)


def plate_on(car):
    return [car[0] + 40, 120, car[0] + 70, 130]


def test_a_plate_seen_once_moves_with_its_car_between_detections():
    """``fast`` detects every 3rd frame; the plate was read on the first only. Held on its
    own track it would stay where it was read (it has no speed yet) and the car would drive
    its plate out of the box; carried on the car's track it goes with the car."""
    from redact import Redactor

    frames = []
    for t in range(24):
        frame = np.full((200, 400, 3), 60, np.uint8)
        frame[60:140, 20 + 8 * t:130 + 8 * t] = 230
        frames.append(frame)
    detector = _CarSeenPlateOnce()
    redactor = Redactor(Policy(kinds={Kind.PLATE}, profile="fast", lookahead_frames=0), fps=30, detectors=[detector])
    done = [out for frame in frames for out in redactor.push(frame)] + redactor.flush()
    for t, out in enumerate(done):
        plate = plate_on([20 + 8 * t, 60, 130 + 8 * t, 140])
        plates = out.regions.of_kind(Kind.PLATE)
        covered = [(b[0] <= plate[0]) & (b[1] <= plate[1]) & (b[2] >= plate[2]) & (b[3] >= plate[3])
                   for b in plates.xyxy]
        assert any(covered), (t, plate, plates.xyxy.round().tolist())
    assert not len(done[-1].regions.of_kind(Kind.VEHICLE))  # found for the plates, not obscured


def test_a_logo_on_no_vehicle_is_text_not_a_plate():
    """The White House clip's WH.GOV logo (top right) was counted as a licence plate: it is
    text on no vehicle, obscured and reported as text."""
    import av

    from redact.detectors import detect_all, detectors_for

    require_models(*PLATE_MODELS, *SSD_MODELS)
    path = shared_data() / "videos" / "face_recognition_short_hamilton_clip.mp4"
    if not path.is_file():
        pytest.skip(f"evaluation data not found at {path} (set REDACT_DATA_DIR)")
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    regions = detect_all(detectors_for(Policy()), frame)
    assert not len(regions.of_kind(Kind.PLATE))
    assert centred_in(regions.of_kind(Kind.TEXT), (560, 0, 640, 70)).any()


def test_the_vehicle_rows_reach_the_policy_stage_even_when_vehicles_are_not_obscured():
    """Vehicles found only for the plates are never obscured, but the policy stage sees them:
    a kept car is recognised under the silhouette the person mask lays over it (before, the
    rows were dropped first and the kept car stayed buried)."""
    import numpy as np

    from redact.core.policy import Policy
    from redact.core.types import Kind, Regions
    from redact.pipeline.compose import FrameSubjects
    from redact.pipeline.redactor import Redactor

    rgb = np.full((720, 1280, 3), 90, np.uint8)
    regions = Regions(np.array([[360, 213, 895, 582], [361, 192, 888, 548]], np.float32), np.ones(2),
                      np.array([Kind.VEHICLE, Kind.SILHOUETTE]), np.array([8, 40]))
    redactor = Redactor(Policy(lookahead_seconds=0), detectors=[])
    redactor._subjects = type("Plan", (), {"frames": {0: FrameSubjects(vehicles=frozenset({8}))}, "review": {}})()
    from redact.pipeline.redactor import _Pending

    done = redactor.finish(_Pending(rgb, 0, None, None, frozenset({8, 40})), regions)
    assert len(done.regions) == 0  # neither the car (not asked for) nor its lookalike silhouette


def _counted(detector, calls: list):
    """``detector`` with its ``detect`` calls counted into ``calls`` (an instance attribute
    over the method: the detector stays what it is, for the pipeline's isinstance checks)."""
    detect = detector.detect

    def counting(*args, **kwargs):
        calls.append(1)
        return detect(*args, **kwargs)

    detector.detect = counting
    return detector


def _covered(box, regions) -> float:
    """Share of ``box``'s pixels inside the union of ``regions``' boxes."""
    x0, y0, x1, y1 = (int(v) for v in (np.floor(box[0]), np.floor(box[1]), np.ceil(box[2]), np.ceil(box[3])))
    inside = np.zeros((y1 - y0, x1 - x0), bool)
    for bx0, by0, bx1, by1 in regions.xyxy:
        inside[max(0, int(np.floor(by0)) - y0):max(0, int(np.ceil(by1)) - y0),
               max(0, int(np.floor(bx0)) - x0):max(0, int(np.ceil(bx1)) - x0)] = True
    return float(inside.mean())


def _redact_counting(policy, frames, fps):
    """Redact ``frames`` with the policy's real detectors; the redacted frames, and the
    frames each detector (by type name) ran on."""
    from redact import Redactor
    from redact.detectors import detectors_for

    calls: dict = {}
    counted = [_counted(d, calls.setdefault(type(d).__name__, [])) for d in detectors_for(policy)]
    redactor = Redactor(policy, fps=fps, seed=0, detectors=counted)
    done = [out for rgb in frames for out in redactor.push(rgb)] + redactor.flush()
    assert len(done) == len(frames)
    return done, {name: len(c) for name, c in calls.items()}


@pytest.mark.parametrize("profile", ["fast", "pi"])
def test_the_plate_search_runs_on_every_other_detection_and_the_plate_stays_hidden(profile):
    """With the look-ahead, the plates are searched on every other detection of the faces
    (`Profile.plates_every`); a 30 px plate on a real car moving 6 px a frame stays hidden on
    every frame between: it rides on the car's tracked box, and the tracker holds it."""
    from redact.detectors.plates import PlateDetector

    require_models(*PLATE_MODELS, *SSD_MODELS)
    frames = [car_frame(t, 30.0) for t in range(30)]
    done, runs = _redact_counting(Policy(profile=profile), [rgb for rgb, _ in frames], 30)
    assert runs[PlateDetector.__name__] < runs["FaceDetector"], runs
    hidden = [_covered(box, out.regions.of_kind(Kind.PLATE)) for (_, box), out in zip(frames, done)]
    assert min(hidden) >= 0.99, [round(h, 2) for h in hidden]


def _street_second():
    """The first 30 frames (one second) of the real 720p street clip filmed from a moving car,
    and its frame rate; skips when the evaluation data is absent."""
    import av

    require_models(*PLATE_MODELS, *SSD_MODELS)
    path = shared_data() / "videos" / "theaiguys_license_plate.mp4"
    if not path.is_file():
        pytest.skip(f"evaluation data not found at {path} (set REDACT_DATA_DIR)")
    with av.open(str(path)) as container:
        fps = container.streams.video[0].average_rate
        return [f.to_ndarray(format="rgb24") for _, f in zip(range(30), container.decode(video=0))], fps


def _uncovered(policy, frames, done, kinds) -> list:
    """``(frame, box, share covered)`` of every box of ``kinds`` the policy's full detectors
    find on a frame (run on each frame, as reference) that the redaction ``done`` covers
    under 99% with its regions of those kinds."""
    from redact.detectors import detect_all, detectors_for

    reference = detectors_for(policy)
    misses = []
    for t, (rgb, out) in enumerate(zip(frames, done)):
        found = detect_all(reference, rgb)
        shown = out.regions.select(np.isin(out.regions.kind, kinds))
        for box in found.select(np.isin(found.kind, kinds)).xyxy:
            share = _covered(box, shown)
            if share < 0.99:
                misses.append((t, box.round().tolist(), round(share, 2)))
    return misses


def test_a_real_clips_plates_stay_hidden_with_the_plates_cadence():
    """``fast`` on the first second of a real 720p clip filmed from a moving car, other cars
    coming past: every plate the plate detector finds on any frame (run on each frame here,
    as reference) lies under the redaction's plate regions of that frame. Searched only on
    every other detection of the faces, 14 small plates of oncoming cars were shown on 11 of
    the 30 frames (the text network finds them on some frames only); searched whenever
    something moved outside the tracked regions too (here on most frames), none."""
    frames, fps = _street_second()
    policy = Policy(profile="fast")
    done, _ = _redact_counting(policy, frames, fps)
    assert not _uncovered(policy, frames, done, [Kind.PLATE])


#: Text boxes the full detectors find on single frames of the street clip's first second that
#: the sparse views' schedule leaves shown, looked at: none holds text (both profiles, at full
#: size: a roadworks sign's lane pictogram on frame 3, a window's lead lattice on frames 9 and 25;
#: ``fast`` with its 736 px view left a 12x10 px patch of the roadwork barrier's bars, frame 8).
_NO_TEXT = {"fast": [3, 9, 25], "balanced": [3, 9, 25]}


@pytest.mark.parametrize("profile, sparse, every", [("balanced", 1280, 4), ("fast", 1280, 4)])
def test_the_sparse_text_view_runs_on_its_share_of_searches_and_its_text_stays_hidden(profile, sparse, every):
    """The larger text view (`PlateView.every`: the full-size view on one plate search in
    four) runs that often on a real 720p clip, the
    480 px view and the vehicles' search on each; every plate box the full detector finds on
    any frame (run on each frame here, as reference) lies under the redaction's plate regions
    of that frame, and every text box but those of `_NO_TEXT` under its text regions: the
    tracker holds what the sparse view found, and the look-ahead draws it back."""
    from redact.detectors.plates import PlateDetector

    frames, fps = _street_second()
    policy = Policy(profile=profile)
    views: list = []
    rectangle = PlateDetector._rectangle

    def counting(self, frame, rect, scale):
        views.append(round(scale * max(frame.shape[:2])))
        return rectangle(self, frame, rect, scale)

    PlateDetector._rectangle = counting
    try:
        done, runs = _redact_counting(policy, frames, fps)
    finally:
        PlateDetector._rectangle = rectangle
    searches = runs[PlateDetector.__name__]
    assert views.count(480) == searches, (views, runs)
    assert 0 < views.count(sparse) <= -(-searches // every), (views, runs)
    assert not _uncovered(policy, frames, done, [Kind.PLATE])
    left = _uncovered(policy, frames, done, [Kind.TEXT])
    assert [t for t, *_ in left] == _NO_TEXT[profile], left


def test_the_default_searches_the_plates_on_every_detection():
    """``balanced`` gained nothing from the plates' cadence (its motion check asked for them
    on every detection of a walking clip) and its unjudged text exposures rose: it keeps
    searching on every detection of the faces."""
    from redact.detectors.plates import PlateDetector

    require_models(*PLATE_MODELS, *SSD_MODELS)
    frames = [car_frame(t, 30.0) for t in range(30)]
    _, runs = _redact_counting(Policy(profile="balanced"), [rgb for rgb, _ in frames], 30)
    assert runs[PlateDetector.__name__] == runs["FaceDetector"], runs


@pytest.mark.parametrize("profile", ["fast", "pi", "balanced"])
@pytest.mark.parametrize("fps", [24, 25, 30])
def test_the_full_size_text_view_runs_within_the_look_ahead_on_a_still_scene(profile, fps):
    """The sparse text views run on a plate search only. ``pi`` searches the plates every 8
    frames and asked for its views every 12: they ran every 16, past its look-ahead (12-15
    frames), and a plate only they read stayed readable in between. The gap is whole plate
    gaps, within the look-ahead."""
    from redact.detectors.plates import PlateDetector
    from redact.pipeline.redactor import Analyser

    require_models(*PLATE_MODELS)
    policy = Policy(kinds={Kind.PLATE}, profile=profile)
    analyser = Analyser(policy, fps, [PlateDetector(policy.profile.detectors)])
    frame = np.full((72, 128, 3), 90, np.uint8)
    full = []
    for t in range(90):
        _, detect_now = analyser.plan(frame)
        found = None
        if detect_now:
            if analyser._plates_now and not analyser._light_now:
                full.append(t)
            found, _ = analyser.detect(frame)
        analyser.track(frame, t, detected=detect_now, found=found)
    gaps = np.diff(full)
    assert len(full) > 2 and gaps.max() <= analyser.lookahead_frames, (full, analyser.lookahead_frames)
