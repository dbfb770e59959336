"""``strategy=`` / ``--strategy`` (tfrec/distribute.py, tfrec/training.py): MirroredStrategy over
two logical CPU devices gives the one-device numbers, a two-worker MultiWorkerMirroredStrategy on
localhost trains and its chief alone writes the run, and the models that cannot be split per
replica refuse. Device layouts and TF_CONFIG must be set before TensorFlow starts, so the
distributed runs are subprocesses, each bounded in time."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tfrec
from tfrec.errors import UserError

from _subprocesses import run_script, run_workers, script_result

# tiny synthetic NCF data: 40 users x 60 items, 8 interactions each -> 40 * 7 * 5 = 1400
# training instances, 6 steps of 256 (the last one uneven: 120 rows, split 60 / 60)
DATA = "load_synthetic(seed=0, num_users=40, num_items=60, interactions_per_user=8, num_test_negatives=20)"
# tiny multi-behavior data: 40 users, 3 steps of 16 users per epoch (the last one 8: split 4 / 4)
MB_DATA = "load_synthetic_mb(seed=0, users=40, items=90, views_per_user=12, carts_per_user=6, buys_per_user=3, num_test_negatives=20)"
MB_PARAMS = {"latdim": 8, "batch_size": 16, "samp_num": 4, "trn_num": 40}


MIRRORED = f"""
import json
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import tfrec
from tfrec.data.synthetic import make_synthetic_ctr
from tfrec.data.synthetic import load_synthetic_sequences
from tfrec.data.synthetic import load_synthetic
from tfrec.data.synthetic import load_synthetic_mb

runs = {{
    "neumf": ({DATA}, {{"batch_size": 256}}),
    # dist mode: a sum over the batch plus a whole-table L2 (each replica's share of it)
    "attrec": (load_synthetic_sequences(seed=0, num_users=60, num_items=40, length=10),
               {{"embed_dim": 8, "batch_size": 64, "lr": 0.01, "mode": "dist"}}),
    # multi-hot fields: embedding gradients of different sizes per replica
    "deepfm": (make_synthetic_ctr(seed=1, num_users=40, num_items=30, rows_per_user=20, num_groups=2, num_genres=4),
               {{"batch_size": 64}}),
    # pairs per behavior as [users, pairs] grids with masks; hinge means over the global batch's pairs
    "mbgmn": ({MB_DATA}, {MB_PARAMS}),
}}
out = {{}}
for model, (data, params) in runs.items():
    for strategy in ("default", "mirrored"):
        result = tfrec.train(model, dataset=data, epochs=2, seed=0, device="cpu", verbose=0, strategy=strategy,
                             params=params)
        out[f"{{model}}-{{strategy}}"] = {{
            "loss": result.history["loss"], "test": result.metrics["test"], "replicas": result.config["replicas"],
            "weights": float(sum(float(tf.reduce_sum(tf.abs(v))) for v in result.model.trainable_variables)),
        }}
try:  # a sampled sub-graph rides in each batch: refused across replicas
    tfrec.train("mbgmn", dataset=runs["mbgmn"][0], epochs=1, device="cpu", verbose=0, strategy="mirrored",
                params={{**runs["mbgmn"][1], "graph_sample": 30, "sample_block": 16}})
    out["refused"] = None
except tfrec.errors.UserError as error:
    out["refused"] = str(error)
