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
    "Kind": "core.types", "Regions": "core.types",
    "Method": "core.policy", "Shape": "core.policy", "Style": "core.policy",
    "Profile": "core.profile", "Policy": "core.policy",
    "Zone": "core.zones", "Units": "core.zones",
    "Incident": "core.incident", "Subject": "core.incident", "Window": "core.incident",
    "obscure": "pipeline.obscure",
    "Redactor": "pipeline.redactor", "LiveRedactor": "pipeline.live",
    "redact_file": "jobs.files", "redact_video": "jobs.files", "redact_image": "jobs.files",
    "Detector": "detectors", "build_detectors": "detectors", "detectors_for": "detectors",
    "verify_clip": "record.verify",
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
