"""The multi-behavior task (tfrec/tasks/multi_behavior.py): sub-graph sampling (``graph_sample``)
with a sample covering the graph gives the full-graph run; a small sample trains on sub-graphs;
``protocol=full`` against a NumPy ranking of every item; and the settings' one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

import tfrec
from tfrec.data.synthetic import load_synthetic_mb
from tfrec.errors import UserError

# 48 users x 40 items, every item interacted with (so a covering sub-graph is the whole graph)
TINY = {"latdim": 8, "batch_size": 16, "samp_num": 4, "trn_num": 48}


@pytest.fixture(scope="module")
def tiny():
    data = load_synthetic_mb(seed=3, users=48, items=40, views_per_user=12, carts_per_user=6, buys_per_user=3,
                             num_test_negatives=15)
    union = sum(data.matrices)
    assert (np.diff(union.tocsc().indptr) > 0).all() and (np.diff(union.indptr) > 0).all()  # the premise
    return data


def _train(data, **params):
    return tfrec.train("mbgmn", dataset=data, epochs=2, seed=0, device="cpu", verbose=0, params={**TINY, **params})


def test_a_covering_sample_gives_the_full_graph_run(tiny):
    """graph_sample >= the graph, one block holding the epoch's users (a whole number of
    batches): the sub-graph is every node, its local ids the global ones, and the pair draws
    come from the same stream -- the full-graph run up to float rounding."""
    full = _train(tiny)
    sampled = _train(tiny, graph_sample=1000, sample_block=48)
    np.testing.assert_allclose(sampled.history["loss"], full.history["loss"], rtol=1e-5)
    for key, value in full.metrics["test"].items():
        assert sampled.metrics["test"][key] == pytest.approx(value, rel=1e-5, abs=1e-9), key
    full_weights = full.model.get_weights()
    for a, b in zip(sampled.model.get_weights(), full_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_small_samples_train_block_by_block(tiny):
    """A sub-graph of a few nodes per side: blocks of 20 users train floor(20 / 16) = 1 step
    each (the reference's rule), the loss is finite and the test pass scores every test user."""
    from tfrec.data.pipelines import multibehavior_training_data

    training = multibehavior_training_data(tiny, batch_size=16, samp_num=4, trn_num=48, seed=0, graph_sample=6, sample_block=20)
    assert training.steps_per_epoch == 1 + 1 + 0  # blocks of 20, 20 and 8 users
    batches = list(training.dataset)
    assert len(batches) == 2
    for batch in batches:
        users, items = batch["graph_users"].numpy(), batch["graph_items"].numpy()
        assert len(users) < tiny.num_users and np.all(np.diff(users) > 0) and np.all(np.diff(items) > 0)
        assert batch["users"].numpy().max() < len(users) and batch["pos_0"].numpy().max() < len(items)
        # the sub-graph's adjacency is the restricted graph's, renormalised
        rows, cols = batch["graph_2_rows"].numpy(), batch["graph_2_cols"].numpy()
        restricted = tiny.matrices[2][users][:, items].tocoo()
        assert sorted(zip(rows, cols)) == sorted(zip(restricted.row, restricted.col))
    run = _train(tiny, graph_sample=6, sample_block=20)
    assert np.isfinite(run.history["loss"]).all()
    assert 0 <= run.metrics["test"]["HR@10"] <= 1


def test_full_protocol_against_numpy(tiny):
    """protocol=full: the rank of the held-out item among every item but the user's training
    buys, ties pessimistic, from the model's scores of every (user, item) pair."""
    from tfrec.tasks.multi_behavior import MultiBehaviorTask

    run = _train(tiny, protocol="full")
    model, data = run.model, tiny
    users = data.test_users
    scores = model.score(users, np.tile(np.arange(data.num_items), (len(users), 1))).numpy()
    train = data.train.toarray() > 0
    ranks = []
    for row, (user, target) in enumerate(zip(users, data.test_items)):
        others = np.ones(data.num_items, bool)
        others[target] = False
        others &= ~train[user]
        ranks.append(int(np.sum(scores[row][others] >= scores[row, target])))
    ranks = np.array(ranks)
    expected = {"HR@10": np.mean(ranks < 10), "NDCG@10": np.mean(np.where(ranks < 10, 1 / np.log2(ranks + 2), 0))}
    for key, value in expected.items():
        assert run.metrics["test"][key] == pytest.approx(value, abs=1e-9), key
    # chunks of 7 pairs per call give the same ranks
    old = MultiBehaviorTask.full_pairs_per_call
    MultiBehaviorTask.full_pairs_per_call = 7
    try:
        again = MultiBehaviorTask.evaluate(model, data, dict(run.config["training"]))
    finally:
        MultiBehaviorTask.full_pairs_per_call = old
    assert again["HR@10"] == pytest.approx(expected["HR@10"]) and again["NDCG@10"] == pytest.approx(expected["NDCG@10"])
    # the popularity baseline, ranked the same way
    popularity = data.item_popularity()
    pop_ranks = np.array([
        np.sum(np.delete(popularity, [target, *np.flatnonzero(train[user])]) >= popularity[target])
        for user, target in zip(users, data.test_items)
    ])
    baseline = MultiBehaviorTask.popularity_baseline(data, {"protocol": "full", "top_k": 10})
    assert baseline["HR@10"] == pytest.approx(np.mean(pop_ranks < 10))


@pytest.mark.parametrize("params, message", [
    ({"protocol": "every"}, "--set protocol must be 'sampled' or 'full'; got 'every'"),
    ({"graph_sample": -5}, "--set graph_sample must be a non-negative integer; got -5"),
    ({"sample_block": 0}, "--set sample_block must be a positive integer; got 0"),
    ({"protocol": "full", "graph_sample": 100}, "cannot be combined with --set graph_sample"),
    ({"protocol": "full", "test_negatives": "reference"}, "means nothing with it"),
    ({"graph_sample": 100, "sample_block": 8}, "--set sample_block=8 is smaller than the batch size"),
])
def test_settings_errors(tiny, params, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _train(tiny, **params)
