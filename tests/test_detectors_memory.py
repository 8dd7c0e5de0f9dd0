"""Peak memory settings (issue 25): network sessions without per-shape memory patterns, and
queues between the stages bounded in bytes as well as frames."""
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


def test_queues_hold_fewer_large_frames():
    assert queue_frames(1280, 720) == QUEUE_FRAMES
    assert queue_frames(1920, 1080) * 1920 * 1080 * 3 <= 24 << 20
    assert queue_frames(7680, 4320) == 2  # never fewer: decode and encode each keep one ahead
