"""`redact demo`: an incident clip made from real photos, redacted, reviewed and checked.

The clip (4 s, 640x360, 15 fps) is put together here from two photos that ship in the
scikit-image wheel and that ``redact models fetch`` installs beside the models
(`redact.detectors.models.DEMO_ASSETS`; scikit-image itself is not needed): the astronaut Eileen
Collins walks along a drawn street as the incident's subject, two faces from the LFW subset
stand by as bystanders, a car's drawn plate waits at the kerb and a neighbour's window sits in
a privacy zone. The clip carries audio and location, time and device tags.

It is redacted with an `redact.core.incident.Incident` (a window cut, the astronaut kept by her box
at 2 s, the window in a privacy zone), a review sheet is drawn, the signed manifest is
verified, and the output is checked against the input frame by frame.
"""
from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..core.incident import Incident, Subject, Window
from ..core.policy import Policy
from ..detectors.models import ModelMissingError, model_path
from ..jobs.files import redact_video
from ..media.images import read_image
from ..media.video import VideoReader
from ..record.manifest import manifest_path
from ..record.verify import verify_clip
from .review import review_sheet

DEMO_TAGS = {"location": "+51.5007-000.1246/", "creation_time": "2026-11-28T08:15:00.000000Z",
             "com.apple.quicktime.make": "DemoCam", "com.apple.quicktime.model": "Doorbell 2"}
SIZE = (640, 360)
FPS = 15
FRAMES = 60
#: Seconds of the input kept (between frames, so no rounding decides the count).
WINDOW = (0.97, 3.03)
#: When the subject is picked.
PICK_AT = 2.0
#: The neighbour's window, px x, y, w, h.
PRIVACY_ZONE = (30, 15, 140, 100)
#: LFW subset rows (faces are rows 0-99) used for the two bystanders.
BYSTANDER_FACES = (3, 17)
#: The part of the astronaut photo pasted (x0, y0, x1, y1 shares): her, without the rocket
#: model and the flag, which the person detector took for more people behind her.
ASTRONAUT_CROP = (0.08, 0.0, 0.62, 1.0)
#: Her size on screen (px), and where her face lies in it (shares of that box).
ASTRONAUT_SIZE = (103, 190)
ASTRONAUT_FACE = (0.50, 0.10, 0.78, 0.33)
FACE_SIDE = 56
PLATE_TEXT = "AB12 CDE"


def astronaut_box(i: int) -> tuple:
    """x0, y0, x1, y1 of the astronaut photo in input frame ``i``: walking right, bobbing."""
    x = 20 + round(i * 280 / (FRAMES - 1))
    y = 164 + round(3 * np.sin(i * 0.9))
    return x, y, x + ASTRONAUT_SIZE[0], y + ASTRONAUT_SIZE[1]


def bystander_faces(i: int) -> list:
    """x0, y0, x1, y1 of each bystander's face in frame ``i``: one waits, one walks left."""
    first = (440, 96)
    second = (560 - round(i * 30 / (FRAMES - 1)), 104)
    return [(x, y, x + FACE_SIDE, y + FACE_SIDE) for x, y in (first, second)]


def face_of(box: tuple) -> tuple:
    x0, y0, x1, y1 = box
    fx0, fy0, fx1, fy1 = ASTRONAUT_FACE
    w, h = x1 - x0, y1 - y0
    return round(x0 + fx0 * w), round(y0 + fy0 * h), round(x0 + fx1 * w), round(y0 + fy1 * h)


