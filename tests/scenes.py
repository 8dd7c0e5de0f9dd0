"""A drawn scene and a detector that sees it exactly: the face is pure red pixels.

Real-time and exact, they let a test say which frames a face shows on and check, pixel for
pixel, that no output frame shows it (`shows_face`).
"""
import numpy as np

from redact.core.types import Kind, Regions


class ScriptedFaces:
    """A plugin-shaped face detector whose answer to its n-th call (from 1) is ``script(n)``."""

    kinds = (Kind.FACE,)
    models = ()

    def __init__(self, script):
        self.script = script
        self.calls = 0

    def detect(self, frame):
        self.calls += 1
        return self.script(self.calls)


def shows_face(rgb: np.ndarray) -> bool:
    """Whether any pure red pixel (a face of `walker_scene`) is left in ``rgb``."""
    return bool(((rgb[..., 0] == 255) & (rgb[..., 1] == 0) & (rgb[..., 2] == 0)).any())


class PatchDetector:
    """A real-time stand-in for a face detector: pure red pixels are the face."""

    kinds = (Kind.FACE,)
    models = ()

    def __init__(self, fail_on=()):
        self.fail_on = set(fail_on)
        self.calls = []

    def detect(self, rgb):
        self.calls.append(int(rgb[0, 0, 1]))  # the frame's index is written in its corner
        if self.calls[-1] in self.fail_on:
            raise RuntimeError("detector fault")
        ys, xs = np.nonzero((rgb[..., 0] == 255) & (rgb[..., 1] == 0))
        if not len(xs):
            return Regions.empty()
        return Regions.from_boxes([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], kind=Kind.FACE)


def walker_scene(i, face_frames, speed=10, background=90):
    """A 640x360 frame: a body walks right; on ``face_frames`` its face shows (red).

    On the default ``background`` the face's grey level (76) is within the motion check's
    `redact.pipeline.motion.DIFF_LEVEL` of it: only the body's motion can reveal it there.
    """
    frame = np.full((360, 640, 3), background, np.uint8)
    x = 60 + speed * i
    frame[150:330, x:x + 40] = 200
    if i in face_frames:
        frame[100:140, x + 2:x + 38] = (255, 0, 0)
    frame[0, 0] = (0, i, 0)
    return frame
