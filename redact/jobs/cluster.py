"""Batch redaction on a Dask distributed cluster: one task per file, the local batch's outcomes.

Optional (``pip install "redactcam[cluster]"``): nothing else in `redact` imports this module
at import time, and it imports Dask only inside its functions. Each task is `redact.jobs.tasks.run_one` on a worker,
so outputs, resume and failures are exactly the local batch's; the file system holding inputs
and outputs must be shared by every worker at the same path.

Workers never sign. A worker leaves each finished output under its temporary name and returns
its unsigned manifest (`redact.jobs.seal.HandOff`); this process checks the output's hash, signs
with its own device key and commits the pair (`redact.jobs.seal.seal_handed_off`). So the device
key never leaves the machine running `redact`, and a stolen worker cannot sign anything.

A Dask client runs code that its scheduler and workers send back (results and errors are
unpickled), and a worker runs any function its scheduler gives it. So a cluster is reached
only over TLS with certificates from the cluster's own CA (`tls://`, which also proves to this
process that the scheduler is the user's), over ``tcp://`` on loopback, or over plain
``tcp://`` elsewhere when the user says ``--insecure-cluster``. ``local:N`` listens on
loopback only, with a throwaway certificate, so other users of the machine cannot join it.

A worker killed mid-file (SIGKILL, out of memory) loses only its task: the scheduler gives
it to another worker, which takes the output's lock (released by the kernel when the holder
died), deletes the dead worker's temporaries and redoes the file. A file whose workers keep
dying is failed after `ALLOWED_FAILURES` deaths instead of being retried forever.
"""
from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
import socket
from typing import Any
from urllib.parse import urlsplit

from .. import __version__
from ..detectors import WORKER_CACHE
from ..media.safeio import OutputBusyError, UsageError, sha256_file
from ..record.manifest import own_record
from ..record.signing import KeyFileError, device_key
from .options import JobOptions
from .seal import HandOff, seal_handed_off
from .tasks import BatchPlan, Outcome, Task, one_line, process_limit, run_one

INSTALL = 'pip install "redactcam[cluster]"'
LOCAL = "local:"
SCHEMES = ("tls", "tcp")
#: Workers a file may be on when they die before it counts as failed (the scheduler's
#: ``allowed-failures``, set for ``local:N``; a scheduler started elsewhere keeps its own).
ALLOWED_FAILURES = 2
#: A worker's outcome for a file it redacted and left for this process to sign and commit.
HANDED_OFF = "handed_off"
_HOW_TLS = "see README: Run on a cluster"


class ClusterUnavailable(UsageError):
    """Dask is not installed, or the cluster address is malformed, unsafe or cannot be reached."""


@dataclasses.dataclass(frozen=True)
class TLSFiles:
    """This client's side of a cluster's TLS, as PEM files; None takes Dask's configuration
    (``distributed.comm.tls.ca-file``, ``.client.cert``, ``.client.key``)."""

    ca_file: str | None = None
    cert: str | None = None
    key: str | None = None

    def given(self) -> bool:
        return any(v is not None for v in (self.ca_file, self.cert, self.key))


@dataclasses.dataclass(frozen=True)
class ClusterSpec:
    """A checked ``--cluster`` (see `cluster_spec`): ``local:N`` (``workers`` N) or a scheduler's
    address, with the Dask ``Security`` to reach it over TLS (None for ``tcp://``)."""

    address: str
    workers: int = 0
    security: Any = None

    @property
    def local(self) -> bool:
        return self.workers > 0


def cluster_spec(address: str, *, tls: TLSFiles = TLSFiles(), insecure: bool = False) -> ClusterSpec:
    """Check ``--cluster ADDRESS`` before anything is written; raise `ClusterUnavailable` if it cannot be tried.

    Parameters
    ----------
    address : str
        ``local:N`` (N worker processes on this machine) or a scheduler's ``tls://host:port``,
        or ``tcp://host:port`` (loopback, or anywhere with ``insecure``).
    tls : TLSFiles
        The cluster's CA and this client's certificate and key, for ``tls://``.
    insecure : bool
        Allow plain ``tcp://`` to another machine: anyone who can reach it can run code on
        the workers and, posing as the scheduler, on this machine.
    """
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ClusterUnavailable(f"--cluster needs Dask distributed, which is not installed: {INSTALL} "
                                 '(or pip install ".[cluster]" in a checkout)') from None
    if address.startswith(LOCAL):
        if tls.given() or insecure:
            raise ClusterUnavailable(f"--cluster {address} makes its own cluster on loopback with a throwaway "
                                     "certificate; --tls-* and --insecure-cluster apply to a scheduler's address only")
        return ClusterSpec(address, workers=_local_workers(address))
    scheme, host = _scheme_host(address)
    if scheme == "tcp":
        if tls.given():
            raise ClusterUnavailable(f"--cluster {address}: --tls-* files need a tls:// address (the scheduler "
                                     f"started with --protocol tls); {_HOW_TLS}")
        if not (insecure or _is_loopback(host)):
            raise ClusterUnavailable(f"--cluster {address}: plain tcp:// to another machine lets anyone who reaches "
                                     "it run code on the workers and, posing as the scheduler, here; use tls:// with "
                                     f"--tls-ca-file, --tls-cert and --tls-key ({_HOW_TLS}), or pass "
                                     "--insecure-cluster on a network only you use")
        return ClusterSpec(address)
    if insecure:
        raise ClusterUnavailable(f"--cluster {address}: --insecure-cluster applies to tcp:// addresses only")
    return ClusterSpec(address, security=_client_security(address, tls))


