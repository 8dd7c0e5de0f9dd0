"""Policy: validation, and hold/look-ahead in seconds or frames."""
from fractions import Fraction

import numpy as np
import pytest

from redact.policy import Policy


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
])
def test_bad_times_are_refused_with_the_field_named(fields):
    with pytest.raises(ValueError, match=next(iter(fields))):
        Policy(**fields)
