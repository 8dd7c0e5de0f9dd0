"""Batch redaction on a Dask distributed cluster: one task per file, the local batch's outcomes.

Optional (``pip install "redactcam[cluster]"``): nothing else in `redact` imports this module
at import time, and it imports Dask only inside its functions. Each task is `redact.batch._run_one` on a worker,
so outputs, manifests, resume and failures are exactly the local batch's; the file system
holding inputs and outputs must be shared by every worker at the same path.

A worker killed mid-file (SIGKILL, out of memory) loses only its task: the scheduler gives
it to another worker, which takes the output's lock (released by the kernel when the holder
died), deletes the dead worker's temporaries and redoes the file. A file whose workers keep
dying is failed after `ALLOWED_FAILURES` deaths instead of being retried forever.
"""
from __future__ import annotations

import contextlib
import dataclasses
import socket

from . import __version__
from .batch import BatchPlan, Outcome, Task, _one_line, _run_one
from .detectors import WORKER_CACHE
from .safeio import UsageError

INSTALL = 'pip install "redactcam[cluster]"'
LOCAL = "local:"
#: Workers a file may be on when they die before it counts as failed (the scheduler's
#: ``allowed-failures``, set for ``local:N``; a scheduler started elsewhere keeps its own).
ALLOWED_FAILURES = 2


class ClusterUnavailable(UsageError):
    """Dask is not installed, or the cluster address is malformed or cannot be reached."""


def check_cluster(address: str) -> None:
    """Raise `ClusterUnavailable` (nothing written) unless ``address`` can be tried.

    ``address`` is a scheduler's (``tcp://host:8786``) or ``local:N`` for N worker processes
    on this machine.
    """
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ClusterUnavailable(f"--cluster needs Dask distributed, which is not installed: {INSTALL} "
                                 '(or pip install ".[cluster]" in a checkout)') from None
    if address.startswith(LOCAL):
        _local_workers(address)


def _local_workers(address: str) -> int:
    count = address[len(LOCAL):]
    if not count.isdigit() or int(count) < 1:
        raise ClusterUnavailable(f"--cluster {address}: expected a number of workers >= 1 after "
                                 f"{LOCAL!r} (e.g. local:2), or a scheduler address such as tcp://host:8786")
    return int(count)


def _redact_on_worker(task: Task, policy, options: dict, force: bool, version: str) -> Outcome:
    """One file on a worker: the local batch's `_run_one`, with this worker's cached detectors."""
    host = socket.gethostname()
    if version != __version__:
        # The manifest records the tool version, and resume compares it: mixed versions
        # would redo each other's files on every run.
        return Outcome(task.src, task.dst, "failed", f"worker {host} has redact {__version__}, this run "
                       f"{version}; install the same version on every worker")
    if not task.src.is_file():
        return Outcome(task.src, task.dst, "failed", f"{task.src} is not a file on worker {host}: inputs and "
                       "outputs must be on a file system every worker reaches at the same path")
    try:
        detectors = WORKER_CACHE.get(policy, options.get("models_dir"))
    except Exception as exc:  # a missing model fails the file with its fix, as in the local batch
        return Outcome(task.src, task.dst, "failed", f"on worker {host}: {_one_line(exc)}")
    return _run_one(task, policy, {**options, "detectors": detectors}, force)


@contextlib.contextmanager
def connect(address: str):
    """A Dask client for ``address`` (see `check_cluster`), closed (with a local cluster) on exit."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    if address.startswith(LOCAL):
        # One thread per worker: a file already runs decode, detect and encode in threads. The
        # scheduler's HTTP server would listen on every interface at 8787 even without a dashboard.
        local = {"n_workers": _local_workers(address), "threads_per_worker": 1, "processes": True,
                 "host": "127.0.0.1", "dashboard_address": "127.0.0.1:0", "silence_logs": logging.ERROR}
        with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}), \
                LocalCluster(**local) as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(address)
    except (OSError, ValueError) as exc:  # refused, timed out, or not an address
        raise ClusterUnavailable(f"--cluster {address}: cannot reach a Dask scheduler there ({_one_line(exc)}); "
                                 "start one with `dask scheduler`") from None
    with client:
        yield client


def run(plan_: BatchPlan, policy, *, address: str, options: dict, force: bool = False,
        on_done=None) -> list[Outcome]:
    """Redact every task of ``plan_`` on the cluster at ``address``; one `Outcome` per task.

    As `redact.batch.run`, with the work on the cluster's workers: ``options`` go to
    `redact.jobs.redact_file` on the worker (a ``models_dir`` is a path on the worker), and
    paths are sent absolute. An interrupt cancels the files not yet started; files already
    running on a worker finish there (Dask does not stop a running task) and a rerun skips them.
    """
    from distributed import as_completed

    if not plan_.tasks:  # nothing to send: no cluster to start or reach
        return []
    sent = [Task(t.src.absolute(), t.dst.absolute()) for t in plan_.tasks]
    outcomes = []
    with connect(address) as client:
        futures = {client.submit(_redact_on_worker, task, policy, options, force, __version__, pure=False): given
                   for task, given in zip(sent, plan_.tasks)}
        try:
            for future in as_completed(futures):
                outcomes.append(_outcome(future, futures[future]))
                if on_done:
                    on_done(outcomes[-1])
        except BaseException:
            client.cancel(list(futures))
            raise
    order = {t.src: i for i, t in enumerate(plan_.tasks)}
    return sorted(outcomes, key=lambda o: order[o.src])


def _outcome(future, task: Task) -> Outcome:
    """The task's `Outcome` under the paths as given, or the cluster's failure as one."""
    from distributed import KilledWorker

    try:
        return dataclasses.replace(future.result(), src=task.src, dst=task.dst)
    except KilledWorker:
        return Outcome(task.src, task.dst, "failed", "the workers redacting it died (killed or out of memory) "
                       "each time, and no output was written; run again, or give the workers more memory")
    except Exception as exc:  # the cluster's own failure (a worker without redact, a lost scheduler)
        return Outcome(task.src, task.dst, "failed", f"on the cluster: {_one_line(exc)}")
