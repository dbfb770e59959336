"""COTREC under ``tf.distribute`` (tfrec/models/cotrec.py, module docstring): MirroredStrategy over
two logical CPU devices against the default strategy, and a two-worker MultiWorkerMirroredStrategy
run on localhost. Device layouts and TF_CONFIG must be set before TensorFlow starts, so each run
is a subprocess (tests/_subprocesses.py); tiny data, one subprocess (or one pair of workers) per
test."""

from __future__ import annotations

import json

import numpy as np
import pytest

from _subprocesses import run_script, run_workers, script_result

TERMS = ("loss", "cross_entropy", "contrastive", "difference")

MIRRORED = """
import json
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras
import tfrec
from tfrec.data.sessions import item_transition_graph
from tfrec.data.synthetic import synthetic_sessions
from tfrec.distribute import make_strategy
from tfrec.models.cotrec import CORRECTED, CoTRec
from tfrec.optimizers import TorchAdam

TERMS = ("loss", "cross_entropy", "contrastive", "difference")


def summary(model, history):
    total = lambda vs: float(sum(float(tf.reduce_sum(tf.abs(v))) for v in vs))
    return {"history": {k: [float(x) for x in history[k]] for k in TERMS},
            "weights": total(model.trainable_variables), "adv": [total([model.adv_item]), total([model.adv_sess])]}


# Two catalogues of 30 items (1..30 and 31..60): every batch holds sessions of the first in its
# first ceil(n / 2) rows and of the second in the rest -- Keras gives replica 0 the first
# ceil(n / 2) rows -- so sessions overlap within a replica's share and never across replicas.
halves = [synthetic_sessions(seed=s, num_items=30, num_train_sessions=12, num_test_sessions=2) for s in (1, 2)]
graph = item_transition_graph(
    halves[0].all_train_seq.to_lists() + [[i + 30 for i in s] for s in halves[1].all_train_seq.to_lists()], 60)
rng = np.random.default_rng(0)


def rows(half, n):
    part = halves[half]
    idx = rng.choice(part.num_train, n, replace=False)
    items, lengths = part.train.padded(idx)
    return [np.where(items > 0, items + 30 * half, 0), lengths, part.train_targets[idx] + 30 * half]


def batches(sizes):
    out = []
    for n in sizes:
        parts = [rows(0, -(-n // 2))] + ([rows(1, n // 2)] if n // 2 else [])
        width = max(p[0].shape[1] for p in parts)
        items = np.concatenate([np.pad(p[0], [(0, 0), (0, width - p[0].shape[1])]) for p in parts])
        out.append({"items": items.astype(np.int32), "lengths": np.concatenate([p[1] for p in parts]).astype(np.int32),
                    "targets": np.concatenate([p[2] for p in parts]).astype(np.int32)})
    return out


def dataset(data):
    spec = {k: tf.TensorSpec([None, None] if k == "items" else [None], tf.int32) for k in data[0]}
    return tf.data.Dataset.from_generator(lambda: iter(data), output_signature=spec)


def make(strategy, options):
    keras.utils.set_random_seed(0)
    with make_strategy(strategy).scope():
        model = CoTRec(num_items=60, num_edges=graph.nnz, embed_dim=8, num_candidates=30, seed=0, **options)
        model.build()
        model.set_item_graph(graph)
        model.compile(optimizer=TorchAdam(learning_rate=0.01, epsilon=1e-8), steps_per_execution=1, jit_compile=False)
        model.optimizer.build(model.trainable_variables)
    return model


def state(model):
    return model.variables + model.optimizer.variables


def forced(options, data, epochs=2):
    # each step of the two-replica model starts from the one-device model's state (weights, Adam
    # slots, adversarial state, draws): the per-step differences, without their growth over steps
    one, two = make("default", options), make("mirrored", options)
    for model in (one, two):
        model.make_train_function()
    strategy = two.distribute_strategy
    steps_one = iter(dataset(data * epochs))  # each train_function call takes one batch
    steps_two = iter(strategy.experimental_distribute_dataset(dataset(data * epochs)))
    worst = {"loss_terms": 0.0, "variables": 0.0, "adv": 0.0}
    for _ in data * epochs:
        for target, source in zip(state(two), state(one)):
            target.assign(source.numpy())
        for model in (one, two):
            for tracker in model.metrics:
                tracker.reset_state()
        logs_one, logs_two = one.train_function(steps_one), two.train_function(steps_two)
        for term in TERMS:
            a = float(logs_one[term])
            b = float(np.mean([float(x) for x in strategy.experimental_local_results(logs_two[term])]))
            worst["loss_terms"] = max(worst["loss_terms"], abs(a - b) / max(abs(a), 1e-3))
        for x, y in zip(state(one), state(two)):  # relative to the variable's largest entry (1e-3 at least)
            if x.dtype.startswith("float"):
                gap = float(np.max(np.abs(x.numpy() - y.numpy())) / max(float(np.max(np.abs(x.numpy()))), 1e-3))
                key = "adv" if x.path.split("/")[-1].startswith("adv_") else "variables"
                worst[key] = max(worst[key], gap)
    return worst


# the reference's options (batch == embed_dim), and the corrected ones with the reshape layout
# (which mixes sessions of the whole batch) on uneven shares: 7 -> 4 + 3, 3 -> 2 + 1, 1 -> 1 + 0
corrected = {**CORRECTED, "ssl_layout": "reshape", "graph_maps": "trained"}
cases = {"reference": ({}, batches([8, 8, 8])), "corrected": (corrected, batches([8, 7, 3, 1]))}
out = {name: forced(options, data) for name, (options, data) in cases.items()}

# tfrec.train on synthetic sessions: overlap edges cross the replicas
sessions = synthetic_sessions(seed=0, num_items=60, num_train_sessions=40, num_test_sessions=20)
for strategy in ("default", "mirrored"):
    result = tfrec.train("cotrec", dataset=sessions, epochs=2, seed=0, device="cpu", verbose=0, strategy=strategy,
                         params={"embed_dim": 8, "batch_size": 8, "num_candidates": 30})
    out[f"train-{strategy}"] = {**summary(result.model, result.history), "test": result.metrics["test"],
                                "replicas": result.config["replicas"]}
print(json.dumps(out))
"""


