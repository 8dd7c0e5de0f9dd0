"""The thread harness of a video job: decode, processing and encode run as `Stage` threads
joined by bounded queues; a stage that fails stops the others instead of deadlocking them."""
from __future__ import annotations

import queue
import threading

#: What `get` returns once the job is being stopped.
END = object()


class Stage(threading.Thread):
    """A thread that runs ``work``; on failure it keeps the exception and stops the job."""

    def __init__(self, work, name, stop: threading.Event):
        super().__init__(name=name, daemon=True)
        self._work = work
        self._halt = stop
        self.error = None

    def run(self):
        try:
            self._work()
        except BaseException as exc:  # re-raised in the calling thread
            self.error = exc
            self._halt.set()


def put(q: queue.Queue, item, stop: threading.Event) -> bool:
    """Put unless the job is being stopped (so a failed stage never deadlocks the others)."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def get(q: queue.Queue, stop: threading.Event):
    """The next item, or `END` once the job is being stopped."""
    while not stop.is_set():
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            continue
    return END
