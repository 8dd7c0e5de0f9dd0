"""redact: on-device redaction of faces, plates and bystanders in video and images.

Every public name is importable from here and loaded on first use (PEP 562), so
``import redact`` stays cheap: numba, OpenCV and PyAV load only when a name that needs them
is touched.

>>> import redact
>>> redact.Policy().profile is redact.Profile.BALANCED
True
"""
import importlib

__version__ = "0.1.0"

#: Public name -> module that defines it.
_PUBLIC = {
    "Kind": "types", "Regions": "types",
    "Method": "policy", "Shape": "policy", "Style": "policy", "Profile": "policy", "Policy": "policy",
    "Zone": "policy", "Units": "policy",
    "Incident": "incident", "Subject": "incident", "Window": "incident",
    "obscure": "ops",
    "Redactor": "pipeline",
    "redact_file": "jobs", "redact_video": "jobs", "redact_image": "jobs",
    "Detector": "detectors", "build_detectors": "detectors", "detectors_for": "detectors",
    "verify_clip": "verify",
}

__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'redact' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))
