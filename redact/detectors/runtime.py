"""Running a network: ONNX Runtime when it is installed, otherwise ``cv2.dnn``; LiteRT for TFLite.

ONNX Runtime runs the plate detector's text network faster than ``cv2.dnn`` on the same
CPU (measured on this project's 2-core x86_64 machine: 1.35x at the 480 px view, 1.13x at
960 px, outputs equal to 2e-7), CenterFace (1.3-1.6x alone, outputs equal to 1e-5, and 2.1x
more once its weights are constants, `constant_weights`; about 100 MB less memory than
``cv2.dnn``'s network per input size), and the text recogniser, which ``cv2.dnn`` cannot run. It is
a dependency where it has wheels (x86_64, aarch64); elsewhere ``cv2.dnn`` runs the detectors
and the plate check is off. The manifest records which one ran (`OnnxNet.runtime`).
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ..core.native_output import muted_native_stderr
from ..core.threads import budget

#: Values of `OnnxNet.runtime`.
ONNXRUNTIME, CV2_DNN = "onnxruntime", "cv2.dnn"


def onnxruntime_available() -> bool:
    """Whether ONNX Runtime can be imported here."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _varint(buf: bytes, i: int) -> tuple:
    """The protobuf varint at ``buf[i:]`` and the index after it."""
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7


def _as_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def _fields(buf: bytes):
    """``(number, start, payload start, end)`` of each field of a protobuf message; the
    payload of a length-delimited field is ``buf[payload start:end]``."""
    i = 0
    while i < len(buf):
        start = i
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        payload = i
        if wire == 0:
            _, i = _varint(buf, i)
        elif wire == 1:
            i += 8
        elif wire == 2:
            length, payload = _varint(buf, i)
            i = payload + length
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, start, payload, i


def _edit_first(buf: bytes, path: tuple, edit) -> bytes:
    """``buf`` with the message at ``path`` (field numbers, first occurrence at each level)
    replaced by ``edit(message)``, the lengths around it re-encoded."""
    for number, start, payload, end in _fields(buf):
        if number == path[0]:
            inner = buf[payload:end]
            inner = edit(inner) if len(path) == 1 else _edit_first(inner, path[1:], edit)
            return buf[:start] + _as_varint(number << 3 | 2) + _as_varint(len(inner)) + inner + buf[end:]
    raise ValueError(f"protobuf field {path[0]} not found")


def free_input_shape(model: bytes) -> bytes:
    """An ONNX model whose first input has no declared shape, so that ONNX Runtime runs it
    on any input size. CenterFace's file declares 10x3x32x32 (a trace of its export), which
    ``cv2.dnn`` ignores and ONNX Runtime enforces. Only that declaration changes: the path
    ModelProto.graph (7) -> GraphProto.input (11, the first) -> ValueInfoProto.type (2) ->
    TypeProto.tensor_type (1), whose shape (field 2) is dropped.
    """
    def drop_shape(tensor: bytes) -> bytes:
        return b"".join(tensor[start:end] for number, start, _, end in _fields(tensor) if number != 2)

    return _edit_first(model, (7, 11, 2, 1), drop_shape)


def constant_weights(model: bytes) -> bytes:
    """An ONNX model whose weights are constants: the graph inputs that name an initializer
    are dropped. CenterFace's file (an old exporter's) lists all 194 of its weights as graph
    inputs, which a caller could override, so ONNX Runtime folds none of them: no batch norm
    fused into its convolution. Without them CenterFace runs 2.1x faster on one thread
    (832x480: 151 -> 71 ms), outputs equal to 1e-5. GraphProto (ModelProto field 7): its
    initializers are field 5 (TensorProto, name field 8), its inputs field 11
    (ValueInfoProto, name field 1).
    """
    def name_of(message: bytes, number: int) -> bytes | None:
        return next((message[payload:end] for n, _, payload, end in _fields(message) if n == number), None)

    def drop_weight_inputs(graph: bytes) -> bytes:
        weights = {name_of(graph[payload:end], 8) for n, _, payload, end in _fields(graph) if n == 5}
        return b"".join(graph[start:end] for n, start, payload, end in _fields(graph)
                        if n != 11 or name_of(graph[payload:end], 1) not in weights)

    return _edit_first(model, (7,), drop_weight_inputs)


