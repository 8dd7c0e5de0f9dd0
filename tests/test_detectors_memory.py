"""Peak memory settings (issue 25): network sessions without per-shape memory patterns, all
drawing on one arena, and queues between the stages bounded in bytes as well as frames."""
from __future__ import annotations

import pytest

from redact.jobs.files import QUEUE_FRAMES, queue_frames


def test_sessions_plan_no_memory_pattern_per_input_shape():
    """The plate search's canvases and the recogniser's crops change shape every frame; a
    pattern kept per shape grew a 1080p run's peak by about 115 MB."""
    pytest.importorskip("onnxruntime")
    from redact.detectors.models import is_installed, model_path
    from redact.detectors.runtime import OnnxNet

    if not is_installed("ppocr_det_v4"):
        pytest.skip("model ppocr_det_v4 not in the cache; run `redact models fetch ppocr_det_v4`")
    options = OnnxNet(model_path("ppocr_det_v4"), "onnxruntime")._session.get_session_options()
    assert options.enable_mem_pattern is False
    assert options.enable_cpu_mem_arena is True  # without the arena the peak was higher still


def test_sessions_share_one_arena():
    """Each session's own arena held its network's largest call for the whole run (80 MB
    for CenterFace, 89 MB for the text network at 1080p); one arena serves them all."""
    pytest.importorskip("onnxruntime")
    from redact.detectors.models import is_installed, model_path
    from redact.detectors.runtime import OnnxNet

    names = ("centerface", "ppocr_det_v4")
    if not all(is_installed(name) for name in names):
        pytest.skip(f"models {names} not in the cache; run `redact models fetch {' '.join(names)}`")
    for name in names:
        options = OnnxNet(model_path(name), "onnxruntime", any_size=True)._session.get_session_options()
        assert options.get_session_config_entry("session.use_env_allocators") == "1"
        assert options.enable_cpu_mem_arena is True


def test_queues_hold_fewer_large_frames():
    assert queue_frames(1280, 720) == QUEUE_FRAMES
    assert queue_frames(1920, 1080) * 1920 * 1080 * 3 <= 24 << 20
    assert queue_frames(7680, 4320) == 2  # never fewer: decode and encode each keep one ahead


# Run in a fresh process: a video job, then an 8 MiB block freed and a 4 MiB one taken. glibc's
# moving threshold (raised to 8 MiB by that free) would serve the 4 MiB from a heap, where it
# stays once freed; with the threshold fixed it has a mapping of its own (mallinfo2's hblkhd).
_AFTER_A_VIDEO_JOB = """
import ctypes, sys
import redact
from redact.jobs.files import redact_video

redact_video(sys.argv[1], sys.argv[2], redact.Policy(kinds=(), zones=(redact.Zone(0, 0, 0.5, 0.5),)))

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                    "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.free(libc.malloc(8 << 20))
before = libc.mallinfo2().hblkhd
block = libc.malloc(4 << 20)
print(libc.mallinfo2().hblkhd - before >= 4 << 20)
libc.free(block)
"""


def test_a_video_job_hands_freed_frames_back_to_the_system(tmp_path):
    """Frame-sized buffers freed by the decode, detection and encode threads stayed in their
    heaps, scattered (118 MB of a 1080p run's peak of 951 MB)."""
    import platform
    import subprocess
    import sys

    from media import write_video

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("the mmap threshold is glibc's")
    clip = tmp_path / "in.mp4"
    write_video(clip, frames=5)
    done = subprocess.run([sys.executable, "-c", _AFTER_A_VIDEO_JOB, str(clip), str(tmp_path / "out.mp4")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True"]
