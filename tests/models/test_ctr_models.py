"""The CTR family (tfrec/models/{fm,afm,deepfm,dcn,xdeepfm,pnn,wide_deep,autoint}.py): forward
logits against NumPy, a few training steps, .keras round trip and SavedModel export."""

from __future__ import annotations

import numpy as np
import pytest

from tfrec import _backend  # noqa: F401
import keras

import ctr_reference as ref
from ctr_reference import dense, field_rows, w
from tfrec.data.synthetic import make_synthetic_ctr
from tfrec.models import AFM, DCN, FM, PNN, AutoInt, DeepFM, WideDeep, XDeepFM

FIELDS = [
    {"name": "user_id", "vocab_size": 5, "multi_hot": False},
    {"name": "item_id", "vocab_size": 6, "multi_hot": False},
    {"name": "group", "vocab_size": 3, "multi_hot": False},
    {"name": "genres", "vocab_size": 4, "multi_hot": True},
]
X = {
    "user_id": np.array([0, 4, 2, 1], dtype=np.int32),
    "item_id": np.array([5, 0, 3, 3], dtype=np.int32),
    "group": np.array([2, 0, 1, 1], dtype=np.int32),
    "genres": np.array([[0, 3], [1, -1], [-1, -1], [2, 1]], dtype=np.int32),
}


NUM_FIELDS = [  # categorical, numeric, multi-hot, categorical, numeric: numeric fields between the others
    {"name": "user_id", "vocab_size": 5, "multi_hot": False},
    {"name": "price", "vocab_size": 1, "multi_hot": False, "numeric": True},
    {"name": "genres", "vocab_size": 4, "multi_hot": True},
    {"name": "item_id", "vocab_size": 6, "multi_hot": False},
    {"name": "age", "vocab_size": 1, "multi_hot": False, "numeric": True},
]
XN = {
    "user_id": np.array([0, 4, 2, 1], dtype=np.int32),
    "price": np.array([0.5, -1.25, 2.0, 0.0], dtype=np.float32),
    "genres": np.array([[0, 3], [1, -1], [-1, -1], [2, 1]], dtype=np.int32),
    "item_id": np.array([5, 0, 3, 3], dtype=np.int32),
    "age": np.array([-0.75, 1.5, 0.25, 3.0], dtype=np.float32),
}
DATA = (FIELDS, X)


def _emb(model, data=DATA):
    return field_rows(*data, w(model.embedding.embeddings))


def _linear(model, data=DATA):
    return field_rows(*data, w(model.embedding.linear_weights))[..., 0].sum(1) + w(model.embedding.linear_bias)[0]


def _deep(model, data=DATA):
    """The deep input: categorical embeddings flattened, then the raw numeric values."""
    return ref.deep_input(*data, w(model.embedding.embeddings))


def _dnn(layer, x):
    for d in layer.hidden:
        x = dense(d, x, "relu" if layer.activation == "relu" else None)
    return x


def np_fm(m, data=DATA):
    return _linear(m, data) + ref.pairwise_sum(_emb(m, data))


def np_afm(m, data=DATA):
    pooled = ref.afm_pooling(_emb(m, data), m.attention.hidden, m.attention.score)
    return dense(m.output_layer, pooled)[:, 0] + _linear(m, data)


def np_deepfm(m, data=DATA):
    flat = _deep(m, data)
    deep = dense(m.output_layer, _dnn(m.dnn, flat))[:, 0]
    if m.fm_input == "fields":
        return _linear(m, data) + ref.pairwise_sum(_emb(m, data)) + deep
    W, V, w0 = w(m.fm.w), w(m.fm.V), w(m.fm.w0)[0]
    D = flat.shape[1]
    fm = np.array([w0 + x @ W[:, 0] + sum(x[i] * x[j] * V[i] @ V[j] for i in range(D) for j in range(i + 1, D)) for x in flat])
    return fm + deep


def np_dcn(m, data=DATA):
    flat = _deep(m, data)
    cross = ref.cross_network(flat, [w(k) for k in m.cross.kernels], [w(b) for b in m.cross.biases], m.cross.residual)
    return dense(m.output_layer, np.concatenate([cross, _dnn(m.dnn, flat)], 1))[:, 0]