def _local_workers(address: str) -> int:
    count = address[len(LOCAL):]
    if not count.isdigit() or int(count) < 1:
        raise ClusterUnavailable(f"--cluster {address}: expected a number of workers >= 1 after "
                                 f"{LOCAL!r} (e.g. local:2), or a scheduler address such as tls://host:8786")
    return int(count)


def _scheme_host(address: str) -> tuple[str, str]:
    """The scheme and host of ``scheme://host:port``, or `ClusterUnavailable` saying what is wrong."""
    usage = "expected local:N or tls://HOST:PORT (tcp://HOST:PORT on loopback), e.g. tls://10.0.0.5:8786"
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError as exc:  # a port out of range or not a number, an unclosed [IPv6
        raise ClusterUnavailable(f"--cluster {address}: {exc}; {usage}") from None
    if "://" not in address:
        raise ClusterUnavailable(f"--cluster {address}: no scheme; {usage}")
    if parts.scheme not in SCHEMES:
        raise ClusterUnavailable(f"--cluster {address}: the {parts.scheme or 'empty'}:// scheme is not supported "
                                 f"(redact runs on tls:// or tcp:// schedulers); {usage}")
    if not parts.hostname or port is None or port == 0 or parts.path or parts.query or parts.username:
        raise ClusterUnavailable(f"--cluster {address}: not a host and port; {usage}")
    return parts.scheme, parts.hostname


