# The public names of `redact`, for type checkers: the package loads them on first use
# (PEP 562 `__getattr__` in __init__.py), which a checker cannot follow, so without this
# stub every one of them would be Any. Keep it to `_PUBLIC` in __init__.py (a test compares).
from .detectors import Detector as Detector
from .detectors import build_detectors as build_detectors
from .detectors import detectors_for as detectors_for
from .incident import Incident as Incident
from .incident import Subject as Subject
from .incident import Window as Window
from .jobs import redact_file as redact_file
from .jobs import redact_image as redact_image
from .jobs import redact_video as redact_video
from .ops import obscure as obscure
from .pipeline import Redactor as Redactor
from .policy import Method as Method
from .policy import Policy as Policy
from .policy import Profile as Profile
from .policy import Shape as Shape
from .policy import Style as Style
from .policy import Units as Units
from .policy import Zone as Zone
from .types import Kind as Kind
from .types import Regions as Regions
from .verify import verify_clip as verify_clip

__version__: str
__all__: list[str]
