"""One thread budget for a redaction process: the networks, OpenCV, the decoder and the encoder.

A video job runs three stages at once, each in its own thread (`redact.jobs.files`): decode, detect
(with track, policy and obscure) and encode. Left to themselves, every library sizes its own
pool to the machine: ONNX Runtime and OpenCV one thread per core each, the H.264 decoder one
per core plus one, x264 one and a half per core plus its look-ahead threads. On 2 cores that is
a dozen threads wanting the CPU whenever the stages overlap, and each pool's threads wait on
the slowest of them, which the others have preempted.

The budget gives each its share instead. Detection is most of the work (80-95% of a frame's
busy time in every profile, `redact bench`). Its detectors run in two *lanes* where there are
two cores to a process (`redact.detectors.detect_all`: the pieces of a frame's detection that
wait for nothing, longest first, `redact.detectors.lanes`), each network call on one thread.
A call on two intra-op threads waits, operator by operator, for whichever of them the decoder,
the encoder or another process has preempted. Measured on ``balanced`` at 720p
(people walking at the camera, 105 frames, three pairs in one run, the machine shared with
another agent's load of 6-8): networks on one thread each in two lanes against two threads
in one lane, 0.93x the CPU time and 0.98x the wall time (0.84-1.08); one thread against
two, both in one lane, 0.92x the CPU time. A loaded machine has no idle core for the second
lane, so its wall-time gain there is nil; the CPU saved is what holds. OpenCV's pool
serves the lanes' threads too (its ``cv2.dnn`` networks and resizes), so it gets the
networks' count. The decoder takes one thread: a single core decodes faster than any
profile detects, and FFmpeg's own pool (one per core plus one) only crowds out the network
that holds everyone up. The encoder keeps x264's own threads:
measured on ``fast`` at 720p (people walking at the camera, 105 frames, three pairs against the
library defaults in one run), x264 on one thread made the whole run 1.08x slower (two runs),
while the decoder on one thread and x264's own pool made it 0.86x (cpu 0.88x): x264's frame
threads mostly wait on each other, and one thread alone fell behind on the frames between
detections.
"""
from __future__ import annotations

import os
from dataclasses import dataclass


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, which containers and ``taskset`` set)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows: no affinity call
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ThreadBudget:
    """Threads each part of a redaction may use.

    Parameters
    ----------
    networks : int
        Threads of one network call (ONNX Runtime intra-op, LiteRT) and of OpenCV's pool.
    lanes : int
        Detectors running side by side on one frame (`redact.detectors.detect_all`), each
        network call of theirs on ``networks`` threads.
    decoder : int
        Threads of the video decoder.
    encoder : int
        Threads of the encoder; 0 leaves the count to x264 (see above).
    """

    networks: int
    lanes: int = 1
    decoder: int = 1
    encoder: int = 0

    @classmethod
    def for_cores(cls, cores: int, processes: int = 1) -> "ThreadBudget":
        """The budget of one of ``processes`` redactions sharing ``cores`` (``--jobs``): two
        lanes where the share is two cores or more, the share split between them.

        >>> [(b.networks, b.lanes) for b in (ThreadBudget.for_cores(2), ThreadBudget.for_cores(1))]
        [(1, 2), (1, 1)]
        >>> [(b.networks, b.lanes) for b in (ThreadBudget.for_cores(4), ThreadBudget.for_cores(8, processes=3))]
        [(2, 2), (1, 2)]
        """
        share = max(1, cores // max(1, processes))
        lanes = min(2, share)
        return cls(networks=max(1, share // lanes), lanes=lanes)


_budget: ThreadBudget | None = None


def budget() -> ThreadBudget:
    """This process's budget: `set_processes`'s, else one process on `available_cores`."""
    global _budget
    if _budget is None:
        _budget = ThreadBudget.for_cores(available_cores())
    return _budget


def set_processes(processes: int) -> ThreadBudget:
    """Share the cores with ``processes`` redactions in all (this one included), such as the
    worker processes of ``--jobs``; call before any detector is built. OpenCV's pool is
    process-wide, so it is set here."""
    global _budget
    _budget = ThreadBudget.for_cores(available_cores(), processes)
    apply_opencv()
    return _budget


def apply_opencv() -> None:
    """Size OpenCV's process-wide pool to the networks' share (called when detectors are built)."""
    import cv2

    if cv2.getNumThreads() != budget().networks:
        cv2.setNumThreads(budget().networks)
