"""`redact.pipeline.live.LiveRedactor`: detection off the push thread, every frame out in order and
covered at least as `Redactor` would cover it, whatever the detector's delay (issue 26).

Detections are held back on cue (`Held`) rather than timed: the tests assert which frames come
out while a detection is still running and how they are covered, never how long anything took.
"""
import threading
import time

import numpy as np
import pytest
from media import pattern, write_video
from scenes import PatchDetector, shows_face, walker_scene

from redact.core.policy import Policy
from redact.core.profile import Profile
from redact.core.types import Kind
from redact.pipeline.live import LATE, MISSED, MOVED_COVER, WHOLE_COVER, LiveRedactor
from redact.pipeline.redactor import Redactor
from redact.record.manifest import UNANALYSED

#: The walker scene's policy: faces by `PatchDetector`, no look-ahead, detect every 3rd frame.
POLICY = Policy(kinds=(), lookahead_frames=0, hold_frames=15, detect_every=3)


class Held:
    """A real detector whose calls wait until the test lets them through: a slow network on cue."""

    def __init__(self, inner):
        self.inner = inner
        self.free = threading.Event()
        self.free.set()
        self.busy = threading.Event()  # set while a call waits or runs

    def __getattr__(self, name):  # kinds, models, uses, settle: the real detector's
        return getattr(self.inner, name)

    def detect(self, frame, *context):
        self.busy.set()
        try:
            if not self.free.wait(120):
                raise TimeoutError("the test never let this detection through")
            return self.inner.detect(frame, *context)
        finally:
            self.busy.clear()


def live_threads() -> list:
    return [t for t in threading.enumerate() if t.name.startswith("redact-live")]


def poll_until(live, index, out=(), detected=0) -> list:
    """``out`` and the frames polled until frame ``index`` is among them and ``detected``
    detections have been taken into the tracks."""
    out = list(out)
    for _ in range(12000):  # a safeguard against a hang, not a time being measured
        out += live.poll()
        if any(d.index == index for d in out) and live.frames_detected >= detected:
            return out
        time.sleep(0.01)
    raise AssertionError(f"frame {index} never came out, or not {detected} detections")


def whole(done) -> bool:
    height, width = done.rgb.shape[:2]
    return bool((done.regions.xyxy == [0, 0, width, height]).all(axis=1).any())


def test_push_does_not_wait_for_detection_and_frames_before_any_come_out_whole_and_flagged():
    detector = Held(PatchDetector())
    detector.free.clear()
    out = []
    with LiveRedactor(POLICY, fps=30, max_latency=0, detectors=[detector], seed=1) as live:
        for i in range(6):
            out += live.push(walker_scene(i, set(range(6))))
        # Every push came back while the first frame's detection was still held.
        assert detector.busy.is_set()
        # A budget of 0 s: each frame out at its own push; no detection has finished, so whole.
        assert [d.index for d in out] == list(range(6))
        for done in out:
            assert done.flagged == f"{LATE}, {WHOLE_COVER}" and whole(done) and not shows_face(done.rgb)
        detector.free.set()
        assert live.flush() == []
    assert live_threads() == []


def test_frames_out_before_the_detection_carry_the_held_boxes_and_are_flagged():
    detector = Held(PatchDetector())
    scenes = [walker_scene(i, range(10), speed=2) for i in range(10)]
    live = LiveRedactor(POLICY, fps=30, max_latency=None, max_latency_frames=2, detectors=[detector], seed=1)
    [first] = poll_until(live, 0, live.push(scenes[0]))
    assert first.flagged is None and not shows_face(first.rgb)
    [track] = first.regions.track_id[first.regions.kind == Kind.FACE]
    detector.free.clear()
    early = [done for frame in scenes[1:] for done in live.push(frame)]
    assert detector.busy.is_set() and [d.index for d in early] == list(range(1, 8))
    for done in early:
        assert done.flagged == f"{LATE}, {MOVED_COVER}", done.index
        assert track in done.regions.track_id  # the face found on frame 0, held and grown
        assert not shows_face(done.rgb) and not whole(done)
        assert (done.rgb[300:, 500:] == scenes[done.index][300:, 500:]).all()  # nothing moved there
    detector.free.set()
    rest = live.flush()
    assert [d.index for d in rest] == [8, 9] and not any(shows_face(d.rgb) for d in rest)
    assert live_threads() == []


