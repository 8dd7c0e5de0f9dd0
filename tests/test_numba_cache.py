"""Numba's on-disk kernel cache under process pools and Dask workers.

The kernels are compiled with ``cache=True``: each new process loads them from disk. numbagg
turned its cache off after segfaults when processes forked from a parent that had loaded
cached kernels (numba issue 4807); `redact --jobs` forks such workers and a Dask cluster
starts several at once that write the same cache. Each test starts from an empty cache
folder (``NUMBA_CACHE_DIR``), so the first processes compile and write it side by side and
the next ones load what they wrote.
"""
import os
import subprocess
import sys
import textwrap
from importlib.util import find_spec

import pytest
from media import read_video, write_video

from redact.record.manifest import manifest_path

POOL_SCRIPT = textwrap.dedent("""
    import sys
    from concurrent.futures import ProcessPoolExecutor

    import numpy as np

    import redact


    def obscure_in_worker(seed):
        frame = np.random.default_rng(seed).integers(0, 256, (120, 160, 3), dtype=np.uint8)
        out = redact.obscure(frame, redact.Regions.from_boxes([[10, 10, 90, 70]], kind=redact.Kind.FACE))
        return int(seed), out.tobytes()


    if __name__ == "__main__":
        # The parent runs a kernel first (compiled, or loaded from the cache), then forks:
        # the case that crashed in numba issue 4807.
        here = dict([obscure_in_worker(0)])
        with ProcessPoolExecutor(max_workers=2) as pool:
            there = dict(pool.map(obscure_in_worker, range(6)))
        assert there[0] == here[0], "a forked worker obscured differently from its parent"
        assert len(set(there.values())) == 6
        print("ok")
""")


def _numba_cache_files(folder):
    return [name for _, _, files in os.walk(folder) for name in files if name.endswith((".nbi", ".nbc"))]


def test_cached_kernels_run_in_a_forked_process_pool(tmp_path):
    cache = tmp_path / "numba-cache"
    script = tmp_path / "pool.py"
    script.write_text(POOL_SCRIPT)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    for run in ("compiles and writes the cache", "loads the cache"):
        done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0 and done.stdout.strip() == "ok", f"the pool that {run}: {done.stderr[-2000:]}"
        assert _numba_cache_files(cache), "the kernels left no cache on disk"


@pytest.mark.skipif(find_spec("distributed") is None,
                    reason='Dask distributed is not installed: pip install ".[test,cluster]"')
def test_cached_kernels_run_on_a_local_dask_cluster(tmp_path, monkeypatch):
    # Two files on two workers that start with an empty cache, each obscuring a privacy zone
    # with the kernels; then the same on workers that load what the first ones wrote.
    monkeypatch.setenv("REDACT_CONFIG_DIR", str(tmp_path / "config"))
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("a.mp4", "b.mp4"):
        write_video(inputs / name, frames=6)
    for run, out in (("compile", tmp_path / "first"), ("load", tmp_path / "second")):
        done = subprocess.run([sys.executable, "-m", "redact", str(inputs), "-o", str(out), "--cluster", "local:2",
                               "--detect", "none", "--zone", "0,0,0.5,0.5", "-q"],
                              env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{run}: {done.stderr[-2000:]}"
        for name in ("a.mp4", "b.mp4"):
            assert manifest_path(out / name).exists()
            frames = read_video(out / name)[0]
            # The zone (top-left quarter, with the pattern's white block) is obscured: not white.
            assert len(frames) == 6 and all(f[:8, :12].mean() < 250 for f in frames)
    assert _numba_cache_files(tmp_path / "numba-cache")
