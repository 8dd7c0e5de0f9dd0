"""Detector plugins: a package installed with an entry point in `redact.detectors` is found
by `--detect NAME`, runs beside the built-in detectors, and the manifest names its model."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import redact

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "plugin_detector"


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory):
    """The example plugin, really installed (pip, into a folder of its own)."""
    root = tmp_path_factory.mktemp("plugin")
    shutil.copytree(EXAMPLE, root / "src")
    site = root / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                           str(root / "src")], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot build the example plugin here (pip needs setuptools from the index): "
                    f"{done.stderr.strip().splitlines()[-1:]}")
    return site


def run(site, *args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "redact", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)


def test_installed_plugin_is_found_and_recorded(plugin_site, tmp_path):
    skimage = pytest.importorskip("skimage.data")
    import cv2

    src = tmp_path / "astronaut.png"
    cv2.imwrite(str(src), cv2.cvtColor(skimage.astronaut(), cv2.COLOR_RGB2BGR))
    out = tmp_path / "out.png"
    result = run(plugin_site, src, "-o", out, "--detect", "haar_faces")
    assert result.returncode == 0, result.stderr
    manifest = json.loads(Path(f"{out}.redaction.json").read_text())
    cascade = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
    assert manifest["models"] == [{"name": "opencv-haar-frontalface", "licence": "Intel open-source (BSD-3-Clause)",
                                   "sha256": hashlib.sha256(cascade.read_bytes()).hexdigest()}]
    assert manifest["counts"]["face"]["frames"] == 1 and manifest["policy"]["plugins"] == ["haar_faces"]
    face = (slice(60, 200), slice(170, 320))  # the astronaut's face
    assert np.mean(cv2.imread(str(out))[face] != cv2.imread(str(src))[face]) > 0.5


def test_unknown_plugin_is_a_usage_error(plugin_site, tmp_path):
    result = run(plugin_site, tmp_path / "x.png", "-o", tmp_path / "y.png", "--detect", "haar_face")
    assert result.returncode == 2 and "unknown kind 'haar_face'" in result.stderr
    assert "plugins haar_faces" in result.stderr


def test_a_plugin_that_is_not_a_detector_is_refused():
    class NotADetector:
        kinds = ()

    assert isinstance(NotADetector(), redact.Detector) is False
    with pytest.raises(ValueError, match="is not installed"):
        redact.build_detectors((), plugins=("nothing-here",))