def _string(number: int, text: bytes) -> bytes:
    """One length-delimited protobuf field."""
    return _as_varint(number << 3 | 2) + _as_varint(len(text)) + text


def scale_resizes(model: bytes, scales) -> bytes:
    """An ONNX model whose ``Resize`` nodes scale their input by ``scales`` (one factor per
    node, in file order, for both axes of ``axes=[2, 3]``) where they resized to fixed sizes.

    A network converted from TensorFlow.js resizes to the sizes its input size gave (NanoDet-g
    at 416 px: its feature pyramid's maps 13, 26, 52); with scales instead, and the input's
    declared shape dropped (`free_input_shape`), it runs at any input size that its strides
    divide, and gives the same outputs at the old size. Only the nodes change: each loses
    its sizes input and reads a float32 scales constant appended to the graph's initialisers
    (ModelProto.graph (7) -> GraphProto.node (1): NodeProto.input (1), op_type (4);
    GraphProto.initializer (5): TensorProto dims (1), data_type (2, FLOAT 1), name (8),
    raw_data (9)).

    Raises
    ------
    ValueError
        When the graph has not as many ``Resize`` nodes as ``scales``.
    """
    scales = [float(s) for s in scales]

    def is_resize(number: int, node: bytes) -> bool:
        return number == 1 and any(n == 4 and node[p:e] == b"Resize" for n, _, p, e in _fields(node))

    def edit_graph(graph: bytes) -> bytes:
        count = sum(is_resize(number, graph[payload:end]) for number, _, payload, end in _fields(graph))
        if count != len(scales):
            raise ValueError(f"scale_resizes: the graph has {count} Resize nodes, {len(scales)} scales given")
        out: list[bytes] = []
        added: list[bytes] = []
        for number, start, payload, end in _fields(graph):
            node = graph[payload:end]
            if not is_resize(number, node):
                out.append(graph[start:end])
                continue
            name = f"redact/resize_scales_{len(added)}".encode()
            inputs = [node[p:e] for n, _, p, e in _fields(node) if n == 1]
            rest = b"".join(node[a:e] for n, a, _, e in _fields(node) if n != 1)
            # Inputs X, roi, scales, sizes: the scales take the sizes' place.
            new = b"".join(_string(1, text) for text in (inputs[0], b"", name)) + rest
            out.append(_string(1, new))
            raw = np.full(2, scales[len(added)], "<f4").tobytes()
            added.append(_string(5, _as_varint(1 << 3) + _as_varint(2) + _as_varint(2 << 3) + _as_varint(1)
                                 + _string(8, name) + _string(9, raw)))
        return b"".join(out + added)

    return _edit_first(model, (7,), edit_graph)


@functools.cache
def shared_arena() -> None:
    """Register, once per process, the CPU memory arena that every `OnnxNet` session
    allocates from (``session.use_env_allocators``), instead of one arena per session.

    A session's own arena grows in powers of two to its network's largest call and keeps
    that size: at 1080p 80 MB for CenterFace (864x480, 44 MB of tensors alive at most) and
    89 MB for the text network's 960 px view (53 MB), beside the head and recogniser
    networks' own, all held for the whole run. One arena is reused by whichever network
    runs; two lanes running networks at once take what both need at that moment. Where the
    tensors live changes no output.
    """
    import onnxruntime as ort

    cpu = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
    ort.create_and_register_allocator(cpu, ort.OrtArenaCfg({}))  # ONNX Runtime's default growth