def _is_loopback(host: str) -> bool:
    """Only names that cannot leave this machine; a host name is not resolved (DNS may lie)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _client_security(address: str, tls: TLSFiles):
    """Dask ``Security`` for this client from ``tls`` (else Dask's configuration), its files checked now."""
    from distributed.security import Security

    given = {name: value for name, value in (("tls_ca_file", tls.ca_file), ("tls_client_cert", tls.cert),
                                             ("tls_client_key", tls.key)) if value is not None}
    try:
        security = Security(require_encryption=True, **given)
    except ValueError as exc:  # Dask's own TLS configuration is malformed
        raise ClusterUnavailable(f"--cluster {address}: {one_line(exc)}") from None
    # Security's fields are __slots__, which the type checker does not see.
    ca_file, cert, key = (getattr(security, f"tls_{name}") for name in ("ca_file", "client_cert", "client_key"))
    if not ca_file or not cert:
        raise ClusterUnavailable(f"--cluster {address} needs the cluster's CA certificate and this machine's "
                                 "certificate and key: --tls-ca-file CA.pem --tls-cert CERT.pem --tls-key KEY.pem "
                                 f"(or Dask's distributed.comm.tls configuration); {_HOW_TLS}")
    for flag, path in (("--tls-ca-file", ca_file), ("--tls-cert", cert), ("--tls-key", key)):
        if path is not None and not os.path.isfile(path):
            raise ClusterUnavailable(f"--cluster {address}: {flag} {path} is not a file")
    try:
        security.get_connection_args("client")  # loads them: a wrong key or a non-PEM file fails here
    except (OSError, ValueError) as exc:
        raise ClusterUnavailable(f"--cluster {address}: the TLS files cannot be used ({one_line(exc)}); give "
                                 "PEM files: the cluster's CA, and a certificate it signed with its key") from None
    return security


def _redact_on_worker(task: Task, policy, options: JobOptions, force: bool, version: str) -> Outcome:
    """One file on a worker: `redact.jobs.tasks.run_one`, as in the local batch, with this worker's cached detectors;
    a finished output is handed off unsigned (status `HANDED_OFF`), for the client to seal."""
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
        detectors = WORKER_CACHE.get(policy, options.models_dir)
    except Exception as exc:  # a missing model fails the file with its fix, as in the local batch
        return Outcome(task.src, task.dst, "failed", f"on worker {host}: {one_line(exc)}")
    hand_off = HandOff()
    outcome = run_one(task, policy, options, force, detectors=detectors, seal=hand_off)
    if outcome.status == "redacted":
        return dataclasses.replace(outcome, status=HANDED_OFF, pending=hand_off.pending, record=hand_off.manifest,
                                   input_sha256=hand_off.input_sha256)
    return outcome


@contextlib.contextmanager
def connect(spec: ClusterSpec | str):
    """A Dask client for ``spec`` (see `cluster_spec`), closed (with a local cluster) on exit."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    spec = spec if isinstance(spec, ClusterSpec) else cluster_spec(spec)
    if spec.local:
        # Every port on loopback, and TLS with a certificate made for this run (Dask's
        # temporary Security): another machine reaches no port, and another user of this one
        # cannot join. The HTTP servers (health, metrics) are bound by address: without one,
        # Dask 2024.1 puts them on every interface. No scheduler dashboard. One thread per
        # worker: a file already runs decode, detect and encode in threads.
        loopback = "127.0.0.1:0"
        local = {"n_workers": spec.workers, "threads_per_worker": 1, "processes": True, "host": "127.0.0.1",
                 "protocol": "tls://", "security": True, "dashboard_address": loopback,
                 "scheduler_kwargs": {"dashboard": False}, "worker_dashboard_address": loopback,
                 "silence_logs": logging.ERROR}
        with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}), \
                LocalCluster(**local) as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(spec.address, security=spec.security)
    # Refused, timed out, a TLS handshake either side refused, or something that is not a
    # Dask scheduler answering (its bytes read as a length of exabytes: MemoryError).
    except Exception as exc:
        raise ClusterUnavailable(f"--cluster {spec.address}: cannot reach a Dask scheduler there "
                                 f"({one_line(exc)}); start one with `dask scheduler` ({_HOW_TLS})") from None
    with client:
        yield client


def run(plan_: BatchPlan, policy, *, address: ClusterSpec | str, options: JobOptions, force: bool = False,
        on_done=None) -> list[Outcome]:
    """Redact every task of ``plan_`` on the cluster at ``address``; one `Outcome` per task.

    As `redact.jobs.batch.run`, with the redaction on the cluster's workers and the signing and
    commit here: ``options`` go to `redact.jobs.files.redact_file` on the worker (a
    ``models_dir`` is a path on the worker), and paths are sent absolute. ``local:N`` starts
    no more workers than `redact.jobs.tasks.process_limit` allows. An interrupt cancels the files
    not yet started; files already running on a worker finish there (Dask does not stop a
    running task) unsigned, and a rerun redoes them.
    """
    from distributed import as_completed

    if not plan_.tasks:  # nothing to send: no cluster to start or reach
        return []
    spec = address if isinstance(address, ClusterSpec) else cluster_spec(address)
    if spec.local:
        spec = dataclasses.replace(spec, workers=process_limit(spec.workers, len(plan_.tasks))[0])
    sent = [Task(t.src.absolute(), t.dst.absolute()) for t in plan_.tasks]
    # The key signs every file here: an unusable one stops the run before any work.
    try:
        key = device_key()
    except KeyFileError as exc:
        raise UsageError(str(exc)) from None
    outcomes = []
    with connect(spec) as client:
        # Resume needs the input checked against the output's tag, which needs the key:
        # checked here, and a file whose output was not made from its input is redone.
        futures = {client.submit(_redact_on_worker, task, policy, options,
                                 force or not _made_from(task, key), __version__, pure=False):
                   (task, given) for task, given in zip(sent, plan_.tasks)}
        try:
            for future in as_completed(futures):
                task, given = futures[future]
                outcomes.append(_sealed(_outcome(future, given), task, policy, options.overwrite))
                if on_done:
                    on_done(outcomes[-1])
        except BaseException:
            client.cancel(list(futures))
            raise
    order = {t.src: i for i, t in enumerate(plan_.tasks)}
    return sorted(outcomes, key=lambda o: order[o.src])


def _made_from(task: Task, key) -> bool:
    """Whether ``task``'s output is ours and records its input (see `redact.record.manifest.OwnRecord`)."""
    own = own_record(task.dst)
    try:
        return own is not None and own.made_from(sha256_file(task.src), key)
    except OSError:  # the input went: the worker says so
        return False


def _sealed(outcome: Outcome, sent: Task, policy, overwrite: bool) -> Outcome:
    """A handed-off output checked, signed here and committed under ``sent.dst`` (see
    `redact.jobs.seal.seal_handed_off`): "redacted", or why not."""
    if outcome.status != HANDED_OFF:
        return outcome
    done = dataclasses.replace(outcome, pending=None, record=None)
    if outcome.pending is None or outcome.record is None:
        return dataclasses.replace(done, status="failed", error="the worker handed off no output; nothing was written")
    try:
        seal_handed_off(sent.src, sent.dst, outcome.pending, outcome.record, policy=policy,
                        input_sha256=outcome.input_sha256, overwrite=overwrite)
    except OutputBusyError as exc:
        return dataclasses.replace(done, status="busy", error=str(exc))
    except Exception as exc:  # a record that does not match, the device key unusable: the file fails
        return dataclasses.replace(done, status="failed", error=one_line(exc))
    return dataclasses.replace(done, status="redacted")


def _outcome(future, task: Task) -> Outcome:
    """The task's `Outcome` under the paths as given, or the cluster's failure as one."""
    from distributed import KilledWorker

    try:
        return dataclasses.replace(future.result(), src=task.src, dst=task.dst)
    except KilledWorker:
        return Outcome(task.src, task.dst, "failed", "the workers redacting it died (killed or out of memory) "
                       "each time, and no output was written; run again, or give the workers more memory")
    except Exception as exc:  # the cluster's own failure (a worker without redact, a lost scheduler)
        return Outcome(task.src, task.dst, "failed", f"on the cluster: {one_line(exc)}")