def _street(width: int, height: int) -> np.ndarray:
    """A drawn street: sky, house fronts with windows, pavement, road, lane marks."""
    import cv2

    rng = np.random.default_rng(0)
    img = np.zeros((height, width, 3), np.uint8)
    for y in range(60):
        img[y] = (150 + y, 190 + y // 2, 235)
    fronts = [(0, 190, (176, 120, 96)), (190, 330, (196, 180, 150)), (330, 480, (150, 110, 90)),
              (480, 640, (205, 196, 178))]
    for x0, x1, colour in fronts:
        cv2.rectangle(img, (x0, 10 if x0 == 0 else 30), (x1, 230), colour, -1)
        for wx in range(x0 + 20, x1 - 40, 60):
            if x0 == 0 and wx < 170:
                continue  # the neighbour's window is drawn below
            cv2.rectangle(img, (wx, 50), (wx + 36, 100), (90, 110, 130), -1)
            cv2.rectangle(img, (wx, 50), (wx + 36, 100), (240, 240, 240), 2)
    x, y, w, h = PRIVACY_ZONE
    cv2.rectangle(img, (x + 10, y + 10), (x + w - 10, y + h - 10), (255, 236, 170), -1)  # lit, curtains open
    cv2.rectangle(img, (x + 10, y + 10), (x + w - 10, y + h - 10), (250, 250, 250), 3)
    cv2.line(img, (x + w // 2, y + 10), (x + w // 2, y + h - 10), (250, 250, 250), 3)
    cv2.circle(img, (x + 45, y + 52), 14, (120, 80, 60), -1)  # someone inside
    cv2.rectangle(img, (0, 230), (width, 262), (190, 190, 186), -1)
    cv2.rectangle(img, (0, 262), (width, height), (88, 88, 92), -1)
    for lx in range(0, width, 80):
        cv2.rectangle(img, (lx + 10, 318), (lx + 50, 324), (235, 235, 230), -1)
    noise = rng.normal(0, 4, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def _car(img: np.ndarray) -> None:
    import cv2

    cv2.rectangle(img, (420, 250), (636, 338), (40, 70, 140), -1)
    cv2.rectangle(img, (450, 222), (600, 256), (50, 80, 150), -1)
    cv2.rectangle(img, (462, 228), (588, 252), (150, 180, 200), -1)
    for cx in (458, 600):
        cv2.circle(img, (cx, 340), 18, (20, 20, 20), -1)
    cv2.rectangle(img, (466, 286), (594, 318), (250, 250, 250), -1)
    cv2.rectangle(img, (466, 286), (594, 318), (20, 20, 20), 2)
    cv2.putText(img, PLATE_TEXT, (474, 312), cv2.FONT_HERSHEY_SIMPLEX, 0.78, (10, 10, 10), 2, cv2.LINE_AA)


def _bystander(img: np.ndarray, box: tuple, face: np.ndarray, coat: tuple) -> None:
    import cv2

    x0, y0, x1, y1 = box
    cx, w = (x0 + x1) // 2, x1 - x0
    cv2.rectangle(img, (cx - w // 2 - 6, y1 + 4), (cx + w // 2 + 6, y1 + 66), coat, -1)
    img[y0:y1, x0:x1] = face


def load_assets(models_dir=None) -> tuple:
    """The astronaut photo (RGB uint8, cropped to `ASTRONAUT_CROP`) and the two bystander
    faces (RGB uint8, `FACE_SIDE` px).

    Raises
    ------
    redact.detectors.models.ModelMissingError
        When ``redact models fetch`` has not installed the demo assets.
    """
    import cv2

    photo = read_image(model_path("demo_astronaut", models_dir))
    h, w = photo.shape[:2]
    x0, y0, x1, y1 = ASTRONAUT_CROP
    astronaut = photo[round(y0 * h):round(y1 * h), round(x0 * w):round(x1 * w)]
    lfw = np.load(model_path("demo_lfw_faces", models_dir), allow_pickle=False)
    faces = []
    for row in BYSTANDER_FACES:
        grey = np.clip(lfw[row] * 255, 0, 255).astype(np.uint8)
        grey = cv2.resize(grey, (FACE_SIDE, FACE_SIDE), interpolation=cv2.INTER_CUBIC)
        faces.append(np.repeat(grey[..., None], 3, axis=2))
    return astronaut, faces


def render(i: int, street: np.ndarray, astronaut: np.ndarray, faces: list) -> np.ndarray:
    """Input frame ``i`` (RGB)."""
    import cv2

    img = street.copy()
    _car(img)
    for box, face, coat in zip(bystander_faces(i), faces, ((60, 60, 70), (120, 40, 40))):
        _bystander(img, box, face, coat)
    x0, y0, x1, y1 = astronaut_box(i)
    photo = cv2.resize(astronaut, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    h = min(y1, img.shape[0]) - y0
    img[y0:y0 + h, x0:x1] = photo[:h]
    return img


def make_clip(path, models_dir=None) -> None:
    """Write the demo input: `FRAMES` frames at `FPS`, a sine-wave audio track and `DEMO_TAGS`."""
    import av

    width, height = SIZE
    astronaut, faces = load_assets(models_dir)
    street = _street(width, height)
    with av.open(str(path), "w") as out:
        out.metadata.update(DEMO_TAGS)
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"crf": "16"}
        audio = out.add_stream("aac", rate=48000)
        audio.layout = "mono"
        for i in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(render(i, street, astronaut, faces), format="rgb24")
            for packet in video.encode(frame):
                out.mux(packet)
        samples = np.sin(np.arange(48000 * FRAMES // FPS) * 2 * np.pi * 440 / 48000).astype(np.float32)
        for start in range(0, samples.size, 1024):
            chunk = av.AudioFrame.from_ndarray(samples[start:start + 1024][None, :], format="flt", layout="mono")
            chunk.sample_rate, chunk.pts, chunk.time_base = 48000, start, Fraction(1, 48000)
            for packet in audio.encode(chunk):
                out.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                out.mux(packet)


def demo_incident():
    """The incident the demo asks for: window, the astronaut by her box at `PICK_AT`, the zone."""
    x0, y0, x1, y1 = astronaut_box(round(PICK_AT * FPS))
    return Incident(units="px", window=Window(*WINDOW), subjects=(Subject(PICK_AT, box=(x0, y0, x1 - x0, y1 - y0)),),
                    privacy_zones=(PRIVACY_ZONE,), request="demo request 0001", recipient="Demo Insurance",
                    purpose="show what redact keeps and hides")


def _diff(a: np.ndarray, b: np.ndarray, box: tuple) -> float:
    x0, y0, x1, y1 = box
    return float(np.abs(a[y0:y1, x0:x1].astype(np.int16) - b[y0:y1, x0:x1]).mean())


#: Mean absolute difference (grey levels) under which a region counts as shown (x264 noise),
#: and over which it counts as obscured.
SHOWN_BELOW = 10.0
CHANGED_ABOVE = 20.0


def compare(src, dst, skip: int) -> dict:
    """Per output frame: differences of the subject's face, the bystanders' faces and the
    privacy zone between input (from frame ``skip``) and output. Decodes both once, in step."""
    x, y, w, h = PRIVACY_ZONE
    zone = (x, y, x + w, y + h)
    found: dict = {"subject_face": [], "bystander_faces": [], "privacy_zone": [], "frames": 0}
    with VideoReader(src) as before, VideoReader(dst) as after:
        inputs = iter(before)
        for _ in range(skip):
            next(inputs, None)
        outputs = iter(after)
        for a, b in zip(inputs, outputs):
            i = a.index
            found["subject_face"].append(_diff(a.rgb, b.rgb, face_of(astronaut_box(i))))
            found["bystander_faces"].append(min(_diff(a.rgb, b.rgb, f) for f in bystander_faces(i)))
            found["privacy_zone"].append(_diff(a.rgb, b.rgb, zone))
            found["frames"] += 1
        found["frames"] += sum(1 for _ in outputs)  # any output frames beyond the input's
    return found


def window_frames() -> int:
    """Input frames whose time lies in `WINDOW` (what the cut must keep)."""
    first, last = WINDOW
    return sum(1 for i in range(FRAMES) if first <= i / FPS <= last)


def run_demo(folder, *, models_dir=None) -> bool:
    """Make, redact, review and check the demo clip in ``folder``; prints what it found.

    Returns
    -------
    bool
        True when every check passes.
    """
    import av

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    src, dst = folder / "demo-input.mp4", folder / "demo-redacted.mp4"
    try:
        make_clip(src, models_dir)
        manifest = redact_video(src, dst, Policy(incident=demo_incident()), overwrite=True, models_dir=models_dir)
    except ModelMissingError as exc:
        print(f"redact demo: {exc}", file=sys.stderr)
        return False
    sheet = review_sheet(dst, overwrite=True)  # the demo owns its folder: a re-run replaces it
    verification = verify_clip(dst)
    incident = manifest.incident
    skip = (incident.get("window") or {}).get("frames_cut_before", 0)
    found = compare(src, dst, skip)
    with av.open(str(dst)) as out:
        audio, tags = list(out.streams.audio), set(out.metadata)
    kept = incident.get("subjects_kept") or [{}]
    subject_shown = sum(d < SHOWN_BELOW for d in found["subject_face"])
    plate_frames = max(manifest.counts.get(kind, {}).get("frames", 0) for kind in ("plate", "text"))
    expected = window_frames()
    checks = {
        f"frame count is the window's ({manifest.frames_out}, expected {expected})":
            manifest.frames_out == found["frames"] == expected,
        "audio dropped": not audio and manifest.side_channels.get("audio") == "dropped",
        "location, time and device tags dropped": not set(DEMO_TAGS) & tags,
        f"subject kept visible: her face unchanged in {subject_shown} of {found['frames']} frames "
        f"(manifest: {kept[0].get('frames_shown', 0)} shown)": subject_shown >= 0.8 * max(1, found["frames"]),
        f"bystander faces obscured in every frame (least change {min(found['bystander_faces'], default=0):.0f})":
            bool(found["bystander_faces"]) and min(found["bystander_faces"]) > CHANGED_ABOVE,
        f"privacy zone obscured in every frame (least change {min(found['privacy_zone'], default=0):.0f})":
            bool(found["privacy_zone"]) and min(found["privacy_zone"]) > CHANGED_ABOVE,
        # The drawn car is no vehicle to the detectors: its plate is found as text on no vehicle.
        f"plate obscured ({plate_frames} frames, as a plate or as text on no vehicle)":
            plate_frames >= 0.8 * max(1, manifest.frames_out),
        "manifest signed and matches the clip": verification.ok,
    }
    print(f"input:    {src}\noutput:   {dst}\nmanifest: {manifest_path(dst)}\nreview:   {sheet}")
    print("verify:")
    for line in verification.summary or verification.problems:
        print(f"  {line}")
    print("checks:")
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'FAIL'}] {name}")
    sys.stdout.flush()
    return all(checks.values())
