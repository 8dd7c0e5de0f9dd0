"""What a batch asks of every file: the settings the CLI hands to the executor (local
processes or Dask workers) and the executor to `redact.jobs.files.redact_file`.

Plain values only, so the options pickle to a worker process or a Dask worker as they are;
what lives in one process (loaded detectors, a hand-off, a progress bar) travels beside them
(`redact.jobs.tasks.run_one`'s keywords), never inside.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from ..media.video.writer import check_encoder


@dataclass(frozen=True)
class JobOptions:
    """The settings of one batch's files, checked when made.

    Attributes
    ----------
    overwrite : bool
        Replace outputs that exist and are not redact's own (see `redact.jobs.files.redact_file`).
    crf, preset : int, str
        x264 quality and speed of a video output (`redact.media.video.writer.check_encoder`).
    models_dir : str or path-like, optional
        Where the models are (default: `redact.detectors.models.models_dir`); on a cluster, a
        path on the workers.

    Raises
    ------
    ValueError
        For a value of the wrong type or out of range, naming it and what is allowed.

    Examples
    --------
    >>> import pickle
    >>> options = JobOptions(crf=23, preset="fast")
    >>> pickle.loads(pickle.dumps(options)) == options
    True
    >>> JobOptions(crf=99)
    Traceback (most recent call last):
    ...
    ValueError: crf: expected a whole number from 0 (best) to 51 (smallest), got 99
    """

    overwrite: bool = False
    crf: int = 20
    preset: str = "veryfast"
    models_dir: str | os.PathLike | None = None

    def __post_init__(self):
        if not isinstance(self.overwrite, bool):
            raise ValueError(f"overwrite: expected True or False, got {self.overwrite!r}")
        check_encoder(self.crf, self.preset)
        if self.models_dir is not None and not isinstance(self.models_dir, (str, os.PathLike)):
            raise ValueError(f"models_dir: expected a folder path or None, got {self.models_dir!r}")
