"""`redact --cluster` on a real Dask cluster: a scheduler and worker processes on loopback."""
import json
import os
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
from redact.report import manifest_path

NO_DETECT = ["--detect", "none", "-q"]
needs_dask = pytest.mark.skipif(find_spec("distributed") is None,
                                reason='Dask distributed is not installed: pip install ".[test,cluster]"')


def run_cli(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "redact", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


class Cluster:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, as a user starts them.

    Workers run without a nanny, so a killed worker stays dead and its file must move to
    another worker.
    """

    def __init__(self, folder, workers: int, env=None):
        self.env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "2", **(env or {})}
        info = folder / "scheduler.json"
        self.procs: list = []
        self.workers: list = []
        try:
            self.procs.append(self._start("scheduler", "--port", "0", "--scheduler-file", info))
            self.address = self._address(info)
            for _ in range(workers):
                self.workers.append(self._start("worker", self.address, "--nthreads", "1", "--no-nanny"))
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
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            client.wait_for_workers(count, timeout=60)

    def stop(self) -> None:
        for proc in {*self.procs, *self.workers}:
            proc.kill()
            proc.wait(10)


@pytest.fixture
def cluster(tmp_path):
    """Two workers, with a device key of their own (the test's config folder is the client's)."""
    started = Cluster(tmp_path, 2, env={"REDACT_CONFIG_DIR": str(tmp_path / "worker-config")})
    yield started
    started.stop()


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
def test_resume_skips_complete_files(cluster, tmp_path, config, monkeypatch):
    src, out = clips(tmp_path / "in", 3), tmp_path / "out"
    first = run_cli(src, "-o", out, "--cluster", cluster.address, *NO_DETECT)
    assert first.returncode == 0, first.stderr
    assert "3 redacted, 0 already complete, 0 failed" in first.stderr
    assert_valid(out, ["c0.mp4", "c1.mp4", "c2.mp4"])
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    # A local cluster resumes what the other one made: the same outputs, however they were made,
    # given the same device key (the manifest names its input by a tag only that key reproduces).
    monkeypatch.setenv("REDACT_CONFIG_DIR", str(tmp_path / "worker-config"))
    second = run_cli(src, "-o", out, "--cluster", "local:2", *NO_DETECT)
    assert second.returncode == 0 and "0 redacted, 3 already complete" in second.stderr, second.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps


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
    from distributed import Client

    def cached():  # local, so it travels by value: workers cannot import this test module
        from redact.detectors import WORKER_CACHE

        return len(getattr(WORKER_CACHE._local, "entries", {}))

    # As a task, so it runs on the worker's one task thread, whose cache the files used.
    with Client(cluster.address) as client:
        loaded = [client.submit(cached, workers=[w], pure=False).result(30) for w in client.scheduler_info()["workers"]]
    # Three files, each worker's detectors built once (a worker that got no file built none).
    assert sorted(loaded) in ([0, 1], [1, 1]), loaded


@needs_dask
@pytest.mark.parametrize("args, message", [
    (["--cluster", "local:2", "--jobs", "2"], "not allowed with"),
    (["--cluster", "local:none"], "expected a number of workers"),
    (["--cluster", "tcp://127.0.0.1:1"], "cannot reach a Dask scheduler"),
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
             "from redact.cli import main; sys.exit(main(sys.argv[1:]))")
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

    from redact.batch import Task
    from redact.cluster import _outcome

    class Lost:
        def result(self):
            raise KilledWorker("redact-1", None, 2)

    outcome = _outcome(Lost(), Task(Path("in/a.mp4"), Path("out/a.mp4")))
    assert (outcome.status, outcome.src) == ("failed", Path("in/a.mp4"))
    assert "died" in outcome.error and "no output was written" in outcome.error
