"""`redact bench` and the stage timings it reads (no wall-clock time is asserted)."""
import subprocess
import sys
import time

import numpy as np
from media import write_video

from conftest import PLATE_MODELS, require_models
from redact.core.policy import Policy
from redact.core.types import Regions
from redact.jobs.files import redact_video
from redact.pipeline.redactor import STAGES

PAUSE = 0.004


class SlowDetector:
    """Finds nothing, slowly: its time must show up as the detect stage's."""

    kinds = ()
    models = ()
    calls = 0

    def detect(self, frame: np.ndarray) -> Regions:
        self.calls += 1
        time.sleep(PAUSE)
        return Regions.empty()


def test_a_file_job_reports_the_busy_time_of_every_stage(tmp_path):
    src = tmp_path / "in.mp4"
    write_video(src, frames=20)
    timings: dict = {}
    detector = SlowDetector()
    redact_video(src, tmp_path / "out.mp4", Policy(), detectors=[detector], timings=timings)
    assert set(timings) == set(STAGES)
    assert all(v > 0 for v in timings.values())
    assert timings["detect"] >= detector.calls * PAUSE and detector.calls == 20


def test_bench_prints_a_table_with_ratios_to_the_ceiling(tmp_path):
    require_models("blazeface_full_range", "blazeface_back", "centerface", *PLATE_MODELS)
    src = tmp_path / "clip.mp4"
    write_video(src, frames=12, size=(160, 96))
    done = subprocess.run([sys.executable, "-m", "redact", "bench", "--clip", str(src), "--profiles", "fast",
                           "--detect-every", "1", "2", "--no-deface", "--no-startup"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "clip clip.mp4: 12 frames, decode + encode ceiling" in done.stdout
    rows = [line for line in done.stdout.splitlines() if line.startswith("| clip.mp4 |")]
    assert [r.split(" | ")[1] for r in rows] == ["fast, every 1", "fast, every 2"]
    cells = rows[0].strip("| ").split(" | ")
    assert float(cells[3]) > 0 and float(cells[-1]) > 0  # x ceiling, peak MB
    (said,) = [line for line in done.stdout.splitlines() if line.startswith("verdict clip.mp4 (30 fps): ")]
    assert "a minute of footage takes " in said, said


def test_the_verdict_names_the_highest_recall_profile_that_keeps_up():
    from redact.app.bench import verdict

    runs = [("balanced, every 1", "balanced", {"fps": 20.0}), ("fast, every 3", "fast", {"fps": 40.0}),
            ("pi, every 4", "pi", {"fps": 55.0})]
    assert verdict("720p", 30, runs).startswith("verdict 720p (30 fps): keeps up with a 30 fps camera with "
                                                "fast, every 3 (40.0 fps, 1.33x real time); a minute of "
                                                "footage takes 45.0 s (balanced, every 1: 1 min 30 s, pi, every 4:")
    slow = verdict("1080p", 25, [(label, p, {"fps": r["fps"] / 4}) for label, p, r in runs])
    assert slow.startswith("verdict 1080p (25 fps): does NOT keep up with a 25 fps camera; fastest pi, every 4 "
                           "(13.8 fps, 0.55x real time); a minute of footage takes 1 min 49 s"), slow


def test_bench_runs_on_when_deface_cannot_be_installed(tmp_path):
    """No package index (a device offline): deface is left out with its reason, the rest runs."""
    require_models("blazeface_full_range", "blazeface_back", "centerface", *PLATE_MODELS)
    import os

    from redact.detectors.models import models_dir

    src = tmp_path / "clip.mp4"
    write_video(src, frames=6, size=(160, 96))
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "REDACT_MODELS_DIR": str(models_dir()),
           "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "redact", "bench", "--clip", str(src), "--profiles", "fast",
                           "--no-startup", "--install-deface"], capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    assert "deface left out: cannot install deface==1.5.0" in done.stderr
    assert "deface not run" in done.stdout and "| clip.mp4 | fast, every 3 |" in done.stdout


def _bench(tmp_path, *extra):
    import os

    from redact.detectors.models import models_dir

    src = tmp_path / "clip.mp4"
    write_video(src, frames=6, size=(160, 96))
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "REDACT_MODELS_DIR": str(models_dir())}
    return subprocess.run([sys.executable, "-m", "redact", "bench", "--clip", str(src), "--profiles", "fast",
                           "--no-startup", *map(str, extra)], capture_output=True, text=True, timeout=600, env=env)


def test_bench_never_installs_deface_unasked(tmp_path):
    require_models("blazeface_full_range", "blazeface_back", "centerface", *PLATE_MODELS)
    done = _bench(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "deface left out: not installed" in done.stderr and "--install-deface" in done.stderr
    assert not (tmp_path / "cache" / "redact" / "bench").exists(), "a venv was made without --install-deface"


def test_bench_with_a_deface_that_cannot_run(tmp_path):
    """A missing command is a one-line usage error; a deface that fails (here a program that
    refuses every argument) is left out on one line and the bench runs on."""
    require_models("blazeface_full_range", "blazeface_back", "centerface", *PLATE_MODELS)
    missing = _bench(tmp_path, "--deface", tmp_path / "nowhere" / "deface")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr and "no such command" in missing.stderr
    broken = tmp_path / "deface"
    broken.write_text("#!/bin/sh\necho 'deface: error: unrecognized arguments' >&2\nexit 2\n")
    broken.chmod(0o755)
    done = _bench(tmp_path, "--deface", broken)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "deface left out on clip.mp4: deface failed: deface: error: unrecognized arguments" in done.stderr
    assert "deface not run" in done.stdout


def test_bench_on_its_drawn_scene_says_so(tmp_path):
    """Without --clip the figures are of a drawn scene, which runs about twice as fast as real
    footage: the table labels its rows so, and a line says to measure real footage."""
    require_models("blazeface_full_range", "blazeface_back", "centerface", "demo_astronaut", "demo_lfw_faces",
                   *PLATE_MODELS)
    done = subprocess.run([sys.executable, "-m", "redact", "bench", "--sizes", "720p", "--seconds", "0.1",
                           "--profiles", "fast", "--no-deface", "--no-startup"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stdout.splitlines() if line.startswith("| 720p drawn scene | fast, every 3 |")]
    assert "not real footage" in done.stdout and "--clip FILE" in done.stdout
