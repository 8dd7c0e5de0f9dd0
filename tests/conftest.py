import os
import sys
from pathlib import Path

import pytest

from redact.policy import Profile

sys.path.insert(0, str(Path(__file__).resolve().parent))


def shared_data() -> Path:
    """The evaluation data folder (``../shared/data`` beside the checkout, or $REDACT_DATA_DIR)."""
    return Path(os.environ.get("REDACT_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data")


@pytest.fixture
def data_dir() -> Path:
    path = shared_data()
    if not path.is_dir():
        pytest.skip(f"evaluation data not found at {path} (set REDACT_DATA_DIR)")
    return path


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.fixture
def config(tmp_path, monkeypatch):
    """A config folder of this test's own (device key, share log), not yet created."""
    folder = tmp_path / "config"
    monkeypatch.setenv("REDACT_CONFIG_DIR", str(folder))
    return folder


#: The profiles with detector settings of their own (``pi`` runs ``fast``'s detectors).
DETECTOR_PROFILES = [p for p in Profile if p.detectors is p]
#: The files a PlateDetector loads: the text detector, its recogniser and the character list.
PLATE_MODELS = ("ppocr_det_v4", "ppocr_rec_v4", "ppocr_keys_v1")


def require_models(*names):
    """Skip (with the fix) when a model is not in the cache."""
    from redact.models import is_installed

    missing = [n for n in names if not is_installed(n)]
    if missing:
        pytest.skip(f"models {missing} not installed: run `redact models fetch`")
