import os
import sys
from pathlib import Path

import pytest

from redact.core.profile import Profile

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
    from redact.detectors.models import is_installed

    missing = [n for n in names if not is_installed(n)]
    if missing:
        pytest.skip(f"models {missing} not installed: run `redact models fetch`")


@pytest.fixture
def astronaut_pair(tmp_path):
    """Two real people side by side: scikit-image's astronaut photo, and a mirrored copy."""
    import cv2
    import numpy as np

    skimage = pytest.importorskip("skimage.data")
    require_models("blazeface_full_range", "centerface", "selfie_segmentation")
    person = cv2.resize(skimage.astronaut(), (256, 256))
    frame = np.full((300, 640, 3), 120, np.uint8)
    frame[22:278, 20:276] = person
    frame[22:278, 364:620] = person[:, ::-1]
    path = tmp_path / "pair.png"
    cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return path, frame
