"""benchmarks/speed_vs_deface.py: each run imports redact from the checkout it names."""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import speed_vs_deface  # noqa: E402


def test_baseline_run_imports_the_baseline_checkout(tmp_path):
    """Run from this checkout (the working directory of the README's command), the baseline
    row must run the other checkout's redact: ``python -c`` puts the working directory ahead
    of ``PYTHONPATH``, and the row once timed this checkout twice."""
    other = tmp_path / "other"
    (other / "redact").mkdir(parents=True)
    (other / "redact" / "__init__.py").write_text("")
    (other / "redact" / "__main__.py").write_text("print('baseline redact ran')\n")
    args = argparse.Namespace(baseline=other, deface="true", deface_backend="")
    command, env = speed_vs_deface.runs_for(args, tmp_path)["balanced (baseline)"]
    done = subprocess.run(command(tmp_path / "in.mp4", tmp_path / "out.mp4"), cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert "baseline redact ran" in done.stdout, done.stderr[-500:]


def test_runs_differ_only_in_checkout(tmp_path):
    """The baseline row runs the default's command, with the baseline's path."""
    args = argparse.Namespace(baseline=tmp_path, deface="true", deface_backend="")
    runs = speed_vs_deface.runs_for(args, tmp_path)
    here, base = runs["balanced"], runs["balanced (baseline)"]
    assert here[0]("a", "b") == base[0]("a", "b")
    assert here[1]["PYTHONPATH"] == str(ROOT) and base[1]["PYTHONPATH"] == str(tmp_path.resolve())
