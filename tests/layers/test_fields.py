"""FieldEmbedding (tfrec/layers/fields.py): offsets, multi-hot pooling, numeric fields, first-order
weights and the deep input."""

from __future__ import annotations

import numpy as np
import pytest

from tfrec import _backend  # noqa: F401
import keras

import ctr_reference as ref
from ctr_reference import field_rows, w
from tfrec.layers.fields import FieldEmbedding, normalize_fields

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

NUMERIC_FIELDS = [
    {"name": "price", "vocab_size": 1, "multi_hot": False, "numeric": True},
    *FIELDS[:2],
    {"name": "age", "vocab_size": 1, "multi_hot": False, "numeric": True},
    FIELDS[2],
]
NUMERIC_FEATURES = {**FEATURES, "price": np.array([0.5, -2.0, 1.25], np.float32), "age": np.array([3.0, 0.0, -0.5], np.float32)}


def _random_weights(layer, seed=0):
    rng = np.random.default_rng(seed)
    for v in layer.weights:
        v.assign(rng.normal(size=v.shape).astype(np.float32))


@pytest.mark.parametrize("pooling", ["mean", "sum"])
def test_numeric_fields_embedding_linear_and_deep_input_match_numpy(pooling):
    layer = FieldEmbedding(NUMERIC_FIELDS, embedding_dim=3, linear=True, pooling=pooling)
    layer.build(None)
    _random_weights(layer)
    assert layer.offsets == [0, 1, 5, 10, 11] and layer.embeddings.shape == (14, 3)  # one row per numeric field
    assert (layer.num_numeric, layer.num_categorical, layer.deep_input_dim) == (2, 3, 3 * 3 + 2)
    emb, linear = layer(NUMERIC_FEATURES, linear=True)
    table, lin = w(layer.embeddings), w(layer.linear_weights)
    assert emb.shape == (3, 5, 3)
    np.testing.assert_allclose(emb, field_rows(NUMERIC_FIELDS, NUMERIC_FEATURES, table, pooling), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(emb[:, 0], NUMERIC_FEATURES["price"][:, None] * table[0], rtol=1e-6)  # x_f V[offset_f]
    expected = field_rows(NUMERIC_FIELDS, NUMERIC_FEATURES, lin, pooling)[..., 0].sum(1) + w(layer.linear_bias)[0]
    np.testing.assert_allclose(linear, expected, rtol=1e-5, atol=1e-6)  # + sum_numeric x_f w[offset_f]
    values = layer.numeric_values(NUMERIC_FEATURES)
    np.testing.assert_array_equal(values, np.stack([NUMERIC_FEATURES["price"], NUMERIC_FEATURES["age"]], 1))
    np.testing.assert_array_equal(values, ref.numeric_values(NUMERIC_FIELDS, NUMERIC_FEATURES))
    deep = layer.deep_input(NUMERIC_FEATURES)
    assert deep.shape == (3, layer.deep_input_dim)
    np.testing.assert_allclose(deep, ref.deep_input(NUMERIC_FIELDS, NUMERIC_FEATURES, table, pooling), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.deep_input(NUMERIC_FEATURES, emb), deep, rtol=0, atol=0)
    np.testing.assert_array_equal(deep[:, -2:], values)  # the raw values, after the categorical embeddings


def test_deep_input_without_numeric_fields_is_the_flat_embeddings():
    layer = FieldEmbedding(FIELDS, embedding_dim=3)
    emb = layer(FEATURES)
    np.testing.assert_array_equal(layer.deep_input(FEATURES), np.reshape(emb, (3, 9)))
    assert layer.numeric_values(FEATURES).shape == (3, 0) and layer.deep_input_dim == 9 and layer.num_numeric == 0


def test_only_numeric_fields():
    fields = [("a", 1, False, True), ("b", 1, False, True)]
    layer = FieldEmbedding(fields, embedding_dim=2, linear=True)
    feats = {"a": np.array([1.0, 2.0], np.float32), "b": np.array([0.5, -1.0], np.float32)}
    emb, linear = layer(feats, linear=True)
    assert emb.shape == (2, 2, 2) and linear.shape == (2,)
    np.testing.assert_array_equal(layer.deep_input(feats), np.stack([feats["a"], feats["b"]], 1))


def test_numeric_fields_under_mixed_bfloat16():
    from tfrec.distribute import precision_scope

    with precision_scope("mixed_bfloat16"):
        layer = FieldEmbedding(NUMERIC_FIELDS, embedding_dim=3, linear=True)
    emb, linear = layer(NUMERIC_FEATURES, linear=True)
    assert emb.dtype == "bfloat16" and linear.dtype == "float32"
    assert layer.numeric_values(NUMERIC_FEATURES).dtype == "bfloat16"
    assert layer.deep_input(NUMERIC_FEATURES, emb).dtype == "bfloat16"
    assert layer.embeddings.dtype == "float32"


def test_numeric_config_roundtrips_and_old_configs_load():
    layer = FieldEmbedding(NUMERIC_FIELDS, embedding_dim=2, linear=True)
    config = layer.get_config()
    assert [f["numeric"] for f in config["fields"]] == [True, False, False, True, False]
    clone = FieldEmbedding.from_config(config)
    assert clone.get_config() == config and clone.num_numeric == 2
    current = FieldEmbedding(FIELDS).get_config()
    old = {**current, "fields": [{k: v for k, v in f.items() if k != "numeric"} for f in current["fields"]]}
    assert FieldEmbedding.from_config(old).get_config() == current  # saved before numeric fields existed


def test_normalize_fields_numeric_forms():
    from tfrec.data.types import CTRField

    expected = {"name": "x", "vocab_size": 1, "multi_hot": False, "numeric": True}
    assert normalize_fields([CTRField("x", 1, numeric=True)]) == [expected]
    assert normalize_fields([("x", 1, False, True)]) == [expected]
    assert normalize_fields([{"name": "x", "vocab_size": 1, "numeric": True}]) == [expected]
    assert normalize_fields([("c", 3)]) == [{"name": "c", "vocab_size": 3, "multi_hot": False, "numeric": False}]


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
        ({"fields": [("a", 1, False, "yes")]}, "`numeric` must be true or false"),
        ({"fields": [("a", 2, False, True)]}, "numeric field 'a' must have vocab_size 1"),
        ({"fields": [("a", 1, True, True)]}, "not be multi-hot"),
        ({"fields": [{"name": "a", "vocab_size": 1, "multi_hot": True, "numeric": True}]}, "not be multi-hot"),
        ({"fields": [("a", 1, False, True, "extra")]}, "field tuple"),
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
