"""A batch's tasks run here, one after another or in ``--jobs`` worker processes."""
from __future__ import annotations

import os
import time
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor, as_completed

from ..core.threads import set_processes
from ..detectors import WORKER_CACHE
from ..media.safeio import record_committed, request_stop, stop_requested
from ..record.manifest import manifest_path
from .options import JobOptions
from .tasks import BatchPlan, Outcome, Task, one_line, process_limit, run_one

#: In a worker process: whether a file is being redacted now (decides what SIGTERM does).
_worker_busy = False


def _worker_init(jobs: int = 1) -> None:
    """In each worker process: die with the parent, unwind (deleting temporaries) on SIGTERM,
    and take one of ``jobs`` shares of the cores (`redact.core.threads`)."""
    import signal

    set_processes(jobs)
    signal.signal(signal.SIGTERM, _worker_terminate)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    _die_with_parent()


def _worker_terminate(signum, frame):
    if stop_requested():
        # Already unwinding: a parent's death sends SIGTERM twice (the kernel's, then the
        # watch thread's a second later), and the clean-up must not be interrupted. (The
        # second handler once ran inside the first, both in `request_stop`, when that took a
        # lock: the worker deadlocked for good; see `redact.media.safeio.request_stop`.)
        return
    if _worker_busy:
        request_stop()  # no commit even if C code swallows the exception below
        raise KeyboardInterrupt(f"signal {signum}")  # unwinds: the file's temporaries are deleted
    os._exit(128 + signum)  # idle: nothing to clean, and no further task may start


def _run_in_worker(task: Task, policy, options: JobOptions, force: bool) -> Outcome:
    """One file in a ``--jobs`` worker process, with the detectors it built for its first file."""
    global _worker_busy
    _worker_busy = True
    try:
        try:
            detectors = WORKER_CACHE.get(policy, options.models_dir)
        except Exception as exc:  # a missing model fails the file with its fix
            return Outcome(task.src, task.dst, "failed", one_line(exc))
        return run_one(task, policy, options, force, detectors=detectors)
    except KeyboardInterrupt:
        os._exit(143)  # cleaned up on the way here; take no queued task after a stop
    finally:
        _worker_busy = False


def _die_with_parent() -> None:
    """Ask the kernel to send SIGTERM when the parent dies (Linux); elsewhere, a thread
    that watches the parent's pid. A worker must never redact on for a dead batch."""
    import threading

    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, 15)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), 15)

    def watch():

        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), 15)

    threading.Thread(target=watch, name="redact-parent-watch", daemon=True).start()


def _note_unreported_commits(tasks, outcomes, since_ns: int) -> None:
    """Record (`record_committed`) the outputs that workers renamed into place during this
    batch but whose outcome never reached it (stopped in between), so a stop names them."""
    reported = {o.src for o in outcomes}
    for task in tasks:
        if task.src in reported:
            continue
        try:  # written by this batch: renamed from a temporary made after it started
            if min(os.stat(task.dst).st_mtime_ns, os.stat(manifest_path(task.dst)).st_mtime_ns) >= since_ns:
                record_committed(task.dst)
        except OSError:
            continue


def run(plan_: BatchPlan, policy, *, options: JobOptions, jobs: int = 1, force: bool = False,
        on_done=None, progress_factory=None, detectors=None) -> list[Outcome]:
    """Redact every task; returns one `Outcome` per task, failures included.

    Outputs already complete (output and manifest matching this input and these settings)
    are skipped unless ``force``. ``options`` go to `redact.jobs.files.redact_file`.
    ``progress_factory(task)`` returns a per-file callable with a ``close()``, and
    ``detectors``, built here, serve every file (one process only; worker processes build
    their own). An interrupt (Ctrl-C, SIGTERM) cancels the files not yet started
    and stops the running ones, which delete their temporaries. ``jobs`` processes at most:
    fewer when `process_limit` says so. `redact.jobs.cluster.run` does the same on a Dask cluster.
    """
    jobs = process_limit(jobs, len(plan_.tasks))[0] if jobs > 1 else 1
    if jobs <= 1:
        outcomes = []
        for task in plan_.tasks:
            outcomes.append(run_one(task, policy, options, force, progress_factory, detectors=detectors))
            if on_done:
                on_done(outcomes[-1])
        return outcomes
    # Processes, not threads: each file's decode, detect and encode stay on their own core.
    outcomes = []
    started = time.time_ns()
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init, initargs=(jobs,))
    try:
        futures = {pool.submit(_run_in_worker, task, policy, options, force): task for task in plan_.tasks}
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except BrokenExecutor:
                # A worker died (killed, out of memory): its file and any not yet done are
                # failures of this run, reported as such; what finished stands.
                task = futures[future]
                outcome = Outcome(task.src, task.dst, "failed", "a worker process died (killed or out of "
                                  "memory) while redacting it; run again, with fewer --jobs")
            if outcome.status == "redacted":  # committed in the worker: complete whatever comes next
                record_committed(outcome.dst)
            outcomes.append(outcome)
            if on_done:
                on_done(outcomes[-1])
    except BaseException:
        # The executor has no public way to stop running tasks; its worker processes are
        # told to unwind (SIGTERM: temporaries deleted) and reaped before we return. Taken
        # before shutdown, which forgets them.
        workers = list((pool._processes or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.join(10)
            if worker.is_alive():
                worker.kill()
        _note_unreported_commits(plan_.tasks, outcomes, started)
        raise
    pool.shutdown(wait=True)
    order = {t.src: i for i, t in enumerate(plan_.tasks)}
    return sorted(outcomes, key=lambda o: order[o.src])
