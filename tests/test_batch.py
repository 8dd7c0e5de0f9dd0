"""The local batch (`redact.jobs.batch`): its worker side run in this process, and a run in worker processes."""
import re
import subprocess
import sys

import pytest
from media import write_video

import redact.detectors as detectors
from redact.core.policy import Policy
from redact.jobs import batch
from redact.jobs.options import JobOptions
from redact.record.manifest import Manifest, manifest_path


def test_a_jobs_worker_builds_its_detectors_once_for_all_its_files(tmp_path, monkeypatch):
    built = []
    real = detectors.detectors_for
    monkeypatch.setattr(detectors, "detectors_for", lambda *a, **k: built.append(a) or real(*a, **k))
    monkeypatch.setattr(detectors, "WORKER_CACHE", detectors.DetectorCache())
    policy = Policy(kinds=())
    outcomes = []
    for i in range(3):
        write_video(tmp_path / f"in{i}.mp4", frames=4)
        task = batch.Task(tmp_path / f"in{i}.mp4", tmp_path / "out" / f"in{i}.mp4")
        outcomes.append(batch._run_in_worker(task, policy, JobOptions(), False))
    assert [o.status for o in outcomes] == ["redacted"] * 3
    assert len(built) == 1


def test_a_jobs_worker_without_models_fails_the_file_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(detectors, "WORKER_CACHE", detectors.DetectorCache())
    write_video(tmp_path / "in.mp4", frames=4)
    task = batch.Task(tmp_path / "in.mp4", tmp_path / "out" / "in.mp4")
    outcome = batch._run_in_worker(task, Policy(), JobOptions(models_dir=tmp_path / "no-models"), False)
    assert outcome.status == "failed" and "redact models fetch" in outcome.error
    assert not (tmp_path / "out" / "in.mp4").exists()


@pytest.mark.parametrize("given, named", [({"crf": 99}, "crf"), ({"crf": "20"}, "crf"), ({"preset": "quick"}, "preset"),
                                          ({"overwrite": "yes"}, "overwrite"), ({"models_dir": 3}, "models_dir")])
def test_job_options_refuse_a_bad_value_naming_it(given, named):
    with pytest.raises(ValueError, match=rf"^{named}: expected .*, got {re.escape(repr(next(iter(given.values()))))}"):
        JobOptions(**given)


def test_job_options_reach_files_redacted_in_worker_processes(tmp_path, config):
    # A real run (its own process: a pool forked from a test process that ran Dask would
    # inherit its threads): the options are pickled to two workers, and crf and preset
    # reach each file's manifest.
    (tmp_path / "in").mkdir()
    for i in range(2):
        write_video(tmp_path / "in" / f"in{i}.mp4", frames=4)
    result = subprocess.run([sys.executable, "-m", "redact", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                             "--jobs", "2", "--crf", "30", "--preset", "ultrafast", "--detect", "none", "-q"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    for i in range(2):
        manifest = Manifest.read(manifest_path(tmp_path / "out" / f"in{i}.mp4"))
        assert manifest.encoder == {"codec": "libx264", "crf": 30, "preset": "ultrafast", "max_bitrate": "the input's"}
