"""The local batch's worker side (`redact.jobs.batch`), run in this process."""
from media import write_video

import redact.detectors as detectors
from redact.core.policy import Policy
from redact.jobs import batch


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
        outcomes.append(batch._run_in_worker(task, policy, {}, False))
    assert [o.status for o in outcomes] == ["redacted"] * 3
    assert len(built) == 1


def test_a_jobs_worker_without_models_fails_the_file_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(detectors, "WORKER_CACHE", detectors.DetectorCache())
    write_video(tmp_path / "in.mp4", frames=4)
    task = batch.Task(tmp_path / "in.mp4", tmp_path / "out" / "in.mp4")
    outcome = batch._run_in_worker(task, Policy(), {"models_dir": tmp_path / "no-models"}, False)
    assert outcome.status == "failed" and "redact models fetch" in outcome.error
    assert not (tmp_path / "out" / "in.mp4").exists()
