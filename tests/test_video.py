"""Real files through the real codec: timing, rotation, side channels, images, safe output."""
import threading
from fractions import Fraction

import av
import numpy as np
import pytest
from media import jpeg_with_exif, pattern, read_video, write_video
from scenes import ScriptedFaces

from redact.core.policy import Method, Policy, Style
from redact.core.profile import Profile
from redact.core.types import Kind, Regions
from redact.core.zones import Zone
from redact.detectors.plates import PlateDetector
from redact.jobs.files import RedactionIncomplete, redact_image, redact_video
from redact.media.images import read_image
from redact.media.safeio import UsageError, sha256_file
from redact.pipeline.redactor import Redactor
from redact.record.manifest import Manifest, manifest_path
from redact.record.signing import device_key, input_tag

ZONE = Zone(0.5, 0.5, 0.5, 0.5)  # bottom-right quarter
NO_DETECTORS = Policy(kinds=(), zones=(ZONE,))


def assert_same_timing(src, dst):
    frames_in, times_in, _ = read_video(src)
    frames_out, times_out, _ = read_video(dst)
    assert len(frames_out) == len(frames_in)
    assert times_out == times_in
    return frames_in, frames_out


@pytest.mark.parametrize("suffix, codec, pix_fmt, fmt", [
    (".mp4", "libx264", "yuv420p", None),
    (".mkv", "libx265", "yuv420p", None),
    (".avi", "mpeg4", "yuv420p", None),
    (".mov", "mjpeg", "yuvj420p", None),
    (".webm", "libvpx-vp9", "yuv420p", None),
])
def test_containers_and_codecs_keep_every_frame_and_timestamp(tmp_path, suffix, codec, pix_fmt, fmt):
    src = tmp_path / f"in{suffix}"
    write_video(src, frames=24, codec=codec, pix_fmt=pix_fmt, fmt=fmt)
    dst = tmp_path / "out.mp4"
    manifest = redact_video(src, dst, NO_DETECTORS)
    frames_in, frames_out = assert_same_timing(src, dst)
    assert manifest.frames_in == manifest.frames_out == len(frames_in)
    h, w = frames_in[0].shape[:2]
    for a, b in zip(frames_in, frames_out):
        # Above the zone and its padding only codec noise differs; inside, the content is gone.
        outside = np.abs(a[: h // 2 - 8].astype(int) - b[: h // 2 - 8]).mean()
        inside = np.abs(a[h // 2 + 2:, w // 2 + 2:].astype(int) - b[h // 2 + 2:, w // 2 + 2:]).mean()
        assert outside < 8 and inside > 20
    with av.open(str(dst)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"


def test_ntsc_rate_does_not_drift(tmp_path):
    src = tmp_path / "ntsc.mp4"
    write_video(src, frames=120, rate=Fraction(30000, 1001))
    manifest = redact_video(src, tmp_path / "out.mp4", NO_DETECTORS)
    frames_in, _ = assert_same_timing(src, tmp_path / "out.mp4")
    assert manifest.timing["fps"] == Fraction(30000, 1001)


def test_variable_frame_rate_kept(tmp_path):
    tb = Fraction(1, 1000)
    pts = [0, 33, 50, 120, 130, 400, 433, 466, 900, 1000]
    src = tmp_path / "vfr.mkv"
    write_video(src, frames=len(pts), codec="libx264", pts=pts, time_base=tb, fmt="matroska")
    redact_video(src, tmp_path / "out.mp4", NO_DETECTORS)
    _, times_out, _ = read_video(tmp_path / "out.mp4")
    assert times_out == [Fraction(p, 1000) for p in pts]


def test_rotation_is_applied_to_pixels(tmp_path):
    src = tmp_path / "rot.mp4"
    write_video(src, frames=5, size=(96, 64), rotation=90)
    redact_video(src, tmp_path / "out.mp4", Policy(kinds=()))
    frames, _, _ = read_video(tmp_path / "out.mp4")
    with av.open(str(tmp_path / "out.mp4")) as c:
        first = next(c.decode(video=0))
        assert not first.rotation
    assert frames[0].shape[:2] == (96, 64)
    # FFmpeg's display matrix turns counter-clockwise: the white top-left block ends bottom-left.
    assert frames[0][-5:, :5].mean() > 240 and frames[0][:5, :5].mean() < 240


def test_odd_and_tiny_sizes(tmp_path):
    for size in [(33, 17), (2, 2), (1, 1)]:
        src = tmp_path / f"odd{size[0]}.mkv"
        write_video(src, frames=6, size=size, codec="ffv1", pix_fmt="yuv444p", fmt="matroska")
        dst = tmp_path / f"odd{size[0]}.mp4"
        redact_video(src, dst, NO_DETECTORS)
        frames, times, _ = read_video(dst)
        assert len(frames) == 6
        # 4:2:0 needs even sizes: padded by repeating the edge, never cropped.
        assert frames[0].shape[:2] == (size[1] + size[1] % 2, size[0] + size[0] % 2)


TAGS = {"location": "+51.5007-000.1246/", "creation_time": "2026-11-28T08:15:00Z", "title": "front door",
        "com.apple.quicktime.make": "Cam", "com.apple.quicktime.model": "X1"}


def test_side_channels_dropped_by_default(tmp_path):
    src = tmp_path / "tagged.mov"
    write_video(src, frames=30, audio=True, tags=TAGS)
    dst = tmp_path / "out.mp4"
    manifest = redact_video(src, dst, NO_DETECTORS)
    _, _, info = read_video(dst)
    assert info["types"] == ["video"]
    assert not set(TAGS) & set(info["tags"]) and "encoder" not in info["tags"]
    data = dst.read_bytes()
    for needle in (b"51.5007", b"front door", b"x264", b"Lavf", b"Lavc", b"Cam"):
        assert needle not in data
    with av.open(str(dst)) as c:
        assert "encoder" not in c.streams.video[0].metadata
    assert manifest.side_channels["audio"] == "dropped"
    assert manifest.side_channels["container_tags"]["location"] >= 1


def test_side_channels_kept_on_request(tmp_path):
    src = tmp_path / "tagged.mov"
    write_video(src, frames=30, audio=True, tags=TAGS)
    dst = tmp_path / "out.mp4"
    redact_video(src, dst, Policy(kinds=(), keep_audio=True, keep_metadata=True))
    _, _, info = read_video(dst)
    assert info["types"] == ["video", "audio"]
    assert info["tags"].get("title") == "front door"
    with av.open(str(dst)) as c:
        assert c.streams.audio[0].frames > 0


def test_png_in_png_out_identical_outside(tmp_path):
    import cv2

    rgb = pattern(3, 61, 47)
    src = tmp_path / "still.png"
    cv2.imwrite(str(src), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    dst = tmp_path / "out.png"
    exact = ((None, Style(padding=0, feather=0)),)
    redact_image(src, dst, Policy(kinds=(), zones=(Zone(10, 10, 20, 15),), styles=exact))
    out = read_image(dst)
    outside = np.ones(rgb.shape[:2], bool)
    outside[10:25, 10:30] = False
    np.testing.assert_array_equal(out[outside], rgb[outside])
    assert (out[10:25, 10:30] != rgb[10:25, 10:30]).any(axis=2).mean() > 0.8


def test_jpeg_exif_gps_removed_and_orientation_applied(tmp_path):
    rgb = pattern(0, 80, 40)
    src = tmp_path / "photo.jpg"
    src.write_bytes(jpeg_with_exif(rgb, orientation=6))  # 6: display rotated 90 degrees clockwise
    assert b"GPSMARKER" in src.read_bytes()
    dst = tmp_path / "out.jpg"
    redact_image(src, dst, Policy(kinds=()))
    data = dst.read_bytes()
    assert b"Exif" not in data and b"GPSMARKER" not in data and b"http://ns.adobe.com/xap" not in data
    out = read_image(dst)
    assert out.shape[:2] == (80, 40)
    assert out[:5, -5:].mean() > 230  # the white top-left block, turned clockwise, is top-right


def test_never_overwrites_input_or_existing_output(tmp_path):
    src = tmp_path / "in.mp4"
    write_video(src, frames=5)
    before = sha256_file(src)
    with pytest.raises(UsageError, match="is the input"):
        redact_video(src, src, NO_DETECTORS, overwrite=True)
    link = tmp_path / "link.mp4"
    link.hardlink_to(src)
    with pytest.raises(UsageError, match="is the input"):
        redact_video(src, link, NO_DETECTORS, overwrite=True)
    existing = tmp_path / "exists.mp4"
    existing.write_bytes(b"keep me")
    with pytest.raises(UsageError, match="--overwrite"):
        redact_video(src, existing, NO_DETECTORS)
    assert existing.read_bytes() == b"keep me" and sha256_file(src) == before
    redact_video(src, existing, NO_DETECTORS, overwrite=True)
    assert existing.read_bytes() != b"keep me"


def test_corrupt_input_leaves_nothing(tmp_path):
    src = tmp_path / "broken.mp4"
    write_video(src, frames=30)
    data = bytearray(src.read_bytes())
    src.write_bytes(bytes(data[: len(data) // 3]))  # truncated mid-stream: no moov atom
    dst = tmp_path / "out.mp4"
    with pytest.raises(Exception):
        redact_video(src, dst, NO_DETECTORS)
    assert list(tmp_path.iterdir()) == [src]


class _Broken:
    kinds = (Kind.FACE,)
    models = ()

    def __init__(self, fail_on):
        self.fail_on, self.calls = fail_on, 0

    def detect(self, frame):
        self.calls += 1
        if self.calls - 1 in self.fail_on:
            raise RuntimeError("model crashed")
        return Regions.empty()


def test_detector_failure_obscures_whole_frame_and_flags_it(tmp_path):
    # Two glitches in 200 frames (1%) are tolerated: those frames go out obscured whole.
    src = tmp_path / "in.mkv"
    write_video(src, frames=200, size=(32, 24), codec="ffv1", pix_fmt="yuv444p", fmt="matroska")
    dst = tmp_path / "out.mp4"
    style = ((None, Style(method=Method.FILL, color=(0, 0, 0))),)
    # Every frame detected, so the failing calls are frames 2 and 5.
    manifest = redact_video(src, dst, Policy(kinds=(), styles=style, lookahead_seconds=0, detect_every=1),
                            detectors=[_Broken({2, 5})])
    frames, _, _ = read_video(dst)
    assert [f["frame"] for f in manifest.flagged_frames] == [2, 5]
    for i, frame in enumerate(frames):
        assert (frame.max() < 20) == (i in (2, 5))


@pytest.mark.parametrize("fail_on", [set(range(10)), {0, 4}])
def test_file_with_many_unanalysed_frames_fails_and_writes_nothing(tmp_path, fail_on):
    """A detector that fails on every frame (or on 2 of 10) yields no output: an all-black
    clip reported as redacted would hide that nothing was analysed."""
    src = tmp_path / "in.mp4"
    write_video(src, frames=10)
    dst = tmp_path / "out.mp4"
    with pytest.raises(RedactionIncomplete, match=r"frames could not be analysed.*model crashed"):
        redact_video(src, dst, Policy(kinds=()), detectors=[_Broken(fail_on)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def _walker(call):
    """A face crossing the frame, found on most calls: tracks, holds and look-ahead get work."""
    if call % 7 == 3:  # missed now and then: the hold covers the gap
        return Regions.empty()
    x = 2.0 * call
    return Regions.from_boxes([[x, 10, x + 20, 34]], kind=Kind.FACE, score=0.9)


def test_a_file_job_writes_the_frames_the_streaming_redactor_makes(tmp_path, monkeypatch):
    """The file job obscures on its encoder's thread, off the detection's critical path:
    frame for frame it writes what `Redactor.push` makes on one thread (same detections,
    hold, look-ahead and noise), and the analysis thread never obscures."""
    from redact.media.video import VideoReader, VideoWriter
    from redact.pipeline import redactor as stream
    from redact.pipeline.redactor import Redactor

    src = tmp_path / "in.mkv"
    write_video(src, frames=40, size=(96, 64), codec="ffv1", pix_fmt="yuv444p", fmt="matroska")
    policy = Policy(kinds=(Kind.FACE,), detect_every=1, lookahead_seconds=0.2)
    written, threads = [], set()
    write, obscure = VideoWriter.write, stream.obscure

    def spy_write(self, rgb, pts):
        written.append(rgb.copy())
        return write(self, rgb, pts)

    def spy_obscure(*args, **kwargs):
        threads.add(threading.current_thread().name)
        return obscure(*args, **kwargs)

    monkeypatch.setattr(VideoWriter, "write", spy_write)
    monkeypatch.setattr(stream, "obscure", spy_obscure)
    redact_video(src, tmp_path / "out.mp4", policy, detectors=[ScriptedFaces(_walker)], seed=11)
    assert threads == {"redact-encode"}

    redactor = Redactor(policy, fps=Fraction(30), detectors=[ScriptedFaces(_walker)], seed=11)
    with VideoReader(src) as reader:
        expected = [done.rgb for item in reader for done in redactor.push(item.rgb)] + \
            [done.rgb for done in redactor.flush()]
    assert len(written) == len(expected) == 40
    assert all(np.array_equal(a, b) for a, b in zip(written, expected))
    assert any((a != f).any() for a, f in zip(expected, read_video(src)[0]))  # something was obscured


def test_an_obscuring_fault_fails_the_file_and_writes_nothing(tmp_path, monkeypatch):
    """Obscuring runs on the encoder's thread: a fault there stops the whole job (no hang),
    is raised to the caller, and leaves no output or manifest."""
    from redact.pipeline import redactor as stream

    src = tmp_path / "in.mp4"
    write_video(src, frames=30)
    obscure, calls = stream.obscure, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("kernel fault")
        return obscure(*args, **kwargs)

    monkeypatch.setattr(stream, "obscure", failing)
    with pytest.raises(RuntimeError, match="kernel fault"):
        redact_video(src, tmp_path / "out.mp4", NO_DETECTORS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_manifest_is_content_free_and_matches_files(tmp_path):
    src = tmp_path / "123 Main Street 2026-11-28.mp4"
    write_video(src, frames=10, tags=TAGS)
    dst = tmp_path / "out.mp4"
    redact_video(src, dst, NO_DETECTORS)
    text = manifest_path(dst).read_text()
    manifest = Manifest.read(manifest_path(dst))
    assert manifest.schema == "redact.manifest/1"
    assert manifest.input_hmac == input_tag(device_key(), sha256_file(src), sha256_file(dst))
    assert manifest.output_sha256 == sha256_file(dst)
    assert sha256_file(src) not in text  # the plain input hash would link clips of one recording
    assert manifest.frames_in == manifest.frames_out == 10
    assert manifest.counts["other"]["frames"] == 10
    for leak in ("Main Street", "51.5007", "front door", "2026-11-28T"):
        assert leak not in text
    assert len(text) < 20000


def test_streaming_redactor_copes_with_reused_buffers():
    """A camera app overwrites one buffer for every frame; the look-ahead must not care."""
    from redact.pipeline.redactor import Redactor

    style = ((None, Style(method=Method.FILL, padding=0, feather=0)),)
    redactor = Redactor(Policy(kinds=(), zones=(Zone(0, 0, 4, 4),), styles=style, lookahead_seconds=0.1),
                        fps=30)
    buffer = np.zeros((8, 8, 3), np.uint8)
    done = []
    for i in range(10):
        buffer[:] = 10 + i
        done += redactor.push(buffer)
    done += redactor.flush()
    assert [d.index for d in done] == list(range(10))
    for d in done:
        assert d.rgb[6, 6, 0] == 10 + d.index and d.rgb[0, 0, 0] == 0
    assert buffer[0, 0, 0] == 19  # the caller's frame is never written


def test_a_frame_handed_over_waits_in_the_look_ahead_without_a_copy():
    """A file job's decoder makes a new array per frame and hands it over (``owned``): the
    look-ahead keeps that array and it is obscured in place, with no second frame per frame
    (6 MB allocated and copied at 1080p); the output is the same as with the copy."""
    from redact.pipeline.redactor import Redactor

    style = ((None, Style(method=Method.FILL, padding=0, feather=0)),)
    policy = Policy(kinds=(), zones=(Zone(0, 0, 4, 4),), styles=style, lookahead_seconds=0.1)
    handed, copied = Redactor(policy, fps=30), Redactor(policy, fps=30)
    frames = [np.full((8, 8, 3), 10 + i, np.uint8) for i in range(6)]
    out_handed, out_copied = [], []
    for frame in frames:
        out_handed += handed.analyse(frame, owned=True)
        out_copied += copied.analyse(frame.copy())
    out_handed += handed.analyse_end()
    out_copied += copied.analyse_end()
    assert [pending.rgb is frame for (pending, _), frame in zip(out_handed, frames)] == [True] * 6
    done = [handed.finish(*pair).rgb for pair in out_handed]
    assert all(d is frame for d, frame in zip(done, frames))  # obscured in place
    for d, pair in zip(done, out_copied):
        assert np.array_equal(d, copied.finish(*pair).rgb)


def test_a_redacted_clip_is_no_larger_than_its_input(tmp_path):
    # A thrifty input (crf 40) with a privacy zone over half of it: secure blur's grain and
    # crf 20 alone made such an output several times its input; the input's own rate caps it.
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_video(src, frames=300, size=(320, 240), options={"crf": "40"})
    manifest = redact_video(src, dst, Policy(kinds=(), zones=(Zone(0, 0, 0.5, 1),)))
    assert dst.stat().st_size <= 1.1 * src.stat().st_size
    assert Manifest.read(manifest_path(dst)).encoder == manifest.encoder
    assert manifest.encoder["max_bitrate"] == "the input's"


class _Grey76:
    """A face stand-in: the pixels of grey level 70-82 (the motion check cannot see them
    come in over a grey-90 background: `redact.pipeline.motion.DIFF_LEVEL`)."""

    kinds = (Kind.FACE,)
    models = ()

    def detect(self, frame):
        ys, xs = np.nonzero((np.abs(frame.astype(np.int16) - 76) <= 6).all(axis=2))
        if not len(xs):
            return Regions.empty()
        return Regions.from_boxes([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], kind=Kind.FACE)


@pytest.mark.parametrize("frames", [29, 30, 31])
def test_the_last_frame_is_always_analysed(tmp_path, frames):
    """`fast` detects every 3rd frame: a plate coming into view on a clip's last frame, off
    that schedule, stayed readable (no later detection to draw back over it). At the end of
    the stream the last frame is analysed whatever the schedule, and what it shows added:
    a face that shows on it only is obscured."""
    src, dst = tmp_path / "in.mkv", tmp_path / "out.mp4"
    with av.open(str(src), "w", format="matroska") as out:
        stream = out.add_stream("ffv1", rate=30)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv444p"
        for i in range(frames):
            rgb = np.full((64, 96, 3), 90, np.uint8)
            if i == frames - 1:
                rgb[20:44, 30:54] = 76
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    redact_video(src, dst, Policy(kinds=(Kind.FACE,), detect_every=3,
                                  styles=((None, Style(method=Method.FILL, color=(0, 0, 0))),)),
                 detectors=[_Grey76()])
    written, _, _ = read_video(dst)
    assert len(written) == frames
    assert written[-1][24:40, 34:50].max() < 30  # the face is filled black


class _Grey76Plates(PlateDetector):
    """A plate search stand-in: plates only, so the schedule runs it on every other
    detection of the faces (`redact.pipeline.redactor.plates_every`); grey-76 pixels are a plate."""

    kinds = (Kind.PLATE,)
    models = ()
    uses = ()
    views_every = 1

    def __init__(self):  # no network
        self.calls = 0

    def light(self):
        return self

    def early(self, frame):
        return []

    def detect(self, frame, context=None, early=None):
        self.calls += 1
        found = _Grey76().detect(frame)
        return Regions.from_boxes(found.xyxy, kind=Kind.PLATE) if len(found) else found


def test_the_plate_search_the_schedule_left_out_runs_on_the_last_frame():
    """A last frame the faces were looked for on, but not the plates (their search runs on
    every other detection): the plate search runs on it at the end, and the plate that shows
    there only is obscured (review of the end-of-stream analysis)."""
    plates = _Grey76Plates()
    redactor = Redactor(Policy(kinds=(Kind.FACE, Kind.PLATE), profile=Profile.FAST, detect_every=3), fps=30,
                        detectors=[_Broken(fail_on=()), plates])  # faces: none found
    out = []
    for i in range(10):  # detected on 0, 3, 6, 9; the plates searched on 0 and 6
        rgb = np.full((64, 96, 3), 90, np.uint8)
        if i == 9:
            rgb[20:44, 30:54] = 76
        out += redactor.push(rgb)
    out += redactor.flush()
    assert plates.calls == 3  # 0, 6 and the last frame
    assert (out[-1].regions.kind == Kind.PLATE).any()


def test_a_last_frame_whose_detector_failed_is_not_analysed_again():
    """A last frame the detectors failed on is obscured whole and flagged; the end of the
    stream does not run them on it again, nor count it twice."""
    broken = _Broken(fail_on={4})
    redactor = Redactor(Policy(kinds=(Kind.FACE,), detect_every=1), fps=30, detectors=[broken])
    out = [d for i in range(5) for d in redactor.push(np.full((64, 96, 3), 90, np.uint8))] + redactor.flush()
    assert broken.calls == 5 and len(out) == 5
    assert out[-1].flagged and redactor.stats.frames_out == 5