def np_xdeepfm(m, data=DATA):
    e = _emb(m, data)
    dnn = dense(m.dnn_output, _dnn(m.dnn, _deep(m, data)))[:, 0]
    c = ref.cin(e, [w(k) for k in m.cin.kernels], [w(b) for b in m.cin.biases], m.activation, m.cin.include_input)
    return _linear(m, data) + dnn + dense(m.cin_output, c)[:, 0]


def np_pnn(m, data=DATA):
    e = _emb(m, data)
    categorical = [i for i, f in enumerate(data[0]) if not f.get("numeric", False)]
    linear = dense(m.linear, e[:, categorical]).reshape(len(e), -1)  # l_z = [Dense(k)(e_cat) ; x_num]
    linear = np.concatenate([linear, ref.numeric_values(*data)], 1)
    if m.product == "inner":
        prod = ref.inner_product(e, m.inner_reduce)
    else:
        prod = ref.outer_product(e, w(m.product_layer.kernel), m.kernel_type)
    return dense(m.output_layer, _dnn(m.dnn, np.concatenate([linear, prod], 1)))[:, 0]


def np_wide_deep(m, data=DATA):
    deep = dense(m.output_layer, _dnn(m.dnn, _deep(m, data)))[:, 0]  # dropout is off at inference
    return 0.5 * (_linear(m, data) + deep)


def np_autoint(m, data=DATA):
    x = _emb(m, data)
    for layer in m.interacting:
        x = ref.interacting(layer, x)
    return dense(m.output_layer, x.reshape(len(x), -1))[:, 0]


CASES = {
    "fm": (FM, {}, np_fm),
    "afm": (AFM, {}, np_afm),
    "deepfm": (DeepFM, {}, np_deepfm),
    "deepfm-fields": (DeepFM, {"fm_input": "fields"}, np_deepfm),
    "dcn": (DCN, {"cross_residual": True}, np_dcn),
    "xdeepfm": (XDeepFM, {"cin_layers": [3, 2]}, np_xdeepfm),
    "ipnn": (PNN, {}, np_pnn),
    "opnn": (PNN, {"product": "outer"}, np_pnn),
    "wide_deep": (WideDeep, {}, np_wide_deep),
    "autoint": (AutoInt, {}, np_autoint),
}
INTERACTING = ("fm", "afm", "deepfm-fields", "xdeepfm", "ipnn", "opnn", "autoint")  # take x v
SMALL = {"hidden_units": [8, 4]}  # keeps the NumPy double sums small


def _make(name, fields=FIELDS, **extra):
    cls, kwargs, _ = CASES[name]
    small = SMALL if "hidden_units" in cls.__init__.__code__.co_varnames else {}
    model = cls(fields, embedding_dim=3, **{**small, **kwargs, **extra})
    model.build()
    return model


def _randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    for v in model.weights:
        v.assign(rng.normal(scale=0.3, size=v.shape).astype(np.float32))


@pytest.mark.parametrize("name", list(CASES))
def test_forward_logits_match_numpy(name):
    model = _make(name)
    _randomize(model)
    expected = CASES[name][2](model)
    np.testing.assert_allclose(model.logits(X), expected, rtol=2e-4, atol=2e-4)
    np.testing.assert_allclose(model.predict(X, verbose=0), ref.sigmoid(expected), rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("name", list(CASES))
def test_numeric_fields_logits_match_numpy_and_config_roundtrips(name):
    """Numeric fields: ``x v`` in the interaction parts, ``x w`` in the first-order parts, the
    raw ``x`` after the flattened categorical embeddings in the deep and cross parts."""
    model = _make(name, fields=NUM_FIELDS)
    assert model.deep_input_dim == 3 * 3 + 2 and model.num_numeric == 2
    _randomize(model)
    expected = CASES[name][2](model, (NUM_FIELDS, XN))
    np.testing.assert_allclose(model.logits(XN), expected, rtol=2e-4, atol=2e-4)
    as_tuple = tuple(XN[f["name"]] for f in NUM_FIELDS)
    np.testing.assert_allclose(model.logits(as_tuple), expected, rtol=2e-4, atol=2e-4)
    config = model.get_config()
    assert [f["numeric"] for f in config["fields"]] == [False, True, False, False, True]
    clone = type(model).from_config(config)
    clone.build()
    assert clone.get_config() == config
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.logits(XN), model.logits(XN), rtol=1e-6, atol=1e-6)


