"""MB-GMN end to end on tiny synthetic data: fit, evaluate, CLI, export."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import tfrec
from tfrec.cli import main
from tfrec.data.synthetic import load_synthetic_mb


@pytest.fixture(scope="module")
def tiny_mb():
    return load_synthetic_mb(seed=0, users=60, items=150, views_per_user=20, carts_per_user=8, buys_per_user=4)


TINY = {"latdim": 8, "batch_size": 16, "samp_num": 4, "trn_num": 60}


@pytest.fixture(scope="module")
def float32_run(tiny_mb):
    return tfrec.train("mbgmn", dataset=tiny_mb, epochs=3, seed=0, device="cpu", verbose=0, params=TINY)


def test_fit_lowers_the_loss_and_evaluates(tiny_mb, float32_run):
    result = float32_run
    losses = result.history["hinge"]
    assert losses[-1] < losses[0]
    assert set(result.metrics["test"]) >= {"HR@10", "NDCG@10"}
    # the batched evaluation equals ranking predict()'s scores directly
    candidates = tiny_mb.candidates()
    users = np.repeat(tiny_mb.test_users, candidates.shape[1])
    scores = result.model.predict((users, candidates.ravel()), batch_size=len(users), verbose=0).reshape(candidates.shape)
    ranks = (scores[:, 1:] >= scores[:, :1]).sum(axis=1)
    assert result.metrics["test"]["HR@10"] == pytest.approx(np.mean(ranks < 10))


def test_in_memory_model_with_cached_graph_exports(tiny_mb, tmp_path):
    import tensorflow as tf

    model = tfrec.build_model("mbgmn", tiny_mb, latdim=8)  # from_data caches the CSR graph
    users, items = np.array([1, 4], np.int32), np.array([2, 9], np.int32)
    expected = model.predict((users, items), verbose=0)
    tfrec.export_saved_model(model, tmp_path / "export")
    served = tf.saved_model.load(str(tmp_path / "export"))
    np.testing.assert_allclose(served.score(user_id=tf.constant(users), item_id=tf.constant(items))["score"].numpy(), expected, rtol=1e-4)
    np.testing.assert_allclose(model.predict((users, items), verbose=0), expected, rtol=1e-6)  # cache restored


def test_cli_train_evaluate_export(tmp_path):
    runner = CliRunner()
    run = tmp_path / "run"
    trained = runner.invoke(main, [
        "train", "--model", "mbgmn", "--epochs", "1", "--device", "cpu", "--output", str(run), "--quiet",
        "--set", "latdim=8", "--set", "trn_num=64", "--set", "batch_size=32", "--set", "samp_num=5",
    ])
    assert trained.exit_code == 0, trained.output
    metrics = json.loads((run / "metrics.json").read_text())
    evaluated = runner.invoke(main, ["evaluate", str(run), "--device", "cpu"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.output.strip().splitlines()[-1])["test"] == pytest.approx(metrics["test"], rel=1e-4)
    exported = runner.invoke(main, ["export", str(run), str(tmp_path / "export")])
    assert exported.exit_code == 0, exported.output
    import tensorflow as tf

    served = tf.saved_model.load(str(tmp_path / "export"))
    model = tfrec.load_run_model(run)
    users, items = np.array([0, 5], np.int32), np.array([3, 7], np.int32)
    np.testing.assert_allclose(
        served.score(user_id=tf.constant(users), item_id=tf.constant(items))["score"].numpy(),
        model.predict((users, items), verbose=0), rtol=1e-4,
    )


def test_unknown_behavior_is_a_clear_cli_error(tmp_path):
    result = CliRunner().invoke(main, ["train", "--model", "mbgmn", "--data", "beibei", "--data-dir", str(tmp_path), "--quiet"])
    assert result.exit_code == 2 and "trn_buy" in result.output


def test_cli_trains_on_a_users_interaction_log(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["user,item,behavior,timestamp"]
    for user in range(30):
        for t, item in enumerate(rng.choice(150, size=25, replace=False)):
            behavior = "buy" if t % 5 == 0 else ("cart" if t % 3 == 0 else "view")
            rows.append(f"{user},{item},{behavior},{t}")
    log = tmp_path / "log.csv"
    log.write_text("\n".join(rows) + "\n")
    args = ["train", "--model", "mbgmn", "--data", "interactions", "--data-dir", str(log), "--epochs", "1", "--quiet",
            "--device", "cpu", "--output", str(tmp_path / "run"), "--set", "latdim=8", "--set", "trn_num=30"]
    missing = CliRunner().invoke(main, args)
    assert missing.exit_code == 2 and "--set target=NAME" in missing.output
    trained = CliRunner().invoke(main, args + ["--set", "target=buy", "--set", "behaviors=view,buy"])
    assert trained.exit_code == 0, trained.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model_config"]["num_behaviors"] == 2


def test_mixed_float16_scales_the_loss(tiny_mb, float32_run):
    """Under ``--precision mixed_float16`` only the meta predictor computes in 16 bits and
    ``train_step`` scales the loss. The dynamic loss scale starts at 2^15 and halves (skipping
    the step) at every overflow, so the few steps of this tiny run learn less than float32's:
    at least half as much is required. (mixed_bfloat16: tests/models/test_mbgmn.py.)"""
    import keras

    mixed = tfrec.train("mbgmn", dataset=tiny_mb, epochs=3, seed=0, device="cpu", verbose=0, params=TINY,
                        precision="mixed_float16")
    assert keras.config.dtype_policy().name == "float32"
    assert isinstance(mixed.model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert mixed.model.predictor.compute_dtype == "float16"
    assert mixed.model.specializer.compute_dtype == "float32"
    assert all(v.dtype == "float32" for v in mixed.model.trainable_variables)
    exact = float32_run.history["hinge"]
    assert mixed.history["hinge"][0] - mixed.history["hinge"][-1] > 0.5 * (exact[0] - exact[-1]) > 0
