"""The Python training API (tfrec/training.py): seeding, early stopping, pre-training."""

from __future__ import annotations

import numpy as np
import pytest

import tfrec
from tfrec.errors import UserError


def _train(model, dataset, **kwargs):
    defaults = dict(epochs=2, seed=5, device="cpu", verbose=0, dataset=dataset, params={"batch_size": 32})
    defaults.update(kwargs)
    return tfrec.train(model, **defaults)


def test_same_seed_same_numbers(tiny_implicit):
    a = _train("neumf", tiny_implicit, steps_per_execution=3)
    b = _train("neumf", tiny_implicit, steps_per_execution=3)
    # every epoch runs exactly its own batches, even when steps_per_execution does not divide it
    assert a.metrics["steps_per_epoch"] % 3 != 0
    assert int(a.model.optimizer.iterations.numpy()) == 2 * a.metrics["steps_per_epoch"]
    assert a.history["loss"] == b.history["loss"]
    assert a.metrics["test"] == b.metrics["test"]
    c = _train("neumf", tiny_implicit, seed=6, steps_per_execution=3)
    assert c.history["loss"] != a.history["loss"]


def test_metrics_match_an_independent_ranking_of_predict(tiny_implicit):
    result = _train("gmf", tiny_implicit)
    candidates = tiny_implicit.candidates()
    users = np.repeat(tiny_implicit.test_users, candidates.shape[1])
    probs = result.model.predict((users, candidates.ravel()), verbose=0).reshape(candidates.shape)
    ranks = (probs[:, 1:] >= probs[:, :1]).sum(axis=1)
    assert result.metrics["test"]["HR@10"] == pytest.approx(np.mean(ranks < 10))


def test_early_stopping_and_run_dir(tiny_implicit, tmp_path):
    result = _train("gmf", tiny_implicit, epochs=30, patience=1, output=tmp_path / "run", params={"batch_size": 32, "lr": 1e-6})
    assert result.metrics["epochs_run"] < 30  # a tiny lr stops improving quickly
    assert (tmp_path / "run" / "best.keras").exists()


def test_the_best_epoch_is_an_epoch_when_evaluating_every_few_epochs(tiny_implicit, tmp_path):
    import csv

    result = _train("gmf", tiny_implicit, epochs=6, eval_every=3, output=tmp_path / "run")
    rows = list(csv.DictReader((tmp_path / "run" / "history.csv").open()))
    evaluated = {int(r["epoch"]): float(r["HR@10"]) for r in rows if r["HR@10"]}
    assert sorted(evaluated) == [3, 6]
    best = result.metrics["best"]
    assert best["epoch"] == max(evaluated, key=lambda e: (evaluated[e], -e))  # the first of equal bests
    assert best["HR@10"] == pytest.approx(evaluated[best["epoch"]])


def test_neumf_pretraining_from_gmf_and_mlp_runs(tiny_implicit, tmp_path):
    _train("gmf", tiny_implicit, output=tmp_path / "gmf")
    _train("mlp", tiny_implicit, output=tmp_path / "mlp")
    result = _train("neumf", tiny_implicit, epochs=1, pretrained={"gmf": tmp_path / "gmf", "mlp": tmp_path / "mlp"})
    assert result.config["pretrained"]["gmf"].endswith("gmf")
    with pytest.raises(UserError, match="both"):
        _train("neumf", tiny_implicit, pretrained={"gmf": tmp_path / "gmf"})
    with pytest.raises(UserError, match="neumf only"):
        _train("gmf", tiny_implicit, pretrained={"gmf": tmp_path / "gmf", "mlp": tmp_path / "mlp"})


def test_bad_training_settings_are_user_errors(tiny_implicit):
    with pytest.raises(UserError, match="--epochs"):
        _train("gmf", tiny_implicit, epochs=0)
    with pytest.raises(UserError, match="invalid hyperparameter"):
        _train("mlp", tiny_implicit, params={"layers": [7, 3]})
    with pytest.raises(UserError, match="--seed"):
        _train("gmf", tiny_implicit, seed=-1)


