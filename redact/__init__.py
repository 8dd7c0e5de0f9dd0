"""redact: on-device redaction of faces, plates and bystanders in video and images.

Heavy dependencies (numba, OpenCV, PyAV) load on first use, not on ``import redact``.
"""
__version__ = "0.1.0"

from .policy import Method, Shape, Style
from .types import Kind, Regions


def obscure(frame, regions, style=Style(), **kwargs):
    """See `redact.ops.obscure` (imported lazily: it compiles Numba kernels on first call)."""
    from .ops import obscure as _obscure

    return _obscure(frame, regions, style, **kwargs)


__all__ = ["Kind", "Method", "Regions", "Shape", "Style", "obscure", "__version__"]
