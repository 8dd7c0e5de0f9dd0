"""`redact --cluster` on a real Dask cluster: a scheduler and worker processes on loopback."""
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import pytest
from media import write_video

import redact
from conftest import PLATE_MODELS, require_models
from redact.record.manifest import manifest_path

NO_DETECT = ["--detect", "none", "-q"]
needs_dask = pytest.mark.skipif(find_spec("distributed") is None,
                                reason='Dask distributed is not installed: pip install ".[test,cluster]"')


def run_cli(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "redact", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


class Cluster:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, as a user starts them.

    Workers run without a nanny, so a killed worker stays dead and its file must move to
    another worker. With ``certs`` (`Certificates`) every connection is TLS, as docs/cluster.md
    sets it up.
    """

    def __init__(self, folder, workers: int, env=None, certs=None):
        self.env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "2", **(env or {})}
        self.certs = certs
        info = folder / "scheduler.json"
        self.procs: list = []
        self.workers: list = []
        tls = certs.flags("scheduler") + ["--protocol", "tls"] if certs else []
        try:
            self.procs.append(self._start("scheduler", "--port", "0", "--scheduler-file", info, *tls))
            self.address = self._address(info)
            tls = certs.flags("worker") if certs else []
            for _ in range(workers):
                self.workers.append(self._start("worker", self.address, "--nthreads", "1", "--no-nanny", *tls))
            self.procs += self.workers
            self.wait_for_workers(workers)
        except BaseException:  # no scheduler or worker outlives a failed start
            self.stop()
            raise

    @staticmethod
    def _address(info, timeout: float = 60):
        """The scheduler's address from its file, once the file is there and whole."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return json.loads(info.read_text())["address"]
            except (FileNotFoundError, ValueError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _start(self, *args):
        # `dask scheduler` / `dask worker`, through this interpreter (its environment's dask);
        # loopback only: their HTTP servers listen on every interface unless told otherwise.
        loopback = ["--host", "127.0.0.1", "--no-dashboard", "--dashboard-address", "127.0.0.1:0"]
        return subprocess.Popen([sys.executable, "-m", "dask", *map(str, args), *loopback], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_for_workers(self, count: int) -> None:
        with self.client() as client:
            client.wait_for_workers(count, timeout=60)

    def client(self, **kwargs):
        """A Dask client of this cluster (with the client's certificate when it has TLS)."""
        from distributed import Client

        security = self.certs.security("client") if self.certs else None
        return Client(self.address, timeout=30, security=security, **kwargs)

    def stop(self) -> None:
        for proc in {*self.procs, *self.workers}:
            proc.kill()
            proc.wait(10)


class Certificates:
    """A CA of the cluster's own, and certificates it signed for 127.0.0.1 and localhost (a
    scheduler's, a worker's, a client's); and a stranger's: a certificate from another CA."""

    def __init__(self, folder):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        ca = self._issue("cluster-ca", None)
        self.ca_file = self._write("ca.pem", ca[1])
        for role in ("scheduler", "worker", "client"):
            self._write(f"{role}.pem", self._issue(role, ca)[1])
        stranger_ca = self._issue("stranger-ca", None)
        self._write("stranger.pem", self._issue("stranger", stranger_ca)[1])

    def _issue(self, name: str, issuer):
        """A key and a certificate (PEM, key first) for ``name``, signed by ``issuer`` (or itself: a CA)."""
        import datetime
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        signer, issuer_name = (key, subject) if issuer is None else (issuer[0], issuer[2])
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1)))
        if issuer is None:
            builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        else:
            builder = (builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                       .add_extension(x509.SubjectAlternativeName([
                           x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
                       .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                             ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
        cert = builder.sign(signer, hashes.SHA256())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()) + cert.public_bytes(serialization.Encoding.PEM)
        return key, pem, subject

    def _write(self, name: str, data: bytes):
        path = self.folder / name
        path.write_bytes(data)
        path.chmod(0o600)
        return path

    def files(self, role: str) -> tuple:
        """CA, certificate and key files of ``role``; the key is in the certificate's file, after it."""
        path = self.folder / f"{role}.pem"
        return self.ca_file, path, path

    def flags(self, role: str) -> list:
        """``--tls-ca-file CA --tls-cert CERT --tls-key KEY``, as `dask` and `redact` take them."""
        ca, cert, key = self.files(role)
        return ["--tls-ca-file", ca, "--tls-cert", cert, "--tls-key", key]

    def security(self, role: str):
        from distributed.security import Security

        ca, cert, key = map(str, self.files(role))
        return Security(require_encryption=True, tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key)


def unusable_config(folder):
    """A REDACT_CONFIG_DIR that is a file: any device key or share log made there fails."""
    path = folder / "worker-config"
    path.write_text("workers hold no key\n")
    return {"REDACT_CONFIG_DIR": str(path)}


@pytest.fixture
def cluster(tmp_path):
    """Two workers that cannot make or read a device key (the test's config folder is the client's)."""
    started = Cluster(tmp_path, 2, env=unusable_config(tmp_path))
    yield started
    started.stop()


@pytest.fixture
def tls_cluster(tmp_path):
    """Two workers and a scheduler that speak TLS only, with certificates from their own CA."""
    started = Cluster(tmp_path, 2, env=unusable_config(tmp_path), certs=Certificates(tmp_path / "certs"))
    yield started
    started.stop()


def write_png(path):
    import cv2
    import numpy as np

    cv2.imwrite(str(path), np.full((40, 60, 3), 200, np.uint8))


def clips(folder, count: int, frames: int = 6):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        write_video(folder / f"c{i}.mp4", frames=frames)
    return folder


def assert_valid(out, names):
    """Each output verifies against its signed manifest; nothing else, no temporary, is left."""
    for name in names:
        result = redact.verify_clip(out / name)
        assert result.ok, result.summary
    made = sorted(p.name for p in out.iterdir())
    assert made == sorted([*names, *(manifest_path(out / n).name for n in names)])


@needs_dask
def test_resume_skips_complete_files(cluster, tmp_path, config):
    src, out = clips(tmp_path / "in", 3), tmp_path / "out"
    first = run_cli(src, "-o", out, "--cluster", cluster.address, *NO_DETECT)
    assert first.returncode == 0, first.stderr
    assert "3 redacted, 0 already complete, 0 failed" in first.stderr
    assert_valid(out, ["c0.mp4", "c1.mp4", "c2.mp4"])
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    # A local cluster resumes what the other one made: the same outputs, however they were made,
    # given the same client and so the same device key (the manifest names its input by a tag
    # only that key reproduces; the client checks it, the workers hold no key).
    second = run_cli(src, "-o", out, "--cluster", "local:2", *NO_DETECT)
    assert second.returncode == 0 and "0 redacted, 3 already complete" in second.stderr, second.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps


@needs_dask
def test_the_run_options_reach_the_workers(cluster, tmp_path, config):
    """`redact.jobs.options.JobOptions` pickled to the workers: their outputs are encoded as asked."""
    src, out = clips(tmp_path / "in", 2), tmp_path / "out"
    result = run_cli(src, "-o", out, "--cluster", cluster.address, "--crf", "30", "--preset", "ultrafast", *NO_DETECT)
    assert result.returncode == 0, result.stderr
    for name in ("c0.mp4", "c1.mp4"):
        encoder = json.loads(manifest_path(out / name).read_text())["encoder"]
        assert encoder == {"codec": "libx264", "crf": 30, "preset": "ultrafast", "max_bitrate": "the input's"}


@needs_dask
def test_a_bad_input_is_reported_once(cluster, tmp_path, config):
    src, out = clips(tmp_path / "in", 2), tmp_path / "out"
    (src / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 definitely not video")
    result = run_cli(src, "-o", out, "--cluster", cluster.address, *NO_DETECT)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "2 redacted, 0 already complete, 1 failed" in result.stderr
    assert len([line for line in result.stderr.splitlines() if "broken.mp4" in line]) == 1, result.stderr
    assert_valid(out, ["c0.mp4", "c1.mp4"])


@needs_dask
def test_a_worker_killed_mid_file_is_retried_elsewhere(cluster, tmp_path, config):
    src, out = clips(tmp_path / "in", 3), tmp_path / "out"
    write_video(src / "c0.mp4", frames=400, size=(320, 240), codec="mpeg4")
    proc = subprocess.Popen([sys.executable, "-m", "redact", src, "-o", out, "--cluster", cluster.address,
                             *NO_DETECT], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    busy = []
    while time.monotonic() < deadline and not busy and proc.poll() is None:
        busy = [w for w in cluster.workers if any(os.path.basename(target).startswith(".c0.mp4.")
                                                  for target in _open_files(w.pid))]
        time.sleep(0.05)
    assert busy, "no worker was seen writing c0 before the run ended; make it longer"
    os.kill(busy[0].pid, signal.SIGKILL)
    err = proc.communicate(timeout=180)[1]
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert "3 redacted, 0 already complete, 0 failed" in err
    assert_valid(out, ["c0.mp4", "c1.mp4", "c2.mp4"])  # the dead worker's temporaries went too
    assert redact.verify_clip(out / "c0.mp4").ok


def _open_files(pid: int) -> list:
    fds = f"/proc/{pid}/fd"
    try:
        return [os.readlink(f"{fds}/{fd}") for fd in os.listdir(fds)]
    except OSError:  # the process or a descriptor went meanwhile
        return []


@needs_dask
def test_workers_load_models_once_and_without_them_fail_with_the_fix(cluster, tmp_path, config):
    require_models("blazeface_full_range", "centerface", *PLATE_MODELS)
    src, out = clips(tmp_path / "in", 3), tmp_path / "out"
    empty = run_cli(src, "-o", out, "--cluster", cluster.address, "--models-dir", tmp_path / "none", "-q")
    assert empty.returncode == 1 and "3 failed" in empty.stderr, empty.stderr
    assert len([line for line in empty.stderr.splitlines() if "redact models fetch" in line]) == 3
    assert not out.exists() or not list(out.iterdir())
    done = run_cli(src, "-o", out, "--cluster", cluster.address, "-q")
    assert done.returncode == 0, done.stderr
    assert_valid(out, ["c0.mp4", "c1.mp4", "c2.mp4"])

    def cached():  # local, so it travels by value: workers cannot import this test module
        from redact.detectors import WORKER_CACHE

        return len(getattr(WORKER_CACHE._local, "entries", {}))

    # As a task, so it runs on the worker's one task thread, whose cache the files used.
    with cluster.client() as client:
        loaded = [client.submit(cached, workers=[w], pure=False).result(30) for w in client.scheduler_info()["workers"]]
    # Three files, each worker's detectors built once (a worker that got no file built none).
    assert sorted(loaded) in ([0, 1], [1, 1]), loaded


@needs_dask
@pytest.mark.parametrize("args, message", [
    (["--cluster", "local:2", "--jobs", "2"], "not allowed with"),
    (["--cluster", "local:none"], "expected a number of workers"),
    (["--cluster", "tcp://127.0.0.1:1"], "cannot reach a Dask scheduler"),
    (["--cluster", "ucx://127.0.0.1:8786"], "the ucx:// scheme is not supported"),
    (["--cluster", "tls://"], "not a host and port"),
    (["--cluster", "tcp://10.20.30.40:8786"], "--insecure-cluster"),
    (["--cluster", "tls://127.0.0.1:8786"], "--tls-ca-file CA.pem --tls-cert CERT.pem"),
    (["--cluster", "tcp://10.20.30.40:1", "--insecure-cluster"], "cannot reach a Dask scheduler"),
    (["--tls-cert", "client.pem"], "apply to --cluster only"),
])
def test_cluster_usage_errors_exit_2(tmp_path, args, message):
    src = clips(tmp_path / "in", 1)
    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}
    result = subprocess.run([sys.executable, "-m", "redact", src, "-o", tmp_path / "out", *args, *NO_DETECT],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_cluster_without_dask_says_how_to_install_it(tmp_path):
    src = clips(tmp_path / "in", 1)
    block = ("import sys; sys.modules['distributed'] = sys.modules['dask'] = None; "
             "from redact.app.cli import main; sys.exit(main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", block, str(src), "-o", str(tmp_path / "out"),
                             "--cluster", "local:2", *NO_DETECT], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert 'pip install "redactcam[cluster]"' in result.stderr
    assert not (tmp_path / "out").exists()


@needs_dask
def test_a_file_whose_workers_keep_dying_fails_with_the_reason():
    """Past the scheduler's allowed failures the task is lost for good: one failed outcome."""
    from distributed import KilledWorker

    from redact.jobs.cluster import _outcome
    from redact.jobs.tasks import Task

    class Lost:
        def result(self):
            raise KilledWorker("redact-1", None, 2)

    outcome = _outcome(Lost(), Task(Path("in/a.mp4"), Path("out/a.mp4")))
    assert (outcome.status, outcome.src) == ("failed", Path("in/a.mp4"))
    assert "died" in outcome.error and "no output was written" in outcome.error


@needs_dask
@pytest.mark.parametrize("address, message", [
    ("ucx://127.0.0.1:8786", "the ucx:// scheme is not supported"),
    ("inproc://scheduler", "the inproc:// scheme is not supported"),
    ("127.0.0.1:8786", "no scheme"),
    ("tcp://127.0.0.1", "not a host and port"),
    ("tcp://:8786", "not a host and port"),
    ("tcp://127.0.0.1:8786/path", "not a host and port"),
    ("tcp://127.0.0.1:99999", "out of range"),
    ("tcp://127.0.0.1:port", "could not be cast"),
    ("tcp://[::1", "Invalid IPv6"),
    ("tcp://scheduler.example:8786", "--insecure-cluster"),  # a name is not resolved: it may not stay here
    ("tcp://[2001:db8::1]:8786", "--insecure-cluster"),
    ("local:0", "expected a number of workers"),
])
def test_cluster_addresses_that_cannot_be_tried_are_refused_saying_why(address, message):
    from redact.jobs.cluster import ClusterUnavailable, cluster_spec

    with pytest.raises(ClusterUnavailable, match=re.escape(message)):
        cluster_spec(address)


@needs_dask
@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "tcp://localhost:8786", "tcp://[::1]:8786",
                                     "tcp://127.8.9.10:8786"])
def test_plain_tcp_on_loopback_needs_no_flag(address):
    from redact.jobs.cluster import cluster_spec

    spec = cluster_spec(address)
    assert (spec.address, spec.security, spec.local) == (address, None, False)


@needs_dask
def test_tls_files_are_checked_before_anything_is_written(tmp_path):
    from redact.jobs.cluster import ClusterUnavailable, TLSFiles, cluster_spec

    certs = Certificates(tmp_path / "certs")
    ca, cert, key = map(str, certs.files("client"))
    assert cluster_spec("tls://127.0.0.1:8786", tls=TLSFiles(ca, cert, key)).security is not None
    (tmp_path / "not.pem").write_text("not a certificate\n")
    for files, message in ((TLSFiles(ca, str(tmp_path / "missing.pem"), key), "--tls-cert"),
                           (TLSFiles(str(tmp_path / "not.pem"), cert, key), "cannot be used"),
                           (TLSFiles(ca, cert, None), None)):
        if message is None:  # the key appended to the certificate's file, as Dask allows
            cluster_spec("tls://127.0.0.1:8786", tls=files)
            continue
        with pytest.raises(ClusterUnavailable, match=re.escape(message)):
            cluster_spec("tls://127.0.0.1:8786", tls=files)
    with pytest.raises(ClusterUnavailable, match="need a tls:// address"):
        cluster_spec("tcp://127.0.0.1:8786", tls=TLSFiles(ca, cert, key))
    with pytest.raises(ClusterUnavailable, match="scheduler's address only"):
        cluster_spec("local:2", insecure=True)


@needs_dask
def test_a_tls_cluster_redacts_and_refuses_a_stranger(tls_cluster, tmp_path, config):
    """docs/cluster.md's TLS set-up, run: real certificates, a scheduler and workers that speak TLS only."""
    from distributed import Client

    src, out = clips(tmp_path / "in", 1), tmp_path / "out"
    write_png(src / "still.png")
    done = run_cli(src, "-o", out, "--cluster", tls_cluster.address, *tls_cluster.certs.flags("client"), *NO_DETECT)
    assert done.returncode == 0, done.stderr
    assert "2 redacted, 0 already complete, 0 failed" in done.stderr
    assert_valid(out, ["c0.mp4", "still.png"])
    # A client with a certificate from another CA, or with none, is refused by the scheduler.
    stranger = tls_cluster.certs.security("stranger")
    with pytest.raises(OSError):
        Client(tls_cluster.address, security=stranger, timeout=5)
    with pytest.raises(OSError):
        Client(tls_cluster.address.replace("tls://", "tcp://"), timeout=5)
    refused = run_cli(src, "-o", tmp_path / "out2", "--cluster", tls_cluster.address,
                      *tls_cluster.certs.flags("stranger"), *NO_DETECT)
    assert refused.returncode == 2 and "cannot reach a Dask scheduler" in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert not (tmp_path / "out2").exists()
    # The workers' own certificates do not let a stranger's client in either: the scheduler
    # checks the client's, and this client checks the scheduler's (a mistyped address to
    # someone else's scheduler is refused before anything is unpickled).
    with tls_cluster.client() as client:
        assert len(client.scheduler_info()["workers"]) == 2


@needs_dask
def test_workers_never_hold_the_device_key(cluster, tmp_path, config):
    """Workers whose config folder cannot hold a key: this machine signs every manifest."""
    from redact.record.signing import export_public

    src, out = clips(tmp_path / "in", 2), tmp_path / "out"
    done = run_cli(src, "-o", out, "--cluster", cluster.address, "--request", "REF-7", "--recipient", "Anytown PD",
                   *NO_DETECT)
    assert done.returncode == 0 and "2 redacted" in done.stderr, done.stderr
    public = export_public(tmp_path / "device.pub")
    for name in ("c0.mp4", "c1.mp4"):
        checked = run_cli("verify", out / name, "--key", public)
        assert checked.returncode == 0 and "verified" in checked.stdout, checked.stdout + checked.stderr
    # The shares are logged here, where they were signed, one line per delivered clip.
    shares = run_cli("log").stdout.splitlines()
    assert len([line for line in shares if "REF-7" in line and "Anytown PD" in line]) == 2, shares
    assert (tmp_path / "worker-config").read_text() == "workers hold no key\n"
    assert_valid(out, ["c0.mp4", "c1.mp4"])


def test_a_handed_off_output_is_committed_only_with_its_own_record(tmp_path, config):
    """The client's half of a worker's hand-off: a pending output whose bytes are not the ones
    its record names, that is not a temporary of that output, whose record is of other
    settings, whose input changed meanwhile, or whose final name a user file took meanwhile,
    is never committed."""
    from redact.core.policy import Policy
    from redact.jobs.files import redact_file
    from redact.jobs.seal import HandOff, RedactionIncomplete, seal_handed_off
    from redact.media.safeio import OutputBusyError, UsageError

    policy = Policy(kinds=())
    src, out = tmp_path / "in.png", tmp_path / "out"

    def handed():
        write_png(src)
        hand_off = HandOff()
        assert redact_file(src, out / "in.png", policy, seal=hand_off, skip_complete=False)
        return hand_off.pending, hand_off.manifest, hand_off.input_sha256

    pending, record, read = handed()
    assert sorted(p.name for p in out.iterdir()) == [pending.name]  # nothing final yet
    with pytest.raises(RedactionIncomplete, match="not a temporary output"):
        seal_handed_off(src, out / "other.png", pending, record, policy=policy, input_sha256=read)
    edited = dataclasses.replace(record, output_sha256="0" * 64)
    with pytest.raises(RedactionIncomplete, match="not the file its manifest records"):
        seal_handed_off(src, out / "in.png", pending, edited, policy=policy, input_sha256=read)
    assert not list(out.iterdir())  # deleted, nothing committed
    with pytest.raises(OutputBusyError):  # gone meanwhile (another run took it over)
        seal_handed_off(src, out / "in.png", pending, record, policy=policy, input_sha256=read)
    pending, record, read = handed()
    with pytest.raises(RedactionIncomplete, match="not of this run's settings"):
        seal_handed_off(src, out / "in.png", pending, record, policy=Policy(kinds=(), keep_audio=True),
                        input_sha256=read)
    pending, record, read = handed()
    with pytest.raises(RedactionIncomplete, match="changed while it was redacted"):
        seal_handed_off(src, out / "in.png", pending, record, policy=policy, input_sha256="1" * 64)
    pending, record, read = handed()
    (out / "in.png").write_bytes(b"the user's own picture")  # appeared after the worker looked
    with pytest.raises(UsageError, match="exists"):
        seal_handed_off(src, out / "in.png", pending, record, policy=policy, input_sha256=read)
    assert (out / "in.png").read_bytes() == b"the user's own picture" and not pending.exists()
    (out / "in.png").unlink()
    pending, record, read = handed()
    seal_handed_off(src, out / "in.png", pending, record, policy=policy, input_sha256=read)
    assert (out / "in.png").is_file() and (out / "in.png.redaction.json").is_file()


@needs_dask
def test_a_local_cluster_listens_on_loopback_only_and_speaks_tls():
    import psutil
    from distributed import Client

    from redact.jobs.cluster import cluster_spec, connect

    def listening():
        me = psutil.Process()
        # net_connections since psutil 6; connections before.
        return {(p.pid, c.laddr) for p in (me, *me.children(recursive=True))
                for c in getattr(p, "net_connections", p.connections)(kind="inet") if c.status == psutil.CONN_LISTEN}

    before = listening()
    with connect(cluster_spec("local:2")) as client:
        client.wait_for_workers(2, timeout=60)
        ports = listening() - before
        address = client.scheduler.address
        assert address.startswith("tls://127.0.0.1:"), address
        # Another user of this machine reaches the port but cannot join without the run's certificate.
        with pytest.raises(OSError):
            Client(address.replace("tls://", "tcp://"), timeout=5)
    # Scheduler, two nannies, two workers (each with its HTTP server): all on loopback.
    assert len(ports) >= 5, ports
    assert {addr.ip for _, addr in ports} == {"127.0.0.1"}, ports


@needs_dask
def test_a_local_cluster_starts_no_more_workers_than_files(tmp_path, config):
    src = clips(tmp_path / "in", 1)
    result = run_cli(src, "-o", tmp_path / "out", "--cluster", "local:9999", *NO_DETECT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "--cluster local:9999 lowered to local:1: 1 file to redact" in result.stderr
    assert_valid(tmp_path / "out", ["c0.mp4"])


def test_jobs_are_capped_by_files_and_said_so(tmp_path, config):
    src = clips(tmp_path / "in", 1)
    result = run_cli(src, "-o", tmp_path / "out", "--jobs", "3", *NO_DETECT)
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stderr.splitlines() if "lowered" in line] == \
        ["redact: --jobs 3 lowered to 1: 1 file to redact"]
    assert_valid(tmp_path / "out", ["c0.mp4"])


@pytest.mark.parametrize("requested, files, cpus, memory, expected", [
    (3, 1, 8, 64 * 2**30, (1, "1 file to redact")),
    (9999, 100, 2, 64 * 2**30, (2, "2 CPUs here")),
    (8, 100, 16, 2**30, (2, "1.0 GiB of memory available, about 480 MiB per process")),
    (4, 100, 16, 100 * 2**20, (1, "0.1 GiB of memory available, about 480 MiB per process")),
    (1, 0, 1, 0, (1, "")),
])
def test_process_limit(requested, files, cpus, memory, expected):
    from redact.jobs.memory import available_bytes
    from redact.jobs.tasks import process_limit

    assert process_limit(requested, files, cpus=cpus, memory=memory) == expected
    assert available_bytes() is None or available_bytes() > 0
