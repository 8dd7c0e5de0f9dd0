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