class OnnxNet:
    """One ONNX network with a single input.

    Parameters
    ----------
    path : path
        The ``.onnx`` file.
    runtime : str, optional
        `ONNXRUNTIME` or `CV2_DNN`; default: ONNX Runtime when installed.
    any_size : bool
        Run the network on inputs of any size under ONNX Runtime, whatever input shape the
        file declares (`free_input_shape`).
    resize_scales : sequence of float, optional
        With ``any_size``: the factors of the graph's ``Resize`` nodes, in file order, for a
        graph that resizes to fixed sizes (`scale_resizes`).
    threads : int, optional
        ONNX Runtime's threads within one call (default: its own choice, one per core); 1
        leaves the other cores to the decoder, the encoder and the other networks.

    Notes
    -----
    Not thread-safe: use one per thread (as the detectors holding one are).
    """

    def __init__(self, path, runtime: str | None = None, *, any_size: bool = False, threads: int | None = None,
                 resize_scales=None):
        self.runtime = runtime or (ONNXRUNTIME if onnxruntime_available() else CV2_DNN)
        if self.runtime == ONNXRUNTIME:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.log_severity_level = 3  # errors only: its graph notes are not the user's business
            # Its worker threads would otherwise spin between calls, taking the CPU from the
            # decoder, the encoder and the other networks of the same frame.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            # One call at a time, on the process's share of the cores (`redact.core.threads`), or
            # on the threads a network asks for (NanoDet: one).
            options.intra_op_num_threads = budget().networks if threads is None else threads
            options.inter_op_num_threads = 1
            # A memory pattern is planned, and kept in the arena, for every input shape a
            # session sees; the plate search's canvases and the recogniser's crops change shape
            # from frame to frame. Without patterns, peak memory of a 1080p run (facenet clip,
            # 105 frames, balanced) fell from 1046 to 931 MB. (Without the arena it rose to 1275.)
            options.enable_mem_pattern = False
            shared_arena()
            options.add_session_config_entry("session.use_env_allocators", "1")
            model = constant_weights(Path(path).read_bytes())
            if any_size:
                model = free_input_shape(model)
                model = model if resize_scales is None else scale_resizes(model, resize_scales)
            self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
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

    def forward_all(self, blob: np.ndarray) -> list:
        """Every output of the network, in the file's order, for one NCHW float32 ``blob``."""
        if self.runtime == ONNXRUNTIME:
            return self._session.run(None, {self._input: blob})
        self._net.setInput(blob)
        return list(self._net.forward(self._net.getUnconnectedOutLayersNames()))


#: Value of `TfliteNet.runtime`.
LITERT = "ai-edge-litert"


class TfliteNet:
    """One TensorFlow Lite network on Google's LiteRT runtime (``ai-edge-litert``).

    For models ``cv2.dnn`` reads wrongly or slowly: it runs MediaPipe's fp16 SSD (its box
    outputs come out of ``cv2.dnn`` in another layout, and 3x slower: 78 against 27 ms a
    300x300 call on one thread here).

    Parameters
    ----------
    path : path
        The ``.tflite`` file.
    threads : int, optional
        CPU threads of one call; default the process's share for networks
        (`redact.core.threads.budget`): network calls run one at a time, beside one decoder and
        one encoder thread.

    Raises
    ------
    ImportError
        When ``ai-edge-litert`` is not installed, with the command that installs it.

    Notes
    -----
    Not thread-safe: use one per thread (as the detectors holding one are).
    """

    runtime = LITERT

    def __init__(self, path, threads: int | None = None):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise ImportError(f"{Path(path).name} needs the LiteRT runtime: pip install ai-edge-litert "
                              "(wheels for x86_64 and aarch64 Linux, macOS arm64, Windows)") from None
        self._interpreter = Interpreter(model_path=str(path), num_threads=threads or budget().networks)
        # LiteRT prints its XNNPACK delegate on every interpreter (see redact.core.native_output).
        with muted_native_stderr():
            self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]
        self.input_shape = tuple(int(v) for v in self._input["shape"])
        self._outputs = {d["name"]: d["index"] for d in self._interpreter.get_output_details()}

    def forward(self, tensor: np.ndarray) -> dict:
        """Every output, by name, for one input ``tensor`` of `input_shape` (float32)."""
        self._interpreter.set_tensor(self._input["index"], tensor)
        self._interpreter.invoke()
        return {name: self._interpreter.get_tensor(index) for name, index in self._outputs.items()}