def test_mirrored_on_two_cpu_devices_against_one_device(tmp_path):
    """Where no overlap edge crosses the replicas the split is one device's math. Batches whose
    first half and second half come from two disjoint catalogues (overlap edges within each
    replica's share, none across), 2 epochs, each two-replica step started from the one-device
    state: every loss term, every variable (weights, Adam slots, relative to the variable's
    largest entry) and the adversarial state agree to rtol 1e-4 -- with the reference's options
    (batch == embed_dim, reshape layout, one shared draw) and with the corrected ones on uneven
    and empty shares (per-session draws, the reshape layout, mean reduction, weighted KL mask,
    gradients through SessConv and its trained maps).

    Why each step starts from the one-device state: the summed gradients are one device's only
    up to rounding (the replicas' partial sums add in another order), and COTREC amplifies
    rounding over steps -- Adam's ``m / sqrt(v)`` turns the noise of near-zero gradient entries
    into steps of size ``lr``, the top-``C`` mining flips near-tied items, ``normalize`` of a
    nearly cancelling adversarial gradient column turns its noise into a direction -- so two
    free runs of equal math drift apart (measured: up to 40 % on a loss term after 8 steps).

    ``tfrec.train`` on synthetic sessions, 2 epochs free-running, where sessions on different
    replicas share items: each replica's overlap graph loses those edges, so the session view
    ``S_S`` differs, and with it the session view's KL term, its ranking (the mined positives and
    negatives), the session-view contrastive term and ``adv_sess``. Measured: contrastive 0.5 %
    off, the small KL sum 0.011 off (19 %), the cross-entropy 2e-6 and the weights 6e-6
    relative, the test metrics equal. Tolerances (about 10x): cross-entropy, total loss and
    weights rtol 1e-3, contrastive rtol 5e-2, KL ``difference`` atol 0.05, test metrics atol 0.05.
    """
    out = script_result(run_script(MIRRORED, tmp_path))
    for case in ("reference", "corrected"):
        assert out[case]["loss_terms"] < 1e-4, (case, out[case])
        assert out[case]["variables"] < 1e-4, (case, out[case])
        assert out[case]["adv"] < 1e-4, (case, out[case])

    one, two = out["train-default"], out["train-mirrored"]
    assert (one["replicas"], two["replicas"]) == (1, 2)
    for term in ("loss", "cross_entropy"):
        np.testing.assert_allclose(two["history"][term], one["history"][term], rtol=1e-3, err_msg=term)
    np.testing.assert_allclose(two["history"]["contrastive"], one["history"]["contrastive"], rtol=5e-2)
    np.testing.assert_allclose(two["history"]["difference"], one["history"]["difference"], atol=0.05)
    assert two["weights"] == pytest.approx(one["weights"], rel=1e-3)
    for key, value in one["test"].items():
        assert two["test"][key] == pytest.approx(value, abs=0.05), key


WORKER = """
import json
import numpy as np
import tensorflow as tf
import tfrec
from tfrec.data.synthetic import synthetic_sessions

data = synthetic_sessions(seed=0, num_items=60, num_train_sessions=30, num_test_sessions=10)
result = tfrec.train("cotrec", dataset=data, epochs=1, seed=0, device="cpu", verbose=0, strategy="multiworker",
                     output="run", params={"embed_dim": 8, "batch_size": 8, "num_candidates": 30})
model = result.model
print(json.dumps({
    "history": {k: result.history[k] for k in ("loss", "cross_entropy", "contrastive", "difference")},
    "test": result.metrics["test"], "replicas": result.config["replicas"],
    "adv": float(tf.reduce_sum(tf.abs(model.adv_item)) + tf.reduce_sum(tf.abs(model.adv_sess))),
    "scores": model(np.array([[1, 2, 3], [4, 5, 0]])).numpy().tolist(),
}))
"""


def test_two_worker_multiworker_run_trains_and_the_chief_writes_it(tmp_path):
    from tfrec.runs import load_run_model

    results = run_workers(WORKER, tmp_path)
    assert [r["replicas"] for r in results] == [2, 2]
    chief, other = results
    assert chief["test"] == other["test"]  # the same variables on both workers
    assert chief["adv"] == other["adv"]  # the all-reduced adversarial state
    for term in TERMS:
        assert chief["history"][term] == pytest.approx(other["history"][term]), term
    run = tmp_path / "worker0" / "run"
    assert (run / "model.keras").exists() and not (tmp_path / "worker1" / "run").exists()
    config = json.loads((run / "config.json").read_text())
    assert (config["model"], config["strategy"], config["replicas"]) == ("cotrec", "multiworker", 2)
    loaded = load_run_model(run)
    np.testing.assert_allclose(loaded(np.array([[1, 2, 3], [4, 5, 0]])).numpy(), chief["scores"], rtol=1e-5, atol=1e-6)
