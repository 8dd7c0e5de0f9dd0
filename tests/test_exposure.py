"""Nothing flashes into view: a real face walks in while the detector misses frames."""
import numpy as np
import pytest
from exposure import face_exposed, judge_plan
from media import read_video

from conftest import require_models
from redact.core.policy import Policy
from redact.core.types import Kind, Regions
from redact.jobs.files import redact_video

FRAMES, STEP = 60, 5
HEAD = (slice(40, 200), slice(160, 290))  # astronaut's head in skimage's 512x512 photo
FACE_IN_HEAD = (20, 20, 111, 137)  # the face box inside that crop (x0, y0, x1, y1)


def walking_face_clip(path):
    """A 480x270 clip: the astronaut's head enters from the left edge, 5 px per frame."""
    import av
    import cv2
    from skimage.data import astronaut

    head = astronaut()[HEAD]
    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur(rng.integers(40, 220, (270, 480, 3), dtype=np.uint8), (0, 0), 2)
    boxes = []
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 480, 270, "yuv420p"
        stream.options = {"crf": "12"}
        for i in range(FRAMES):
            x = -head.shape[1] + i * STEP
            frame = background.copy()
            xa, xb = max(0, x), min(480, x + head.shape[1])
            if xb > xa:
                frame[60:60 + head.shape[0], xa:xb] = head[:, xa - x:xb - x]
            boxes.append((x + FACE_IN_HEAD[0], 60 + FACE_IN_HEAD[1], x + FACE_IN_HEAD[2], 60 + FACE_IN_HEAD[3]))
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return boxes


class MissingDetector:
    """The real face detector, made to miss: it only answers on every third frame."""

    kinds = (Kind.FACE,)

    def __init__(self):
        from redact.detectors.faces import FaceDetector

        self.inner = FaceDetector()
        self.models = self.inner.models
        self.calls = 0
        self.hits = 0

    def detect(self, frame):
        self.calls += 1
        if (self.calls - 1) % 3:
            return Regions.empty()
        found = self.inner.detect(frame)
        self.hits += len(found) > 0
        return found


def test_walking_face_never_exposed(tmp_path):
    pytest.importorskip("skimage", reason="scikit-image provides the real face photo")
    require_models("blazeface_full_range", "centerface")
    src, dst = tmp_path / "walk.mp4", tmp_path / "out.mp4"
    boxes = walking_face_clip(src)
    detector = MissingDetector()
    redact_video(src, dst, Policy(kinds={Kind.FACE}), detectors=[detector])
    assert detector.hits >= 5, "the detector must really find the face for this test to mean anything"
    before, _, _ = read_video(src)
    after, _, _ = read_video(dst)
    judged = 0
    for i, box in enumerate(boxes):
        visible = min(box[2], 480) - max(box[0], 0)
        if visible < 12:
            continue
        judged += 1
        exposed, corr = face_exposed(before[i], after[i], box)
        assert not exposed, f"frame {i}: face exposed (Laplacian corr {corr:.2f}, {visible} px visible)"
    assert judged > 30
    # The measure itself can fail: with no redaction every judged face is exposed.
    assert face_exposed(before[-1], before[-1], boxes[-1])[0]


def test_judge_confirms_a_face_with_two_networks_and_not_a_shirt():
    pytest.importorskip("skimage", reason="scikit-image provides the real photos")
    require_models("blazeface_full_range", "centerface")
    from exposure import CROP, Judge, face_crop
    from skimage.data import astronaut, coffee

    judge = Judge()
    photo = np.ascontiguousarray(astronaut())
    face = (180, 60, 271, 177)  # the astronaut's face (x0, y0, x1, y1)
    assert judge.confirmations(photo, face) == 2
    cup = np.ascontiguousarray(coffee())
    assert judge.confirmations(cup, (200, 100, 300, 200)) == 0
    # A box at the corner: the crop is still CROP square, black where it leaves the photo.
    crop, x0, y0, scale = face_crop(photo, (0, 0, 40, 40))
    assert crop.shape == (CROP, CROP, 3) and (x0, y0) == (-20, -20) and scale == 80 / CROP
    assert not crop[:CROP // 4 - 1, :CROP // 4 - 1].any()


def test_judge_proposes_with_every_kind_of_view_the_profiles_run():
    """The judge must be stronger than any profile: each profile's kinds of CenterFace view
    (stretch, mirror) are among the judge's, at no fewer pixels, and its BlazeFace tiles too."""
    from redact.detectors.faces import PLANS

    judge = judge_plan()
    for plan in PLANS.values():
        for view in plan.centerface:
            assert any(j.stretch == view.stretch and j.mirror == view.mirror and j.pixels >= view.pixels
                       for j in judge.centerface), view
        assert set(plan.blazeface_tiles) <= set(judge.blazeface_tiles)