@pytest.mark.parametrize("hold, change", [(3, None), (15, "cut"), (15, "light")], ids=["hold", "cut", "light"])
def test_what_is_known_expires_with_the_hold_and_at_a_scene_cut(hold, change):
    """Past the hold after the last detection, or past a new shot, the tracks and the motion
    check's reference say nothing of the frame: it comes out whole. So does a frame that moved
    over most of its area (the light changed: not a cut, the shapes are the same)."""
    detector = Held(PatchDetector())
    policy = Policy(kinds=(), lookahead_frames=0, hold_frames=hold, detect_every=3)
    live = LiveRedactor(policy, fps=30, max_latency=0, detectors=[detector], seed=1)
    out = poll_until(live, 0, live.push(walker_scene(0, range(20), speed=2)), detected=1)
    detector.free.clear()
    for i in range(1, 7):
        frame = walker_scene(i, range(20), speed=2)
        if change == "cut" and i >= 4:  # another shot, the face in it where the walker's was
            face = (frame == (255, 0, 0)).all(axis=2)[..., None]
            frame = np.where(face, frame, pattern(i, 640, 360))
        elif change == "light" and i >= 4:
            frame = walker_scene(i, range(20), speed=2, background=150)
        out += live.push(frame)
    detector.free.set()
    live.close()
    covers = [d.flagged.rsplit(", ", 1)[-1] for d in out[1:]]
    assert covers == [MOVED_COVER] * 3 + [WHOLE_COVER] * 3  # frames 1-3, then 4-6
    assert all(whole(d) for d in out[4:]) and not any(shows_face(d.rgb) for d in out)


@pytest.mark.parametrize("speed, background", [(10, 90), (0, 160)], ids=["walker", "still"])
@pytest.mark.parametrize("budget", [0, 3])
def test_a_face_appearing_while_the_detector_is_busy_is_never_shown(speed, background, budget):
    """The face shows on frames 7 and 8 only, between detections, while a detection is held:
    no frame may show it, whether it comes out over the budget or after the detection. On a
    still scene it is the only motion (the background differs from its grey level)."""
    face_frames = {7, 8}
    detector = Held(PatchDetector())
    live = LiveRedactor(POLICY, fps=30, max_latency=None, max_latency_frames=budget, detectors=[detector], seed=1)
    out = poll_until(live, 0, live.push(walker_scene(0, face_frames, speed, background)), detected=1)
    detector.free.clear()
    for i in range(1, 12):
        out += live.push(walker_scene(i, face_frames, speed, background))
    held = [d.index for d in out]
    detector.free.set()
    out += live.flush()
    assert [d.index for d in out] == list(range(12))
    assert not any(shows_face(d.rgb) for d in out)
    assert {7, 8} <= set(held)  # both came out while the detection was held
    for done in out:
        if done.index in face_frames:
            assert done.flagged.startswith(LATE), done.flagged


def test_a_face_appearing_in_a_frame_left_behind_by_the_detector_is_covered_where_it_moved():
    """Frames pushed during a detection and analysed after it are skipped by the detectors
    (only the newest frame is detected): one that moved is covered there and flagged."""
    face_frames = {3, 4}
    detector = Held(PatchDetector())
    live = LiveRedactor(POLICY, fps=30, max_latency=None, max_latency_frames=50, detectors=[detector], seed=1)
    out = poll_until(live, 0, live.push(walker_scene(0, face_frames)))
    detector.free.clear()
    for i in range(1, 7):
        out += live.push(walker_scene(i, face_frames))
    assert out[-1].index == 0  # frame 1's detection holds the rest
    detector.free.set()
    out += poll_until(live, 5)  # frame 1 analysed; 2-5 skipped; 6, the newest, detected
    out += live.flush()
    assert [d.index for d in out] == list(range(7))
    missed = {d.index: d for d in out if d.flagged}
    assert set(missed) == {2, 3, 4, 5}
    for done in missed.values():
        assert done.flagged == f"{MISSED}, {MOVED_COVER}" and not whole(done)
    assert not any(shows_face(d.rgb) for d in out)


def test_a_detector_fault_in_the_worker_obscures_its_frame_whole_and_flags_it():
    detector = PatchDetector(fail_on={3})
    out: list = []
    with LiveRedactor(POLICY, fps=30, max_latency_frames=100, detectors=[detector], seed=1) as live:
        for i in range(8):  # each frame analysed before the next: every one asking is detected
            out = poll_until(live, i, out + live.push(walker_scene(i, set(range(8)))))
        out += live.flush()
    assert [d.index for d in out] == list(range(8)) and 3 in detector.calls
    faulted = [d for d in out if d.flagged]
    assert [d.index for d in faulted] == [3] and faulted[0].flagged.startswith(UNANALYSED) and whole(faulted[0])
    assert not any(shows_face(d.rgb) for d in out)
    assert live.manifest("video").flagged_frames[0]["frame"] == 3
    assert live_threads() == []


