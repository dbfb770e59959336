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


def _emb(model):
    return field_rows(FIELDS, X, w(model.embedding.embeddings))


def _linear(model):
    return field_rows(FIELDS, X, w(model.embedding.linear_weights))[..., 0].sum(1) + w(model.embedding.linear_bias)[0]


def _dnn(layer, x):
    for d in layer.hidden:
        x = dense(d, x, "relu" if layer.activation == "relu" else None)
    return x


def np_fm(m):
    return _linear(m) + ref.pairwise_sum(_emb(m))


def np_afm(m):
    return dense(m.output_layer, ref.afm_pooling(_emb(m), m.attention.hidden, m.attention.score))[:, 0] + _linear(m)


def np_deepfm(m):
    e = _emb(m)
    flat = e.reshape(len(e), -1)
    deep = dense(m.output_layer, _dnn(m.dnn, flat))[:, 0]
    if m.fm_input == "fields":
        return _linear(m) + ref.pairwise_sum(e) + deep
    W, V, w0 = w(m.fm.w), w(m.fm.V), w(m.fm.w0)[0]
    D = flat.shape[1]
    fm = np.array([w0 + x @ W[:, 0] + sum(x[i] * x[j] * V[i] @ V[j] for i in range(D) for j in range(i + 1, D)) for x in flat])
    return fm + deep


def np_dcn(m):
    flat = _emb(m).reshape(len(X["user_id"]), -1)
    cross = ref.cross_network(flat, [w(k) for k in m.cross.kernels], [w(b) for b in m.cross.biases], m.cross.residual)
    return dense(m.output_layer, np.concatenate([cross, _dnn(m.dnn, flat)], 1))[:, 0]


def np_xdeepfm(m):
    e = _emb(m)
    dnn = dense(m.dnn_output, _dnn(m.dnn, e.reshape(len(e), -1)))[:, 0]
    c = ref.cin(e, [w(k) for k in m.cin.kernels], [w(b) for b in m.cin.biases], m.activation, m.cin.include_input)
    return _linear(m) + dnn + dense(m.cin_output, c)[:, 0]


def np_pnn(m):
    e = _emb(m)
    linear = dense(m.linear, e).reshape(len(e), -1)
    if m.product == "inner":
        prod = ref.inner_product(e, m.inner_reduce)
    else:
        prod = ref.outer_product(e, w(m.product_layer.kernel), m.kernel_type)
    return dense(m.output_layer, _dnn(m.dnn, np.concatenate([linear, prod], 1)))[:, 0]


def np_wide_deep(m):
    e = _emb(m)
    deep = dense(m.output_layer, _dnn(m.dnn, e.reshape(len(e), -1)))[:, 0]  # dropout is off at inference
    return 0.5 * (_linear(m) + deep)


def np_autoint(m):
    x = _emb(m)
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
SMALL = {"hidden_units": [8, 4]}  # keeps the NumPy double sums small


def _make(name, **extra):
    cls, kwargs, _ = CASES[name]
    small = SMALL if "hidden_units" in cls.__init__.__code__.co_varnames else {}
    model = cls(FIELDS, embedding_dim=3, **{**small, **kwargs, **extra})
    model.build()
    return model


@pytest.mark.parametrize("name", list(CASES))
def test_forward_logits_match_numpy(name):
    model = _make(name)
    rng = np.random.default_rng(0)
    for v in model.weights:
        v.assign(rng.normal(scale=0.3, size=v.shape).astype(np.float32))
    expected = CASES[name][2](model)
    np.testing.assert_allclose(model.logits(X), expected, rtol=2e-4, atol=2e-4)
    np.testing.assert_allclose(model.predict(X, verbose=0), ref.sigmoid(expected), rtol=2e-4, atol=2e-5)


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
