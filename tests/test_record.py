"""The record that travels with a shared clip, as a user meets it on the command line:
a signed manifest, `redact verify`, the share log, and the device key."""
import json
import subprocess
import sys

import pytest
from media import write_video

from redact.record.manifest import manifest_path

NO_DETECT = ["--detect", "none", "-q"]


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "redact", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=env)


@pytest.fixture
def shared(tmp_path):
    src, out = tmp_path / "in.mp4", tmp_path / "shared.mp4"
    write_video(src, frames=12, tags={"location": "+51.5007-000.1246/"})
    result = run(src, "-o", out, "--window", "0.1,0.3", "--request", "PD ref 2026-118", "--recipient",
                 "Anytown PD", "--purpose", "parcel theft", *NO_DETECT)
    assert result.returncode == 0, result.stderr
    return out


def test_manifest_is_signed_and_verifies(shared):
    data = json.loads(manifest_path(shared).read_text())
    assert data["signature"]["algorithm"] == "ed25519"
    assert data["incident"]["request"] == "PD ref 2026-118"
    result = run("verify", shared)
    assert result.returncode == 0, result.stderr
    assert "clip matches the manifest" in result.stdout and "verified" in result.stdout
    assert "PD ref 2026-118" in result.stdout


@pytest.mark.parametrize("tamper", ["clip byte", "manifest field"])
def test_tampering_fails_verify(shared, tamper):
    if tamper == "clip byte":
        data = bytearray(shared.read_bytes())
        data[len(data) // 2] ^= 0xFF
        shared.write_bytes(bytes(data))
    else:
        path = manifest_path(shared)
        data = json.loads(path.read_text())
        data["incident"]["recipient"] = "someone else"
        path.write_text(json.dumps(data))
    result = run("verify", shared)
    assert result.returncode == 1 and "NOT verified" in result.stdout
    assert "FAILED" in result.stderr


def test_verify_with_the_expected_key(shared, tmp_path):
    key_file = tmp_path / "device.pub"
    assert run("key", "--export", key_file).returncode == 0
    assert run("verify", shared, "--key", key_file).returncode == 0
    # Another device's key (another config folder) is refused.
    import os

    other = dict(os.environ, REDACT_CONFIG_DIR=str(tmp_path / "other-device"))
    other_key = tmp_path / "other.pub"
    assert run("key", "--export", other_key, env=other).returncode == 0
    result = run("verify", shared, "--key", other_key)
    assert result.returncode == 1 and "not by the expected key" in result.stderr


def test_share_log_gets_one_line_per_shared_clip(shared, tmp_path):
    before = run("log").stdout.count("Anytown PD")
    src = tmp_path / "again.mp4"
    write_video(src, frames=6)
    assert run(src, "-o", tmp_path / "again-out.mp4", "--recipient", "Anytown PD", *NO_DETECT).returncode == 0
    assert run(src, "-o", tmp_path / "plain.mp4", *NO_DETECT).returncode == 0  # no incident: not a share
    log = run("log")
    assert log.returncode == 0 and log.stdout.count("Anytown PD") == before + 1
    assert str(tmp_path) not in log.stdout  # content-free: no file names