def test_configs_saved_without_numeric_keys_still_load():
    model = _make("dcn")
    old = model.get_config()
    old["fields"] = [{k: v for k, v in f.items() if k != "numeric"} for f in old["fields"]]
    clone = DCN.from_config(old)
    assert clone.get_config() == model.get_config() and clone.num_numeric == 0


@pytest.mark.parametrize("name", ["deepfm", "xdeepfm", "wide_deep"])  # flat FM, CIN + linear, two optimizers
def test_fit_two_steps_with_float_numeric_features(name):
    keras.utils.set_random_seed(0)
    model = _make(name, fields=NUM_FIELDS)
    model.compile(optimizer=keras.optimizers.Adam(0.01), jit_compile=False)
    x = {k: np.concatenate([v, v]) for k, v in XN.items()}
    numeric_rows = [model.embedding.offsets[i] for i, f in enumerate(NUM_FIELDS) if f.get("numeric")]
    before = np.array(model.embedding.embeddings)[numeric_rows]
    history = model.fit(x, np.array([1, 0, 0, 1, 0, 1, 1, 0], np.float32), batch_size=4, epochs=1, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert int(model.optimizer.iterations) == 2
    if name in INTERACTING:  # the others use numeric fields raw (and x w) only, not x v
        assert not np.array_equal(np.array(model.embedding.embeddings)[numeric_rows], before)  # x v learns
    shifted = {**x, "price": x["price"] + 1.0, "age": x["age"] - 1.0}
    assert not np.allclose(model.logits(shifted), model.logits(x))  # the values matter
    assert model.predict(x, verbose=0).shape == (8,)


@pytest.mark.parametrize("name", list(CASES))
def test_numeric_fields_under_mixed_bfloat16(name):
    from tfrec.distribute import precision_scope

    reference = _make(name, fields=NUM_FIELDS)
    _randomize(reference)
    with precision_scope("mixed_bfloat16"):
        model = _make(name, fields=NUM_FIELDS)
    model.set_weights(reference.get_weights())
    assert model.embedding.compute_dtype == "bfloat16"
    deep = model.embedding.deep_input(model.features(XN))
    assert deep.dtype == "bfloat16" and deep.shape == (4, model.deep_input_dim)
    logits = model.logits(XN)
    assert logits.dtype == "float32"
    np.testing.assert_allclose(logits, reference.logits(XN), rtol=0.1, atol=0.1)


def test_numeric_fields_serving_signature_and_matrix_error():
    model = _make("deepfm", fields=NUM_FIELDS)
    signature = model.input_signature()
    assert signature["price"].dtype == "float32" and signature["price"].shape.as_list() == [None]
    assert signature["genres"].dtype == "int32" and signature["genres"].shape.as_list() == [None, None]
    score = model.serving_endpoints().score
    served = score(*(XN[f["name"]] for f in NUM_FIELDS))
    np.testing.assert_allclose(served, model.predict(XN, verbose=0), rtol=1e-6)
    single = FM([("user_id", 5), ("price", 1, False, True)], embedding_dim=2)
    with pytest.raises(ValueError, match="numeric fields.*not one matrix"):
        single(np.array([[0, 1], [2, 3]]))


@pytest.fixture(scope="module")
def tiny():
    return make_synthetic_ctr(seed=1, num_users=40, num_items=30, rows_per_user=20, num_groups=2, num_genres=4)


@pytest.mark.parametrize("name", list(CASES))
def test_fit_lowers_the_loss_and_keras_roundtrip(name, tiny, tmp_path):
    keras.utils.set_random_seed(0)
    cls, kwargs, _ = CASES[name]
    model = cls.from_data(tiny, **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(0.01), jit_compile=False)
    history = model.fit(tiny.train_features, tiny.train_labels, batch_size=64, epochs=4, shuffle=False, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] - 0.02, losses
    clone = cls.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is cls
    np.testing.assert_array_equal(loaded.predict(tiny.test_features, verbose=0), model.predict(tiny.test_features, verbose=0))


def test_tuple_and_matrix_inputs_for_ids_only_models():
    model = FM([("user_id", 5), ("item_id", 6)], embedding_dim=2)
    model.build()
    users, items = np.array([0, 4]), np.array([5, 1])
    by_dict = model.predict({"user_id": users, "item_id": items}, verbose=0)
    np.testing.assert_allclose(model.predict((users, items), verbose=0), by_dict, rtol=1e-6)
    np.testing.assert_allclose(model.predict(np.stack([users, items], 1), verbose=0), by_dict, rtol=1e-6)


def test_wide_deep_steps_each_part_with_its_own_optimizer(tiny):
    model = WideDeep.from_data(tiny)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
    assert model.deep_optimizer is not model.optimizer
    wide_before = [np.array(v) for v in model.wide_variables]
    x = {k: v[:32] for k, v in tiny.train_features.items()}
    model.fit(x, tiny.train_labels[:32], batch_size=32, epochs=1, verbose=0)
    assert int(model.optimizer.iterations) == 1 and int(model.deep_optimizer.iterations) == 1
    assert all(not np.array_equal(b, np.array(v)) for b, v in zip(wide_before, model.wide_variables))
    # the wide optimizer holds slots for the wide variables only
    assert len(model.optimizer.variables) < len(model.deep_optimizer.variables)


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [
        (DeepFM, {"fm_input": "both"}, "fm_input"),
        (PNN, {"product": "hadamard"}, "product"),
        (PNN, {"kernel_type": "tensor"}, "kernel_type"),
        (AutoInt, {"attention_dims": [8], "attention_heads": [2, 2]}, "one entry per layer"),
        (DCN, {"num_cross_layers": 0}, "num_layers"),
        (WideDeep, {"dropout": 1.5}, "dropout"),
        (XDeepFM, {"cin_layers": []}, "layer_sizes"),
        (FM, {"l2": -1}, "l2"),
    ],
)
def test_invalid_hyperparameters_are_value_errors(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(FIELDS, **kwargs)


def test_served_scores_equal_keras_without_tfrec(tiny, tmp_path):
    import json
    import subprocess
    import sys
    import textwrap

    from tfrec.export import export_saved_model

    model = DeepFM.from_data(tiny)
    rng = np.random.default_rng(3)
    for v in model.weights:
        v.assign(rng.normal(scale=0.3, size=v.shape).astype(np.float32))
    out = export_saved_model(model, tmp_path / "deepfm")
    rows = {k: v[:5].tolist() for k, v in tiny.test_features.items()}
    script = textwrap.dedent(
        f"""
        import json, sys
        import tensorflow as tf
        served = tf.saved_model.load({str(out)!r})
        rows = {rows!r}
        args = {{k: tf.constant(v, tf.int64) for k, v in rows.items()}}  # the catalogue's id dtype
        print(json.dumps({{
            "call": served.score(**args)["score"].numpy().tolist(),
            "signature": served.signatures["score"](**args)["score"].numpy().tolist(),
            "tfrec_imported": any(m == "tfrec" or m.startswith("tfrec.") for m in sys.modules),
        }}))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    served = json.loads(proc.stdout.strip().splitlines()[-1])
    assert served["tfrec_imported"] is False
    expected = model.predict({k: np.array(v) for k, v in rows.items()}, verbose=0)
    np.testing.assert_allclose(served["call"], expected, rtol=1e-5)
    np.testing.assert_allclose(served["signature"], expected, rtol=1e-5)
    meta = json.loads((out / "tfrec_export.json").read_text())
    assert [f["name"] for f in meta["fields"]] == ["user_id", "item_id", "group", "genres"]


def test_cli_trains_deepfm_on_synthetic_ctr(tmp_path):
    import json

    from click.testing import CliRunner

    from tfrec.cli import main

    run_dir = tmp_path / "deepfm"
    result = CliRunner().invoke(
        main,
        ["train", "--model", "deepfm", "--epochs", "1", "--batch-size", "256", "--seed", "0", "--device", "cpu",
         "--output", str(run_dir), "--quiet"],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["test"]) == {"AUC", "LogLoss", "Accuracy", "Precision", "Recall"}
    assert metrics["best"]["epoch"] == 1  # the checkpoint monitors AUC
    assert (run_dir / "best.keras").exists()
    assert 0.5 < metrics["baseline_popularity"]["AUC"] < metrics["test"]["AUC"]  # beats the item click rate
