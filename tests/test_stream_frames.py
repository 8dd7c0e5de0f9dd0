"""Frames a camera app pushes into `redact.Redactor` (issue 26): the wrong kinds are refused
with a conversion that, followed, gives the right picture; one Redactor serves one stream."""
import re
import threading

import numpy as np
import pytest

import redact
from redact.core.types import check_frame

GREY = np.full((6, 8, 3), 128, np.uint8)  # the picture every frame below shows


def _advice(message: str) -> str:
    return re.search(r"`([^`]+)`", message).group(1)


@pytest.mark.parametrize("frame", [
    GREY / 255.0,  # float 0..1 (OpenCV's convertTo, scikit-image, PyTorch)
    GREY.astype(np.float32),  # float 0..255
    GREY.astype(np.uint16) << 8,  # 16-bit
    GREY.astype(np.int64),  # ints 0..255
    np.ascontiguousarray(GREY.transpose(2, 0, 1)),  # channels first (C, H, W)
    np.concatenate([GREY, np.full((6, 8, 1), 255, np.uint8)], axis=2),  # with alpha
    GREY[..., 0],  # grey
    GREY[..., :1],  # grey, one channel kept
], ids=["float01", "float255", "uint16", "int64", "chw", "rgba", "grey", "grey1"])
def test_the_advice_for_a_wrong_frame_gives_the_right_picture(frame):
    with pytest.raises(ValueError) as raised:
        check_frame(frame)
    converted = eval(_advice(str(raised.value)), {"np": np, "frame": frame})
    np.testing.assert_array_equal(check_frame(converted), GREY)


def test_a_frame_of_another_size_mid_stream_is_refused():
    r = redact.Redactor(redact.Policy(lookahead_frames=0), detectors=[])
    r.push(np.zeros((48, 64, 3), np.uint8))
    with pytest.raises(ValueError, match="frame 1 is 32x24, which does not match the stream size 64x48; "
                                         "one Redactor serves one stream"):
        r.push(np.zeros((24, 32, 3), np.uint8))
    assert len(r.push(np.zeros((48, 64, 3), np.uint8))) == 1  # the stream goes on at its own size


def test_a_push_after_flush_is_refused():
    r = redact.Redactor(redact.Policy(lookahead_frames=2), detectors=[])
    r.push(np.zeros((48, 64, 3), np.uint8))
    assert len(r.flush()) == 1
    with pytest.raises(RuntimeError, match="push after flush"):
        r.push(np.zeros((48, 64, 3), np.uint8))


def test_the_readme_live_snippet_runs_as_written():
    """README's "Frames from a 10 fps camera" lines, run on three frames."""
    from pathlib import Path

    from conftest import PLATE_MODELS, require_models

    require_models("blazeface_full_range", "centerface", *PLATE_MODELS)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = readme.index("# Frames from a 10 fps camera")
    snippet = readme[start:readme.index("\n\n", start)]
    sent = []
    exec(snippet, {"redact": redact, "camera_frames": lambda: [np.full((48, 64, 3), i, np.uint8) for i in range(3)],
                   "send": sent.append})
    assert len(sent) == 3 and not [t for t in threading.enumerate() if t.name.startswith("redact-live")]