def test_flush_returns_every_frame_in_order_and_stops_the_thread():
    detector = Held(PatchDetector())
    detector.free.clear()
    live = LiveRedactor(POLICY, fps=30, max_latency=None, max_latency_frames=4, detectors=[detector], seed=1)
    out = [d for i in range(10) for d in live.push(walker_scene(i, {2, 3}))]
    assert live_threads() and [d.index for d in out] == list(range(6))
    detector.free.set()
    out += live.flush()
    assert [d.index for d in out] == list(range(10))
    assert live_threads() == []
    with pytest.raises(RuntimeError, match="push after flush"):
        live.push(walker_scene(10, ()))


def test_a_stalled_detector_does_not_keep_the_frames_already_out():
    """Frames out before their analysis wait for it only as counts: memory stays a few frames
    however long the detector stalls (here 120 frames of 0.7 MB)."""
    import tracemalloc

    detector = Held(PatchDetector())
    detector.free.clear()
    with LiveRedactor(POLICY, fps=30, max_latency=0, detectors=[detector]) as live:
        tracemalloc.start()
        try:
            for i in range(120):
                live.push(walker_scene(i, ()))
            kept, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        detector.free.set()
    assert kept < 8 * walker_scene(0, ()).nbytes, kept


def test_close_stops_the_thread_and_a_closed_stream_takes_no_frames():
    detector = Held(PatchDetector())
    with LiveRedactor(POLICY, fps=30, max_latency=None, max_latency_frames=4, detectors=[detector]) as live:
        live.push(walker_scene(0, ()))
        assert live_threads()
    assert live_threads() == [] and live.poll() == [] and live.flush() == []
    with pytest.raises(RuntimeError, match="push after flush"):
        live.push(walker_scene(1, ()))


def test_frames_held_until_their_detection_come_out_as_the_synchronous_redactor_gives_them(data_dir):
    """A budget long enough, a detection that takes all of it: the real clip through the real
    ``fast`` face detectors comes out pixel for pixel as `Redactor` gives it."""
    import av

    from conftest import require_models
    from redact.detectors import detectors_for

    require_models("blazeface_full_range", "blazeface_back", "centerface")
    policy = Policy(kinds={Kind.FACE}, profile=Profile.FAST, lookahead_seconds=0)
    with av.open(str(data_dir / "videos" / "face_recognition_short_hamilton_clip.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for _, f in zip(range(24), container.decode(video=0))]
    detectors = detectors_for(policy)
    sync = Redactor(policy, fps=30, detectors=detectors, seed=7)
    want = [d for f in frames for d in sync.push(f)] + sync.flush()
    held = Held(detectors[0])
    held.free.clear()
    live = LiveRedactor(policy, fps=30, max_latency=None, max_latency_frames=100, detectors=[held], seed=7)
    got = [d for f in frames for d in live.push(f)]
    assert got == [] and held.busy.is_set()
    held.free.set()
    got = live.flush()
    assert [d.index for d in got] == list(range(len(frames)))
    assert sync.frames_detected == live.frames_detected > 1
    for w, g in zip(want, got):
        assert g.flagged is None and np.array_equal(w.regions.xyxy, g.regions.xyxy), g.index
        assert np.array_equal(w.rgb, g.rgb), g.index


@pytest.mark.parametrize("kwargs, message", [
    ({"policy": Policy()}, "look-ahead"),
    ({"max_latency": -1}, "max_latency: expected seconds"),
    ({"max_latency": None}, "give max_latency"),
    ({"max_latency_frames": 1.5}, "max_latency_frames: expected a whole number"),
])
def test_bad_settings_are_refused_with_the_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LiveRedactor(**{"policy": POLICY, **kwargs}, detectors=[])


def test_the_latency_benchmark_runs_on_a_clip(tmp_path):
    """`benchmarks/live_latency.py` as its docstring runs it, on a short clip (figures not checked)."""
    import subprocess
    import sys
    from pathlib import Path

    from conftest import PLATE_MODELS, require_models

    require_models("blazeface_full_range", "blazeface_back", "centerface", *PLATE_MODELS)
    clip = tmp_path / "clip.mp4"
    write_video(clip, frames=8, size=(160, 96))
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "live_latency.py"
    done = subprocess.run([sys.executable, str(script), str(clip), "--realtime", "--budgets", "0", "0.1"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].startswith("synchronous Redactor: push ms (median / p99 / max) ")
    assert [line.split(":")[0] for line in lines if line.startswith("LiveRedactor")] == [
        "LiveRedactor, max_latency 0.0 s (declared latency 0 frames)",
        "LiveRedactor, max_latency 0.1 s (declared latency 3 frames)"]
