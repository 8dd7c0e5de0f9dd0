"""One thread budget (`redact.core.threads`): real codecs and real sessions, sized to the process's share."""
import os
import subprocess
import sys
from fractions import Fraction

import pytest
from media import write_video

from redact.core.policy import Policy
from redact.core.threads import ThreadBudget, available_cores, budget
from redact.core.zones import Zone
from redact.jobs.files import redact_video
from redact.media.video import VideoReader, VideoWriter


def thread_names() -> list:
    names = []
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/comm") as comm:
                names.append(comm.read().strip())
        except OSError:  # the thread ended meanwhile
            continue
    return names


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through Linux's /proc")
def test_a_redaction_decodes_without_a_decoder_pool(tmp_path):
    """FFmpeg's H.264 decoder would start one thread per core plus one ('av:h264:df0'...)
    beside the networks' threads; under the budget it decodes in its own stage's thread."""
    src = tmp_path / "in.mp4"
    write_video(src, frames=24, size=(320, 240))
    seen: list = []
    redact_video(src, tmp_path / "out.mp4", Policy(kinds=(), zones=(Zone(0.5, 0.5, 0.5, 0.5),)),
                 progress=lambda n: seen.extend(thread_names()))
    assert seen and not [n for n in seen if n.startswith("av:")]


def test_the_decoder_takes_one_thread_and_x264_its_own(tmp_path):
    src = tmp_path / "in.mp4"
    write_video(src, frames=2)
    with VideoReader(src) as reader:
        assert reader._stream.thread_count == budget().decoder == 1
    writer = VideoWriter(tmp_path / "out.mp4", 96, 64, Fraction(1, 30), Fraction(30))
    try:
        assert writer._stream.codec_context.thread_count == budget().encoder == 0
    finally:
        writer.abort()


def test_networks_run_on_the_process_share(tmp_path):
    """ONNX Runtime would size its pool to the machine whatever else runs; the session gets
    the budget's network threads and no inter-op pool. OpenCV's pool is sized with it."""
    pytest.importorskip("onnxruntime")
    import cv2

    from redact.detectors import build_detectors
    from redact.detectors.models import is_installed, model_path
    from redact.detectors.runtime import OnnxNet

    if not is_installed("centerface"):
        pytest.skip("model centerface not in the cache; run `redact models fetch centerface`")
    options = OnnxNet(model_path("centerface"), "onnxruntime", any_size=True)._session.get_session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (budget().networks, 1)
    cv2.setNumThreads(7)
    build_detectors(())
    assert cv2.getNumThreads() == budget().networks


def test_jobs_share_the_cores():
    assert ThreadBudget.for_cores(2, processes=2) == ThreadBudget(networks=1, lanes=1, decoder=1, encoder=0)
    assert ThreadBudget.for_cores(1, processes=4).networks == 1
    assert budget() == ThreadBudget.for_cores(available_cores())


def test_two_cores_run_two_lanes_of_one_thread():
    """On two cores, one call on both threads waits on whichever was preempted; two lanes of
    one thread each keep both busy (`redact.core.threads`)."""
    assert ThreadBudget.for_cores(2) == ThreadBudget(networks=1, lanes=2, decoder=1, encoder=0)
    assert ThreadBudget.for_cores(1).lanes == 1


def test_a_jobs_worker_takes_its_share():
    """A ``--jobs N`` worker process sets its budget before it builds a detector."""
    code = ("from redact.jobs.batch import _worker_init; from redact.core.threads import budget, available_cores; "
            "import cv2; _worker_init(2); "
            "from redact.core.threads import ThreadBudget; "
            "print(budget().networks, ThreadBudget.for_cores(available_cores(), 2).networks, cv2.getNumThreads())")
    got, want, opencv = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                       check=True).stdout.split()
    assert got == want == opencv
