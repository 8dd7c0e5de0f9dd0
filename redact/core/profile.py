"""`Profile`: the speed/recall trade-off of the detectors, named once for the options and
the incident (a subject numbered by `redact pick` remembers the profile that numbered it)."""
from __future__ import annotations

import enum


class Profile(str, enum.Enum):
    """Speed/recall trade-off of the detectors, and how often they run.

    ``FAST`` aims at real time on a small device, ``BALANCED`` (the default) at the recall
    targets, ``THOROUGH`` at the highest recall for batch work. ``PI`` runs the ``FAST``
    detectors less often, for a Raspberry Pi 4 or 5. Every profile but ``thorough`` detects
    on every `detect_every`-th frame by default, with tracking, the motion check and the
    look-ahead hold in between (`Policy.detect_every`): measured with
    ``benchmarks/exposure.py``, that exposed no face on the six face clips (see the README).

    >>> Profile.PI.detectors, Profile.PI.detect_every, Profile.BALANCED.detect_every
    (<Profile.FAST: 'fast'>, 4, 3)
    """

    FAST = "fast"
    BALANCED = "balanced"
    THOROUGH = "thorough"
    PI = "pi"

    @property
    def detectors(self) -> "Profile":
        """The profile whose detector settings this one uses."""
        return Profile.FAST if self is Profile.PI else self

    @property
    def detect_every(self) -> int:
        """Run the detectors on every N-th frame, unless a `Policy` says otherwise."""
        return {Profile.FAST: 3, Profile.BALANCED: 3, Profile.PI: 4}.get(self, 1)

    @property
    def plates_every(self) -> int:
        """Run the plate search (and the vehicle network where only the plates need it) on
        every N-th detection of the faces, when the look-ahead covers the gap
        (`redact.pipeline.redactor.Analyser`): between them a plate rides on its tracked
        vehicle (`redact.pipeline.vehicles.PlateRides`) and the tracker holds it.

        Not the default's: measured in pairs against every detection, ``balanced`` ran 0.99x
        (its motion check, seeing walkers outside the tracked heads, asked for the plates on
        39 of 39 detections) while its unjudged text exposures rose (54 -> 59 on theaiguys);
        ``fast`` ran 0.91x with the same plate and face exposure."""
        return {Profile.FAST: 2, Profile.PI: 2}.get(self, 1)
