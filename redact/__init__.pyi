# The public names of `redact`, for type checkers: the package loads them on first use
# (PEP 562 `__getattr__` in __init__.py), which a checker cannot follow, so without this
# stub every one of them would be Any. Keep it to `_PUBLIC` in __init__.py (a test compares).
from .core.incident import Incident as Incident
from .core.incident import Subject as Subject
from .core.incident import Window as Window
from .core.policy import Method as Method
from .core.policy import Policy as Policy
from .core.policy import Shape as Shape
from .core.policy import Style as Style
from .core.profile import Profile as Profile
from .core.types import Kind as Kind
from .core.types import Regions as Regions
from .core.zones import Units as Units
from .core.zones import Zone as Zone
from .detectors import Detector as Detector
from .detectors import build_detectors as build_detectors
from .detectors import detectors_for as detectors_for
from .jobs.files import redact_file as redact_file
from .jobs.files import redact_image as redact_image
from .jobs.files import redact_video as redact_video
from .pipeline.live import LiveRedactor as LiveRedactor
from .pipeline.obscure import obscure as obscure
from .pipeline.redactor import Redactor as Redactor
from .record.verify import verify_clip as verify_clip

__version__: str
__all__: list[str]
