"""``precision=`` / ``--precision``: every model (MB-GMN: tests/models/test_mbgmn_training.py) trains a few
steps under a mixed Keras dtype policy, its losses stay finite and fall, its predictions are
float32, the run records the policy, the saved ``.keras`` reloads under it and the global policy
is restored afterwards (tfrec/distribute.py, tfrec/training.py, tfrec/models/base.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tfrec
from tfrec.errors import UserError

CTR = ("fm", "afm", "deepfm", "dcn", "xdeepfm", "pnn", "wide_deep", "autoint")
MODELS = ("neumf", "gmf", "mlp", "attrec", "cotrec", *CTR)


@pytest.fixture(scope="module")
def datasets():
    from tfrec.data.synthetic import make_synthetic_ctr
    from tfrec.data.synthetic import load_synthetic_sequences
    from tfrec.data.synthetic import load_synthetic, synthetic_sessions

    return {
        "implicit": load_synthetic(seed=0, num_users=60, num_items=40, interactions_per_user=8, num_test_negatives=20),
        "ctr": make_synthetic_ctr(seed=1, num_users=40, num_items=30, rows_per_user=20, num_groups=2, num_genres=4),
        "sequences": load_synthetic_sequences(seed=0, num_users=60, num_items=40, length=10),
        "sessions": synthetic_sessions(seed=0, num_items=100, num_train_sessions=200, num_test_sessions=30),
    }


def _setup(name, datasets):
    """(dataset, params, loss key, a few prediction inputs) for a model."""
    if name in CTR:
        data = datasets["ctr"]
        return data, {"batch_size": 64, "lr": 0.01}, "loss", {k: v[:8] for k, v in data.test_features.items()}
    if name == "attrec":
        data = datasets["sequences"]
        inputs = (data.test_users[:8], data.test_histories[:8], data.test_items[:8])
        return data, {"embed_dim": 8, "batch_size": 64, "lr": 0.01}, "ranking_loss", inputs
    if name == "cotrec":
        data = datasets["sessions"]
        params = {"embed_dim": 16, "batch_size": 16, "num_candidates": 40, "num_positives": 4,
                  "predict_product": "corrected", "last_batch": "partial"}
        return data, params, "cross_entropy", data.test.padded()[0][:8]
    data = datasets["implicit"]
    return data, {"batch_size": 64, "lr": 0.01}, "loss", (data.test_users[:8], data.test_items[:8])


def _train(name, datasets, precision, tmp_path, epochs=2):
    data, params, loss_key, inputs = _setup(name, datasets)
    result = tfrec.train(name, dataset=data, epochs=epochs, seed=0, device="cpu", verbose=0, params=params,
                         precision=precision, output=tmp_path / f"{name}-{precision}")
    return result, loss_key, inputs


def _check_run(result, loss_key, inputs, precision):
    import keras

    assert keras.config.dtype_policy().name == "float32"  # restored after the run
    losses = result.history[loss_key]
    assert np.all(np.isfinite(losses)), losses
    assert losses[-1] < losses[0], losses
    assert all(np.isfinite(v) and 0.0 <= v <= 1.0 for k, v in result.metrics["test"].items() if k != "LogLoss")
    model = result.model
    assert model.dtype_policy.name == precision
    assert {layer.dtype_policy.name for layer in model._flatten_layers()} >= {precision}  # layers compute in 16 bits
    assert all(v.dtype == "float32" for v in model.trainable_variables)  # variables stay float32
    predictions = model.predict(inputs, verbose=0)
    assert predictions.dtype == np.float32 and np.all(np.isfinite(predictions))
    config = json.loads((result.run_dir / "config.json").read_text())
    assert config["precision"] == precision
    loaded = keras.saving.load_model(result.run_dir / "model.keras")
    assert {layer.dtype_policy.name for layer in loaded._flatten_layers()} == {
        layer.dtype_policy.name for layer in model._flatten_layers()
    }  # rebuilt under the policy it was saved with
    np.testing.assert_allclose(loaded.predict(inputs, verbose=0), predictions, rtol=1e-6, atol=1e-7)
    assert keras.config.dtype_policy().name == "float32"


@pytest.mark.parametrize("name", MODELS)
def test_every_model_trains_under_mixed_bfloat16(name, datasets, tmp_path):
    result, loss_key, inputs = _train(name, datasets, "mixed_bfloat16", tmp_path)
    _check_run(result, loss_key, inputs, "mixed_bfloat16")


@pytest.mark.parametrize("name", ["neumf", "wide_deep", "attrec"])
def test_mixed_float16_scales_the_loss_in_custom_train_steps(name, datasets, tmp_path):
    """A train_step that forgot ``optimizer.scale_loss`` would apply gradients divided by the
    loss scale (2^15) and barely move: the float16 run must follow the float32 run."""
    import keras

    result, loss_key, inputs = _train(name, datasets, "mixed_float16", tmp_path)
    _check_run(result, loss_key, inputs, "mixed_float16")
    assert isinstance(result.model.optimizer, keras.optimizers.LossScaleOptimizer)
    reference, _, _ = _train(name, datasets, "float32", tmp_path)
    drop = reference.history[loss_key][0] - reference.history[loss_key][-1]
    assert abs(result.history[loss_key][-1] - reference.history[loss_key][-1]) < 0.25 * drop


def test_resume_keeps_the_run_precision(datasets, tmp_path):
    data, params, _, inputs = _setup("gmf", datasets)
    run = tmp_path / "run"
    tfrec.train("gmf", dataset=data, epochs=1, seed=0, device="cpu", verbose=0, params=params,
                precision="mixed_bfloat16", output=run)
    resumed = tfrec.train(resume=run, dataset=data, epochs=2, device="cpu", verbose=0)
    assert resumed.model.dtype_policy.name == "mixed_bfloat16"
    assert json.loads((run / "config.json").read_text())["precision"] == "mixed_bfloat16"
    assert len(resumed.history["loss"]) == 2


def test_bad_precision_is_a_user_error(datasets):
    import keras

    with pytest.raises(UserError, match="--precision 'float8'.*float32, mixed_float16, mixed_bfloat16"):
        tfrec.train("gmf", dataset=datasets["implicit"], epochs=1, device="cpu", verbose=0, precision="float8")
    with pytest.raises(UserError, match="predict_product='reference'"):  # fails after the policy is set
        tfrec.train("cotrec", dataset=datasets["sessions"], epochs=1, device="cpu", verbose=0,
                    params={"embed_dim": 16, "batch_size": 8}, precision="mixed_bfloat16")
    assert keras.config.dtype_policy().name == "float32"