print(json.dumps(out))
"""


def test_mirrored_on_two_cpu_devices_matches_one_device(tmp_path):
    """NeuMF (BCE mean), AttRec (hinge sum + L2), DeepFM (multi-hot fields) and MB-GMN (hinge
    means over every behavior's pairs + L2, each replica propagating the whole graph): two
    replicas, each with half of every batch (the last one uneven), give the one-device run."""
    out = script_result(run_script(MIRRORED, tmp_path))
    for model in ("neumf", "attrec", "deepfm", "mbgmn"):
        one, two = out[f"{model}-default"], out[f"{model}-mirrored"]
        assert (one["replicas"], two["replicas"]) == (1, 2)
        # the replicas' summed gradients are the one-device gradient: the same run up to rounding
        np.testing.assert_allclose(two["loss"], one["loss"], rtol=1e-4, err_msg=model)
        assert two["weights"] == pytest.approx(one["weights"], rel=1e-4), model
        for key, value in one["test"].items():
            assert two["test"][key] == pytest.approx(value, abs=0.02), (model, key)
    assert "--set graph_sample trains on one device" in out["refused"]


WORKER = f"""
import json, sys
import tfrec
from tfrec.data.synthetic import load_synthetic, load_synthetic_mb

model = sys.argv[1]
data, params = ({DATA}, {{"batch_size": 256}}) if model == "neumf" else ({MB_DATA}, {MB_PARAMS})
result = tfrec.train(model, dataset=data, epochs=1, seed=0, device="cpu", verbose=0, strategy="multiworker",
                     output="run", params=params)
print(json.dumps({{"loss": result.history["loss"], "test": result.metrics["test"], "replicas": result.config["replicas"],
                  "run_dir": str(result.run_dir)}}))
"""


@pytest.mark.parametrize("model", ["neumf", "mbgmn"])
def test_two_worker_multiworker_run_writes_one_checkpoint_on_the_chief(tmp_path, model):
    from tfrec.runs import load_run_model

    results = run_workers(WORKER, tmp_path, args=(model,))
    assert [r["replicas"] for r in results] == [2, 2]
    assert results[0]["test"] == results[1]["test"]  # the workers hold the same variables
    assert results[0]["loss"] == pytest.approx(results[1]["loss"])
    chief, other = tmp_path / "worker0" / "run", tmp_path / "worker1" / "run"
    assert (chief / "model.keras").exists() and (chief / "config.json").exists()
    assert not other.exists()  # the other worker wrote to a temporary directory, since removed
    config = json.loads((chief / "config.json").read_text())
    assert (config["strategy"], config["replicas"]) == ("multiworker", 2)
    loaded = load_run_model(chief)
    assert loaded.predict((np.array([0, 1]), np.array([2, 3])), verbose=0).shape == (2,)


def test_conflicting_strategy_options_are_refused():
    from tfrec.data.synthetic import synthetic_sessions

    sessions = synthetic_sessions(seed=0, num_items=50, num_train_sessions=40, num_test_sessions=5)
    with pytest.raises(UserError, match="--jit cannot be combined with --strategy mirrored"):
        tfrec.train("gmf", dataset=sessions, epochs=1, device="cpu", verbose=0, strategy="mirrored", jit_compile=True)
    with pytest.raises(UserError, match="invalid --strategy 'tpu'; expected one of default, mirrored, multiworker"):
        tfrec.train("gmf", dataset=sessions, epochs=1, device="cpu", verbose=0, strategy="tpu")


def test_multiworker_without_tf_config_is_a_user_error(monkeypatch):
    from tfrec.distribute import make_strategy

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(UserError, match="--strategy multiworker needs TF_CONFIG"):
        make_strategy("multiworker")
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(UserError, match="TF_CONFIG is not valid JSON"):
        make_strategy("multiworker")


def test_only_the_chief_writes(monkeypatch, tmp_path):
    from tfrec import distribute

    class FakeMultiWorker(distribute.tf.distribute.MultiWorkerMirroredStrategy):
        def __init__(self):  # no cluster: only the type matters here
            pass

    cluster = {"worker": ["a:1", "b:2"]}
    for index, chief in ((0, True), (1, False)):
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        assert distribute.is_chief(FakeMultiWorker()) is chief
        with distribute.worker_output(tmp_path / "run", FakeMultiWorker()) as out:
            assert (out == tmp_path / "run") is chief
            scratch = out
        assert chief or not scratch.parent.exists()  # the temporary directory is removed
    with_chief = {"cluster": {"chief": ["c:1"], **cluster}, "task": {"type": "worker", "index": 0}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(with_chief))
    assert distribute.is_chief(FakeMultiWorker()) is False  # with a chief task, workers never write
