"""Policy: validation, hold/look-ahead in seconds or frames, and privacy zones' units."""
from fractions import Fraction

import numpy as np
import pytest

from redact.core.policy import MAX_DETECT_EVERY, Policy
from redact.core.profile import Profile
from redact.core.zones import Units, Zone


@pytest.mark.parametrize("fields, fps, frames", [
    ({}, Fraction(30000, 1001), (15, 15)),  # 0.5 s rounded up at 29.97 fps
    ({"hold_seconds": 0.1, "lookahead_seconds": 0.2}, 30, (3, 6)),  # as written, not 3.0000000000000004
    ({"hold_seconds": np.float64(0.1), "lookahead_seconds": np.float32(0.25)}, 30, (3, 8)),
    ({"hold_seconds": Fraction(1, 3)}, 30, (10, 15)),
    ({"hold_frames": 4, "lookahead_frames": np.int64(0)}, 30, (4, 0)),  # frames replace seconds
])
def test_hold_and_lookahead_in_frames(fields, fps, frames):
    assert Policy(**fields).in_frames(fps) == frames


@pytest.mark.parametrize("fields", [
    {"hold_seconds": -0.1}, {"lookahead_seconds": float("nan")}, {"hold_seconds": float("inf")},
    {"hold_seconds": "1"}, {"hold_seconds": True}, {"hold_frames": -1}, {"lookahead_frames": 2.0},
    {"hold_frames": True}, {"detect_every": 0},
    {"detect_every": 2.5}, {"detect_every": 2.0}, {"detect_every": True}, {"detect_every": "2"},
])
def test_bad_times_are_refused_with_the_field_named(fields):
    with pytest.raises(ValueError, match=next(iter(fields))):
        Policy(**fields)


@pytest.mark.parametrize("every", [1, 5, np.int64(3)])
def test_detect_every_takes_whole_numbers(every):
    policy = Policy(detect_every=every)
    assert policy.detect_every == every and type(policy.detect_every) is int


def test_the_fast_profiles_detect_every_few_frames_unless_told_otherwise():
    """The default too (0 faces exposed on six clips at 3, `benchmarks/exposure.py`)."""
    assert [Policy(profile=p).detect_every for p in ("fast", "pi", "balanced", "thorough")] == [3, 4, 3, 1]
    assert Policy().detect_every == 3
    assert Policy(profile="fast", detect_every=1).detect_every == 1
    assert Policy(profile="pi").profile.detectors is Profile.FAST


def test_the_cli_takes_the_profiles_cadence_and_an_explicit_one(tmp_path):
    from redact.app.cli import _policy, redact_parser

    parser = redact_parser()
    assert _policy(parser.parse_args(["in.mp4", "-o", "out.mp4", "--profile", "pi"])).detect_every == 4
    args = parser.parse_args(["in.mp4", "-o", "out.mp4", "--profile", "fast", "--detect-every", "1"])
    assert _policy(args).detect_every == 1


def test_detect_every_message_is_one_line_with_what_was_got():
    with pytest.raises(ValueError) as info:
        Policy(detect_every=2.5)
    assert str(info.value) == ("Policy.detect_every: expected a whole number of frames from 1 to 15 (longer gaps "
                               "between detections expose faces that enter), got 2.5")


@pytest.mark.parametrize("every", [16, 10**30])
def test_detect_every_past_the_hold_is_refused_with_the_value(every):
    """Between detections a held box widens without end and the motion check goes blind in
    it: detecting on the first frame alone exposed a head that entered later (`MAX_DETECT_EVERY`)."""
    with pytest.raises(ValueError, match=f"Policy.detect_every: .*from 1 to {MAX_DETECT_EVERY}.*got {every}$"):
        Policy(detect_every=every)
    assert Policy(detect_every=MAX_DETECT_EVERY).detect_every == MAX_DETECT_EVERY


@pytest.mark.parametrize("text, units, box", [
    ("0.5,0,0.5,0.25", Units.FRACTION, (100, 0, 200, 25)),
    ("0,0,1,1", Units.FRACTION, (0, 0, 200, 100)),  # all <= 1: the whole frame
    ("10,20,30,40", Units.PX, (10, 20, 40, 60)),
    ("0,0,100,50", Units.PX, (0, 0, 100, 50)),  # zeros fit either reading
    ("1,2,30,40", Units.PX, (1, 2, 31, 42)),  # a position of 1 beside pixels is a pixel
    ("px:0,0,100,1", Units.PX, (0, 0, 100, 1)),
    ("px:0.5,0,2,2", Units.PX, (0.5, 0, 2.5, 2)),
    ("PX:1,1,1,1", Units.PX, (1, 1, 2, 2)),
    ("448,0,192,400px", Units.PX, (448, 0, 640, 400)),
    ("fraction:0.5,0,2,1", Units.FRACTION, (100, 0, 500, 100)),
    (" 0.7, 0, 0.3, 0.4 ", Units.FRACTION, (140, 0, 200, 40)),
])
def test_zone_units_are_explicit_or_consistent(text, units, box):
    zone = Zone.parse(text)
    assert zone.units is units and zone.relative == (units is Units.FRACTION)
    assert zone.box(200, 100) == pytest.approx(box)
    assert Zone.parse(str(zone)) == zone  # str() names the unit and reads back