def _poison_after_first_checkpoint(monkeypatch):
    """After epoch 1's checkpoint, set every weight to NaN: epoch 2's loss is NaN from its first
    step. Returns the weights epoch 1 saved."""
    from tfrec import callbacks

    saved = {}
    original = callbacks.AtomicCheckpoint.on_epoch_end

    def on_epoch_end(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 0:
            saved["weights"] = [w.copy() for w in self.model.get_weights()]
            for variable in self.model.trainable_variables:
                variable.assign(variable.numpy() * np.nan)

    monkeypatch.setattr(callbacks.AtomicCheckpoint, "on_epoch_end", on_epoch_end)
    return saved


def test_nan_loss_stops_training_and_keeps_last_good_checkpoint(tiny_implicit, tmp_path, monkeypatch):
    from tfrec.errors import NonFiniteLoss
    from tfrec.runs import load_run_model

    saved = _poison_after_first_checkpoint(monkeypatch)
    run_dir = tmp_path / "run"
    with pytest.raises(NonFiniteLoss) as error:
        _train("gmf", tiny_implicit, epochs=3, output=run_dir, steps_per_execution=1)
    message = str(error.value)
    assert isinstance(error.value, UserError) and "\n" not in message
    assert "epoch 2 at step 1 of" in message and "loss=nan" in message
    assert f"last good epoch (1) is kept in {run_dir / 'model.keras'}" in message
    # the NaN epoch reached no callback: one history row, and both checkpoints are epoch 1's
    assert (run_dir / "history.csv").read_text().strip().count("\n") == 1
    assert not (run_dir / "metrics.json").exists()
    for checkpoint in ("model", "best"):
        weights = load_run_model(run_dir, checkpoint).get_weights()
        assert all(np.isfinite(w).all() for w in weights)
        for got, expected in zip(weights, saved["weights"]):
            np.testing.assert_array_equal(got, expected)


def test_nan_loss_names_step_within_steps_per_execution(tiny_implicit):
    from tfrec.errors import NonFiniteLoss

    with pytest.raises(NonFiniteLoss) as error:  # an absurd learning rate: NaN in the first epoch
        _train("gmf", tiny_implicit, epochs=2, lr=1e30, steps_per_execution=4)
    message = str(error.value)
    assert "in epoch 1 by step" in message and "checked every 4 steps" in message
    assert "nothing was saved" in message and "--lr" in message


# --------------------------------------------------------------------------------------------
# Your own data: what a run records, how it is reloaded, how the epoch is chosen
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def own_ratings(tmp_path_factory):
    """A ratings file with string user ids and sparse, non-zero-based item ids (with timestamps)."""
    rng = np.random.default_rng(3)
    lines = ["user,item,rating,timestamp"]
    for u in range(24):
        items = rng.choice(150, size=9, replace=False)  # enough free items for 99 test negatives
        lines += [f"user-{u},{1000 + 37 * int(i)},{1 + (u + int(i)) % 5},{100 * u + k}" for k, i in enumerate(items)]
    path = tmp_path_factory.mktemp("own") / "ratings.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_python_run_on_loaded_data_records_how_to_reload_it(own_ratings, tmp_path):
    from tfrec.training import evaluate_run

    data = tfrec.load_dataset("ratings", own_ratings, seed=2)
    run = tmp_path / "run"
    result = tfrec.train("gmf", dataset=data, epochs=1, seed=2, device="cpu", verbose=0, output=run)
    config = result.config
    assert config["data"] == "ratings" and config["data_reloadable"] is True
    assert config["data_dir"] == str(own_ratings.resolve()) and config["data_seed"] == 2
    assert "validation" in config["data_options"]
    assert evaluate_run(run, device="cpu")["test"] == pytest.approx(result.metrics["test"])
    from tfrec.reports import compare_runs

    assert "ratings" in compare_runs([run]) and "synthetic" not in compare_runs([run])


def test_a_run_on_hand_built_data_refuses_to_be_reevaluated(tiny_implicit, tmp_path):
    from tfrec.training import evaluate_run

    result = _train("gmf", tiny_implicit, epochs=1, output=tmp_path / "run")
    assert result.config["data_reloadable"] is False and result.config["data"] == "tiny"
    with pytest.raises(UserError, match="cannot reload exactly its data"):
        evaluate_run(tmp_path / "run")


def test_a_changed_data_file_is_not_evaluated_under_the_runs_name(own_ratings, tmp_path):
    import shutil

    from tfrec.training import evaluate_run

    data_file = tmp_path / "ratings.csv"
    shutil.copy(own_ratings, data_file)
    _train("gmf", None, data="ratings", data_dir=data_file, epochs=1, output=tmp_path / "run", params={})
    data_file.write_text(data_file.read_text().replace("user-3,", "user-99,"))
    with pytest.raises(UserError, match="does not have the users and items"):
        evaluate_run(tmp_path / "run")


def test_dataset_and_another_data_name_are_a_conflict(own_ratings):
    data = tfrec.load_dataset("ratings", own_ratings)
    with pytest.raises(UserError, match="conflicts with dataset="):
        _train("gmf", data, data="ml-1m")
    with pytest.raises(UserError, match="not both"):
        _train("gmf", data, data_dir=own_ratings)


def test_loader_options_are_settable_and_recorded(own_ratings):
    result = _train("gmf", None, data="ratings", data_dir=own_ratings, epochs=1,
                    params={"threshold": 4, "num_test_negatives": 10})  # fewer items are left: fewer negatives
    assert result.config["data_options"]["threshold"] == 4
    assert result.data.num_train < tfrec.load_dataset("ratings", own_ratings).num_train
    with pytest.raises(UserError, match="loader"):  # already loaded: a loader option cannot apply
        _train("gmf", tfrec.load_dataset("ratings", own_ratings), epochs=1, params={"threshold": 4})


def test_own_data_chooses_the_epoch_on_validation_reference_data_on_test(own_ratings, tiny_implicit, capsys):
    own = _train("gmf", None, data="ratings", data_dir=own_ratings, epochs=2, params={}, verbose=1)
    printed = capsys.readouterr().out
    assert own.metrics["best"]["chosen_by"] == "val_HR@10" and "validation" in own.metrics["best"]["rule"]
    assert "val_HR@10" in own.history and len(own.history["val_HR@10"]) == 2
    assert own.metrics["best"]["epoch"] == int(np.argmax(own.history["val_HR@10"])) + 1
    assert "data: ratings" in printed and "24 users" in printed and "best validation HR@10" in printed
    reference = _train("gmf", tiny_implicit, epochs=1)
    assert reference.metrics["best"]["chosen_by"] == "HR@10" and "reference protocol" in reference.metrics["best"]["rule"]


def test_build_model_on_the_wrong_kind_of_data_is_a_user_error():
    data = tfrec.load_dataset("synthetic-seq")
    with pytest.raises(UserError, match="model 'deepfm' trains on 'ctr' data"):
        tfrec.build_model("deepfm", data)
