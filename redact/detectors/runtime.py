"""Running an ONNX network: ONNX Runtime when it is installed, otherwise ``cv2.dnn``.

ONNX Runtime runs the plate detector's text network faster than ``cv2.dnn`` on the same
CPU (measured on this project's 2-core x86_64 machine: 1.35x at the 480 px view, 1.13x at
960 px, outputs equal to 2e-7) and runs the text recogniser, which ``cv2.dnn`` cannot. It is
a dependency where it has wheels (x86_64, aarch64); elsewhere ``cv2.dnn`` runs the detectors
and the plate check is off. The manifest records which one ran (`OnnxNet.runtime`).
"""
from __future__ import annotations

import numpy as np

#: Values of `OnnxNet.runtime`.
ONNXRUNTIME, CV2_DNN = "onnxruntime", "cv2.dnn"


def onnxruntime_available() -> bool:
    """Whether ONNX Runtime can be imported here."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class OnnxNet:
    """One ONNX network with a single input and a single output used.

    Parameters
    ----------
    path : path
        The ``.onnx`` file.
    runtime : str, optional
        `ONNXRUNTIME` or `CV2_DNN`; default: ONNX Runtime when installed.

    Notes
    -----
    Not thread-safe: use one per thread (as the detectors holding one are).
    """

    def __init__(self, path, runtime: str | None = None):
        self.runtime = runtime or (ONNXRUNTIME if onnxruntime_available() else CV2_DNN)
        if self.runtime == ONNXRUNTIME:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.log_severity_level = 3  # errors only: its graph notes are not the user's business
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            self._input = self._session.get_inputs()[0].name
        elif self.runtime == CV2_DNN:
            import cv2

            self._net = cv2.dnn.readNetFromONNX(str(path))
        else:
            raise ValueError(f"OnnxNet: runtime must be {ONNXRUNTIME!r} or {CV2_DNN!r}, got {runtime!r}")

    def forward(self, blob: np.ndarray) -> np.ndarray:
        """The network's first output for one NCHW float32 ``blob``."""
        if self.runtime == ONNXRUNTIME:
            return self._session.run(None, {self._input: blob})[0]
        self._net.setInput(blob)
        return self._net.forward()
