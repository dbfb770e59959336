"""FieldEmbedding (tfrec/layers/fields.py): offsets, multi-hot pooling and first-order weights."""

from __future__ import annotations

import numpy as np
import pytest

from tfrec import _backend  # noqa: F401
import keras

from ctr_reference import field_rows, w
from tfrec.layers.fields import FieldEmbedding

FIELDS = [
    {"name": "user_id", "vocab_size": 4, "multi_hot": False},
    {"name": "genres", "vocab_size": 5, "multi_hot": True},
    {"name": "item_id", "vocab_size": 3, "multi_hot": False},
]
FEATURES = {
    "user_id": np.array([0, 3, 2]),
    "genres": np.array([[1, 4, -1], [-1, -1, -1], [0, 2, 3]]),
    "item_id": np.array([2, 0, 1]),
}


@pytest.mark.parametrize("pooling", ["mean", "sum"])
def test_lookup_and_linear_match_numpy(pooling):
    layer = FieldEmbedding(FIELDS, embedding_dim=3, linear=True, pooling=pooling)
    layer.build(None)
    rng = np.random.default_rng(0)
    for v in layer.weights:
        v.assign(rng.normal(size=v.shape).astype(np.float32))
    emb, linear = layer(FEATURES, linear=True)
    assert emb.shape == (3, 3, 3) and layer.embeddings.shape == (12, 3)  # no unused extra row
    np.testing.assert_allclose(emb, field_rows(FIELDS, FEATURES, w(layer.embeddings), pooling), rtol=1e-5, atol=1e-6)
    expected = field_rows(FIELDS, FEATURES, w(layer.linear_weights), pooling)[..., 0].sum(1) + w(layer.linear_bias)[0]
    np.testing.assert_allclose(linear, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(emb[1, 1], np.zeros(3))  # a row without genres pools to zero


def test_l2_is_a_layer_loss_and_config_roundtrips():
    layer = FieldEmbedding(FIELDS, embedding_dim=2, embeddings_l2=0.5, linear=True, linear_l2=0.25)
    layer.build(None)
    expected = 0.5 * np.sum(w(layer.embeddings) ** 2) + 0.25 * np.sum(w(layer.linear_weights) ** 2)
    assert float(sum(layer.losses)) == pytest.approx(expected, rel=1e-5)
    clone = FieldEmbedding.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"fields": []}, "non-empty"),
        ({"fields": [("a", 0)]}, "vocab_size"),
        ({"fields": [("a", 3), ("a", 2)]}, "uniquely"),
        ({"fields": [("a", 3, "yes")]}, "multi_hot"),
        ({"fields": [("a", 3)], "embedding_dim": 0}, "embedding_dim"),
        ({"fields": [("a", 3)], "pooling": "max"}, "pooling"),
        ({"fields": [("a", 3)], "embeddings_l2": -1.0}, "embeddings_l2"),
    ],
)
def test_invalid_arguments_are_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FieldEmbedding(**kwargs)


def test_linear_call_without_linear_weights_is_an_error():
    layer = FieldEmbedding([("a", 3)], embedding_dim=2)
    with pytest.raises(ValueError, match="linear=False"):
        layer({"a": np.array([0])}, linear=True)
    assert isinstance(layer, keras.layers.Layer)
