"""`redact demo` end to end in an empty folder: real photos, real detectors, its own checks."""
import json

import pytest

from redact.detectors.models import DEMO_ASSETS, REGISTRY, is_installed
from redact.record.verify import verify_clip


def test_demo_writes_and_verifies_its_outputs(tmp_path, capsys):
    missing = [n for n in (*DEMO_ASSETS, *REGISTRY) if not is_installed(n)]
    if missing:
        pytest.skip(f"demo assets or models {missing} not installed: run `redact models fetch`")
    from redact.app.demo import run_demo, window_frames

    folder = tmp_path / "demo"
    passed = run_demo(folder)
    out = capsys.readouterr().out
    clip = folder / "demo-redacted.mp4"
    for name in ("demo-input.mp4", "demo-redacted.mp4", "demo-redacted.mp4.redaction.json",
                 "demo-redacted.mp4.review.png"):
        assert (folder / name).is_file(), name
    assert (folder / "demo-redacted.mp4.review.png").read_bytes()[:4] == b"\x89PNG"
    assert verify_clip(clip).ok
    manifest = json.loads((folder / "demo-redacted.mp4.redaction.json").read_text())
    assert manifest["frames_out"] == window_frames()
    assert manifest["incident"]["request"] and manifest["incident"]["privacy_zones"] == 1
    checks = [line.strip() for line in out.splitlines() if line.strip().startswith("[")]
    assert len(checks) == 8 and "verify:" in out
    failed = [c for c in checks if not c.startswith("[ok]")]
    assert passed and not failed, failed