@pytest.mark.parametrize("text, match", [
    ("0.7,0,0.3,400", r"^zone '0.7,0,0.3,400' mixes fractions \(<= 1\) and pixels; write all four as "
                      r"fractions of the frame or all as pixels, or add a unit, e.g. 0.7,0,0.3,0.4 .* or "
                      r"px:448,0,192,400$"),
    ("0,0,100,1", r"^zone '0,0,100,1' is ambiguous: .* add a unit \(px:0,0,100,1\)"),
    ("0,0,1,100", "ambiguous"),
    ("10,0.5,100,100", "mixes fractions"),
    ("fraction:1,0,0.5,0.5", "far edge"),
    ("0,0,0,10", "w, h > 0"),
    ("-5,0,10,10", "x, y >= 0"),
    ("1,2,3", "four numbers"),
    ("a,b,c,d", "four numbers"),
    ("inches:1,2,3,4", "four numbers"),
    ("nan,0,1,1", "finite"),
])
def test_zone_mixed_or_bad_forms_are_refused_in_one_line(text, match):
    with pytest.raises(ValueError, match=match) as info:
        Zone.parse(text)
    assert "\n" not in str(info.value)


def test_zone_constructor_carries_units():
    assert Zone(0.5, 0.5, 0.5, 0.5).units is Units.FRACTION  # inferred, as parse does
    assert Zone(10, 10, 20, 15).units is Units.PX
    assert Zone(0, 0, 1, 1, units="px").box(640, 360) == (0, 0, 1, 1)
    assert Zone(0, 0, 1, 1, units="fraction") == Zone(0, 0, 1, 1)
    assert Zone(448, 0, 192, 400, units=Units.PX).units == "px"  # a str enum: JSON writes "px"
    with pytest.raises(ValueError, match="mixes"):
        Zone(0.7, 0, 0.3, 400)
    with pytest.raises(ValueError, match="units"):
        Zone(0, 0, 1, 1, units="cm")


@pytest.mark.parametrize("zone, inside", [
    (Zone.parse("px:900,0,100,100"), False), (Zone.parse("px:0,360,10,10"), False),
    (Zone.parse("px:639,359,100,100"), True), (Zone.parse("0.99,0.99,0.5,0.5"), True),
])
def test_zone_wholly_outside_the_frame_names_the_frame(zone, inside):
    if inside:
        zone.check_inside(640, 360)
    else:
        with pytest.raises(ValueError, match=rf"^zone {zone} lies outside the 640x360 frame$"):
            zone.check_inside(640, 360)


def test_redactor_refuses_a_zone_outside_the_first_frame():
    from redact.pipeline.redactor import Redactor

    redactor = Redactor(Policy(kinds=(), zones=(Zone.parse("px:900,0,100,100"),)), detectors=[])
    with pytest.raises(ValueError, match=r"^zone px:900,0,100,100 lies outside the 640x360 frame$"):
        redactor.push(np.zeros((360, 640, 3), np.uint8))
    inside = Redactor(Policy(kinds=(), zones=(Zone.parse("px:600,0,100,100"),), lookahead_frames=0), detectors=[])
    (done,) = inside.push(np.full((360, 640, 3), 90, np.uint8))
    assert (done.rgb[:100, 600:] != 90).any()


def test_the_default_detects_one_frame_in_three_on_a_still_scene():
    """Between scheduled detections the motion check finds nothing new on a still scene, so
    the default command runs its detectors on frames 0, 3 and 6 of 9 (tracking and the hold
    cover the others), and on the last, 8, at the end of the stream (nothing later can be
    drawn back over it)."""
    from redact import Redactor, Regions
    from redact.core.types import Kind

    class Counting:
        kinds, models, calls = (Kind.FACE,), (), 0

        def detect(self, frame):
            self.calls += 1
            return Regions.empty()

    counting = Counting()
    redactor = Redactor(Policy(), fps=30, detectors=[counting])
    frame = np.random.default_rng(0).integers(0, 256, (72, 128, 3), dtype=np.uint8)
    done = [f for _ in range(9) for f in redactor.push(frame)] + redactor.flush()
    assert len(done) == 9 and counting.calls == redactor.frames_detected == 4
