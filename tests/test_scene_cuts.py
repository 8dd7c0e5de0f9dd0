"""Holds end at a shot change (issue 24): the boxes of one shot are neither held forward into
the next nor drawn back from it, and the new shot is analysed on its first frame."""
import av
import numpy as np

import redact
from conftest import require_models
from redact.core.types import Kind, Regions
from redact.pipeline.motion import SceneCuts
from redact.pipeline.redactor import Redactor

HAMILTON = "videos/face_recognition_short_hamilton_clip.mp4"
HAMILTON_CUT = 82  # audience -> stage (29.97 fps, 2.7 s in)


def _shot(colour, noise_seed, n=6, size=(120, 160)):
    rng = np.random.default_rng(noise_seed)
    base = np.zeros((*size, 3), np.uint8) + np.array(colour, np.uint8)
    return [np.clip(base.astype(np.int16) + rng.integers(-6, 7, base.shape), 0, 255).astype(np.uint8)
            for _ in range(n)]


def test_a_cut_is_told_from_motion_within_a_shot():
    cuts = SceneCuts()
    first, second = _shot((40, 90, 160), 1), _shot((200, 150, 60), 2)
    flags = [cuts.is_cut(f) for f in first + second]
    assert flags == [False] * 6 + [True] + [False] * 5
    # A bright object crossing a shot (a third of the frame changes) is not a cut.
    moving = SceneCuts()
    frames = _shot((40, 90, 160), 3)
    for i, f in enumerate(frames):
        f[:, 20 * i:20 * i + 50] = 250
    assert not any(moving.is_cut(f) for f in frames)


class _OneShotFace:
    """Finds a face on frames of the first shot only (blue-ish), as a real detector would
    find the audience and not the empty stage."""

    kinds, models = (Kind.FACE,), ()

    def detect(self, frame):
        if frame[..., 2].mean() > 120:
            return Regions.from_boxes(np.array([[20, 20, 60, 60]], np.float32), kind=Kind.FACE)
        return Regions.empty()


def test_holds_and_look_ahead_stop_at_the_cut():
    r = Redactor(redact.Policy(kinds=(Kind.FACE,), hold_frames=10, lookahead_frames=5), detectors=[_OneShotFace()])
    first, second = _shot((40, 90, 160), 1), _shot((200, 150, 60), 2)
    out = []
    for frame in first + second:
        out += r.push(frame)
    out += r.flush()
    assert [d.index for d in out] == list(range(12))
    assert all(len(d.regions) for d in out[:6]), "the first shot's face is obscured on every one of its frames"
    assert not any(len(d.regions) for d in out[6:]), "held past the cut into a shot without it"


def test_real_two_shot_clip_boxes_end_at_the_cut(data_dir):
    require_models("blazeface_full_range", "centerface", "ppocr_det_v4")
    frames = []
    with av.open(str(data_dir / HAMILTON)) as clip:
        fps = clip.streams.video[0].average_rate
        for i, frame in enumerate(clip.decode(video=0)):
            if i >= HAMILTON_CUT + 10:
                break
            if i >= HAMILTON_CUT - 12:
                frames.append(frame.to_ndarray(format="rgb24"))
    r = Redactor(redact.Policy(), fps=fps)
    out = [d for f in frames for d in r.push(f)] + r.flush()
    first = HAMILTON_CUT - 12
    # Rows found late on a shot's last frame carry no track (-1): no identity to carry over.
    before = {int(t) for d in out[:HAMILTON_CUT - first] for t in d.regions.track_id if t >= 0}
    carried = [first + d.index for d in out[HAMILTON_CUT - first:] if before & set(d.regions.track_id.tolist())]
    assert before, "the audience shot has faces"
    assert len(carried) <= 1, f"frames after the cut carrying the audience's boxes: {carried}"
    after = {int(t) for d in out[HAMILTON_CUT - first:] for t in d.regions.track_id if t >= 0} - before
    drawn_back = [first + d.index for d in out[:HAMILTON_CUT - first] if after & set(d.regions.track_id.tolist())]
    assert not drawn_back, f"the stage shot's boxes drawn back into the audience shot: {drawn_back}"
    assert r.frames_detected >= 1


def test_no_cut_on_a_still_clip():
    cuts = SceneCuts()
    frame = _shot((90, 90, 90), 4, n=1)[0]
    assert not any(cuts.is_cut(frame) for _ in range(5))


def test_a_camera_switching_to_infrared_is_not_a_cut(data_dir):
    """Colour and brightness jump, the scene's shapes stay: the holds must stay too (a face
    the detector misses in the first infrared frame stays obscured)."""
    import cv2

    with av.open(str(data_dir / HAMILTON)) as clip:
        day = next(f for i, f in enumerate(clip.decode(video=0)) if i == 100).to_ndarray(format="rgb24")
    grey = cv2.cvtColor(cv2.cvtColor(day, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    night = np.clip(grey.astype(np.float32) * 1.8 + 40, 0, 255).astype(np.uint8)
    cuts = SceneCuts()
    assert not cuts.is_cut(day) and not cuts.is_cut(night)
